"""The library the notebook course *Fine-tuning BERT for text classification* teaches.

One module per concern, each introduced by a notebook. The course's machinery (the quizzes, the
self-checking exercises and ``doctor``) is the sibling package ``courseware``, installed with this one.

- ``course_utils.device``     -- notebook 00: CUDA, Apple MPS or CPU, described in one line
- ``course_utils.models``     -- notebook 00: which checkpoint to use (offline by default) and loading it
- ``course_utils.labels``     -- notebook 08: class names and numbers, shared by the data and the model
- ``course_utils.data``       -- notebook 00: any labelled texts, read, checked, deduplicated, split
- ``course_utils.corpora``    -- notebook 00: the packaged data sets (SMS spam, airline-tweet sentiment, question titles), verified
- ``course_utils.guards``     -- notebook 03: the classic mistakes, caught before any weight changes
- ``course_utils.batches``    -- notebook 04: tokenize once, length-grouped batches, padding per batch
- ``course_utils.settings``   -- notebook 04: every setting of a fine-tuning run, in one checked dataclass
- ``course_utils.training``   -- notebook 04: the fine-tuning loop behind one call, on accelerate; the range test: notebook 05
- ``course_utils.prediction`` -- notebook 04: evaluate, class probabilities and labels
- ``course_utils.baseline``   -- notebook 04: the TF-IDF + linear SVM baseline every fine-tune is compared with
- ``course_utils.metrics``    -- notebook 06: classification metrics, calibration and thresholds
- ``course_utils.plots``      -- notebook 06: confusion matrices and curves
- ``course_utils.widgets``    -- notebooks 06 and 09: an ipywidgets view with its static fallback (the quizzes use it too)
- ``course_utils.cli``        -- notebook 09: the command line (``python -m course_utils train|predict``)
- ``course_utils.errors``     -- notebook 00: the one error type, and showing an expected error in one line
- ``course_utils.files``      -- atomic writes with the usual permissions (used by the other modules)

Importing the package does no work: no seeds are set and no device is probed until
a function is called.
"""

from course_utils.errors import CourseError

__version__ = "0.1.0"
__all__ = ["CourseError", "__version__"]
