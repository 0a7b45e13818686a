"""Models-from-code entry for a TextRouter: MLflow runs this file to build the pyfunc model."""

import mlflow

from proeftuin.models import TextRouterModel

mlflow.models.set_model(TextRouterModel())
