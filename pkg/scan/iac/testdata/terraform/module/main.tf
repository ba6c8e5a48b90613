locals {
  name        = "acme-${var.env}"
  encrypt     = var.env == "prod" ? false : true
  ssh_port    = 22
  admin_ports = [local.ssh_port, 3389]
  keys        = toset(["orders", "payments"])
  # A reference cycle: both stay unknown.
  a = local.b
  b = local.a
}

resource "aws_security_group" "admin" {
  name = "${local.name}-admin"

  dynamic "ingress" {
    for_each = local.admin_ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.admin_cidr]
    }
  }
}

resource "aws_ebs_volume" "data" {
  count             = var.replicas
  availability_zone = "eu-west-1a"
  size              = 40
  encrypted         = local.encrypt
}

resource "aws_kms_key" "keys" {
  for_each            = local.keys
  description         = "${local.name}-${each.key}"
  enable_key_rotation = each.key == "orders"
}

resource "aws_kms_key" "cycle" {
  enable_key_rotation = local.a
}

resource "aws_db_instance" "legacy" {
  count               = 0
  storage_encrypted   = true
  publicly_accessible = true
}

resource "aws_db_instance" "main" {
  storage_encrypted   = true
  publicly_accessible = var.public
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  name    = local.name
}

module "local" {
  source = "./modules/net"
}
