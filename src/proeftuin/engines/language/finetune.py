"""Fine-tuning a sequence-classification head on a language model (`backend=transformer`), on CPU or a GPU.

A validation part of the training data (never the held-out test rows) decides when to stop: after each epoch
the macro-F1 on it is measured; the best epoch's weights are kept and training stops when `patience` epochs in a
row did not improve. A progress bar with the estimated time left goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from proeftuin.engines.language.catalogue import check_tokenizer, load_classifier, resolve_model
from proeftuin.engines.language.encoders import import_torch, quiet_transformers
from proeftuin.errors import ProeftuinError


@dataclass
class FineTuneConfig:
    base_model: str
    max_length: int = 128
    epochs: int = 3
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_train_rows: int = 0
    patience: int = 1
    validation_share: float = 0.1
    seed: int = 42
    device: str = "auto"


def _out_of_memory(error: BaseException) -> bool:
    text = str(error).lower()
    return "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text \
        or isinstance(error, MemoryError)


def memory_error(config: FineTuneConfig) -> ProeftuinError:
    return ProeftuinError(f"Te weinig geheugen om te trainen met batch_size={config.batch_size} en "
                          f"max_length={config.max_length}.",
                          f"Kies een kleinere batch_size (bv. {max(1, config.batch_size // 2)}) of max_length, of "
                          "train op een computer met meer geheugen. Er is niets geregistreerd.")


class TransformerClassifier:
    """A fine-tuned transformers classifier with scikit-learn's face: `classes_`, `fit`, `predict_proba`."""

    def __init__(self, config: FineTuneConfig):
        self.config = config
        self.classes_ = np.array([], dtype=object)
        self.model = self.tokenizer = None
        self.history: list[dict] = []

    # -- training -----------------------------------------------------------------------------------------------
    def fit(self, texts: list[str], labels: list[str], sample_weight=None, progress: bool = True):
        torch, transformers = import_torch()
        config = self.config
        torch.manual_seed(config.seed)
        texts, labels = [str(t) for t in texts], [str(y) for y in labels]
        if config.max_train_rows and len(texts) > config.max_train_rows:
            texts, _, labels, _ = train_test_split(texts, labels, train_size=config.max_train_rows,
                                                   random_state=config.seed, stratify=_stratify(labels))
        self.classes_ = np.array(sorted(set(labels)), dtype=object)
        index = {label: i for i, label in enumerate(self.classes_)}
        train_x, valid_x, train_y, valid_y = train_test_split(
            texts, [index[y] for y in labels], test_size=max(config.validation_share, len(self.classes_) / len(texts)),
            random_state=config.seed, stratify=_stratify(labels))
        path = resolve_model(config.base_model)
        with quiet_transformers():
            try:
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, KeyError, TypeError):
                raise ProeftuinError(f"Bij het model '{config.base_model}' hoort geen bruikbare tokenizer.",
                                     "Kopieer de tokenizerbestanden mee in de map van het model.") from None
            self.model = load_classifier(path, len(self.classes_), dict(enumerate(self.classes_.tolist())))
        check_tokenizer(self.tokenizer, self.model, config.base_model)
        device = torch.device("cuda" if config.device == "auto" and torch.cuda.is_available() else
                              "cpu" if config.device == "auto" else config.device)
        self.model.to(device)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate)
        batches = max(1, -(-len(train_x) // config.batch_size))
        total = batches * config.epochs
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / max(1, total)))
        generator = np.random.default_rng(config.seed)
        best, best_state, waited = -1.0, None, 0
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="Fijnafstemmen", unit="stap", file=sys.stderr, disable=not progress,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [nog {remaining}]{postfix}")
        started = time.monotonic()
        try:
            for epoch in range(config.epochs):
                self.model.train()
                order = generator.permutation(len(train_x))
                for start in range(0, len(order), config.batch_size):
                    chosen = order[start:start + config.batch_size]
                    tokens = self._tokens([train_x[i] for i in chosen]).to(device)
                    target = torch.tensor([train_y[i] for i in chosen], device=device)
                    loss = self.model(**tokens, labels=target).loss
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                    optimiser.step()
                    scheduler.step()
                    optimiser.zero_grad()
                    bar.update(1)
                    bar.set_postfix_str(f"epoch {epoch + 1}/{config.epochs}, verlies {loss.item():.3f}")
                predicted = self._proba(valid_x, device).argmax(axis=1)
                score = float(f1_score(valid_y, predicted, average="macro", zero_division=0))
                self.history.append({"epoch": epoch + 1, "validation_macro_f1": score,
                                     "seconds": round(time.monotonic() - started, 1)})
                if score > best:
                    best, waited = score, 0
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= config.patience:
                        break
        except RuntimeError as error:
            if _out_of_memory(error):
                raise memory_error(config) from None
            raise
        except MemoryError:
            raise memory_error(config) from None
        finally:
            bar.close()
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.to("cpu").eval()
        return self

    # -- prediction ---------------------------------------------------------------------------------------------
    def _tokens(self, texts: list[str]):
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_length,
                              return_tensors="pt")

    def _proba(self, texts: list[str], device=None, batch: int = 32) -> np.ndarray:
        torch, _ = import_torch()
        self.model.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                tokens = self._tokens([str(t) for t in texts[start:start + batch]])
                if device is not None:
                    tokens = tokens.to(device)
                out.append(torch.softmax(self.model(**tokens).logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def predict_proba(self, texts) -> np.ndarray:
        return self._proba(list(texts))

    # -- storage (safetensors and JSON: no pickle) ----------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        (folder / "proeftuin-finetune.json").write_text(json.dumps(
            {"config": asdict(self.config), "classes": self.classes_.tolist(), "history": self.history}),
            encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> TransformerClassifier:
        torch, transformers = import_torch()
        stored = json.loads((folder / "proeftuin-finetune.json").read_text(encoding="utf-8"))
        self = cls(FineTuneConfig(**stored["config"]))
        self.classes_ = np.array(stored["classes"], dtype=object)
        self.history = stored.get("history", [])
        with quiet_transformers():
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True, use_safetensors=True, trust_remote_code=False).eval()
        return self


def _stratify(labels: list[str]):
    return labels if min(Counter(labels).values()) >= 2 else None
