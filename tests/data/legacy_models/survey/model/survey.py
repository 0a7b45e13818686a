"""Models-from-code entry for a SurveyProfiler: the model itself is a JSON artifact (no pickle)."""

import mlflow

from proeftuin.models import SurveyPyfunc

mlflow.models.set_model(SurveyPyfunc())
