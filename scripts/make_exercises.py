"""Keep the committed exercise notebooks (exercises/) in step with the course notebooks (notebooks/).

    python scripts/make_exercises.py            # write exercises/NN_name.ipynb for every notebook with exercises
    python scripts/make_exercises.py --check    # only report; exit 1 naming the copies that are out of date

An exercise copy is what `python -m courseware exercises` writes (courseware.exercises): the
solutions removed, each exercise cell its `# Exercise:` prompt, `...` and its check call, every
output cleared; the Colab setup cell (code cell 1) stays, so on Colab the checks install and
import. GitHub shows these copies and the README's "exercises" badges open them in Colab; the
wheel ships them (courseware/exercise_notebooks), so the command works from a pip install too.
A notebook with no exercise gets no copy, and a copy whose notebook is gone (renamed,
renumbered) is removed. Running it twice changes nothing.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from courseware.exercises import _EXERCISE_TAG, _cell_tags, _exercise_copies, _notebook_text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_PATTERN = "[0-9]*.ipynb"


def expected_copies(root: Path) -> dict[str, str]:
    """File name -> text of the exercise copy of every numbered notebook with at least one exercise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        copies = _exercise_copies(root / "notebooks")
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    return {name: _notebook_text(copy) for name, copy in copies
            if any(_EXERCISE_TAG in _cell_tags(cell) for cell in copy.cells)}


def sync(root: Path = ROOT, fix: bool = True) -> list[str]:
    """What disagrees between exercises/ and notebooks/ (and, with fix, is repaired), one line each."""
    wanted = expected_copies(root)
    folder = root / "exercises"
    present = {path.name: path for path in sorted(folder.glob(NOTEBOOK_PATTERN))} if folder.is_dir() else {}
    problems = []
    for name, text in wanted.items():
        path = folder / name
        if name not in present:
            problems.append(f"exercises/{name}: missing (notebooks/{name} has exercises)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"exercises/{name}: out of date (notebooks/{name} changed since it was made)")
        else:
            continue
        if fix:
            folder.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for name, path in present.items():
        if name not in wanted:
            problems.append(f"exercises/{name}: no notebooks/{name} with exercises (renamed or removed)")
            if fix:
                path.unlink()
    return problems


def main(argv: list[str] | None = None) -> int:
    from sync_colab import check_or_fix  # scripts/ is on the path when a script runs

    return check_or_fix(argv, __doc__.split("\n\n")[0], sync, "exercises/ is in step with notebooks/.",
                        "python scripts/make_exercises.py")

if __name__ == "__main__":
    sys.exit(main())
