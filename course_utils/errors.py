"""The one exception type the course raises for problems a learner can fix.

Introduced in notebook 00 (setup). Every message names the thing that is wrong and
the fix, so the helpers never leave a learner with a wall of library traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """Bad input or a missing resource: the message says what and how to fix it."""
