"""How long each notebook's main path is: one sitting, measured.

    python scripts/notebook_size.py                        # every numbered notebook in notebooks/
    python scripts/notebook_size.py notebooks/04_*.ipynb   # these notebooks only

The main path is everything before the ``## Further reading`` heading (appendices come after it
and are optional). For each notebook it prints the main path's

- **words**: words of Markdown prose (fenced code blocks, HTML comments and tags, image and link
  targets left out; a word is a run of characters without a space);
- **code lines**: non-blank lines of code cells;
- **cells**: cells of any kind (the cell that holds the heading counts when prose comes before it).

and exits 1, naming the notebook and the figure, when one is over the caps of a sitting:
3,000 words, 250 code lines, 50 cells. tests/test_notebook_size.py runs it on the course.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPS = {"words": 3000, "code lines": 250, "cells": 50}
FURTHER_READING = re.compile(r"^##\s+Further reading\b", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
TAG = re.compile(r"</?[A-Za-z][^>]*>")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
MARKUP_ONLY = re.compile(r"^[\W_]+$")  # "#", "|", "---", "*", "·": Markdown syntax, not words


@dataclass(frozen=True)
class Size:
    """The main path of one notebook: words of prose, non-blank code lines, cells."""

    words: int
    code_lines: int
    cells: int

    def figures(self) -> dict[str, int]:
        return {"words": self.words, "code lines": self.code_lines, "cells": self.cells}

    def over_caps(self) -> list[str]:
        """'words 3,412 > 3,000' for each figure over its cap."""
        return [f"{name} {value:,} > {CAPS[name]:,}" for name, value in self.figures().items() if value > CAPS[name]]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def prose_words(markdown: str) -> int:
    """Words of prose in one Markdown text: code blocks, comments, tags and link targets left out."""
    text = LINK_TARGET.sub("]", TAG.sub(" ", COMMENT.sub(" ", FENCE.sub(" ", markdown))))
    return sum(1 for word in text.split() if not MARKUP_ONLY.match(word))


def main_path_size(notebook: dict) -> Size:
    """The size of everything before the ``## Further reading`` heading (the whole notebook without one)."""
    words = code_lines = cells = 0
    for cell in notebook.get("cells", []):
        source = _source(cell)
        if cell.get("cell_type") == "markdown":
            heading = FURTHER_READING.search(source)
            if heading:
                before = source[:heading.start()]
                if before.strip():
                    words += prose_words(before)
                    cells += 1
                break
            words += prose_words(source)
        elif cell.get("cell_type") == "code":
            code_lines += sum(1 for line in source.splitlines() if line.strip())
        cells += 1
    return Size(words, code_lines, cells)


def notebook_size(path: Path) -> Size:
    return main_path_size(json.loads(path.read_text(encoding="utf-8")))


def table(sizes: list[tuple[str, Size]]) -> list[str]:
    lines = ["| notebook | words | code lines | cells |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {size.words:,} | {size.code_lines:,} | {size.cells:,} |" for name, size in sizes]
    caps = CAPS
    lines.append(f"| caps | {caps['words']:,} | {caps['code lines']:,} | {caps['cells']:,} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebook files (default: every notebooks/[0-9]*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not paths:
        print("error: no notebook found. Fix: pass notebook paths such as notebooks/04_*.ipynb.", file=sys.stderr)
        return 2
    sizes = []
    for path in paths:
        if not path.is_file():
            print(f"error: {path} is not a file. Fix: pass notebook paths such as notebooks/04_*.ipynb.",
                  file=sys.stderr)
            return 2
        sizes.append((path.stem, notebook_size(path)))
    print("Main path (before '## Further reading') of each notebook:")
    print("\n".join(table(sizes)))
    over = [f"{name}: {', '.join(size.over_caps())}" for name, size in sizes if size.over_caps()]
    for line in over:
        print(f"over the caps of one sitting: {line}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
