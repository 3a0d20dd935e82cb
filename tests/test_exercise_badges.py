"""The README's "exercises" badges: one "Open in Colab" badge per committed exercise notebook (exercises/).

scripts/sync_colab.py writes them, in the badge table's "exercises" column, from
`[project.urls] Repository` in pyproject.toml; scripts/make_exercises.py writes the notebooks
they open. (tests/test_colab_setup.py covers the notebooks' own badges and setup cells.)
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import nbformat
import sync_colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
EXERCISE_COPIES = sorted((ROOT / "exercises").glob("[0-9]*.ipynb"))
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
BASE = "https://colab.research.google.com/github/bert-course/fine-tuning-bert-text-classification/blob/main"


def run_script(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = sync_colab.main(list(args))
    return status, out.getvalue()


def badge_block(readme: Path) -> str:
    return readme.read_text(encoding="utf-8").split(sync_colab.BADGES_START)[1].split(sync_colab.BADGES_END)[0]


def test_readme_has_one_exercise_badge_per_exercise_notebook():
    block = badge_block(ROOT / "README.md")
    assert sync_colab.has_exercises_column(block), "the README's badge table has no 'exercises' column"
    assert EXERCISE_COPIES
    for path in EXERCISE_COPIES:
        assert block.count(f"{BADGE}({BASE}/exercises/{path.name})") == 1, path.name
    assert block.count("/blob/main/exercises/") == len(EXERCISE_COPIES)


def test_exercise_badges_follow_the_exercises_column(tmp_path):
    """A table with an "exercises" column gets a badge per notebook with exercises, "-" for one without;
    --check notices a missing one and the script writes it."""
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("outputs"))
    without = tmp_path / "notebooks" / NOTEBOOKS[-1].name  # a notebook without exercises
    notebook = nbformat.read(without, as_version=4)
    for cell in notebook.cells:
        cell.metadata["tags"] = [tag for tag in cell.metadata.get("tags", []) if tag != "solution"]
    nbformat.write(notebook, without)
    readme = tmp_path / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(sync_colab.BADGES_START), text.index(sync_colab.BADGES_END)
    table = "| notebook | open in Colab | Exercises | Colab runtime |\n|---|---|---|---|"
    readme.write_text(text[:start] + sync_colab.BADGES_START + "\n" + table + "\n" + text[end:], encoding="utf-8")
    status, printed = run_script("--check", "--root", str(tmp_path))
    assert status == 1 and "and exercises/[0-9]*.ipynb" in printed

    assert run_script("--root", str(tmp_path))[0] == 0
    rows = [line for line in badge_block(readme).splitlines() if line.startswith("| ")]
    assert rows[0] == "| notebook | open in Colab | exercises | Colab runtime |" and len(rows) == len(NOTEBOOKS) + 1
    for path, row in zip(NOTEBOOKS, rows[1:]):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0] == path.stem and cells[1] == f"{BADGE}({BASE}/notebooks/{path.name})"
        if path.name != without.name:
            assert cells[2] == f"{BADGE}({BASE}/exercises/{path.name})"
        else:
            assert cells[2] == "-"
    # the notebooks may disagree (another part of the check); the README's badges no longer do
    assert "README.md" not in run_script("--check", "--root", str(tmp_path))[1]
