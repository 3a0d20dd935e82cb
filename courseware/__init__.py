"""The course's machinery: what runs the course around the notebooks, not what they teach.

The notebooks teach ``course_utils``, the library a learner reads and calls (data, training,
metrics, plots, the ``train``/``predict`` command line). ``courseware`` is the rest, shipped in
the same distribution (``course-utils``):

- ``courseware.quiz``            -- the quiz at the end of every notebook, from the YAML files in ``quizzes/``
- ``courseware.exercises``       -- exercises that check themselves (notebook 00), and the workshop copies
  (each notebook's checks are in ``courseware.exercise_checks``)
- ``courseware.doctor``          -- will the course run on this machine? One line per check
- ``courseware.lessons``         -- a demonstration ends by checking its lesson on its own numbers (✓ or ✗)
- ``courseware.model_store``     -- each model trained once: a later notebook with the same data and
  settings loads the model an earlier one trained (notebooks 04, 06, 07 and 09)
- ``courseware.cli``             -- ``python -m courseware quiz|exercises|doctor``

``doctor`` runs from a bare Python too (``python3 -m courseware doctor`` in the repository):
this package imports nothing heavy at import time, and no work is done until a function is called.
"""

__all__ = []  # the modules are imported by name: courseware.quiz, courseware.exercises, ...
