"""Exercises that check themselves, and the exercise copies of the notebooks (notebook 00).

Every notebook's exercises are :class:`Exercise` objects in ``courseware.exercise_checks``
(one module per notebook). A solution cell ends with one check call::

    # Exercise: compute the softmax by hand with `exp()`; store it in `by_hand`.
    by_hand = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    exercise.softmax.check()

``check()`` reads the learner's variables and prints ``✓`` with what is right; when something is
off, or the variables the prompt names are not there yet (an exercise not done), it raises
:class:`ExerciseNotDone`, which IPython shows as one line (``✗ ...``, no traceback), so Run All
stops in the learner's own cell instead of failing later in a cell they did not write. A
``NameError`` for one of those variables (used before the exercise's code stores it) is shown as
the same one line, once a notebook has imported its checks. ``hint()`` and ``solution()`` print
a hint and a solution.

    python -m courseware exercises workshop/        # one exercise copy of every numbered notebook

The course commits the exercise copies in ``exercises/`` (``scripts/make_exercises.py`` keeps them
in step with ``notebooks/``); the wheel ships them as ``courseware/exercise_notebooks``, so the
command works from a pip or Colab install too, where there is no ``notebooks/`` folder.

In the exercise copy (for workshops, see ``docs/instructors.md``) a solution cell keeps its
``# Exercise:`` lines (and their continuation lines, ``#`` and two or more spaces), then
``# Your code here`` and ``...``, the hint and solution calls
commented out, and its check call; it is tagged ``exercise`` instead of ``solution``. Every
cell's outputs and execution count are cleared, and so is the widget state those outputs kept
(the notebook's ``widgets`` metadata); markdown, the other code cells and all other metadata
stay as they are. A solution cell without an ``# Exercise:`` comment gets
:data:`_DEFAULT_EXERCISE_COMMENT` and a :class:`_MissingExerciseComment` warning.
"""

from __future__ import annotations

import ast
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

__all__ = ["NotYet", "ExerciseNotDone", "Exercise", "require", "require_close", "make_exercises",
           "copy_shipped_exercises"]

_SOLUTION_TAG = "solution"
_EXERCISE_TAG = "exercise"
_EXERCISE_PREFIX = "# Exercise:"
_DEFAULT_EXERCISE_COMMENT = "# Exercise: write the code for this step"
_SCAFFOLD_LINES = ("# Your code here", "...")
_NOTEBOOK_PATTERN = "[0-9]*.ipynb"
_CONTINUATION = re.compile(r"^#  +\S")  # a prompt line wrapped onto the next: '#' and two or more spaces
_BACKTICKED_NAME = re.compile(r"`([A-Za-z_]\w*)")  # `name`, `name(args)`, `name.attribute`
_RUN_ALL_STOPS = "Run All stops here until it is done."


_CHECK_CALL = re.compile(r"^(?P<exercise>[A-Za-z_]\w*\.[A-Za-z_]\w*)\.check\(\)$")


class NotYet(Exception):
    """What an exercise check found off, in one sentence a learner can act on."""


