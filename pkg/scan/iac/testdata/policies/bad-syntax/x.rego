package custom.x

deny contains x if {
