"""A lesson is a check: courseware.lessons prints it, fails the course's own runs on a ✗, and the committed
notebooks show every lesson they check as ✓."""

from __future__ import annotations

import io
import json
import re
import tokenize
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
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        checks = len(re.findall(r"^\s*lesson\(", source, flags=re.MULTILINE))
        if checks:
            text = "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))
            ticks = [line for line in text.splitlines() if line.startswith(lessons.PASSED)]
            assert len(ticks) >= checks, f"{path.name}: a cell checks {checks} lesson(s) but shows {len(ticks)} ✓:\n{source}"


# A notebook trains when a code cell calls train(...) with arguments, train_or_reuse(...) or .backward(...)
# (`model.train()` does not; the train(...) rule is scripts/sync_colab.py's).
TRAINING_CALL = re.compile(r"(?<![\w])train\(\s*[^)\s]|(?<![\w])train_or_reuse\(|\.backward\(")
LESSON_CALL = re.compile(r"(?<![\w.])lesson\(")
MIN_LESSONS_PER_TRAINING_NOTEBOOK = 2
MIN_LESSONS_IN_THE_COURSE = 25


def code_without_comments(source: str) -> str:
    """A code cell's source with its comments removed (a comment that mentions train(...) calls nothing)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):  # IPython magics and the like: keep it all
        return source
    lines = source.splitlines(keepends=True)
    for token in reversed([token for token in tokens if token.type == tokenize.COMMENT]):
        row, column = token.start
        lines[row - 1] = lines[row - 1][:column] + lines[row - 1][column + len(token.string):]
    return "".join(lines)


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "code"]


def cell_text(cell: dict) -> str:
    return "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))


def lesson_lines(path: Path) -> list[str]:
    """Every lesson line (✓ or ✗) the notebook's committed outputs show, in order."""
    return [line for line in printed_lines(path) if line.startswith((lessons.PASSED, lessons.FAILED))]


def trains(path: Path) -> bool:
    return any(TRAINING_CALL.search(code_without_comments("".join(cell["source"]))) for cell in code_cells(path))


def lesson_listing() -> str:
    """Every notebook's lessons, as the failure messages print them."""
    parts = []
    for path in NOTEBOOKS:
        lines = lesson_lines(path)
        kind = "trains" if trains(path) else "does not train"
        parts.append(f"{path.stem} ({kind}, {len(lines)} lesson(s)):" + "".join(f"\n    {line}" for line in lines))
    return "\n".join(parts)


def test_the_training_call_pattern():
    found = [bool(TRAINING_CALL.search(code_without_comments(source))) for source in (
        "result = train(model, tokenizer, train_df)", "model = train_or_reuse('spam', build)", "loss.backward()",
        "training.train(model, tokenizer, df)",
        "model.train()", "# we train(model, ...) in notebook 04", "retrain(x)")]
    assert found == [True, True, True, True, False, False, False]


def test_every_lesson_of_the_course_holds_in_the_committed_outputs():
    """The list of lessons per notebook; none shows ✗; each notebook that trains checks at least two; the
    course at least 25."""
    listing = lesson_listing()
    failed = [f"{path.stem}: {line}" for path in NOTEBOOKS for line in lesson_lines(path)
              if line.startswith(lessons.FAILED)]
    assert not failed, "lessons that did not hold:\n" + "\n".join(failed) + "\n\nEvery lesson:\n" + listing
    short = [f"{path.stem}: {len(lesson_lines(path))}" for path in NOTEBOOKS
             if trains(path) and len(lesson_lines(path)) < MIN_LESSONS_PER_TRAINING_NOTEBOOK]
    assert not short, (f"notebooks that train and check fewer than {MIN_LESSONS_PER_TRAINING_NOTEBOOK} lessons: "
                       f"{', '.join(short)}\n\nEvery lesson:\n{listing}")
    total = sum(len(lesson_lines(path)) for path in NOTEBOOKS)
    assert total >= MIN_LESSONS_IN_THE_COURSE, (f"{total} lessons in the course, fewer than "
                                                f"{MIN_LESSONS_IN_THE_COURSE}\n\nEvery lesson:\n{listing}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_cell_that_checks_a_lesson_shows_its_line(path):
    """A cell that calls lesson(...) shows a lesson line in its stored outputs: it was run, and the check printed."""
    silent = []
    for index, cell in enumerate(code_cells(path)):
        if LESSON_CALL.search(code_without_comments("".join(cell["source"]))):
            text = cell_text(cell)
            if not any(line.startswith((lessons.PASSED, lessons.FAILED)) for line in text.splitlines()):
                silent.append(f"code cell {index}:\n" + "".join(cell["source"])[:400])
    assert not silent, (f"{path.name}: cells that call lesson(...) but show no lesson line (re-execute the "
                        "notebook with scripts/execute_notebooks.py):\n" + "\n".join(silent))
