# dev: where it deploys. What it deploys is in main.tf.
account_id         = "111111111111"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
