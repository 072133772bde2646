# Routes: one source of truth. The processing configuration the function runs
# with (the zip's ferry_config.json) is also this module's input; the S3
# notification filters / EventBridge key pattern are derived from its route
# prefixes alone. Every object under a routed prefix reaches the function and
# gets a ledger record: a key whose suffix no route takes is rejected there,
# with its reason, instead of being dropped silently by an S3 suffix filter.
# Suffixes are matched only by ferry (case-insensitively), so S3 and ferry
# cannot disagree about them.
#
# Validation of the document is in variables.tf; every expression here stays
# total (try) so that a rejected document yields the validation message alone.

locals {
  processing_config        = try(jsondecode(var.processing_config), {})
  processing_config_sha256 = sha256(var.processing_config)

  route_prefixes = try(distinct([for r in local.processing_config.routes : tostring(try(r.prefix, ""))]), [])

  # Minimised: a prefix another prefix starts is covered by that one (S3 would
  # also reject the overlapping filters). An empty prefix covers every key.
  routed_prefixes = sort([
    for p in local.route_prefixes : p
    if !anytrue([for q in local.route_prefixes : q != p && startswith(p, q)])
  ])
  routes_every_key = contains(local.routed_prefixes, "")
}
