"""course_utils.widgets: one widget-with-fallback for the quiz and the threshold slider."""

from __future__ import annotations

import sys

import pytest

from course_utils import plots, widgets
from course_utils.errors import CourseError
from course_utils.widgets import _VIEW_MIMETYPE, WithFallback, with_fallback


def test_bundle_has_the_widget_the_html_and_the_text():
    ipywidgets = pytest.importorskip("ipywidgets")
    slider = ipywidgets.FloatSlider(value=0.5)
    bundle = with_fallback(slider, "Threshold 0.50 <b>", html="<p>at 0.50</p>")._repr_mimebundle_()
    assert bundle == {"text/plain": "Threshold 0.50 <b>", "text/html": "<p>at 0.50</p>",
                      _VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": slider.model_id}}
    default = with_fallback(slider, "Threshold 0.50 <b>")._repr_mimebundle_()
    assert default["text/html"] == "<p><em>Threshold 0.50 &lt;b&gt;</em></p>"  # the text, escaped


def test_the_quiz_and_the_slider_use_the_same_fallback(scored_messages):
    from courseware.quiz import _load_quiz, _QuizView

    assert plots.with_fallback is widgets.with_fallback  # notebooks 06 and 09 import it from plots
    y_true, p_spam = scored_messages
    assert isinstance(plots.threshold_explorer(y_true, p_spam), WithFallback)
    assert isinstance(_QuizView(_load_quiz("00_setup")), WithFallback)


def test_a_missing_ipywidgets_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    with pytest.raises(CourseError, match=r"pip install 'ipywidgets>=7.7,<9'"):
        widgets.import_ipywidgets()
