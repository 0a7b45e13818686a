"""Models-from-code entry for a Retriever: the index is sparse matrices and JSON (no pickle)."""

import mlflow

from proeftuin.models import RetrieverPyfunc

mlflow.models.set_model(RetrieverPyfunc())
