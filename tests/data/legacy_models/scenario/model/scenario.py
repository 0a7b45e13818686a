"""Models-from-code entry for a ScenarioModel: the model itself is a JSON artifact (no pickle)."""

import mlflow

from proeftuin.models import ScenarioPyfunc

mlflow.models.set_model(ScenarioPyfunc())
