"""ferry's custom checkov checks (CKV_FERRY_*), loaded with --external-checks-dir policy/checkov."""
