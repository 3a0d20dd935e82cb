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


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    from course_utils.__main__ import main

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
