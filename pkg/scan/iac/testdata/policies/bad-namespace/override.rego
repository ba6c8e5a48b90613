package secure_gates.kubernetes

deny := set()
