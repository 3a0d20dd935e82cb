"""Model choice (offline, fast, overridable) and loading (notebook 00)."""

import http.server
import socket
import threading
import time

import pytest
import torch

from course_utils import models, settings
from course_utils.errors import CourseError


@pytest.fixture
def online(monkeypatch):
    """Let the probe run (the suite is offline by default) but never reach beyond loopback."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("COURSE_MODEL", raising=False)
    monkeypatch.setattr(models, "_hub_cached", lambda repo_id: False)


@pytest.fixture
def silent_server():
    """A loopback socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture
def answering_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_cpu_picks_packaged_without_touching_the_network(monkeypatch):
    monkeypatch.delenv("COURSE_MODEL", raising=False)
    monkeypatch.setattr(models, "_hub_reachable", lambda *a, **k: pytest.fail("probed the hub on a CPU"))
    choice = models.choose_model(device=torch.device("cpu"))
    assert choice.source == "packaged"
    assert "no CUDA GPU" in choice.reason
    assert choice.local_files_only
    assert (models.packaged_model_path() / "model.safetensors").is_file()
    assert choice.recipe is settings._PACKAGED_RECIPE and choice.recipe.lr == 1e-4
    assert "Recipe: peak learning rate 0.0001 (10x for the pooler and classifier), 3 epochs" in str(choice)


def test_gpu_with_unreachable_hub_falls_back_quickly(online, monkeypatch, silent_server):
    monkeypatch.setenv("HF_ENDPOINT", silent_server)
    started = time.monotonic()
    choice = models.choose_model(device="cuda", probe_timeout=0.5)
    elapsed = time.monotonic() - started
    assert choice.source == "packaged"
    assert "did not answer" in choice.reason or "could not be reached" in choice.reason
    assert elapsed < 5, f"waited {elapsed:.1f} s on a silent hub (transformers alone waits ~50 s)"


def test_gpu_with_refused_connection(online, monkeypatch):
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        port = probe_port.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    choice = models.choose_model(device="cuda", probe_timeout=2)
    assert choice.source == "packaged" and "could not be reached" in choice.reason


def test_gpu_with_reachable_hub_picks_bert_base(online, monkeypatch, answering_server):
    monkeypatch.setenv("HF_ENDPOINT", answering_server)
    choice = models.choose_model(device="cuda")
    assert (choice.name, choice.source) == ("bert-base-uncased", "hub")
    assert not choice.local_files_only
    assert choice.recipe is settings._BERT_BASE_RECIPE and choice.recipe.lr == 3e-5  # BERT-base keeps its own


def test_gpu_with_cached_weights_needs_no_probe(online, monkeypatch):
    monkeypatch.setattr(models, "_hub_cached", lambda repo_id: repo_id == "bert-base-uncased")
    monkeypatch.setattr(models, "_hub_reachable", lambda *a, **k: pytest.fail("probed despite the cache"))
    choice = models.choose_model(device="cuda")
    assert choice.source == "hub cache" and choice.local_files_only


def test_offline_variable_skips_the_probe(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(models, "_hub_cached", lambda repo_id: False)
    reachable, detail = models._hub_reachable()
    assert not reachable and "HF_HUB_OFFLINE" in detail
    assert models.choose_model(device="cuda").source == "packaged"


def test_environment_variable_and_argument_override(monkeypatch):
    monkeypatch.setenv("COURSE_MODEL", "packaged")
    assert "COURSE_MODEL" in models.choose_model(device="cuda").reason
    assert "argument" in models.choose_model("minilm").reason


def test_unknown_model_offline_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CourseError, match=r"'no-such/model'.*not in the local cache.*model='packaged'"):
        models.choose_model("no-such/model")


def test_missing_folder(tmp_path):
    with pytest.raises(CourseError, match="does not exist"):
        models.choose_model(str(tmp_path / "absent"))


def test_incomplete_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(CourseError, match=r"incomplete.*found only pytorch_model.bin.*safetensors only.*vocab.txt"):
        models.choose_model(str(tmp_path))


def test_load_packaged_classifier(capsys):
    model, tokenizer = models.load_classifier("packaged", label_names=("ham", "spam"), device="cpu")
    printed = capsys.readouterr().out
    assert "22.7M parameters" in printed
    assert "classifier.bias, classifier.weight" in printed
    assert model.config.model_type == "bert"
    assert model.config.id2label == {0: "ham", 1: "spam"}
    assert model.num_labels == 2
    batch = tokenizer(["free prize", "see you at 5"], padding=True, return_tensors="pt")
    assert model(**batch).logits.shape == (2, 2)


def test_saved_folder_round_trip(tmp_path):
    model, tokenizer = models.load_classifier("packaged", label_names=("ham", "spam"), verbose=False)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    choice = models.choose_model(str(tmp_path))
    assert choice.source == "local folder"
    reloaded, _ = models.load_classifier(choice, label_names=("ham", "spam"), verbose=False)
    assert torch.equal(reloaded.classifier.weight, model.classifier.weight)
