resource "aws_kms_key" "data" {
  description = "data"
}

resource "aws_kms_key" "off" {
  description         = "off"
  enable_key_rotation = false
}
