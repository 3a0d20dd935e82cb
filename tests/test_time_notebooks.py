"""scripts/time_notebooks.py: the table it writes, and the README block it fills (no notebook is run)."""

from __future__ import annotations

import pytest
import time_notebooks  # scripts/time_notebooks.py (pyproject's pythonpath puts scripts/ on the path)

ROWS = [("00_setup", {"fast": 12.4, "full": 13.0}), ("04_training_loop", {"fast": 95.2, "full": None})]


def test_the_table_has_one_row_per_notebook_and_says_what_failed():
    table = time_notebooks.markdown_table(ROWS, ("fast", "full"))
    assert "| 00_setup | 12 | 13 |" in table
    assert "| 04_training_loop | 95 | failed |" in table
    assert "CPU:" in table and "torch" in table
    assert "| 00_setup | 12 | not run |" in time_notebooks.markdown_table(ROWS[:1], ("fast",))


def test_the_readme_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    start, end = time_notebooks.README_MARKERS
    readme.write_text(f"# Course\n\nbefore\n{start}\nold table\n{end}\nafter\n", encoding="utf-8")
    time_notebooks.update_readme(ROWS, ("fast", "full"), readme)
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and "| 04_training_loop | 95 | failed |" in text
    assert text.startswith("# Course\n\nbefore\n") and text.endswith(f"{end}\nafter\n")
    time_notebooks.update_readme(ROWS[:1], ("fast",), readme)  # a second run replaces, not appends
    assert readme.read_text(encoding="utf-8").count(start) == 1


def test_a_readme_without_the_block_is_a_clear_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no block\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no <!-- notebook-times:start -->"):
        time_notebooks.update_readme(ROWS, ("fast",), readme)
