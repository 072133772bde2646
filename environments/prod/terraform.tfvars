# prod: where it deploys. What it deploys is in main.tf.
account_id         = "333333333333"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
