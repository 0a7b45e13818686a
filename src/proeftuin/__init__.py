"""Proeftuin: the shared AI sandbox of the South-West Flemish cities and municipalities."""

import os

# Proeftuin sends no usage data anywhere. MLflow and Gradio report usage to their makers by default;
# both are off for every process that imports proeftuin (CLI, services, notebooks) unless an
# administrator sets the variable explicitly.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
