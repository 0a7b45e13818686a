"""The pilot contract: a manifest model (`pilot.yaml`) and discovery of `pilots/<slug>/`.

Discovery has two modes. Strict (CI, `proeftuin validate`) raises on the first broken pilot with
the file, field and problem named. Lenient (the gallery, the docs) returns a `BrokenPilot` in its
place so one bad folder never takes the others down.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from proeftuin.errors import ManifestError, ProeftuinError
from proeftuin.pilot import lessons
from proeftuin.schema import Strict

MANIFEST = "pilot.yaml"
PIPELINE = "pipeline.py"
REQUIRED_FILES = (MANIFEST, PIPELINE, "demo.py", "LESSONS.md", "notebook.ipynb")
PIPELINE_FUNCTIONS = ("load_data", "train", "evaluate")
LESSONS_HEADINGS = lessons.REQUIRED_HEADINGS

Theme = Literal[
    "regiowerking",
    "digitaal veilig",
    "dienstverlening",
    "data",
    "informatie- en archiefbeheer",
    "infrastructuur",
    "artificiële intelligentie",
]
Stage = Literal["idee", "experiment", "pilot", "opschalen", "gestopt"]
RiskClass = Literal["minimaal", "beperkt", "hoog", "onaanvaardbaar"]
ParamValue = bool | int | float | str
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class DataSource(Strict):
    path: str = Field(description="Path relative to the pilot folder.")
    description: str = ""
    licence: str = Field(min_length=2)
    personal_data: bool
    source: str = Field("", description="Where the data comes from (provenance).")


class PrimaryMetric(Strict):
    name: str
    greater_is_better: bool = True
    baseline: float | None = Field(None, description="The baseline's value, when known.")
    baseline_description: str = ""


class HumanOversight(Strict):
    description: str = Field(min_length=10)
    threshold_parameter: str | None = Field(
        None, description="Parameter holding the confidence threshold below which a person decides."
    )


class AiActStep(Strict):
    """One answered question of the AI-Act decision: what was asked, the answer, and the article it rests on."""

    question: str
    answer: str
    article: str


class AiActProfile(Strict):
    """The outcome of `proeftuin ai-act`, in the vocabulary of the Dutch decision aid and Algoritmekader."""

    answers: dict[str, str | list[str]]
    type: str
    role: str
    risk_group: str
    annex_iii_area: str | None = None
    transparency: list[str] = []
    open_source: bool = False
    impactful: bool = False
    publication_category: str
    steps: list[AiActStep] = []
    decided_by: str = ""
    decided_at: str = ""


class AiAct(Strict):
    risk_class: RiskClass
    reasoning: str = Field(min_length=10)
    profile: AiActProfile | None = None


class StageChange(Strict):
    """One step of the lifecycle, recorded by `proeftuin promote`: who, when, why, on which evidence."""

    stage: Stage
    previous: Stage
    at: str
    by: str
    organisation: str
    reason: str = ""
    evidence: dict[str, str] = {}


class Dpia(Strict):
    """The data-protection impact assessment (GDPR Art. 35): done (link or file), or why it is not needed."""

    status: Literal["gedaan", "niet nodig"]
    link: str | None = None
    file: str | None = Field(None, description="Path relative to the pilot folder.")
    reasoning: str = ""


class Fria(Strict):
    """The fundamental-rights impact assessment of Art. 27 AI Act, filled by `proeftuin fria`."""

    processes: str = Field(min_length=20)
    period_and_frequency: str = Field(min_length=10)
    affected_groups: str = Field(min_length=10)
    risks: str = Field(min_length=20)
    oversight: str = Field(min_length=20)
    mitigation: str = Field(min_length=20)
    completed_by: str = ""
    completed_at: str = ""


class RegisterInfo(Strict):
    """What the algorithm register asks and only the organisation can say (the rest comes from the facts)."""

    considerations: str | None = None
    risk_management: str | None = None
    legal_basis: str | None = None
    legal_basis_link: str | None = None
    link: str | None = None
    source_code_link: str | None = None
    supplier: str | None = None


class Manifest(Strict):
    slug: str = Field(pattern=SLUG_PATTERN)
    title: str = Field(min_length=3)
    question: str = Field(min_length=10)
    owner: str
    participants: list[str] = []
    theme: Theme
    stage: Stage
    template: str
    task: Literal["classification", "retrieval", "scenario", "clustering"]
    data: list[DataSource] = Field(min_length=1)
    parameters: dict[str, ParamValue] = {}
    metric: PrimaryMetric
    human_oversight: HumanOversight
    ai_act: AiAct
    forked_from: str | None = None
    idea: int | None = Field(None, ge=1, description="The idea (`proeftuin idea list`) this pilot was made from.")
    restrictions: list[str] = Field(
        [], description="What the pilot must never be used for (Dutch), e.g. decisions about individual employees."
    )
    history: list[StageChange] = Field([], description="The lifecycle so far, written by `proeftuin promote`.")
    dpia: Dpia | None = None
    fria: Fria | None = None
    duties: dict[str, str] = Field(
        {}, description="How each duty that follows from the AI-Act profile is met (duty id -> Dutch text)."
    )
    publication: RegisterInfo = Field(RegisterInfo(), alias="register",
                                      description="`register:` in pilot.yaml (the name pydantic keeps for itself).")

    @field_validator("participants")
    @classmethod
    def _no_duplicate_participants(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("een organisatie staat meer dan eens in participants")
        return value

    @model_validator(mode="after")
    def _threshold_is_a_parameter(self) -> Manifest:
        name = self.human_oversight.threshold_parameter
        if name is not None and name not in self.parameters:
            raise ValueError(
                f"human_oversight.threshold_parameter '{name}' staat niet in parameters"
            )
        return self

    @property
    def organisations(self) -> list[str]:
        """Owner first, then the participants: who may write to this pilot's experiment."""
        return [self.owner, *[p for p in self.participants if p != self.owner]]

    @property
    def personal_data(self) -> bool:
        return any(source.personal_data for source in self.data)


