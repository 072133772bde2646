variable "endpoint" {
  description = "URL of the AWS emulator (the moto server `make local` starts), e.g. http://127.0.0.1:4566. Every AWS service the stack uses is pointed at it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^https?://(127\\.0\\.0\\.1|localhost|\\[::1\\]):[0-9]{1,5}/?$", var.endpoint))
    error_message = "endpoint must be a loopback URL such as http://127.0.0.1:4566: this root only ever targets a local emulator, never a real account."
  }
}

variable "region" {
  description = "Region the emulator pretends to be."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "account_id" {
  description = "Account id of the emulator (moto's default account)."
  type        = string
  default     = "123456789012"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "name" {
  description = "Name prefix of everything the local stack creates."
  type        = string
  default     = "ferry-local"
  nullable    = false
}

variable "max_retries" {
  description = "Attempts per API call. Low on purpose: an emulator error is deterministic, and retrying it only hides the cause behind minutes of back-off; 2 rides over a connection the emulator's HTTP server closed under load."
  type        = number
  default     = 2
  nullable    = false
}

variable "database" {
  description = "The local PostgreSQL that stands in for RDS (started by `make local`): host name the server certificate is issued for, and port."
  type = object({
    host = optional(string, "localhost")
    port = number
    name = optional(string, "ferry")
  })
  nullable = false

  validation {
    condition     = var.database.port >= 1 && var.database.port <= 65535
    error_message = "database.port must be a TCP port."
  }
}

variable "package_path" {
  description = "The Lambda zip `make build` produces. Its hash is part of the pipeline's inputs even though the emulator runs the handler from the source tree."
  type        = string
  default     = "../../build/processor.zip"
  nullable    = false
}

variable "processing_config_path" {
  description = "The processing configuration the zip carries (`make build CONFIG=...`); the queue's filters are derived from its routes."
  type        = string
  default     = "../../lambda_src/config/ferry.json"
  nullable    = false
}
