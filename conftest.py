"""pytest configuration shared by the unit tests and `pytest --nbval` over notebooks/.

- Tests always run offline and in fast mode (set before any kernel starts, so the
  notebook kernels inherit it); the committed notebooks are executed the same way.
- stderr is left out of nbval's comparison: it carries library warnings and load
  reports that differ between transformers 4.x and 5.x. stdout, results, errors
  (name and message) and text/plain figures are compared.
"""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("COURSE_PROGRESS", "text")

try:
    from nbval.plugin import IPyNbFile
except ImportError:  # nbval not installed: unit tests still run
    IPyNbFile = None

if IPyNbFile is not None:
    _original_init = IPyNbFile.__init__

    def _init_without_stderr(self, *args, **kwargs):
        _original_init(self, *args, **kwargs)
        self.skip_compare = tuple(self.skip_compare) + ("stderr",)

    IPyNbFile.__init__ = _init_without_stderr
