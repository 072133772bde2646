"""ferry: the Lambda processors of the file-ingestion pipeline."""
