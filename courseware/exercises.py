"""Exercises that check themselves, and the exercise copies of the notebooks (notebook 00).

Every notebook's exercises are :class:`Exercise` objects in ``courseware.exercise_checks``
(one module per notebook). A solution cell ends with one check call::

    # Exercise: compute the softmax by hand with `exp()`; store it in `by_hand`.
    by_hand = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    exercise.softmax.check()

``check()`` reads the learner's variables and prints ``✓`` with what is right, or ``✗`` with
what is off; ``hint()`` and ``solution()`` print a hint and a solution.

    python -m courseware exercises workshop/        # one exercise copy of every numbered notebook

In the exercise copy (for workshops, see ``docs/instructors.md``) a solution cell keeps its
``# Exercise:`` lines, then ``# Your code here`` and ``...``, the hint and solution calls
commented out, and its check call; it is tagged ``exercise`` instead of ``solution``. Every
cell's outputs and execution count are cleared; markdown, the other code cells and all
metadata stay as they are. A solution cell without an ``# Exercise:`` comment gets
:data:`_DEFAULT_EXERCISE_COMMENT` and a :class:`_MissingExerciseComment` warning.
"""

from __future__ import annotations

import contextlib
import re
import sys
import textwrap
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from course_utils.errors import CourseError
from course_utils.files import atomic_folder, atomic_write_text

__all__ = ["NotYet", "Exercise", "require", "require_close", "make_exercises"]

_SOLUTION_TAG = "solution"
_EXERCISE_TAG = "exercise"
_EXERCISE_PREFIX = "# Exercise:"
_DEFAULT_EXERCISE_COMMENT = "# Exercise: write the code for this step"
_SCAFFOLD_LINES = ("# Your code here", "...")
_NOTEBOOK_PATTERN = "[0-9]*.ipynb"


_CHECK_CALL = re.compile(r"^(?P<exercise>[A-Za-z_]\w*\.[A-Za-z_]\w*)\.check\(\)$")


class NotYet(Exception):
    """What an exercise check found off, in one sentence a learner can act on."""


@dataclass(frozen=True)
class Exercise:
    """One self-checking exercise: ``check()``, ``hint()``, ``solution()`` (notebook 00).

    ``checker`` receives the learner's variables (a mapping of names to values), raises
    :class:`NotYet` with what is off, and may return a sentence on what is right.
    ``solution_code`` is the solution cell of the course notebook without its check call;
    ``alternative_code``, another correct answer (other names, another way), which the tests run
    in the exercise copy to show that an answer need not be the solution to pass.
    """

    name: str
    checker: Callable[[Mapping[str, Any]], str | None]
    hint_text: str
    solution_code: str
    alternative_code: str = ""

    def check(self, namespace: Mapping[str, Any] | None = None) -> None:
        """Check the learner's variables (the caller's globals by default) and print the verdict.

        Returns nothing, so the cell shows only the verdict: ``✓ <name>: correct.`` or
        ``✗ <name>: not yet. <what is off>``.
        """
        if namespace is None:
            namespace = sys._getframe(1).f_globals
        try:
            detail = self.checker(namespace)
        except NotYet as off:
            print(f"✗ {self.name}: not yet. {off}")
            return
        print(f"✓ {self.name}: correct." + (f" {detail}" if detail else ""))

    def hint(self) -> None:
        """Print a hint."""
        print(f"Hint ({self.name}): {self.hint_text}")

    def solution(self) -> None:
        """Print a solution (the course notebook's)."""
        print(textwrap.dedent(self.solution_code).strip())


def require(namespace: Mapping[str, Any], name: str, kind: type | tuple[type, ...] | None = None,
            what: str = "") -> Any:
    """The learner's variable ``name``; :class:`NotYet` when it is missing or not of ``kind``."""
    if name not in namespace:
        raise NotYet(f"`{name}` is not defined" + (f": {what}" if what else "."))
    value = namespace[name]
    if kind is not None and not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(k.__name__ for k in kinds)
        raise NotYet(f"`{name}` is a {type(value).__name__}; it should be a {expected}"
                     + (f" ({what})." if what else "."))
    return value


def require_close(value: Any, expected: Any, name: str, advice: str, tolerance: float = 1e-6) -> None:
    """:class:`NotYet` with ``advice`` unless the number (or array) ``value`` is within ``tolerance`` of ``expected``."""
    import numpy as np

    try:
        actual = np.asarray(value, dtype=float)
        target = np.asarray(expected, dtype=float)
        same = actual.shape == target.shape and np.allclose(actual, target, rtol=0, atol=tolerance)
    except (TypeError, ValueError):
        raise NotYet(f"`{name}` should be a number or an array of numbers. {advice}") from None
    if not same:
        shown = f"{float(actual):.4g}" if actual.ndim == 0 else f"shape {actual.shape}"
        raise NotYet(f"`{name}` is {shown}; {advice}")


