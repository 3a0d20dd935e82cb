"""Keep the "Open in Colab" parts of the course in step with the repository's address.

    python scripts/sync_colab.py            # rewrite what disagrees
    python scripts/sync_colab.py --check    # only report; exit 1 if anything disagrees

The address lives in one place, `[project.urls] Repository` in pyproject.toml. From it
this script writes:

- README.md, between `<!-- colab-badges:start -->` and `<!-- colab-badges:end -->`: one
  "Open in Colab" badge per numbered notebook (`notebooks/[0-9]*.ipynb`) and, when the table
  has an "exercises" column, one per notebook with exercises (cells tagged `solution`), opening
  its exercise notebook `exercises/NN_name.ipynb`, which scripts/make_exercises.py writes ("-"
  for a notebook without exercises);
- in every numbered notebook, the Colab setup cell right under the title cell (index 1,
  tagged `colab-setup`), four short lines: on Colab, when `course_utils` does not import, it
  pip-installs the course's package from the repository (`course-utils @ git+<address>`), and
  pip adds only what Colab lacks of pyproject.toml's dependencies: never torch, which
  pyproject.toml does not list (`check_dependencies` refuses it), never the extras (Colab is the
  notebook server and runs no tests). The distribution installs both of its packages,
  course_utils and courseware (the quizzes, shipped as courseware/quizzes, and the exercise
  checks), so finding course_utils means both are there; the notebooks need nothing else from
  the repository. Elsewhere the cell does nothing. A
  notebook without one gets one;
- the notebook metadata Colab reads to open a notebook on a T4 GPU, on every notebook that
  trains (a code cell calls `train(...)`), and on no other.

A fork edits the `Repository` line and runs this script. Only those cells, that metadata and
that README block change; notebooks are not re-executed. Running it twice changes nothing.

Reading pyproject.toml: `tomllib` on Python 3.11+. Python 3.10 has no `tomllib`: there a small
regex reads the repository's address (`repository_url_from_text`, tested on every version) and
`tomli` (in the test extra, which pytest needs anyway) reads the dependencies.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "colab-setup"
BADGES_START = "<!-- colab-badges:start -->"
BADGES_END = "<!-- colab-badges:end -->"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BRANCH = "main"
EXERCISES = "exercises"  # the committed exercise notebooks, one per notebook with exercises
GPU_METADATA = {"accelerator": "GPU", "colab": {"provenance": [], "gpuType": "T4"}}

# A call of course_utils' train(...) with arguments; `model.train()` does not count.
TRAIN_CALL = re.compile(r"(?<![\w])train\(\s*[^)\s]")
GITHUB_URL = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Repository:
    """The repository the badges and setup cells point to."""

    url: str
    owner: str
    name: str

    def colab_url(self, notebook: str, folder: str = "notebooks") -> str:
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{BRANCH}/{folder}/{notebook}"


def repository_url_from_text(text: str) -> str | None:
    """`Repository` under `[project.urls]` in pyproject.toml text, without a TOML parser."""
    section = re.search(r"^\[project\.urls\][ \t]*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if section is None:
        return None
    match = re.search(r"""^[ \t]*"?Repository"?[ \t]*=[ \t]*["']([^"'\n]+)["']""", section.group(1), re.MULTILINE)
    return match.group(1) if match else None


def read_repository(root: Path) -> Repository:
    """The repository named by `[project.urls] Repository` in root/pyproject.toml."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        url = repository_url_from_text(text)
    else:
        url = tomllib.loads(text).get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise CourseError(f"{path} has no Repository under [project.urls]. Fix: add the line "
                          'Repository = "https://github.com/OWNER/REPO" to that table.')
    match = GITHUB_URL.match(url)
    if match is None:
        raise CourseError(f"{path}: [project.urls] Repository = {url!r} is not a GitHub address. "
                          "Fix: write it as https://github.com/OWNER/REPO (Colab opens notebooks from GitHub).")
    return Repository(url=url, owner=match.group(1), name=match.group(2))


