"""Exercise copies of the notebooks for workshops (the workshop kit).

    python -m course_utils exercises workshop/      # one exercise copy of every numbered notebook

Used by instructors (see ``docs/instructors.md``), not by a notebook. In the course notebooks
a few code cells carry the cell tag ``solution`` and start with a comment that says what the
cell does, for example::

    # Exercise: compute the softmax by hand with `exp()` and check it matches `torch.softmax`.
    by_hand = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    ...

In the exercise copy such a cell keeps only its ``# Exercise:`` lines, followed by
``# Your code here`` and ``...``, and is tagged ``exercise`` instead of ``solution``. Every
cell's outputs and execution count are cleared; markdown, the other code cells and all
metadata stay as they are. A solution cell without an ``# Exercise:`` comment gets
:data:`DEFAULT_EXERCISE_COMMENT` and a :class:`MissingExerciseComment` warning.
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from pathlib import Path

import nbformat

from course_utils.errors import CourseError

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
EXERCISE_PREFIX = "# Exercise:"
DEFAULT_EXERCISE_COMMENT = "# Exercise: write the code for this step"
SCAFFOLD_LINES = ("# Your code here", "...")
NOTEBOOK_PATTERN = "[0-9]*.ipynb"


class MissingExerciseComment(UserWarning):
    """A solution cell has no ``# Exercise:`` comment, or a notebook has no solution cell."""


def default_notebooks_dir() -> Path:
    """The course's ``notebooks/`` folder next to the ``course_utils`` package."""
    import course_utils

    return Path(course_utils.__file__).resolve().parents[1] / "notebooks"


def cell_tags(cell) -> list[str]:
    """The cell's metadata tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell) -> bool:
    """True for a code cell tagged ``solution``."""
    return cell.cell_type == "code" and SOLUTION_TAG in cell_tags(cell)


def exercise_comment_lines(source: str) -> list[str]:
    """The ``# Exercise:`` lines among the cell's leading comment lines (blank lines skipped)."""
    kept = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if stripped.startswith(EXERCISE_PREFIX):
            kept.append(stripped)
    return kept


def exercise_scaffold(source: str) -> str:
    """What the learner sees instead of the solution: its exercise comment, then ``...``."""
    comment = exercise_comment_lines(source) or [DEFAULT_EXERCISE_COMMENT]
    return "\n".join([*comment, *SCAFFOLD_LINES])


def exercise_notebook(notebook: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """An exercise copy of ``notebook`` and how many cells became exercises; the input is unchanged.

    Warns (:class:`MissingExerciseComment`) for each solution cell without an ``# Exercise:``
    comment and when the notebook has no solution cell at all.
    """
    copy = nbformat.from_dict(notebook)  # a deep copy
    exercise_count = 0
    for index, cell in enumerate(copy.cells):
        if is_solution(cell):
            if not exercise_comment_lines(cell.source):
                warnings.warn(
                    f"{name}: solution cell {index} ({cell.get('id', 'no id')}) has no '{EXERCISE_PREFIX}' "
                    f"comment, so its exercise says '{DEFAULT_EXERCISE_COMMENT}'. Fix: make the cell's first "
                    f"line '{EXERCISE_PREFIX} <what to write, in one sentence>'.",
                    MissingExerciseComment, stacklevel=2)
            cell.source = exercise_scaffold(cell.source)
            cell.metadata["tags"] = [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in cell_tags(cell)]
            exercise_count += 1
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    if exercise_count == 0:
        warnings.warn(f"{name}: no cell is tagged '{SOLUTION_TAG}', so the copy has no exercise. Fix: tag the "
                      f"code cells the learner should write with '{SOLUTION_TAG}'.",
                      MissingExerciseComment, stacklevel=2)
    return copy, exercise_count


def count_exercises(path: str | Path) -> int:
    """How many cells of the notebook at ``path`` are tagged ``exercise``."""
    notebook = nbformat.read(path, as_version=4)
    return sum(EXERCISE_TAG in cell_tags(cell) for cell in notebook.cells)


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_target(source_dir: Path, out_dir: Path, overwrite: bool) -> None:
    if _is_inside(out_dir, source_dir):
        raise CourseError(f"Cannot write exercise copies to {out_dir}: it is (inside) the notebooks folder "
                          f"{source_dir}, whose notebooks keep the solutions. Fix: choose a folder outside it, "
                          "such as workshop/.")
    if _is_inside(source_dir, out_dir):
        raise CourseError(f"Cannot write exercise copies to {out_dir}: it holds the notebooks folder "
                          f"{source_dir}. Fix: choose a new folder, such as workshop/.")
    if out_dir.exists() and not out_dir.is_dir():
        raise CourseError(f"Cannot write exercise copies to {out_dir}: it is a file. Fix: choose a folder name.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise CourseError(f"{out_dir} already exists and is not empty. Fix: choose a new folder, or pass "
                          "--overwrite (overwrite=True) to replace the exercise notebooks in it.")


def make_exercises(notebooks_dir: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write an exercise copy of every numbered notebook (``[0-9]*.ipynb``) into ``out_dir``.

    Returns the paths written, sorted. Every input is read and every copy built before
    anything is written: bad input raises :class:`CourseError` and leaves the disk as it
    was. The copies are written into a temporary folder next to ``out_dir`` and moved into
    place at the end. With ``overwrite``, notebooks of the same name in ``out_dir`` are
    replaced and any other file there (a learner's outputs, say) is left alone.
    """
    source_dir = Path(notebooks_dir).resolve()
    target_dir = Path(out_dir).resolve()
    if not source_dir.is_dir():
        raise CourseError(f"No notebooks folder at {notebooks_dir}. Fix: pass the course's notebooks/ folder "
                          "(--notebooks DIR).")
    sources = sorted(source_dir.glob(NOTEBOOK_PATTERN))
    if not sources:
        raise CourseError(f"No numbered notebooks ({NOTEBOOK_PATTERN}) in {notebooks_dir}. Fix: pass the "
                          "course's notebooks/ folder (--notebooks DIR).")
    _check_target(source_dir, target_dir, overwrite)

    copies = []
    for path in sources:
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:  # invalid JSON or not a notebook: nbformat raises several types
            raise CourseError(f"Cannot read {path}: {error}. Fix: repair or remove that notebook.") from error
        copy, _ = exercise_notebook(notebook, name=path.name)
        try:
            nbformat.validate(copy)
        except nbformat.ValidationError as error:
            raise CourseError(f"The exercise copy of {path} is not a valid notebook: {error.message}. "
                              "Fix: check that notebook with `jupyter nbconvert --to notebook` or "
                              "nbformat.validate.") from error
        copies.append((path.name, copy))

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = target_dir.parent / f".{target_dir.name}-{secrets.token_hex(4)}.tmp"
    staging.mkdir()  # made with the usual permissions, unlike tempfile.mkdtemp's private ones
    try:
        for name, copy in copies:
            nbformat.write(copy, staging / name)
        if not target_dir.exists() or not any(target_dir.iterdir()):
            if target_dir.exists():
                target_dir.rmdir()
            os.replace(staging, target_dir)
        else:
            for name, _ in copies:
                os.replace(staging / name, target_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [target_dir / name for name, _ in copies]