@dataclass
class Pilot:
    path: Path
    manifest: Manifest
    _module: ModuleType | None = field(default=None, repr=False)

    @property
    def slug(self) -> str:
        return self.manifest.slug

    def pipeline(self) -> ModuleType:
        """Import `pipeline.py` (once) and check it has the contract's functions."""
        if self._module is None:
            self._module = self._import("pipeline")
            missing = [f for f in PIPELINE_FUNCTIONS if not callable(getattr(self._module, f, None))]
            if missing:
                raise ManifestError(str(self.path / PIPELINE),
                                    [f"functie ontbreekt: {name}" for name in missing])
        return self._module

    def demo(self) -> ModuleType:
        """Import `demo.py` (a fresh module each call; it only defines build_demo)."""
        return self._import("demo")

    def _import(self, name: str) -> ModuleType:
        return import_file(f"proeftuin_pilots.{self.slug.replace('-', '_')}.{name}", self.path / f"{name}.py")

    def data_path(self, index: int = 0) -> Path:
        return self.path / self.manifest.data[index].path

    def params(self, overrides: dict[str, str] | None = None) -> dict[str, ParamValue]:
        """The manifest's defaults with `key=value` overrides, each coerced to its default's type."""
        params = dict(self.manifest.parameters)
        for key, raw in (overrides or {}).items():
            if key not in params:
                known = ", ".join(sorted(params)) or "(geen)"
                raise ProeftuinError(
                    f"Onbekende parameter '{key}' voor pilot {self.slug}.",
                    f"Bekende parameters: {known}.",
                )
            params[key] = coerce_param(key, raw, params[key])
        return params


@dataclass
class BrokenPilot:
    """A pilot folder that could not be loaded; lenient discovery keeps it to show an error card."""

    path: Path
    error: ProeftuinError

    @property
    def slug(self) -> str:
        return self.path.name


def coerce_param(key: str, raw: str, default: ParamValue) -> ParamValue:
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "ja", "yes", "waar"}:
                return True
            if lowered in {"0", "false", "nee", "no", "onwaar"}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ProeftuinError(
            f"Parameter '{key}' verwacht een {type(default).__name__}, niet '{raw}'.",
            f"Bijvoorbeeld: --param {key}={default}",
        ) from None
    return raw


