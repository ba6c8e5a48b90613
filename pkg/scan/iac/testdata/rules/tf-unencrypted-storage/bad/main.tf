resource "aws_ebs_volume" "data" {
  availability_zone = "eu-west-1a"
  size              = 40
}

resource "aws_db_instance" "db" {
  engine            = "postgres"
  instance_class    = "db.t3.micro"
  storage_encrypted = false
}

resource "aws_efs_file_system" "fs" {
  encrypted = false
}
