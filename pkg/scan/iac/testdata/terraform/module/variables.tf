variable "env" {
  type    = string
  default = "prod"
}

variable "admin_cidr" {
  type    = string
  default = "0.0.0.0/0"
}

variable "replicas" {
  type    = number
  default = 2
}

# No default: its value is only known at apply time.
variable "public" {
  type = bool
}
