"""Fixtures shared by the test modules."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest


@pytest.fixture
def scored_messages():
    """200 messages, ~25% spam, with overlapping spam probabilities (a realistic, imperfect model)."""
    rng = np.random.default_rng(0)
    y_true = (rng.random(200) < 0.25).astype(int)
    p_spam = np.clip(rng.normal(0.3 + 0.4 * y_true, 0.18), 0, 1)
    return y_true, p_spam


def _run_cli(argv: list[str], package: str = "course_utils") -> tuple[int, str, str]:
    import importlib

    main = importlib.import_module(f"{package}.__main__").main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as stop:  # argparse's usage errors and --help
            code = 0 if stop.code is None else stop.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def run_cli():
    """The command line in-process: ``run_cli(["train", ...])`` is ``python -m course_utils train ...``
    as ``course_utils.__main__.main(argv)``, returning (exit status, stdout, stderr).

    The one way tests run the command line; a module keeps at most one subprocess smoke test,
    for what only a real process shows (no traceback on the terminal, the exit status).
    """
    return _run_cli


@pytest.fixture(scope="session")
def run_courseware():
    """The course's command line in-process: ``run_courseware(["doctor"])`` is ``python -m courseware doctor``
    as ``courseware.__main__.main(argv)``, returning (exit status, stdout, stderr), as ``run_cli`` does."""
    return lambda argv: _run_cli(argv, package="courseware")


TINY_BERT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 max_position_embeddings=512)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny pretrained-checkpoint folder, written once per session: a BERT encoder of 2 layers, hidden size 32
    (about 1M parameters, mostly the embeddings), random weights, with the packaged model's tokenizer.

    It stands in for the packaged MiniLM-L6 (22.7M parameters) wherever a test proves mechanics
    (training, resuming, checkpoints, the command line end to end, the benchmarks running) rather
    than quality: ``models.load_classifier(str(tiny_model_dir), ...)``, ``--model <folder>`` or
    ``COURSE_MODEL=<folder>`` (a local folder, to :func:`course_utils.models.choose_model`). Saved as
    the packaged checkpoint is, an encoder without a classification head (``BertModel``), so
    ``load_classifier`` draws a new head of any number of classes after the caller's seed. The
    notebooks fine-tune the real model under nbval, so the real model's quality is checked there.
    """
    import torch
    from transformers import BertConfig, BertModel

    from course_utils import models

    tokenizer = models.load_tokenizer("packaged")
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=len(tokenizer), **TINY_BERT))
    folder = tmp_path_factory.mktemp("tiny-bert")
    encoder.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
