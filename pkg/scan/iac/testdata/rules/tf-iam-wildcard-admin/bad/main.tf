resource "aws_iam_policy" "admin" {
  name = "admin"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}

data "aws_iam_policy_document" "admin" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::acme/*"]
  }
  statement {
    actions   = ["*"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "inline" {
  role   = "ci"
  policy = <<-JSON
    {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}
  JSON
}
