"""Exercises that check themselves, and the exercise copies for workshops (`courseware.exercises`)."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import textwrap
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.errors import CourseError
from courseware.exercises import (_DEFAULT_EXERCISE_COMMENT, _EXERCISE_PREFIX, _EXERCISE_TAG, _SOLUTION_TAG, Exercise,
                                    ExerciseNotDone, _MissingExerciseComment, NotYet, _check_call, _count_exercises,
                                    _exercise_comment_lines, _exercise_scaffold, make_exercises, require, require_close)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
EXERCISES = ROOT / "exercises"  # the committed exercise notebooks (scripts/make_exercises.py)
EXERCISE_PATHS = sorted(EXERCISES.glob("[0-9]*.ipynb"))


def tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` (hidden ones included): a file's bytes, None for a folder."""
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The exercise copies of the course notebooks, built once, and the warnings raised while building."""
    out_dir = tmp_path_factory.mktemp("kit") / "workshop"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = make_exercises(NOTEBOOKS, out_dir)
    return out_dir, written, [str(warning.message) for warning in caught]


def pairs(built):
    out_dir, _, _ = built
    for path in NOTEBOOK_PATHS:
        yield path.name, nbformat.read(path, as_version=4), nbformat.read(out_dir / path.name, as_version=4)


def test_one_valid_copy_per_numbered_notebook_and_no_warning(built):
    out_dir, written, messages = built
    assert NOTEBOOK_PATHS, "no numbered notebooks found"
    assert [path.name for path in written] == [path.name for path in NOTEBOOK_PATHS]
    assert sorted(path.name for path in out_dir.iterdir()) == [path.name for path in NOTEBOOK_PATHS]
    for path in written:
        nbformat.validate(nbformat.read(path, as_version=4))
    assert messages == []  # every solution cell has its "# Exercise:" comment


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_every_notebook_has_solution_cells_with_an_exercise_comment(path):
    notebook = nbformat.read(path, as_version=4)
    solutions = [cell for cell in notebook.cells if _SOLUTION_TAG in tags(cell)]
    assert 1 <= len(solutions) <= 3, f"{path.name}: {len(solutions)} solution cells"
    for cell in solutions:
        assert cell.cell_type == "code"
        assert cell.source.startswith(_EXERCISE_PREFIX + " "), f"{path.name}: {cell.source[:60]!r}"
        assert len(cell.source.splitlines()) > 1, "the solution itself follows the comment"


def test_only_solution_cells_change(built):
    for name, original, copy in pairs(built):
        assert "widgets" not in copy.metadata  # the widget state of the cleared outputs goes with them
        assert copy.metadata == {key: value for key, value in original.metadata.items() if key != "widgets"}, name
        assert (copy.nbformat, copy.nbformat_minor) == (original.nbformat, original.nbformat_minor)
        assert len(copy.cells) == len(original.cells), name
        for before, after in zip(original.cells, copy.cells):
            assert after.cell_type == before.cell_type and after.get("id") == before.get("id")
            if _SOLUTION_TAG in tags(before):
                assert after.source != before.source
                assert tags(after) == [_EXERCISE_TAG if tag == _SOLUTION_TAG else tag for tag in tags(before)]
                assert {k: v for k, v in after.metadata.items() if k != "tags"} == \
                       {k: v for k, v in before.metadata.items() if k != "tags"}
            else:
                assert after.source == before.source, f"{name}: a cell without the solution tag changed"
                assert after.metadata == before.metadata
                if before.cell_type == "markdown":
                    assert after == before


def test_scaffold_keeps_the_exercise_comment_and_drops_the_solution(built):
    checked = 0
    for name, original, copy in pairs(built):
        for before, after in zip(original.cells, copy.cells):
            if _SOLUTION_TAG not in tags(before):
                continue
            comment = _exercise_comment_lines(before.source)
            assert comment and before.source.startswith(comment[0])
            exercise = _check_call(before.source)
            assert after.source == "\n".join([*comment, "# Your code here", "...", "",
                                              f"# {exercise}.hint()      # uncomment for a hint",
                                              f"# {exercise}.solution()  # uncomment for a solution",
                                              f"{exercise}.check()"]), name
            solution_code = [line for line in before.source.splitlines()
                             if line.strip() and not line.startswith("#") and not _check_call(line)]
            leaked = {line.strip() for line in solution_code if len(line.strip()) > 3} & \
                {line.strip() for line in after.source.splitlines()}
            assert not leaked, f"{name}: solution code leaked: {leaked}"
            assert _SOLUTION_TAG not in tags(after)
            checked += 1
    assert checked >= len(NOTEBOOK_PATHS)


def test_outputs_and_execution_counts_are_cleared(built):
    for name, original, copy in pairs(built):
        assert any(cell.get("outputs") for cell in original.cells), f"{name}: the original has outputs to clear"
        for cell in copy.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name


def test_exercise_comment_lines():
    source = "# Exercise: write the loop.\n# Exercise: then print the loss.\n# a hint that gives it away\nx = 1\n# Exercise: late"
    assert _exercise_comment_lines(source) == ["# Exercise: write the loop.", "# Exercise: then print the loss."]
    assert _exercise_comment_lines("x = 1  # Exercise: no") == []
    assert _exercise_comment_lines("\n# Exercise: after a blank line\ny = 2") == ["# Exercise: after a blank line"]
    # a prompt line wrapped onto the next ('#' and two or more spaces) stays; a plain comment after it does not
    wrapped = "# Exercise: store the loss\n#   in `loss`.\n# a hint\n#   more of the hint\nloss = 1"
    assert _exercise_comment_lines(wrapped) == ["# Exercise: store the loss", "#   in `loss`."]


def write_notebook(folder: Path, name: str, cells: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=cells)
    path = folder / name
    nbformat.write(notebook, path)
    return path


def test_a_solution_cell_without_comment_gets_the_default_and_a_warning(tmp_path):
    solution = nbformat.v4.new_code_cell("# a plain comment\ny = 2 * 21", metadata={"tags": [_SOLUTION_TAG]})
    solution.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    solution.execution_count = 3
    write_notebook(tmp_path / "nb", "01_demo.ipynb", [nbformat.v4.new_markdown_cell("# Demo"), solution])
    with pytest.warns(_MissingExerciseComment, match="01_demo.ipynb.*Exercise"):
        (written,) = make_exercises(tmp_path / "nb", tmp_path / "out")
    cell = nbformat.read(written, as_version=4).cells[1]
    assert cell.source == f"{_DEFAULT_EXERCISE_COMMENT}\n# Your code here\n..."
    assert tags(cell) == [_EXERCISE_TAG] and cell.outputs == [] and cell.execution_count is None


def test_a_notebook_without_solution_cells_warns(tmp_path):
    write_notebook(tmp_path / "nb", "02_plain.ipynb", [nbformat.v4.new_code_cell("print(1)")])
    write_notebook(tmp_path / "nb", "scratch.ipynb", [nbformat.v4.new_code_cell("print(2)")])  # not numbered
    with pytest.warns(_MissingExerciseComment, match="02_plain.ipynb: no cell is tagged 'solution'"):
        written = make_exercises(tmp_path / "nb", tmp_path / "out")
    assert [path.name for path in written] == ["02_plain.ipynb"]


def test_second_run_without_overwrite_refuses_and_writes_nothing(built):
    out_dir, _, _ = built
    before = snapshot(out_dir.parent)
    with pytest.raises(CourseError, match="not empty.*--overwrite"):
        make_exercises(NOTEBOOKS, out_dir)
    assert snapshot(out_dir.parent) == before  # copies untouched, no temporary folder left


def test_overwrite_replaces_the_notebooks_and_keeps_other_files(tmp_path):
    out_dir = tmp_path / "workshop"
    make_exercises(NOTEBOOKS, out_dir)
    first = out_dir / NOTEBOOK_PATHS[0].name
    first.write_text("learner's edits")
    (out_dir / "outputs").mkdir()
    (out_dir / "outputs" / "model.txt").write_text("kept")
    written = make_exercises(NOTEBOOKS, out_dir, overwrite=True)
    nbformat.validate(nbformat.read(first, as_version=4))
    assert (out_dir / "outputs" / "model.txt").read_text() == "kept"
    assert len(written) == len(NOTEBOOK_PATHS)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["workshop"]


@pytest.mark.parametrize("case", ["missing", "empty", "same", "inside", "holds", "file"])
def test_bad_input_raises_course_error_and_writes_nothing(tmp_path, case):
    notebooks = tmp_path / "course" / "notebooks"
    write_notebook(notebooks, "00_demo.ipynb", [nbformat.v4.new_code_cell("x = 1", metadata={"tags": [_SOLUTION_TAG]})])
    out_dir = tmp_path / "workshop"
    if case == "missing":
        notebooks = tmp_path / "no-such-folder"
    elif case == "empty":
        notebooks = tmp_path / "empty"
        notebooks.mkdir()
    elif case == "same":
        out_dir = notebooks
    elif case == "inside":
        out_dir = notebooks / "workshop"
    elif case == "holds":
        out_dir = tmp_path / "course"
    elif case == "file":
        out_dir.write_text("not a folder")
    before = snapshot(tmp_path)
    with pytest.raises(CourseError, match="Fix:"), warnings.catch_warnings():
        warnings.simplefilter("ignore", _MissingExerciseComment)
        make_exercises(notebooks, out_dir, overwrite=case in {"same", "holds"})
    assert snapshot(tmp_path) == before  # no copy, no temporary folder


def test_cli_writes_one_line_per_notebook_and_a_total(tmp_path, run_courseware):
    status, stdout, stderr = run_courseware(["exercises", str(tmp_path / "workshop")])
    assert status == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == len(NOTEBOOK_PATHS) + 1 and stderr == ""
    counts = []
    for path, line in zip(NOTEBOOK_PATHS, lines):
        solutions = sum(_SOLUTION_TAG in tags(cell) for cell in nbformat.read(path, as_version=4).cells)
        assert line.endswith(f"{path.name}: {solutions} exercise{'s' if solutions != 1 else ''}")
        counts.append(solutions)
    assert lines[-1].startswith(f"{sum(counts)} exercises in {len(NOTEBOOK_PATHS)} notebooks, written to ")


@pytest.mark.parametrize("args", [
    ["exercises", "{tmp}/filled"],                       # exists and is not empty
    ["exercises", "{tmp}/new", "--notebooks", "{tmp}/no-such-folder"],
    ["exercises", "notebooks", "--overwrite"],           # the notebooks folder itself
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, args, run_courseware, monkeypatch):
    monkeypatch.chdir(ROOT)  # "notebooks" is the course's folder
    (tmp_path / "filled").mkdir()
    (tmp_path / "filled" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path), snapshot(NOTEBOOKS)
    status, stdout, stderr = run_courseware([arg.format(tmp=tmp_path) for arg in args])
    assert status == 2
    assert stdout == ""
    assert len(stderr.splitlines()) == 1 and stderr.startswith("error: ") and "Fix:" in stderr
    assert (snapshot(tmp_path), snapshot(NOTEBOOKS)) == before


def test_cli_from_a_pip_install_copies_the_shipped_exercise_notebooks(tmp_path, run_courseware, monkeypatch):
    """A pip or Colab install has no notebooks/ next to the package: the exercise notebooks it ships are copied."""
    import courseware.exercises

    shipped = tmp_path / "site-packages" / "courseware" / "exercise_notebooks"
    shutil.copytree(EXERCISES, shipped)
    monkeypatch.setattr(courseware.exercises, "_default_notebooks_dir", lambda: tmp_path / "site-packages" / "notebooks")
    monkeypatch.setattr(courseware.exercises, "_shipped_exercises_dir", lambda: shipped)
    status, stdout, stderr = run_courseware(["exercises", str(tmp_path / "workshop")])
    assert status == 0 and stderr == "", stderr
    copies = sorted(path.name for path in EXERCISE_PATHS)
    assert copies and sorted(path.name for path in (tmp_path / "workshop").iterdir()) == copies
    for name in copies:
        assert (tmp_path / "workshop" / name).read_bytes() == (EXERCISES / name).read_bytes()
    assert stdout.splitlines()[-1].startswith(f"{sum(map(_count_exercises, EXERCISE_PATHS))} exercises in "
                                              f"{len(copies)} notebooks, written to ")


def test_cli_without_notebooks_or_shipped_copies_names_the_fix(tmp_path, run_courseware, monkeypatch):
    import courseware.exercises

    missing = tmp_path / "site-packages" / "courseware" / "exercise_notebooks"
    monkeypatch.setattr(courseware.exercises, "_default_notebooks_dir", lambda: tmp_path / "site-packages" / "notebooks")
    monkeypatch.setattr(courseware.exercises, "_shipped_exercises_dir", lambda: missing)
    status, stdout, stderr = run_courseware(["exercises", str(tmp_path / "workshop")])
    assert status == 2 and stdout == ""
    assert len(stderr.splitlines()) == 1 and stderr.startswith("error: ") and str(missing) in stderr
    assert "--notebooks DIR" in stderr and "clone" in stderr
    assert not (tmp_path / "workshop").exists()


def test_the_wheel_ships_the_exercise_notebooks():
    """pyproject.toml maps exercises/ to courseware.exercise_notebooks, where _shipped_exercises_dir looks."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "courseware.exercise_notebooks" in setuptools["packages"]
    assert setuptools["package-dir"]["courseware.exercise_notebooks"] == "exercises"
    assert setuptools["package-data"]["courseware.exercise_notebooks"] == ["*.ipynb"]


