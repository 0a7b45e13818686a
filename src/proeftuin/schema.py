"""The one strict base of Proeftuin's configuration files (proeftuin.yaml, pilot.yaml)."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """An unknown field is an error (a typo must not be ignored) and a loaded value cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
