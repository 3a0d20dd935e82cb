"""Support package for the notebook course *Fine-tuning BERT for text classification*.

One module per concern, each introduced by a notebook:

- ``course_utils.device``   -- notebook 00: CUDA, Apple MPS or CPU, described in one line
- ``course_utils.models``   -- notebook 00: which checkpoint to use (offline by default) and loading it
- ``course_utils.data``     -- notebook 00: the SMS Spam Collection, verified, deduplicated, split
- ``course_utils.baseline`` -- notebook 04: the TF-IDF + linear SVM baseline every fine-tune is compared with
- ``course_utils.training`` -- notebook 04: the fine-tuning loop behind one call, and a learning-rate range test
- ``course_utils.metrics``  -- notebook 05: classification metrics, calibration and thresholds
- ``course_utils.plots``    -- notebook 05: confusion matrices and curves
- ``course_utils.quiz``     -- every notebook: quizzes and flashcards
- ``course_utils.exercises`` -- notebook 00: exercises that check themselves, and workshop copies
  (each notebook's checks are in ``course_utils.exercise_checks``)
- ``course_utils.widgets``  -- notebooks 05 and 08: an ipywidgets view with its static fallback
- ``course_utils.errors``   -- notebook 00: the one error type, and showing an expected error in one line
- ``course_utils.files``    -- atomic writes with the usual permissions (used by the other modules)

Importing the package does no work: no seeds are set and no device is probed until
a function is called.
"""

from course_utils.errors import CourseError

__version__ = "0.1.0"
__all__ = ["CourseError", "__version__"]