# --- the committed exercise notebooks (exercises/) -------------------------------------------------


def test_committed_exercise_notebooks_are_in_step_with_the_notebooks():
    """exercises/NN_name.ipynb is what scripts/make_exercises.py makes from notebooks/NN_name.ipynb, for every
    notebook with exercises, and there is no other. Fix: python scripts/make_exercises.py"""
    import make_exercises

    problems = make_exercises.sync(ROOT, fix=False)
    assert problems == [], "\n".join(problems) + "\nFix: python scripts/make_exercises.py"
    assert [path.name for path in EXERCISE_PATHS] == [path.name for path in NOTEBOOK_PATHS
                                                      if any(_SOLUTION_TAG in tags(cell) for cell in
                                                             nbformat.read(path, as_version=4).cells)]


def test_make_exercises_names_what_is_out_of_date_and_fixes_it(tmp_path, capsys):
    import make_exercises

    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks", ignore=shutil.ignore_patterns("outputs"))
    assert make_exercises.main(["--root", str(tmp_path)]) == 0
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 0
    first, second = NOTEBOOK_PATHS[:2]
    edited = nbformat.read(tmp_path / "notebooks" / first.name, as_version=4)
    edited.cells[0].source += " (edited)"
    nbformat.write(edited, tmp_path / "notebooks" / first.name)
    (tmp_path / "exercises" / second.name).unlink()
    (tmp_path / "exercises" / "99_renamed.ipynb").write_text("{}")
    capsys.readouterr()
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"exercises/{first.name}: out of date (notebooks/{first.name} changed since it was made)",
                                f"exercises/{second.name}: missing (notebooks/{second.name} has exercises)",
                                "exercises/99_renamed.ipynb: no notebooks/99_renamed.ipynb with exercises "
                                "(renamed or removed)"]
    assert "Fix: python scripts/make_exercises.py" in err
    assert make_exercises.main(["--root", str(tmp_path)]) == 0
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 0
    assert not (tmp_path / "exercises" / "99_renamed.ipynb").exists()
    assert "(edited)" in nbformat.read(tmp_path / "exercises" / first.name, as_version=4).cells[0].source