class _MissingExerciseComment(UserWarning):
    """A solution cell has no ``# Exercise:`` comment, or a notebook has no solution cell."""


def _default_notebooks_dir() -> Path:
    """The course's ``notebooks/`` folder next to the ``courseware`` package (in a clone of the repository)."""
    return Path(__file__).resolve().parents[1] / "notebooks"


def _cell_tags(cell) -> list[str]:
    """The cell's metadata tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _is_solution(cell) -> bool:
    """True for a code cell tagged ``solution``."""
    return cell.cell_type == "code" and _SOLUTION_TAG in _cell_tags(cell)


def _exercise_comment_lines(source: str) -> list[str]:
    """The ``# Exercise:`` lines among the cell's leading comment lines (blank lines skipped)."""
    kept = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if stripped.startswith(_EXERCISE_PREFIX):
            kept.append(stripped)
    return kept


def _check_call(source: str) -> str | None:
    """The exercise named by the cell's last line when it is a check call (``exercise.softmax.check()``)."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    match = _CHECK_CALL.match(lines[-1]) if lines else None
    return match["exercise"] if match else None


def _exercise_scaffold(source: str) -> str:
    """What the learner sees instead of the solution: its exercise comment, ``...`` and its check call."""
    comment = _exercise_comment_lines(source) or [_DEFAULT_EXERCISE_COMMENT]
    exercise = _check_call(source)
    if exercise is None:
        return "\n".join([*comment, *_SCAFFOLD_LINES])
    return "\n".join([*comment, *_SCAFFOLD_LINES, "",
                      f"# {exercise}.hint()      # uncomment for a hint",
                      f"# {exercise}.solution()  # uncomment for a solution",
                      f"{exercise}.check()"])


def _exercise_notebook(notebook: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """An exercise copy of ``notebook`` and how many cells became exercises; the input is unchanged.

    Warns (:class:`_MissingExerciseComment`) for each solution cell without an ``# Exercise:``
    comment and when the notebook has no solution cell at all.
    """
    copy = nbformat.from_dict(notebook)  # a deep copy
    exercise_count = 0
    for index, cell in enumerate(copy.cells):
        if _is_solution(cell):
            if not _exercise_comment_lines(cell.source):
                warnings.warn(
                    f"{name}: solution cell {index} ({cell.get('id', 'no id')}) has no '{_EXERCISE_PREFIX}' "
                    f"comment, so its exercise says '{_DEFAULT_EXERCISE_COMMENT}'. Fix: make the cell's first "
                    f"line '{_EXERCISE_PREFIX} <what to write, in one sentence>'.",
                    _MissingExerciseComment, stacklevel=2)
            cell.source = _exercise_scaffold(cell.source)
            cell.metadata["tags"] = [_EXERCISE_TAG if tag == _SOLUTION_TAG else tag for tag in _cell_tags(cell)]
            exercise_count += 1
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    if exercise_count == 0:
        warnings.warn(f"{name}: no cell is tagged '{_SOLUTION_TAG}', so the copy has no exercise. Fix: tag the "
                      f"code cells the learner should write with '{_SOLUTION_TAG}'.",
                      _MissingExerciseComment, stacklevel=2)
    return copy, exercise_count


def _count_exercises(path: str | Path) -> int:
    """How many cells of the notebook at ``path`` are tagged ``exercise``."""
    notebook = nbformat.read(path, as_version=4)
    return sum(_EXERCISE_TAG in _cell_tags(cell) for cell in notebook.cells)


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
    sources = sorted(source_dir.glob(_NOTEBOOK_PATTERN))
    if not sources:
        raise CourseError(f"No numbered notebooks ({_NOTEBOOK_PATTERN}) in {notebooks_dir}. Fix: pass the "
                          "course's notebooks/ folder (--notebooks DIR).")
    _check_target(source_dir, target_dir, overwrite)

    copies = []
    for path in sources:
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:  # invalid JSON or not a notebook: nbformat raises several types
            raise CourseError(f"Cannot read {path}: {error}. Fix: repair or remove that notebook.") from error
        copy, _ = _exercise_notebook(notebook, name=path.name)
        try:
            nbformat.validate(copy)
        except nbformat.ValidationError as error:
            raise CourseError(f"The exercise copy of {path} is not a valid notebook: {error.message}. "
                              "Fix: check that notebook with `jupyter nbconvert --to notebook` or "
                              "nbformat.validate.") from error
        copies.append((path.name, copy))

    keep_other_files = target_dir.is_dir() and any(target_dir.iterdir())  # --overwrite replaces only notebooks
    with contextlib.nullcontext(target_dir) if keep_other_files else atomic_folder(target_dir) as folder:
        for name, copy in copies:
            atomic_write_text(folder / name, nbformat.writes(copy).rstrip("\n") + "\n")
    return [target_dir / name for name, _ in copies]
