"""pytest configuration shared by the test suite (tests/) and `pytest --nbval notebooks/`.

- Tests always run offline and in fast mode (set before any kernel starts, so the
  notebook kernels inherit it); the committed notebooks are executed the same way.
- Under pytest-xdist (``-n``) each worker, and the notebook kernels it starts, gets an equal
  share of the CPU cores for torch's threads: two torch processes that each take every core
  slow each other many times over.
- Lessons are strict (``COURSE_STRICT_LESSONS=1``): a demonstration whose ``courseware.lessons.lesson``
  check prints ``✗ lesson:`` raises, so nbval fails that notebook.
- The model store (``courseware.model_store``) starts empty for each run of the suite, in a
  temporary folder all xdist workers share, so each model is trained once per run (never
  reused from an earlier run or from a learner's cache) and deleted at the end.
- stderr is left out of nbval's comparison: it carries library warnings and load
  reports that differ between transformers 4.x and 5.x. stdout, results, errors
  (name and message) and text/plain figures are compared. This is nbval's documented
  way to skip an output type ("Skipping certain output types" in its documentation).
"""

import os
import shutil
import tempfile

pytest_plugins = ["pytester"]  # tests that run pytest itself do it in-process, with the pytester fixture

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("COURSE_PROGRESS", "text")
os.environ.setdefault("COURSE_STRICT_LESSONS", "1")  # a "✗ lesson:" fails the notebook (courseware.lessons)
_OWN_STORE = None
if not os.environ.get("PYTEST_XDIST_WORKER") and "COURSE_MODEL_STORE" not in os.environ:
    _OWN_STORE = tempfile.mkdtemp(prefix="course-model-store-")  # the workers inherit it from this process
    os.environ["COURSE_MODEL_STORE"] = _OWN_STORE
if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker of pytest -n N: its share of the cores
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    _threads = str(max(1, (os.cpu_count() or 1) // _workers))
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, _threads)


def pytest_collectstart(collector):
    """Each notebook nbval collects compares every output but stderr."""
    if collector.path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr",)


def pytest_unconfigure(config):
    """Delete this run's model store (made by the main process, which ends last)."""
    if _OWN_STORE is not None:
        shutil.rmtree(_OWN_STORE, ignore_errors=True)
