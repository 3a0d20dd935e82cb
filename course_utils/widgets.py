"""A live widget with a readable stand-in where widgets cannot run: notebook 06's threshold slider and every quiz."""

from __future__ import annotations

from html import escape
from typing import Any

from course_utils.errors import CourseError

__all__ = ["WithFallback", "import_ipywidgets", "with_fallback"]

_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"


def import_ipywidgets():
    """The ``ipywidgets`` module (7.x or 8.x), or a :class:`CourseError` that says how to install it."""
    try:
        import ipywidgets as module
    except ImportError:
        raise CourseError("ipywidgets is not installed, so this widget cannot run. "
                          "Fix: pip install 'ipywidgets>=7.7,<9', then restart the kernel.") from None
    return module




class WithFallback:
    """``widget`` where widgets run (JupyterLab, Colab, VS Code), ``html`` where they do not (GitHub,
    nbviewer, nbconvert's HTML; default: ``text`` in italics) and ``text`` in a plain-text reader,
    instead of ``VBox(children=(FloatSlider(...``. The view's mimetype and version are the same in
    ipywidgets 7 and 8; ``widget`` is kept to reach its children.
    """

    def __init__(self, widget, text: str, html: str | None = None) -> None:
        self.widget, self.text, self.html = widget, text, html

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/plain": self.text,
                "text/html": self.html if self.html is not None else f"<p><em>{escape(self.text)}</em></p>",
                _VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}}


def with_fallback(widget, text: str, html: str | None = None) -> WithFallback:
    """``widget`` displayed with a readable stand-in for viewers without a kernel (notebooks 06 and 09)."""
    return WithFallback(widget, text, html)
