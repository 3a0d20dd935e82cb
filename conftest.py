"""pytest configuration shared by the test suite (tests/) and `pytest --nbval notebooks/`.

- Tests always run offline and in fast mode (set before any kernel starts, so the
  notebook kernels inherit it); the committed notebooks are executed the same way.
- stderr is left out of nbval's comparison: it carries library warnings and load
  reports that differ between transformers 4.x and 5.x. stdout, results, errors
  (name and message) and text/plain figures are compared. This is nbval's documented
  way to skip an output type ("Skipping certain output types" in its documentation).
"""

import os

pytest_plugins = ["pytester"]  # tests that run pytest itself do it in-process, with the pytester fixture

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("COURSE_PROGRESS", "text")


def pytest_collectstart(collector):
    """Each notebook nbval collects compares every output but stderr."""
    if collector.path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr",)
