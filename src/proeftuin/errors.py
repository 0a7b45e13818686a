"""Errors that a person reads: they say what is wrong and what to do next (in Dutch)."""

from __future__ import annotations


class ProeftuinError(Exception):
    """A problem the user can fix. The CLI prints it without a traceback and exits non-zero."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n→ {self.hint}" if self.hint else self.message


class ConfigError(ProeftuinError):
    """proeftuin.yaml or the environment is wrong."""


class ManifestError(ProeftuinError):
    """A pilot.yaml (or a pilot folder) breaks the pilot contract."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{path} is ongeldig:\n{lines}",
            "Pas het bestand aan en controleer opnieuw met `proeftuin validate`.",
        )


class DataError(ProeftuinError):
    """Input data (a CSV, a column) does not fit what the pilot expects."""


class TrackingUnavailable(ProeftuinError):
    """The MLflow tracking server cannot be reached."""
