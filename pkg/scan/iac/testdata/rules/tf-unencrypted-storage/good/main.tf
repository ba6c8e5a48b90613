resource "aws_ebs_volume" "data" {
  availability_zone = "eu-west-1a"
  size              = 40
  encrypted         = true
}

resource "aws_db_instance" "db" {
  engine            = "postgres"
  instance_class    = "db.t3.micro"
  storage_encrypted = true
}

resource "aws_db_instance" "replica" {
  replicate_source_db = aws_db_instance.db.identifier
  instance_class      = "db.t3.micro"
}

variable "encrypted" {}

resource "aws_efs_file_system" "fs" {
  encrypted = var.encrypted
}
