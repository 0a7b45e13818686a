"""Models-from-code entry for every engine: the model config names the engine that loads the artifacts."""

import mlflow

from proeftuin.models import EngineModel

mlflow.models.set_model(EngineModel())
