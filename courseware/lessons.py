"""A lesson is a check: a demonstration ends by testing its lesson on the numbers it just computed.

Every notebook's demonstrations end with :func:`lesson`, which prints one line:
``✓ lesson: <the lesson> (<the figures that show it>)`` when the run shows it, or
``✗ lesson: <the lesson> did not show in this run: <what it showed instead>`` when it does not
(runs differ between machines, precisions and seeds; the line says what this one showed). A
learner's run never stops on a ``✗``; the course's own runs do (``COURSE_STRICT_LESSONS=1``, set
by the test suite and by ``scripts/execute_notebooks.py``), so a committed notebook never shows
one and a change that loses a lesson fails the tests.
"""

from __future__ import annotations

import os

__all__ = ["LessonNotShown", "STRICT_ENV_VAR", "lesson"]

STRICT_ENV_VAR = "COURSE_STRICT_LESSONS"
PASSED, FAILED = "✓ lesson:", "✗ lesson:"


class LessonNotShown(AssertionError):
    """Raised in the course's own runs when a demonstration did not show its lesson."""


def lesson(holds: bool, claim: str, shown: str, instead: str | None = None) -> None:
    """Print ``claim`` as a check: ``✓`` with ``shown`` when ``holds``, else ``✗`` with ``instead``.

    ``shown`` gives the figures behind the verdict; ``instead`` (default: ``shown``) what this run
    showed when the lesson did not hold. It returns nothing, so a cell may end with it. Under ``COURSE_STRICT_LESSONS=1`` a
    lesson that does not hold raises :class:`LessonNotShown` after printing its line.
    """
    line = f"{PASSED} {claim} ({shown})" if holds else f"{FAILED} {claim} did not show in this run: {instead or shown}"
    print(line)
    if not holds and os.environ.get(STRICT_ENV_VAR, "").strip() == "1":
        raise LessonNotShown(line)
