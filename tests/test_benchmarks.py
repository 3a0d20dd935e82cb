"""The benchmark scripts run end to end on a tiny size (so a missing dependency or a changed API fails here).

Each script runs as a subprocess, as a reader would run it, on a few dozen messages and on the
session's tiny BERT (``tiny_model_dir`` in conftest.py, as ``$COURSE_MODEL`` and ``--model``), not the
packaged MiniLM-L6: the benchmarks measure the real model when a person runs them, and the notebooks
fine-tune it. Only the shape of the output is checked: which lines are there, that the two prediction
paths agree and that each loop computed in the precision it was given. No timing is asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils.device import device_info, get_device

pytestmark = pytest.mark.slow  # each runs a benchmark script end to end, on a tiny size

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
TIMEOUT_S = 300  # a hung run fails instead of holding CI; a normal tiny run takes well under a minute
TINY = ["--train-size", "16", "--val-size", "20"]


def run_script(name: str, model: Path, *args: str) -> str:
    """Run ``benchmarks/<name> *args`` with ``$COURSE_MODEL`` set to ``model``; its stdout."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "COURSE_MODEL": str(model)}
    completed = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=TIMEOUT_S)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"{name} {' '.join(args)} exited {completed.returncode}:\n{output[-4000:]}"
    return completed.stdout


def number(output: str, key: str) -> float:
    found = re.search(rf"^{re.escape(key)}=(\d+(?:\.\d+)?)", output, re.MULTILINE)
    assert found, f"no '{key}=<number>' line in:\n{output}"
    return float(found.group(1))


def row(output: str, loop: str) -> str:
    found = re.search(rf"^\s*{re.escape(loop)}: .*$", output, re.MULTILINE)
    assert found, f"no result row for {loop} in:\n{output}"
    return found.group(0)


def default_precision() -> str:
    """What course_utils trains in by default here: bf16 on a CPU with bf16 instructions or a recent GPU."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(device_info(get_device()).amp_dtype, "fp32")


def check_loops(output: str, loops: tuple[str, ...]) -> None:
    for loop in loops:
        assert "samples/s" in row(output, loop)
        number(output, f"flops_{loop}")  # its line is there; the tiny model's rate may print as 0.0 GFLOP/s
        if get_device().type == "cpu":  # each loop's share of the matmul peak of the precision it ran in
            assert re.search(rf"^flops_{loop}=.*% of the measured \w+ matmul peak of", output, re.MULTILINE)
    assert number(output, "matmul_peak_fp32") > 0
    assert output.strip().splitlines()[-1].startswith("ratio_vs_trainer=")
    assert "warning:" not in output  # no loop computed in another precision than it was given


@pytest.fixture(scope="module")
def speed_output(tiny_model_dir) -> str:
    """One tiny run of every default loop and the fp32 comparison (each loop in its own process)."""
    return run_script("train_speed.py", tiny_model_dir, *TINY, "--peak-seconds", "0.1", "--model", str(tiny_model_dir),
                      "--loops", "course_utils,trainer,trainer_best,seeds,course_utils_fp32")


def test_train_speed_against_both_trainers(speed_output):
    # the tiny model's 2 layers of width 32 (about 25,000 parameters outside the embeddings), not MiniLM-L6's 11M
    assert re.search(r"^FLOPs = 6 x 0\.0[1-9]M non-embedding parameters", speed_output, re.MULTILINE), speed_output
    check_loops(speed_output, ("course_utils", "trainer", "trainer_best"))
    assert number(speed_output, "ratio_vs_trainer") > 0
    assert number(speed_output, "ratio_vs_trainer_best") > 0
    precision = default_precision()  # Trainer must really apply the same autocast as course_utils
    for loop in ("course_utils", "trainer", "trainer_best"):
        assert f"computed in {precision} " in row(speed_output, loop)


def test_train_speed_against_the_tutorial_loop_and_fp32(speed_output):
    check_loops(speed_output, ("course_utils", "seeds", "course_utils_fp32"))
    assert number(speed_output, "ratio_vs_seeds") > 0
    assert number(speed_output, "ratio_vs_fp32") > 0
    assert f"computed in {default_precision()} " in row(speed_output, "course_utils")
    for loop in ("seeds", "course_utils_fp32"):  # the tutorial's loop as written, and the fp32 comparison
        assert "computed in fp32 " in row(speed_output, loop)


def import_train_speed():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import train_speed
    finally:
        sys.path.remove(str(BENCHMARKS))
    return train_speed


def test_no_amp_puts_every_loop_in_full_precision():
    train_speed = import_train_speed()
    device = get_device()
    for loop in train_speed.LOOPS:
        assert train_speed.loop_amp(loop, device, no_amp=True) is None
    mixed = None if default_precision() == "fp32" else default_precision()
    for loop in ("course_utils", "course_utils_random", "trainer", "trainer_best"):
        assert train_speed.loop_amp(loop, device) == mixed
    for loop in ("seeds", "course_utils_fp32"):
        assert train_speed.loop_amp(loop, device) is None


def test_trainer_best_settings(tmp_path):
    """The practitioner's settings, under the names of the installed transformers (4.x or 5.x)."""
    train_speed = import_train_speed()
    args = train_speed.parse_args([])
    cpu = torch.device("cpu")
    best = train_speed.trainer_arguments(str(tmp_path), args, cpu, "bf16", total_steps=63, best=True)
    sampling = getattr(best, "train_sampling_strategy", None)
    assert sampling == "group_by_length" or getattr(best, "group_by_length", False)
    assert str(getattr(best.optim, "value", best.optim)) == "adamw_torch_fused"
    assert best.weight_decay == 0.01 and best.warmup_steps == 6  # int(0.1 * 63), as course_utils counts it
    assert best.bf16 and best.use_cpu and not best.fp16
    for strategy in (best.save_strategy, best.logging_strategy):
        assert str(getattr(strategy, "value", strategy)) == "no"
    defaults = train_speed.trainer_arguments(str(tmp_path), args, cpu, None, total_steps=63, best=False)
    assert not defaults.bf16 and defaults.weight_decay == 0.0 and defaults.warmup_steps == 0


