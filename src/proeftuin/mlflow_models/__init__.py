"""MLflow "models from code" entry files: code is stored as source, weights as skops (no pickle)."""