def read_pyproject(root: Path) -> dict:
    """root/pyproject.toml, parsed (tomllib, or tomli on Python 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise CourseError("Python 3.10 reads pyproject.toml with the tomli package, which is missing. "
                              "Fix: pip install tomli (or pip install -e '.[test]').") from None
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def check_dependencies(root: Path) -> list[str]:
    """pyproject.toml's dependencies, refusing torch (which Colab's setup cell must never replace)."""
    path = root / "pyproject.toml"
    dependencies = list(read_pyproject(root).get("project", {}).get("dependencies", []))
    for requirement in dependencies:
        distribution = re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")
        if distribution == "torch":
            raise CourseError(f"{path} lists torch among the dependencies. Fix: remove it: course.sh installs "
                              "torch only where it is missing, and Colab's CUDA build must never be replaced.")
    return dependencies


def setup_cell_source(repository: Repository) -> str:
    """The setup cell's code: on Colab, pip-installs the course's package (pip adds only what is missing)."""
    return (f"import importlib.util, subprocess, sys  # On Colab: install the course and what Colab lacks "
            f"(never torch). Elsewhere: nothing.\n"
            f'if "google.colab" in sys.modules and importlib.util.find_spec("course_utils") is None:\n'
            f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", '
            f'"course-utils @ git+{repository.url}"], check=True)\n'
            f"    importlib.invalidate_caches()")


def notebook_paths(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


def _without_expected_errors(source: str) -> str:
    """The cell's code less the bodies of ``with expect_error(...)`` blocks (calls meant to fail)."""
    kept, block_indent = [], None
    for line in source.splitlines():
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and (not line.strip() or indent > block_indent):
            continue
        block_indent = indent if line.lstrip().startswith("with expect_error(") else None
        kept.append(line)
    return "\n".join(kept)


def trains(notebook) -> bool:
    """True when a code cell calls train(...) where it is meant to run, not to show an expected error."""
    return any(cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
               and TRAIN_CALL.search(_without_expected_errors(cell.source)) for cell in notebook.cells)


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and (SETUP_TAG in cell.metadata.get("tags", [])
                                         or cell.source.startswith("# Colab setup:"))