def test_predict_speed_agrees_with_pipeline(tiny_model_dir):
    output = run_script("predict_speed.py", tiny_model_dir, "--limit", "40", "--model", str(tiny_model_dir))
    assert "same predictions: 40 of 40;" in output
    assert number(output, "ratio_vs_pipeline") > 0
    difference = float(re.search(r"largest probability difference (\S+)", output).group(1))
    assert difference < 1e-3


def test_recipe_script_prints_the_baseline_the_seeds_and_the_goal(tiny_model_dir):
    output = run_script("recipe.py", tiny_model_dir, "--size", "40", "--eval-size", "60", "--seeds", "1,2",
                        "--epochs", "1", "--model", str(tiny_model_dir))
    assert re.search(r"^baseline: TF-IDF \+ linear SVM \(C=", output, re.MULTILINE)
    assert len(re.findall(r"^seed [12]: lr 0\.0001 \(head x10\), 1 epochs, .*minus baseline [-+]\d\.\d{4} "
                          r"\(95% paired bootstrap", output, re.MULTILINE)) == 2
    assert "at the validation threshold" in output
    assert re.search(r"^fine-tuned \(2 seeds\): test spam F1 mean \d\.\d{4}, sd \d\.\d{4}", output, re.MULTILINE)
    assert re.search(r"^goal_spam_40_margin=-?\d\.\d{4} \(goal > 0\)$", output, re.MULTILINE)


def test_time_to_quality_reaches_a_target_and_prints_the_ratio(tiny_model_dir):
    # target 0: every system reaches it at its first scoring, so the run is short and the ratio defined;
    # the script has no --model: its runs take $COURSE_MODEL
    output = run_script("time_to_quality.py", tiny_model_dir, "--train-size", "48", "--eval-size", "40",
                        "--seeds", "1", "--target", "0", "--evals-per-epoch", "2",
                        "--systems", "course_utils,trainer_best,tutorial")
    assert re.search(r"^baseline \(TF-IDF \+ linear SVM\): val spam F1 \d\.\d{3}, test spam F1 \d\.\d{3}; "
                     r"target: val spam F1 >= 0\.000", output, re.MULTILINE)
    for system in ("course_utils", "trainer_best", "tutorial"):  # scored after step 2 of 3: 32 messages
        line = re.search(rf"^\[seed 1\]\s+{system}: reached the target after \d+ s \(32 samples, 1 scorings",
                         output, re.MULTILINE)
        assert line, f"no run line for {system}:\n{output}"
    assert number(output, "ratio_time_to_quality_vs_trainer_best") > 0


def test_time_to_quality_scores_evenly_and_at_the_end_of_each_epoch():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from time_to_quality import checkpoints_in_epoch
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert checkpoints_in_epoch(199, 4) == {50, 100, 150, 199}
    assert checkpoints_in_epoch(3, 4) == {1, 2, 3}  # never more scorings than steps
    assert checkpoints_in_epoch(10, 1) == {10}
