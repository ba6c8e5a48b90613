variable "env" {
  type    = string
  default = "dev"
}

variable "admin_cidr" {
  type    = string
  default = "10.0.0.0/8"
}

variable "replicas" {
  type    = number
  default = 2
}

# No default: its value is only known at apply time.
variable "public" {
  type = bool
}