@pytest.mark.parametrize("path", EXERCISE_PATHS, ids=lambda path: path.stem)
def test_an_exercise_copy_installs_the_course_on_colab_and_keeps_no_solution(path):
    copy = nbformat.read(path, as_version=4)
    original = nbformat.read(NOTEBOOKS / path.name, as_version=4)
    assert copy.cells[1].source == original.cells[1].source  # the Colab setup cell: the checks import there
    assert "colab-setup" in tags(copy.cells[1]) and "course-utils @ git+" in copy.cells[1].source
    assert not [cell for cell in copy.cells if _SOLUTION_TAG in tags(cell)]
    assert all(cell.outputs == [] for cell in copy.cells if cell.cell_type == "code")


# --- prompts: wrapped at 100 characters, each part reads on its own ----------------------------------

PROMPT_WIDTH = 100
# A part (an `# Exercise:` line) that starts with one of these continues the sentence of the line above.
# ("for each threshold ...", "from `scores`, compute ..." and "then print it." read on their own.)
CONNECTIVES = {"and", "or", "but", "nor", "of", "than", "which", "whose", "plus", "per", "elsewhere"}
SENTENCE_END = re.compile(r"[.;:?!][)`'\"]*$")


def prompt_problems(source: str) -> list[str]:
    """What breaks the rules of a solution cell's prompt: each line at most 100 characters; each part (an
    `# Exercise:` line with its continuation lines) ends a sentence or clause (. ; : ? !) and does not start
    with a lowercase connective ("and the accuracy ...")."""
    problems = []
    lines = _exercise_comment_lines(source)
    parts: list[list[str]] = []
    for line in lines:
        if len(line) > PROMPT_WIDTH:
            problems.append(f"{len(line)} characters (at most {PROMPT_WIDTH}): {line[:60]}...")
        if line.startswith(_EXERCISE_PREFIX):
            parts.append([line])
        else:
            parts[-1].append(line)
    for part in parts:
        text = part[0][len(_EXERCISE_PREFIX):].strip()
        first_word = re.split(r"[\s,]", text, maxsplit=1)[0]
        if first_word in CONNECTIVES:
            problems.append(f"starts mid-sentence: {part[0][:70]}")
        if not SENTENCE_END.search(part[-1].rstrip()):
            problems.append(f"ends mid-sentence (the next part does not read on its own): {part[-1][-70:]}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_exercise_prompts_wrap_at_100_characters_and_each_part_reads_on_its_own(path):
    problems = [f"cell {index}: {problem}" for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
                if _SOLUTION_TAG in tags(cell) for problem in prompt_problems(cell.source)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_prompt_rules_catch_what_they_should():
    assert prompt_problems("# Exercise: store the count in `count`.\n# Exercise: then print it.\nx = 1") == []
    assert prompt_problems("# Exercise: store the count in `count` and\n#   print it.\nx = 1") == []
    assert len(prompt_problems("# Exercise: store the count in `count`,\n# Exercise: and the accuracy.\nx = 1")) == 2
    assert prompt_problems("# Exercise: for each row, add one.\n# Exercise: (leave `frame` as it is).\nx = 1") == []
    assert prompt_problems("# Exercise: store `a`.\n# Exercise: plus `b`.\nx = 1") == [
        "starts mid-sentence: # Exercise: plus `b`."]
    assert "characters" in prompt_problems("# Exercise: " + "word " * 20 + "end.\nx = 1")[0]


# --- Run All in an unanswered copy stops in the learner's own cell, with one line ------------------

@pytest.mark.slow  # a real kernel loads the tokenizer: about 45 s on a shared 2-core CPU
def test_run_all_in_an_unanswered_copy_stops_in_the_first_exercise_with_one_line(monkeypatch):
    """Notebook 01's committed exercise copy, executed cell by cell as Run All does, in one real kernel:
    it stops in the first exercise cell with one line (no traceback, no NameError); a NameError in the
    learner's own code there is one line too; answered, the cell passes and the next cell runs."""
    from nbclient.exceptions import CellExecutionError

    path = next(path for path in EXERCISE_PATHS if path.name.startswith("01_"))
    copy = nbformat.read(path, as_version=4)
    original = nbformat.read(NOTEBOOKS / path.name, as_version=4)
    first = next(index for index, cell in enumerate(copy.cells) if _EXERCISE_TAG in tags(cell))
    exercise = exercise_of(NOTEBOOKS / path, original.cells[first])
    for name, value in {"COURSE_FAST": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "TOKENIZERS_PARALLELISM": "false"}.items():
        monkeypatch.setenv(name, value)
    client = NotebookClient(copy, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXERCISES)}})

    def run(index: int):
        """Run one cell; its error output, if it raised (Run All stops there)."""
        try:
            client.execute_cell(copy.cells[index], index)
        except CellExecutionError:
            errors = [output for output in copy.cells[index].outputs if output.output_type == "error"]
            assert len(errors) == 1
            return errors[0]
        return None

    with client.setup_kernel():
        stopped = next(index for index, cell in enumerate(copy.cells) if cell.cell_type == "code" and run(index))
        assert stopped == first, f"Run All stopped in cell {stopped}, not in the first exercise (cell {first})"
        error = copy.cells[first].outputs[-1]
        assert error.ename == "ExerciseNotDone" and len(error.traceback) == 1, error.traceback
        assert error.traceback[0].startswith(f"✗ {exercise.name}: not done yet. ")
        assert "Run All stops here until it is done." in error.traceback[0]
        assert all(cell.execution_count is None for cell in copy.cells[first + 1:] if cell.cell_type == "code")

        variable = exercise.variables[0]
        copy.cells[first].source = copy.cells[first].source.replace("...", f"print({variable})", 1)
        error = run(first)  # the learner uses a variable before storing it
        assert error is not None and error.ename == "NameError" and len(error.traceback) == 1, error
        assert error.traceback[0].startswith(f"✗ {exercise.name}: not done yet. `{variable}` ")

        copy.cells[first].source = _exercise_scaffold(original.cells[first].source).replace(
            "...", textwrap.dedent(exercise.solution_code).strip(), 1)
        assert run(first) is None
        assert f"✓ {exercise.name}: correct." in "".join(output.get("text", "") for output in copy.cells[first].outputs)
        after = next(index for index in range(first + 1, len(copy.cells)) if copy.cells[index].cell_type == "code")
        assert run(after) is None or _EXERCISE_TAG in tags(copy.cells[after])


