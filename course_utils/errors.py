"""The one exception type the course raises for problems a learner can fix (notebook 00).

Introduced in notebook 00 (setup). Every message names the thing that is wrong and
the fix, so the helpers never leave a learner with a wall of library traceback;
:func:`expect_error` shows an error a lesson means to raise in one line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["CourseError", "expect_error"]


class CourseError(Exception):
    """Bad input or a missing resource: the message says what and how to fix it."""


@contextlib.contextmanager
def expect_error(*expected: type[BaseException]) -> Iterator[None]:
    """Show an error a cell is meant to raise, in one line, and let the notebook carry on (notebook 00).

    ``with expect_error(CourseError): ...`` prints ``CourseError: <message>`` when the code inside
    raises one of ``expected`` (any ``Exception`` when none is named), so Run All goes on in
    JupyterLab, Colab, VS Code and nbconvert alike. Another kind of error propagates; no error at
    all raises :class:`AssertionError`, because then the lesson the cell shows did not happen.
    """
    kinds = expected or (Exception,)
    try:
        yield
    except kinds as error:
        print(f"{type(error).__name__}: {' '.join(str(error).split())}")
    else:
        names = " or ".join(kind.__name__ for kind in kinds)
        raise AssertionError(f"expected {names} here, but the code ran without one")
