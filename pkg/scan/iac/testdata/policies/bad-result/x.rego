package custom.x

deny contains "just a string" if input.type == "kubernetes"