def is_title_cell(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith("# ")


def sync_notebook(path: Path, source: str, fix: bool) -> list[str]:
    """Problems with one notebook's setup cell and Colab metadata; with fix, also repairs them."""
    notebook = nbformat.read(path, as_version=4)
    name = path.relative_to(path.parents[1]).as_posix()
    problems: list[str] = []
    setup = [index for index, cell in enumerate(notebook.cells) if is_setup_cell(cell)]
    rest = [cell for cell in notebook.cells if not is_setup_cell(cell)]
    if not rest or not is_title_cell(rest[0]):
        raise CourseError(f"{name}: the first cell must be the title (markdown starting with '# '). "
                          "Fix: move the title cell to the top, then run scripts/sync_colab.py again.")
    if not setup:
        problems.append(f"{name}: no setup cell (a code cell tagged {SETUP_TAG!r} under the title)")
        cell = nbformat.v4.new_code_cell(source)
    else:
        if len(setup) > 1:
            problems.append(f"{name}: {len(setup)} setup cells, at indexes {setup}; want one")
        cell = notebook.cells[setup[0]]
        if setup[0] != 1:
            problems.append(f"{name}: setup cell is at index {setup[0]}, want 1 (right under the title)")
    if SETUP_TAG not in cell.metadata.get("tags", []):
        if setup:
            problems.append(f"{name}: setup cell is not tagged {SETUP_TAG!r}")
        cell.metadata["tags"] = [*cell.metadata.get("tags", []), SETUP_TAG]
    if cell.source != source:
        if setup and source_url(cell.source) not in (source_url(source), "no address"):
            problems.append(f"{name}: setup cell installs from {source_url(cell.source)}, want {source_url(source)}")
        elif setup:
            problems.append(f"{name}: setup cell's code differs from the one scripts/sync_colab.py writes")
        cell.source = source
        cell.execution_count = None
    if cell.outputs:
        problems.append(f"{name}: setup cell has stored outputs; outside Colab it prints nothing")
    if problems:  # a moved, added or rewritten cell keeps no run of its own
        cell.outputs = []
        cell.execution_count = None
    problems += sync_gpu_metadata(notebook, name)
    if problems and fix:
        notebook.cells = [rest[0], cell, *rest[1:]]
        nbformat.write(notebook, path)
    return problems


def source_url(source: str) -> str:
    match = re.search(r'git\+([^"\s]*)"', source)
    return (match.group(1) if match else "") or "no address"


def sync_gpu_metadata(notebook, name: str) -> list[str]:
    """GPU metadata Colab reads on notebooks that train, none on the others (fixed in place)."""
    metadata = notebook.metadata
    colab = dict(metadata.get("colab", {}))
    if trains(notebook):
        wanted_colab = {**colab, "provenance": colab.get("provenance", []), "gpuType": "T4"}
        if metadata.get("accelerator") == "GPU" and colab == wanted_colab:
            return []
        metadata["accelerator"] = "GPU"
        metadata["colab"] = wanted_colab
        return [f"{name}: trains, so its metadata must ask Colab for a T4 GPU ({GPU_METADATA})"]
    if "accelerator" not in metadata and "gpuType" not in colab:
        return []
    metadata.pop("accelerator", None)
    colab.pop("gpuType", None)
    if colab in ({}, {"provenance": []}):
        metadata.pop("colab", None)
    else:
        metadata["colab"] = colab
    return [f"{name}: does not train, so its metadata should not ask Colab for a GPU"]


def badge(repository: Repository, notebook: str, folder: str = "notebooks") -> str:
    """`[![Open In Colab](<badge image>)](<Colab address of folder/notebook>)`."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({repository.colab_url(notebook, folder)})"


def has_exercises(notebook) -> bool:
    """True when a code cell is tagged `solution`: the notebook has an exercise notebook in exercises/."""
    return any(cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []) for cell in notebook.cells)


def has_exercises_column(block: str) -> bool:
    """True when the badge table's header has a column whose name starts with "exercise"."""
    header = next((line for line in block.splitlines() if line.startswith("|")), "")
    return any(cell.strip().lower().startswith("exercise") for cell in header.strip("|").split("|"))


def badges_block(repository: Repository, paths: list[Path], exercises: bool = False) -> str:
    """The README's badge table; with ``exercises``, a column of badges for the exercise notebooks."""
    if exercises:
        rows = ["| notebook | open in Colab | exercises | Colab runtime |", "|---|---|---|---|"]
    else:
        rows = ["| notebook | open in Colab | Colab runtime |", "|---|---|---|"]
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        runtime = "T4 GPU (the notebook asks for it)" if trains(notebook) else "any (CPU is enough)"
        cells = [path.stem, badge(repository, path.name)]
        if exercises:  # scripts/make_exercises.py writes exercises/NN_name.ipynb for each notebook with exercises
            cells.append(badge(repository, path.name, EXERCISES) if has_exercises(notebook) else "-")
        rows.append(f"| {' | '.join(cells)} | {runtime} |")
    return "\n".join([BADGES_START, *rows, BADGES_END])


def sync_readme(root: Path, repository: Repository, paths: list[Path], fix: bool) -> list[str]:
    path = root / "README.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BADGES_START), text.find(BADGES_END)
    if start < 0 or end < start:
        raise CourseError(f"{path} has no {BADGES_START} ... {BADGES_END} block. Fix: put the two "
                          "marker lines where the Colab badges belong, then run scripts/sync_colab.py.")
    exercises = has_exercises_column(text[start:end])
    block = badges_block(repository, paths, exercises)
    if text[start:end + len(BADGES_END)] == block:
        return []
    if fix:
        path.write_text(text[:start] + block + text[end + len(BADGES_END):], encoding="utf-8")
    return [f"README.md: the Colab badges do not match {repository.url} and notebooks/[0-9]*.ipynb"
            + (" and exercises/[0-9]*.ipynb" if exercises else "")]


def sync(root: Path = ROOT, fix: bool = True) -> list[str]:
    """Every disagreement found (and, with fix, repaired) under root."""
    repository = read_repository(root)
    check_dependencies(root)
    source = setup_cell_source(repository)
    paths = notebook_paths(root)
    problems: list[str] = []
    for path in paths:
        problems += sync_notebook(path, source, fix)
    problems += sync_readme(root, repository, paths, fix)  # after the notebooks: it reads their code
    return problems


def check_or_fix(argv: list[str] | None, description: str, sync, in_step: str, fix_hint: str) -> int:
    """The command line of a script that keeps files in step: ``--check`` reports (exit 1), else it fixes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="only report what is out of step; exit 1 if anything is")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository folder (default: this one)")
    args = parser.parse_args(argv)
    try:
        problems = sync(args.root, fix=not args.check)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if args.check and problems:
        print(f"{len(problems)} out of step. Fix: {fix_hint}", file=sys.stderr)
        return 1
    print(in_step if args.check else (f"{len(problems)} fixed." if problems else "Nothing to change."))
    return 0


def main(argv: list[str] | None = None) -> int:
    return check_or_fix(argv, __doc__.split("\n\n")[0], sync, "Colab badges and setup cells agree with pyproject.toml.",
                        "python scripts/sync_colab.py")

if __name__ == "__main__":
    sys.exit(main())