class ExerciseNotDone(Exception):
    """An exercise not done yet (or not right yet): one line in a notebook, no traceback.

    IPython shows an exception's ``_render_traceback_()`` instead of its traceback, so the cell that
    raised it ends in exactly this line and Run All stops there.
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


# The variables each exercise stores, for the one-line NameError (filled as Exercises are made).
_EXERCISE_OF_NAME: dict[str, "Exercise"] = {}


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

    def __post_init__(self) -> None:
        for variable in self.variables:
            _EXERCISE_OF_NAME[variable] = self
        _show_name_errors_in_one_line()

    @property
    def variables(self) -> list[str]:
        """The variables the exercise stores: those its solution assigns that its prompt names in backticks
        (all it assigns when it has no prompt)."""
        return _stored_names(self.solution_code)

    def check(self, namespace: Mapping[str, Any] | None = None) -> None:
        """Check the learner's variables (the caller's globals by default) and print ``✓ <name>: correct.``

        Returns nothing, so the cell shows only the verdict. Raises :class:`ExerciseNotDone` (one
        line, and Run All stops in this cell) when a variable the exercise stores is missing or still
        ``...`` (``✗ <name>: not done yet. ...``) or when the check finds something off
        (``✗ <name>: not yet. <what is off> ...``).
        """
        if namespace is None:
            namespace = sys._getframe(1).f_globals
        missing = [name for name in self.variables if name not in namespace or namespace[name] is Ellipsis]
        if missing:
            raise ExerciseNotDone(f"✗ {self.name}: not done yet. Write the code that stores {_listed(missing)} "
                                  f"above, then run this cell again. {_RUN_ALL_STOPS}")
        try:
            detail = self.checker(namespace)
        except NotYet as off:
            raise ExerciseNotDone(f"✗ {self.name}: not yet. {off} Run All stops here until this check "
                                  "passes.") from None
        print(f"✓ {self.name}: correct." + (f" {detail}" if detail else ""))

    def hint(self) -> None:
        """Print a hint."""
        print(f"Hint ({self.name}): {self.hint_text}")

    def solution(self) -> None:
        """Print a solution (the course notebook's)."""
        print(textwrap.dedent(self.solution_code).strip())


def _listed(names: list[str]) -> str:
    """`a`, `a` and `b`, `a`, `b` and `c`."""
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _stored_names(solution_code: str) -> list[str]:
    """The names a solution assigns (variables, functions) that its ``# Exercise:`` prompt names in backticks."""
    code = textwrap.dedent(solution_code).strip()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    assigned = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.append(node.name)
    prompt = _exercise_comment_lines(code)
    named = set(_BACKTICKED_NAME.findall(" ".join(prompt))) if prompt else set(assigned)
    return [name for name in dict.fromkeys(assigned) if name in named]


def _name_error_line(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for a NameError: one line when the name is one an exercise stores, else the usual traceback."""
    exercise = _EXERCISE_OF_NAME.get(getattr(value, "name", None) or "")
    if exercise is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shell._showtraceback(etype, value, [
        f"✗ {exercise.name}: not done yet. `{value.name}` is stored by that exercise's code and has no value yet: "
        f"write that code, then run its cell again. {_RUN_ALL_STOPS}"])
    return None


def _show_name_errors_in_one_line() -> None:
    """In IPython (a notebook's kernel), show a NameError for an exercise's variable as one line.

    Installs a handler with IPython's ``set_custom_exc`` once, and only where no other handler is set.
    Outside IPython it does nothing.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or getattr(shell, "custom_exceptions", None) != ():
        return
    shell.set_custom_exc((NameError,), _name_error_line)
    # trio (imported later by the hub client) would warn that a handler is already set, on every notebook
    warnings.filterwarnings("ignore", message="IPython detected, but you already have a custom exception handler",
                            category=RuntimeWarning)


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
    """The prompt: the ``# Exercise:`` lines among the cell's leading comment lines (blank lines skipped),
    each with the continuation lines right under it (``#`` and two or more spaces)."""
    kept = []
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if stripped.startswith(_EXERCISE_PREFIX):
            kept.append(stripped)
        elif kept and kept[-1] is not None and _CONTINUATION.match(line.rstrip()):
            kept.append(line.rstrip())
        else:
            kept.append(None)  # another comment ends the prompt line above
    return [line for line in kept if line is not None]


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
    copy.metadata.pop("widgets", None)  # the state of widgets in the outputs, which are cleared
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


def _exercise_copies(notebooks_dir: str | Path) -> list[tuple[str, nbformat.NotebookNode]]:
    """The exercise copy of every numbered notebook in ``notebooks_dir``, by file name, sorted; nothing written.

    Raises :class:`CourseError` for a missing folder, no numbered notebook, or one that cannot be read.
    """
    source_dir = Path(notebooks_dir)
    if not source_dir.is_dir():
        raise CourseError(f"No notebooks folder at {notebooks_dir}. Fix: pass the course's notebooks/ folder "
                          "(--notebooks DIR).")
    sources = sorted(source_dir.glob(_NOTEBOOK_PATTERN))
    if not sources:
        raise CourseError(f"No numbered notebooks ({_NOTEBOOK_PATTERN}) in {notebooks_dir}. Fix: pass the "
                          "course's notebooks/ folder (--notebooks DIR).")
    copies = []
    for path in sources:
        copy, _ = _exercise_notebook(_read_notebook(path), name=path.name)
        try:
            nbformat.validate(copy)
        except nbformat.ValidationError as error:
            raise CourseError(f"The exercise copy of {path} is not a valid notebook: {error.message}. "
                              "Fix: check that notebook with `jupyter nbconvert --to notebook` or "
                              "nbformat.validate.") from error
        copies.append((path.name, copy))
    return copies


def _read_notebook(path) -> nbformat.NotebookNode:
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as error:  # invalid JSON or not a notebook: nbformat raises several types
        raise CourseError(f"Cannot read {path}: {error}. Fix: repair or remove that notebook.") from error


def _notebook_text(notebook: nbformat.NotebookNode) -> str:
    """A notebook as the course writes it (nbformat's JSON, one newline at the end)."""
    return nbformat.writes(notebook).rstrip("\n") + "\n"


def _write_copies(copies: list[tuple[str, nbformat.NotebookNode]], target_dir: Path) -> list[Path]:
    """Write the copies into ``target_dir`` (checked by :func:`_check_target`): all at once into a new
    folder; into a folder that holds other files, one notebook at a time, leaving those files alone."""
    keep_other_files = target_dir.is_dir() and any(target_dir.iterdir())  # --overwrite replaces only notebooks
    with contextlib.nullcontext(target_dir) if keep_other_files else atomic_folder(target_dir) as folder:
        for name, copy in copies:
            atomic_write_text(folder / name, _notebook_text(copy))
    return [target_dir / name for name, _ in copies]


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
    copies = _exercise_copies(source_dir)
    _check_target(source_dir, target_dir, overwrite)
    return _write_copies(copies, target_dir)


def _shipped_exercises_dir():
    """The committed exercise notebooks: ``courseware/exercise_notebooks`` in an installed wheel (package
    data), else the repository's top-level ``exercises/`` (a clone, an editable install)."""
    from importlib import resources

    shipped = resources.files("courseware") / "exercise_notebooks"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[1] / "exercises"


def copy_shipped_exercises(out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Copy the exercise notebooks that come with the package into ``out_dir`` (a pip or Colab install).

    The same rules as :func:`make_exercises`: nothing is written unless every notebook reads, and
    a folder that is not empty needs ``overwrite``.
    """
    shipped = _shipped_exercises_dir()
    sources = sorted((entry for entry in shipped.iterdir() if re.fullmatch(r"[0-9].*\.ipynb", entry.name)),
                     key=lambda entry: entry.name) if shipped.is_dir() else []
    if not sources:
        raise CourseError(f"No exercise notebooks came with this install ({shipped}). Fix: pass --notebooks DIR "
                          "(the notebooks/ folder of a clone of the course), or run the command from a clone.")
    copies = [(entry.name, _read_notebook(entry)) for entry in sources]
    target_dir = Path(out_dir).resolve()
    _check_target(Path(str(shipped)).resolve(), target_dir, overwrite)
    return _write_copies(copies, target_dir)
