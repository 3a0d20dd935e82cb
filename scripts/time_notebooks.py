"""Time every numbered notebook, in fast mode and in full mode, for the instructors' guide.

    python scripts/time_notebooks.py                          # all notebooks, both modes
    python scripts/time_notebooks.py --mode fast notebooks/02*.ipynb
    python scripts/time_notebooks.py --output /tmp/times.md   # write somewhere else

Each notebook is executed on an in-memory copy (nothing under notebooks/ is written; the
kernel runs in a temporary folder holding a copy of the notebook, so files a notebook saves
land there) with the hub offline, as scripts/execute_notebooks.py runs them: fast mode sets
COURSE_FAST=1, full mode removes COURSE_FAST; the model store is off, so each notebook trains
what it needs, as when it is opened alone. Writes a Markdown table to
docs/notebook_times.md (or --output) with the machine it ran on: CPU model, core count,
torch and transformers versions and the date, and the same table into README.md between
the ``notebook-times`` markers (``--no-readme`` leaves the README alone). A mode that was not
run shows "not run".
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "notebook_times.md"
README = ROOT / "README.md"
README_MARKERS = ("<!-- notebook-times:start -->", "<!-- notebook-times:end -->")
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONHASHSEED": "0",
}
MODES = ("fast", "full")


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def library_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # not installed
        return "not installed"


def machine_description() -> list[str]:
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores (as the OS reports them)",
        f"- platform: {platform.platform()}, Python {platform.python_version()}",
        f"- torch {library_version('torch')}, transformers {library_version('transformers')}",
        f"- date: {datetime.date.today().isoformat()}",
    ]


def run_notebook(path: Path, mode: str, timeout: int) -> float:
    """Seconds to execute a copy of the notebook in ``mode`` ("fast" or "full")."""
    environment = {**OFFLINE_ENVIRONMENT, "COURSE_MODEL_STORE": "off"}  # each notebook as if opened alone
    saved = {name: os.environ.get(name) for name in [*environment, "COURSE_FAST"]}
    os.environ.update(environment)
    if mode == "fast":
        os.environ["COURSE_FAST"] = "1"
    else:
        os.environ.pop("COURSE_FAST", None)
    notebook = nbformat.read(path, as_version=4)
    workdir = Path(tempfile.mkdtemp(prefix="time-notebooks-"))
    try:
        shutil.copy2(path, workdir / path.name)  # a notebook may read files next to itself
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}})
        started = time.perf_counter()
        client.execute()
        return time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def table_rows(rows: list[tuple[str, dict[str, float | None]]], modes: tuple[str, ...]) -> list[str]:
    """The rows of the times table: notebook, fast mode (s), full mode (s)."""
    def cell(row_times: dict[str, float | None], mode: str) -> str:
        if mode not in modes:
            return "not run"
        seconds = row_times.get(mode)
        return "failed" if seconds is None else f"{seconds:.0f}"

    lines = ["| notebook | fast mode (s) | full mode (s) |", "|---|---:|---:|"]
    lines += [f"| {name} | {cell(row_times, 'fast')} | {cell(row_times, 'full')} |" for name, row_times in rows]
    return lines


def update_readme(rows: list[tuple[str, dict[str, float | None]]], modes: tuple[str, ...],
                  readme: Path = README) -> None:
    """Write the table between the README's notebook-times markers, with the machine in one line."""
    text = readme.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"error: {readme} has no {start} ... {end} block. Fix: add the two lines, or pass --no-readme.")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    machine = "; ".join(line[2:] for line in machine_description())
    block = [start, "", *table_rows(rows, modes), "",
             f"Measured by `python scripts/time_notebooks.py` (whole notebook, kernel start included) on: {machine}.",
             end]
    readme.write_text(before + "\n".join(block) + after, encoding="utf-8")


def markdown_table(rows: list[tuple[str, dict[str, float | None]]], modes: tuple[str, ...]) -> str:
    lines = [
        "# Notebook run times",
        "",
        "Measured by `python scripts/time_notebooks.py` (whole notebook, kernel start included,",
        "hub offline). Fast mode is `COURSE_FAST=1`, as in the tests; full mode (`COURSE_FAST` unset)",
        "trains on more messages, as a learner's own run does. Each notebook is timed as if opened",
        "alone (`COURSE_MODEL_STORE=off`): after notebook 04, notebooks 05, 06, 07 and 09 load its model",
        "instead of training it, and take less. Reading and typing time comes on top.",
        "",
        *table_rows(rows, modes),
    ]
    lines += ["", "Machine:", "", *machine_description(), ""]
    return "\n".join(lines)


def notebook_paths(patterns: list[str]) -> list[Path]:
    if not patterns:
        return sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(Path(match) for match in glob.glob(pattern))
        if not matches:
            raise SystemExit(f"error: no notebook matches {pattern}. Fix: pass paths such as notebooks/02*.ipynb.")
        paths += [match for match in matches if match not in paths]
    return paths


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebook paths or globs (default: every notebooks/[0-9]*.ipynb)")
    parser.add_argument("--mode", choices=["fast", "full", "both"], default="both")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT.relative_to(ROOT)}")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    parser.add_argument("--no-readme", action="store_true", help="do not write the table into README.md")
    args = parser.parse_args(argv)
    modes = MODES if args.mode == "both" else (args.mode,)
    paths = notebook_paths(args.notebooks)
    if not args.output.parent.is_dir():
        raise SystemExit(f"error: the folder {args.output.parent} does not exist. Fix: create it or pass --output.")

    rows: list[tuple[str, dict[str, float | None]]] = []
    failures = 0
    for path in paths:
        row_times: dict[str, float | None] = {}
        for mode in modes:
            try:
                row_times[mode] = run_notebook(path, mode, args.timeout)
                print(f"{path.name} ({mode} mode): {row_times[mode]:.0f} s", flush=True)
            except Exception as error:  # a failing cell: record it, time the rest
                row_times[mode] = None
                failures += 1
                print(f"{path.name} ({mode} mode): failed: {type(error).__name__}: {str(error)[:300]}",
                      file=sys.stderr, flush=True)
        rows.append((path.stem, row_times))
    args.output.write_text(markdown_table(rows, modes), encoding="utf-8")
    print(f"wrote {args.output}")
    if not args.no_readme:
        update_readme(rows, modes)
        print(f"wrote the table into {README.name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
