"""One sitting per notebook: scripts/notebook_size.py counts each main path, and the course keeps within the caps."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import notebook_size  # scripts/notebook_size.py (pyproject's pythonpath puts scripts/ on the path)
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def tiny_notebook() -> dict:
    """Three cells before the Further-reading heading, an appendix after it."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 99 · A title\n\nTokens are **pieces** of [words](https://example.org/x).\n"
                                      "<!-- a note for maintainers -->\n```python\nnot = counted\n```\n| a | b |\n|---|---|"),
        nbformat.v4.new_code_cell("import torch\n\n\nx = torch.ones(2)  # a comment counts\n   \nprint(x)\n"),
        nbformat.v4.new_markdown_cell("One more sentence here.\n\n## Further reading\n\n- a long list of links and words"),
        nbformat.v4.new_code_cell("appendix = 1\nnot_counted = 2\n"),
        nbformat.v4.new_markdown_cell("## Appendix A (optional)\n\nmany words that are not on the main path"),
    ]
    return json.loads(nbformat.writes(notebook))


def test_the_main_path_stops_at_further_reading_and_counts_prose_code_lines_and_cells():
    size = notebook_size.main_path_size(tiny_notebook())
    # words: "99 A title Tokens are **pieces** of [words] a b" + "One more sentence here." ("#", "·", "|", "---" are markup)
    assert size.words == 10 + 4
    assert size.code_lines == 3  # blank and whitespace-only lines are not code
    assert size.cells == 3  # the heading's cell counts: prose comes before the heading
    assert size.over_caps() == []


def test_a_notebook_over_a_cap_is_named_with_the_figure(tmp_path, capsys):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1") for _ in range(51)] + [nbformat.v4.new_markdown_cell("word " * 3001)]
    path = tmp_path / "42_long.ipynb"
    nbformat.write(notebook, path)
    assert notebook_size.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "over the caps of one sitting: 42_long: words 3,001 > 3,000, cells 52 > 50" in out
    assert "| 42_long | 3,001 | 51 | 52 |" in out


def test_prose_words_leave_out_code_blocks_comments_tags_and_link_targets():
    assert notebook_size.prose_words("Read [the docs](https://a.b/c d) <b>now</b>\n```\nx y z\n```") == 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_notebook_main_path_fits_one_sitting(path):
    markdown = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]
    assert any(notebook_size.FURTHER_READING.search(source) for source in markdown), \
        f"{path.name} has no '## Further reading' heading, so its main path has no end"
    size = notebook_size.notebook_size(path)
    assert not size.over_caps(), (f"{path.name}: the main path (before '## Further reading') is over the caps of "
                                  f"one sitting: {', '.join(size.over_caps())}. Move side material into an "
                                  "appendix after Further reading.")
