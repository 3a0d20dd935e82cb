"""A lesson is a check: courseware.lessons prints it, fails the course's own runs on a ✗, and the committed
notebooks show every lesson they check as ✓."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courseware import lessons

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def printed_lines(path: Path) -> list[str]:
    lines = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            lines += ("".join(text) if isinstance(text, list) else text).splitlines()
    return lines


def test_a_lesson_that_holds_prints_a_tick_with_its_figures(capsys, monkeypatch):
    monkeypatch.setenv(lessons.STRICT_ENV_VAR, "1")
    assert lessons.lesson(True, "recall rose", "0.80 -> 0.90") is None  # a cell may end with it: nothing shown
    assert capsys.readouterr().out == "✓ lesson: recall rose (0.80 -> 0.90)\n"


def test_a_lesson_that_does_not_hold_says_what_showed_instead_and_a_learner_goes_on(capsys, monkeypatch):
    monkeypatch.delenv(lessons.STRICT_ENV_VAR, raising=False)
    lessons.lesson(False, "recall rose", "0.80 -> 0.90", instead="recall fell, 0.80 -> 0.70")
    assert capsys.readouterr().out == "✗ lesson: recall rose did not show in this run: recall fell, 0.80 -> 0.70\n"


def test_the_course_runs_stop_on_a_lesson_that_does_not_hold(capsys, monkeypatch):
    monkeypatch.setenv(lessons.STRICT_ENV_VAR, "1")
    with pytest.raises(lessons.LessonNotShown, match="recall rose"):
        lessons.lesson(False, "recall rose", "0.80 -> 0.70")
    assert capsys.readouterr().out.startswith("✗ lesson:")


def test_the_test_suite_runs_the_notebooks_strictly():
    import os

    assert os.environ.get(lessons.STRICT_ENV_VAR) == "1"  # set by conftest.py, inherited by nbval's kernels


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_committed_notebook_shows_a_lesson_that_did_not_hold(path):
    failed = [line for line in printed_lines(path) if line.startswith(lessons.FAILED)]
    assert not failed, f"{path.name}: {failed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_lesson_a_notebook_checks_shows_as_a_tick_in_its_committed_outputs(path):
    import re

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        checks = len(re.findall(r"^\s*lesson\(", source, flags=re.MULTILINE))
        if checks:
            text = "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))
            ticks = [line for line in text.splitlines() if line.startswith(lessons.PASSED)]
            assert len(ticks) >= checks, f"{path.name}: a cell checks {checks} lesson(s) but shows {len(ticks)} ✓:\n{source}"


def test_the_course_checks_its_lessons():
    count = sum(len([line for line in printed_lines(path) if line.startswith(lessons.PASSED)]) for path in NOTEBOOKS)
    assert count >= 2, f"{count} lessons shown as ✓ in the committed notebooks"
