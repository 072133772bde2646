terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # State lives next to the emulator it describes: `make local` passes
  # -backend-config=path=<repo>/.local/terraform.tfstate, and `make local-down`
  # removes it together with the emulator's memory.
  backend "local" {}
}
