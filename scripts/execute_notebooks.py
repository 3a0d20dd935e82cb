"""Re-execute course notebooks in place, the way the test suite runs them.

    python scripts/execute_notebooks.py                 # every notebook
    python scripts/execute_notebooks.py notebooks/04*.ipynb
    COURSE_MODEL_STORE=/tmp/store python scripts/execute_notebooks.py ...   # this store, kept afterwards

Runs with COURSE_FAST=1 and the hub offline (as conftest.py sets for pytest), so the
committed outputs are the ones `pytest --nbval` compares against. Progress bars are
plain text (COURSE_PROGRESS=text) and streams are coalesced, so a stored bar shows its
final state; widget state is saved with the notebook. Cells tagged
`raises-exception` may raise; the model store (courseware.model_store) starts empty, so a
notebook reuses only a model an earlier notebook of the same run trained; any other error stops with the cell shown. Execution
counts are renumbered and kernel metadata is normalised so diffs stay small.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {
    "COURSE_FAST": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONHASHSEED": "0",
    "COURSE_PROGRESS": "text",  # plain text progress bars: the stored output shows the bar's final state
    "COURSE_STRICT_LESSONS": "1",  # a lesson that did not show stops the run (courseware.lessons)
}


def execute(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("widgets", None)
    started = time.perf_counter()
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3", coalesce_streams=True,
                            store_widget_state=True, resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # widget state is saved, so JupyterLab and nbviewer show sliders without a kernel
    notebook.metadata["language_info"] = {"name": "python"}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    os.environ.update(ENVIRONMENT)
    shared = os.environ.get("COURSE_MODEL_STORE")  # set: two runs side by side share one store
    store = shared or tempfile.mkdtemp(prefix="course-model-store-")  # an empty model store, as in the tests
    os.environ["COURSE_MODEL_STORE"] = store
    paths = [Path(arg) for arg in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    try:
        for path in paths:
            seconds = execute(path)
            print(f"{path.name}: executed in {seconds:.0f} s")
    finally:
        if not shared:
            shutil.rmtree(store, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
