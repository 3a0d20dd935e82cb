"""How big are the two packages? Lines, lines of code and public names of their modules.

    python scripts/package_size.py              # course_utils (the library), then courseware (the machinery)
    python scripts/package_size.py FOLDER ...   # any package folders

Every ``*.py`` file under a folder counts, subfolders included (courseware/exercise_checks, say).
Lines of code leave out blank lines, comments and docstrings. A public name is a module-level
function, class or assignment whose name does not start with an underscore: what a reader of
the package meets. ``tests/test_package_size.py`` keeps course_utils' count of public names under
its cap: course_utils is what the notebooks teach, so it must stay small enough to read;
courseware, the course's machinery, is reported on its own line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def public_names(tree: ast.Module) -> list[str]:
    """The module-level names of ``tree`` that do not start with an underscore."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def docstring_lines(tree: ast.Module) -> set[int]:
    """The line numbers that hold docstrings (of the module, its classes and functions)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


PACKAGES = ("course_utils", "courseware")


def measure(folder: Path) -> dict[str, int]:
    """Modules, lines, lines of code and public names of every ``*.py`` file under ``folder``, subfolders included."""
    totals = {"modules": 0, "lines": 0, "code": 0, "public_names": 0}
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        skipped = docstring_lines(tree)
        totals["modules"] += 1
        totals["lines"] += len(source.splitlines())
        totals["code"] += sum(1 for number, line in enumerate(source.splitlines(), 1)
                              if line.strip() and not line.strip().startswith("#") and number not in skipped)
        totals["public_names"] += len(public_names(tree))
    return totals


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folders = [Path(arg) for arg in args] or [ROOT / name for name in PACKAGES]
    for folder in folders:
        if not folder.is_dir():
            print(f"error: {folder} is not a folder. Fix: name a package folder, such as course_utils.",
                  file=sys.stderr)
            return 2
    for folder in folders:
        size = measure(folder)
        print(f"{folder.name}: {size['modules']} modules, {size['lines']:,} lines, {size['code']:,} of them code "
              f"(not blank, comment or docstring), {size['public_names']} public names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