FAST_COPIES = [path for path in NOTEBOOK_PATHS if path.name[:2] in {"00", "01", "02", "03"}]


@pytest.mark.slow
@pytest.mark.parametrize("path", [path for path in NOTEBOOK_PATHS if path not in FAST_COPIES],
                         ids=lambda path: path.stem)
def test_copy_runs_up_to_its_first_exercise(built, path, monkeypatch):
    """What a learner runs first in the workshop: every cell above the first exercise, in fast mode, offline.
    (00-03 run whole, answered, in the last test of this file.)"""
    out_dir, _, _ = built
    copy = nbformat.read(out_dir / path.name, as_version=4)
    first = next(index for index, cell in enumerate(copy.cells) if _EXERCISE_TAG in tags(cell))
    copy.cells = copy.cells[:first]
    for name, value in {"COURSE_FAST": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "TOKENIZERS_PARALLELISM": "false"}.items():
        monkeypatch.setenv(name, value)
    # raises-exception cells may raise (nbclient honours the tag); any other error fails the test
    client = NotebookClient(copy, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(out_dir)}})
    client.execute()
    ran = [cell for cell in copy.cells if cell.cell_type == "code"]
    assert ran and all(cell.execution_count is not None for cell in ran)


# --- exercises that check themselves ---------------------------------------------------------------