def import_file(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ManifestError(str(path), ["kan niet geïmporteerd worden"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a pilot's own code may raise anything; report it, do not crash
        sys.modules.pop(module_name, None)
        raise ManifestError(str(path), [f"fout bij importeren: {type(exc).__name__}: {exc}"]) from exc
    return module


def _format_validation_error(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(hele bestand)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "onbekend veld (tikfout?)"
        elif err["type"] == "missing":
            message = "verplicht veld ontbreekt"
        elif err["type"] == "literal_error":
            message = f"ongeldige waarde {err.get('input')!r}; {message}"
        problems.append(f"{where}: {message}")
    return problems


def load_manifest(path: Path, known_organisations: set[str] | None = None) -> Manifest:
    """Read and validate one `pilot.yaml`; every problem names the file and the field."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(str(path), [f"{MANIFEST} ontbreekt"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(str(path), [f"kan niet gelezen worden: {exc}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"regel {mark.line + 1}" if mark else "YAML"
        raise ManifestError(str(path), [f"{where}: geen geldige YAML ({getattr(exc, 'problem', exc)})"]) from exc
    if not isinstance(raw, dict):
        raise ManifestError(str(path), ["(hele bestand): verwacht een mapping met velden als slug, title, ..."])
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(str(path), _format_validation_error(exc)) from exc
    problems = []
    if manifest.slug != path.parent.name:
        problems.append(f"slug: '{manifest.slug}' verschilt van de mapnaam '{path.parent.name}'")
    if known_organisations is not None:
        for where, org in [("owner", manifest.owner)] + [("participants", p) for p in manifest.participants]:
            if org not in known_organisations:
                problems.append(f"{where}: onbekende organisatie '{org}' (zie organisations in proeftuin.yaml)")
    for i, source in enumerate(manifest.data):
        if not (path.parent / source.path).exists():
            problems.append(f"data.{i}.path: bestand '{source.path}' bestaat niet in de pilotmap")
    if problems:
        raise ManifestError(str(path), problems)
    return manifest


def load_pilot(folder: Path, known_organisations: set[str] | None = None) -> Pilot:
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ManifestError(str(folder), [f"bestand ontbreekt: {name}" for name in missing])
    absent = lessons.missing_headings(lessons.read_text(folder / lessons.LESSONS), LESSONS_HEADINGS)
    if absent:
        raise ManifestError(str(folder / "LESSONS.md"), [f"kop ontbreekt: '{h}'" for h in absent])
    return Pilot(path=folder, manifest=load_manifest(folder / MANIFEST, known_organisations))


def _pilot_folders(pilots_dir: Path) -> list[Path]:
    if not pilots_dir.is_dir():
        return []
    return sorted(
        p for p in pilots_dir.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and p.name != "__pycache__"
    )


def discover_pilots(
    pilots_dir: Path,
    known_organisations: set[str] | None = None,
    strict: bool = True,
    import_pipelines: bool = False,
) -> list[Pilot | BrokenPilot]:
    """Every pilot under `pilots_dir`, sorted by slug.

    strict=True raises the first problem; strict=False returns a BrokenPilot in its place.
    With import_pipelines, each pipeline.py is imported too (what `validate` checks).
    """
    found: list[Pilot | BrokenPilot] = []
    for folder in _pilot_folders(pilots_dir):
        try:
            pilot = load_pilot(folder, known_organisations)
            if import_pipelines:
                pilot.pipeline()
            found.append(pilot)
        except ProeftuinError as exc:
            if strict:
                raise
            found.append(BrokenPilot(path=folder, error=exc))
    return found


def find_pilot(pilots_dir: Path, slug: str, known_organisations: set[str] | None = None) -> Pilot:
    """One pilot by slug; an unknown slug lists the known ones."""
    folder = pilots_dir / slug
    if not (folder / MANIFEST).is_file():
        known = ", ".join(p.name for p in _pilot_folders(pilots_dir)) or "(nog geen)"
        raise ProeftuinError(
            f"Onbekende pilot '{slug}'.",
            f"Bekende pilots: {known}. Zie `proeftuin list`.",
        )
    return load_pilot(folder, known_organisations)
