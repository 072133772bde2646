"""ferry's policy-as-code suite: Rego rules over plan JSON, checkov custom checks, plan review."""