def solution_cells(notebook) -> list:
    return [cell for cell in notebook.cells if _SOLUTION_TAG in tags(cell)]


def checks_module(path: Path):
    """courseware.exercise_checks.nbNN for notebook NN_*.ipynb."""
    return importlib.import_module(f"courseware.exercise_checks.nb{path.name[:2]}")


def exercise_of(path: Path, cell) -> Exercise:
    name = _check_call(cell.source)
    assert name and name.startswith("exercise."), f"{path.name}: a solution cell must end with exercise.<name>.check()"
    exercise = getattr(checks_module(path), name.split(".", 1)[1], None)
    assert isinstance(exercise, Exercise), f"{path.name}: no Exercise {name} in {checks_module(path).__name__}"
    return exercise


def without_check_call(source: str) -> str:
    lines = source.rstrip().splitlines()
    assert _check_call(lines[-1])
    return textwrap.dedent("\n".join(lines[:-1])).strip()


def all_exercises() -> list[tuple[str, Exercise]]:
    found = []
    for path in NOTEBOOK_PATHS:
        try:
            module = checks_module(path)
        except ModuleNotFoundError:  # reported by the per-notebook tests above, not at collection
            continue
        found += [(f"{path.stem}.{name}", value) for name, value in vars(module).items() if isinstance(value, Exercise)]
    return found


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_every_solution_cell_ends_with_its_notebooks_check(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    module = f"nb{path.name[:2]}"
    importing = [index for index, source in enumerate(code)
                 if f"from courseware.exercise_checks import {module} as exercise" in source]
    assert importing, f"{path.name}: no cell imports courseware.exercise_checks.{module} as exercise"
    first_solution = next(index for index, cell in enumerate(
        cell for cell in notebook.cells if cell.cell_type == "code") if _SOLUTION_TAG in tags(cell))
    assert importing[0] < first_solution, f"{path.name}: the checks are imported after the first exercise"
    names = [exercise_of(path, cell).name for cell in solution_cells(notebook)]
    assert len(set(names)) == len(names), f"{path.name}: two exercises share a check"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_the_solution_a_learner_can_ask_for_is_the_notebooks(path):
    for cell in solution_cells(nbformat.read(path, as_version=4)):
        exercise = exercise_of(path, cell)
        assert textwrap.dedent(exercise.solution_code).strip() == without_check_call(cell.source), exercise.name


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_the_committed_solutions_pass_their_checks(path):
    """The stored output of every solution cell shows its check passing (nbval re-runs and compares it)."""
    for cell in solution_cells(nbformat.read(path, as_version=4)):
        exercise = exercise_of(path, cell)
        text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
        assert f"✓ {exercise.name}: correct." in text, f"{path.name}: {exercise.name} did not pass:\n{text[-600:]}"
        assert "✗" not in text
        assert not [output for output in cell.outputs if output.output_type == "execute_result"], \
            f"{path.name}: {exercise.name}'s cell echoes a value under its verdict"


@pytest.mark.parametrize("label, exercise", all_exercises(), ids=[label for label, _ in all_exercises()])
def test_a_check_on_a_blank_notebook_says_not_done_in_one_line(label, exercise, capsys):
    """What a learner who runs the exercise cell before answering sees: one line naming what to store
    (IPython shows ``_render_traceback_`` instead of a traceback), and Run All stops there."""
    assert exercise.variables, f"{label}: the prompt names none of the variables the solution stores"
    for namespace in ({}, {name: ... for name in exercise.variables}):  # nothing, or the scaffold's `...`
        with pytest.raises(ExerciseNotDone) as raised:
            exercise.check(namespace)
        shown = raised.value._render_traceback_()
        assert len(shown) == 1 and "\n" not in shown[0], shown
        assert shown[0].startswith(f"✗ {exercise.name}: not done yet. ")
        assert shown[0].endswith("Run All stops here until it is done.")
        assert all(f"`{name}`" in shown[0] for name in exercise.variables)
    assert capsys.readouterr().out == ""
    exercise.hint()
    exercise.solution()
    hint, *solution = capsys.readouterr().out.strip().splitlines()
    assert hint.startswith(f"Hint ({exercise.name}): ") and len(hint) > 40
    assert solution and "\n".join(solution) == textwrap.dedent(exercise.solution_code).strip()


def names_assigned(source: str) -> set[str]:
    tree = ast.parse(source)
    assigned = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            assigned.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            assigned.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return assigned


def names_read(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: no Python names to find
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_names_later_cells_need_from_an_exercise_are_named_in_its_prompt(path):
    """An answer with the learner's own names must not break later cells: the prompt names what they use."""
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        if _SOLUTION_TAG not in tags(cell):
            continue
        defined_before = set().union(*(names_assigned(c.source) for c in code_cells[:index]
                                       if _SOLUTION_TAG not in tags(c))) if index else set()
        later_reads = set().union(*(names_read(c.source) for c in code_cells[index + 1:]), set())
        needed = (names_assigned(cell.source) & later_reads) - defined_before
        prompt = " ".join(_exercise_comment_lines(cell.source))
        named = set(re.findall(r"`([A-Za-z_]\w*)", prompt))
        assert needed <= named, (f"{path.name}: later cells use {sorted(needed - named)} from the exercise "
                                 f"{prompt[:80]!r}; name them in its '# Exercise:' lines")


def test_check_helpers_say_what_is_off():
    namespace = {"count": 3, "scores": [0.5, 0.25]}
    assert require(namespace, "count", int) == 3
    with pytest.raises(NotYet, match="`total` is not defined: store the sum in it"):
        require(namespace, "total", int, "store the sum in it")
    with pytest.raises(NotYet, match="`count` is a int; it should be a float or str"):
        require(namespace, "count", (float, str))
    require_close(namespace["scores"], [0.5, 0.25], "scores", "advice")
    with pytest.raises(NotYet, match=r"`count` is 3; divide by the total"):
        require_close(3, 0.75, "count", "divide by the total")
    with pytest.raises(NotYet, match="should be a number"):
        require_close("three", 3, "count", "advice")


def _check_doubled(namespace) -> str:
    if require(namespace, "doubled", int) != 2 * namespace["number"]:
        raise NotYet("`doubled` should be twice `number`.")
    return "Twice as much."


def test_a_check_reads_the_callers_variables(capsys):
    exercise = Exercise("doubling", _check_doubled, "multiply by 2", "doubled = 2 * number")
    learner = {"exercise": exercise}
    exec("number, doubled = 21, 42\nexercise.check()", learner)  # a notebook's globals
    assert capsys.readouterr().out == "✓ doubling: correct. Twice as much.\n"
    assert exercise.variables == ["doubled"]  # no prompt: what the solution assigns
    with pytest.raises(ExerciseNotDone) as raised:  # a wrong answer stops Run All too, in one line
        exercise.check({"number": 21, "doubled": 41})
    assert raised.value._render_traceback_() == [
        "✗ doubling: not yet. `doubled` should be twice `number`. Run All stops here until this check passes."]
    with pytest.raises(ExerciseNotDone, match="not done yet. Write the code that stores `doubled` above"):
        exercise.check({"number": 21})
    assert capsys.readouterr().out == ""


def test_the_variables_are_those_the_prompt_names_and_the_solution_stores():
    exercise = Exercise("two", _check_doubled, "hint", "# Exercise: store the count in `count` and the\n"
                        "#   rows in `rows`, using `sms_df`.\nhelper = 3\ncount = len(sms_df)\nrows = list(sms_df)\n")
    assert exercise.variables == ["count", "rows"]  # not `helper` (unnamed) nor `sms_df` (only read)


def test_scaffold_keeps_the_check_call():
    scaffold = _exercise_scaffold("# Exercise: add them; store it in `total`.\ntotal = 1 + 2\nexercise.add.check()\n")
    assert scaffold.splitlines() == ["# Exercise: add them; store it in `total`.", "# Your code here", "...", "",
                                     "# exercise.add.hint()      # uncomment for a hint",
                                     "# exercise.add.solution()  # uncomment for a solution",
                                     "exercise.add.check()"]
    assert _check_call("x = 1\n  exercise.add.check()  \n") == "exercise.add"
    assert _check_call("exercise.add.check(ns)") is None and _check_call("") is None


@pytest.mark.slow
@pytest.mark.parametrize("path", FAST_COPIES, ids=lambda path: path.stem)
def test_a_copy_answered_with_a_different_correct_answer_runs_to_the_end(built, path, monkeypatch):
    """Each exercise answered with its alternative answer (the solution where none is given): the copy runs
    to the end and every check passes."""
    out_dir, _, _ = built
    copy = nbformat.read(out_dir / path.name, as_version=4)
    original = nbformat.read(path, as_version=4)
    answered = []
    for before, after in zip(original.cells, copy.cells):
        if _EXERCISE_TAG in tags(after):
            exercise = exercise_of(path, before)
            answer = textwrap.dedent(getattr(exercise, "alternative_code", "") or exercise.solution_code).strip()
            after.source = after.source.replace("...", answer, 1)
            answered.append((after, exercise))
    for name, value in {"COURSE_FAST": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "TOKENIZERS_PARALLELISM": "false"}.items():
        monkeypatch.setenv(name, value)
    NotebookClient(copy, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(out_dir)}}).execute()
    for cell, exercise in answered:
        text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
        assert f"✓ {exercise.name}: correct." in text, text
