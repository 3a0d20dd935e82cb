"""course_utils.training.train on two CPU processes (torchrun, gloo) ends where one process ends.

tests/distributed_train.py trains a tiny BERT (the packaged model's tokenizer, random
weights, dropout off) for 3 epochs on 64 real SMS messages, batches of 16: once as a
plain process and once under ``torchrun --nproc_per_node 2``. With the batches split
over the processes the two runs take the same steps on the same batches, so the weights,
losses and validation scores must agree; only the main process may print and write
checkpoints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # two training runs, one of them on two processes

SCRIPT = Path(__file__).with_name("distributed_train.py")
ROOT = SCRIPT.parent.parent
EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 3, 4, 16  # as in distributed_train.py: 64 texts
LAUNCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
              "ACCELERATE_USE_CPU")


def _child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in LAUNCH_ENV}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", COURSE_DEVICE="cpu", COURSE_PROGRESS="text",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return env


def _start(command: list[str], out: Path) -> subprocess.Popen:
    out.mkdir()
    return subprocess.Popen(command + [str(SCRIPT), str(out)], cwd=ROOT, env=_child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, what: str) -> str:
    try:
        stdout, stderr = process.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"{what} did not finish in 400 s (a process waiting for the other?)\n{stdout}\n{stderr[-3000:]}")
    assert process.returncode == 0, f"{what} failed:\n{stdout}\n{stderr[-5000:]}"
    return stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(one-process folder, its stdout, two-process folder, its stdout, seconds), both run at the same time."""
    base = tmp_path_factory.mktemp("distributed")
    started = time.perf_counter()
    single = _start([sys.executable], base / "single")
    double = _start([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
                    base / "two")
    double_out = _finish(double, "the torchrun run on 2 processes")
    single_out = _finish(single, "the one-process run")
    return base / "single", single_out, base / "two", double_out, time.perf_counter() - started


def _read(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def test_each_process_trains_on_its_half_of_every_batch(runs):
    single, _, two, _, _ = runs
    assert _read(single, "rank0.json")["batch_sizes"] == [BATCH_SIZE] * (EPOCHS * STEPS_PER_EPOCH)
    for rank in (0, 1):
        assert _read(two, f"rank{rank}.json")["batch_sizes"] == [BATCH_SIZE // 2] * (EPOCHS * STEPS_PER_EPOCH)


def test_two_processes_end_with_the_weights_of_one(runs):
    single, _, two, _, _ = runs
    one_process = load_file(str(single / "weights.safetensors"))
    two_processes = load_file(str(two / "weights.safetensors"))
    assert one_process.keys() == two_processes.keys()
    for key, value in one_process.items():
        torch.testing.assert_close(two_processes[key], value, atol=1e-4, rtol=1e-4, msg=key)


def test_losses_and_gathered_validation_scores_match_one_process(runs):
    single, _, two, _, _ = runs
    expected, result = _read(single, "result.json"), _read(two, "result.json")
    assert result["best_epoch"] == expected["best_epoch"]
    assert [row["step"] for row in result["history"]] == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1))
    np.testing.assert_allclose([row["lr"] for row in result["history"]], [row["lr"] for row in expected["history"]])
    np.testing.assert_allclose([row["train_loss"] for row in result["history"]],
                               [row["train_loss"] for row in expected["history"]], rtol=1e-5)
    for got, want in zip(result["epochs"], expected["epochs"], strict=True):
        for key, value in want.items():
            if key.endswith("loss"):
                assert got[key] == pytest.approx(value, rel=1e-5), key
            else:  # accuracies, F1: counts of texts, so equal
                assert got[key] == value, key
    # every process got the same gathered scores, so all of them make the same best-epoch decisions
    assert _read(two, "rank1.json")["epochs"] == _read(two, "rank0.json")["epochs"]


def test_only_the_main_process_prints_and_writes_checkpoints(runs):
    _, single_out, two, double_out, seconds = runs
    for stdout in (single_out, double_out):
        for epoch in range(1, EPOCHS + 1):
            assert stdout.count(f"epoch {epoch}: train loss") == 1, stdout
    saved = (two / "saves-rank0.txt").read_text(encoding="utf-8").splitlines()
    assert len(saved) == EPOCHS
    assert not (two / "saves-rank1.txt").exists(), "a process other than the main one wrote a checkpoint"
    assert json.loads((two / "checkpoints" / "last" / "state.json").read_text(encoding="utf-8"))["epoch"] == EPOCHS
    print(f"one process and two processes, side by side: {seconds:.1f} s")
