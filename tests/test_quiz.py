"""Quizzes: the course's quiz files, validation, grading, shuffling, checklists, Markdown,
static HTML, the widgets driven from Python, and the stored notebook outputs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.errors import CourseError
from courseware.quiz import (
    _answer_key_markdown,
    _concepts_message,
    _grade,
    _load_quiz,
    _plain_text,
    _quiz_files,
    _quizzes_folder,
    _QuizView,
    _render_inline,
    _render_markdown,
    _shuffled_options,
    _static_html,
    show_quiz,
)
from course_utils.widgets import _VIEW_MIMETYPE

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "quizzes" / "sample.yaml"
NOTEBOOK_STEMS = ("00_setup", "01_tokenization", "02_logits_to_predictions", "03_missing_labels",
                  "04_training_loop", "05_training_choices", "06_metrics", "07_metrics_pitfalls", "08_multiclass",
                  "09_capstone")
TUTORIAL_SOURCE = "a common tutorial"  # items that mirror the practice questions of a widely used tutorial

# Every practice item of the tutorial the course corrects, in the notebook where its topic is taught.
SEED_ITEMS = {
    "00_setup": {"what-is-bert": "flashcard", "why-fine-tune": "flashcard",
                 "fine-tuning-involves": "single_choice", "bidirectional-advantage": "single_choice",
                 "purpose-of-fine-tuning": "single_choice"},
    "01_tokenization": {"cls-token-card": "flashcard", "which-token-classifies": "single_choice",
                        "correct-tokenization-call": "single_choice", "why-cls-matters": "checklist"},
    "02_logits_to_predictions": {"argmax-dim1": "single_choice", "binary-output-activation": "single_choice",
                                 "binary-output-layer": "flashcard"},
    "03_missing_labels": {"missing-labels-fix": "single_choice"},
    "04_training_loop": {"steps-to-fine-tune": "checklist"},
    "06_metrics": {"not-a-classification-metric": "single_choice", "common-metrics": "flashcard"},
    "07_metrics_pitfalls": {"accuracy-98-recall-12": "single_choice", "avoid-overfitting-small-data": "single_choice"},
}


def _folded_away(html_text: str) -> str:
    """The static HTML with every <details> block removed: what a reader sees before unfolding."""
    return re.sub(r"<details>.*?</details>", "", html_text, flags=re.S)


# --------------------------------------------------------------------------- the course's quiz files


def test_every_notebook_has_a_valid_quiz_file():
    stems = [Path(path.name).stem for path in _quiz_files()]
    assert set(NOTEBOOK_STEMS) <= set(stems)
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        assert path.stem in stems, f"{path.name} has no quizzes/{path.stem}.yaml"
    for stem in stems:
        quiz = _load_quiz(stem)
        assert quiz.name == stem and quiz.items


# Dotted names in the quiz texts: `course_utils.training.train`, `courseware.lessons.lesson`, or a module of
# course_utils named bare (`training.predict_labels` means course_utils.training.predict_labels). `labels` and
# `device` are left out when bare: the quizzes use them as variable names (`labels.float()`, `device.type`).
BARE_MODULES = sorted(path.stem for path in (ROOT / "course_utils").glob("*.py")
                      if not path.stem.startswith("_") and path.stem not in {"labels", "device"})
DOTTED_NAME = re.compile(r"(?<![\w./-])(course_utils|courseware|" + "|".join(BARE_MODULES) + r")((?:\.\w+)+)")
FILE_SUFFIXES = {"py", "csv", "json", "yaml", "md", "txt", "ipynb", "toml", "html", "safetensors"}


def resolves(dotted: str) -> bool:
    """Whether course_utils/courseware has this dotted attribute (submodules imported on the way)."""
    import importlib

    parts = dotted.split(".")
    if parts[0] not in ("course_utils", "courseware"):
        parts = ["course_utils", *parts]
    target = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if not hasattr(target, part):
            try:
                importlib.import_module(".".join(parts[:index + 1]))
            except ImportError:
                return False
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def dotted_names(text: str) -> set[str]:
    """The dotted course_utils/courseware names a text mentions (file names such as data.csv left out)."""
    names = set()
    for match in DOTTED_NAME.finditer(text):
        name = match.group(1) + match.group(2)
        if name.rsplit(".", 1)[-1].lower() not in FILE_SUFFIXES:
            names.add(name)
    return names


def test_dotted_names_are_found_and_resolved():
    text = ("Call `training.predict_labels` or `course_utils.prediction.predict_labels(...)`; `data.csv` is a file, "
            "`labels.float()` a tensor, `courseware.lessons.lesson` the check; `corpora.load_splits()`, `my.data.x`.")
    assert dotted_names(text) == {"training.predict_labels", "course_utils.prediction.predict_labels",
                                  "courseware.lessons.lesson", "corpora.load_splits"}
    assert resolves("course_utils.prediction.predict_labels") and resolves("courseware.lessons.lesson")
    assert resolves("metrics.threshold_table")
    assert not resolves("training.predict_labels") and not resolves("data.LABEL_NAMES")
    assert not resolves("course_utils.nowhere.x")


def test_every_dotted_name_in_the_quizzes_is_a_real_name():
    """A quiz that names `data.load_splits()` sends a learner to a function that does not exist."""
    missing = []
    for path in sorted((ROOT / "quizzes").glob("*.yaml")):
        for name in sorted(dotted_names(path.read_text(encoding="utf-8"))):
            if not resolves(name):
                missing.append(f"{path.name}: {name}")
    assert not missing, "dotted names in the quizzes that course_utils/courseware do not have:\n" + "\n".join(missing)


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_every_seed_item_is_in_its_notebook_quiz(stem):
    quiz = _load_quiz(stem)
    types = {item.id: item.type for item in quiz.items}
    for item_id, item_type in SEED_ITEMS.get(stem, {}).items():
        assert types.get(item_id) == item_type, f"{stem}: seed item {item_id} missing or not a {item_type}"
        item = quiz.item(item_id)
        assert item.source.startswith(TUTORIAL_SOURCE), item_id
        if item.type != "flashcard":
            assert item.hint and item.explanation


def test_seed_practice_items_keep_hint_and_common_mistakes():
    """The tutorial's five practice questions keep its hint and common mistakes."""
    practice = {
        ("00_setup", "purpose-of-fine-tuning"): ("not training from scratch", "Thinking fine-tuning trains BERT from zero"),
        ("01_tokenization", "correct-tokenization-call"): ("tokenizer(text, ...)", "Using simple split instead of tokenizer"),
        ("02_logits_to_predictions", "argmax-dim1"): ("index of the maximum in each sample row", "Confusing dim=0 with dim=1"),
        ("03_missing_labels", "missing-labels-fix"): ("Always pass labels", "Removing backward call instead of fixing input"),
        ("07_metrics_pitfalls", "avoid-overfitting-small-data"): ("Small learning rate + dropout", "Training longer without regularization"),
    }
    for (stem, item_id), (hint, mistake) in practice.items():
        item = _load_quiz(stem).item(item_id)
        assert hint in item.hint
        assert mistake in item.common_mistakes


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_every_quiz_has_at_least_three_items_of_the_course(stem):
    quiz = _load_quiz(stem)
    own = [item for item in quiz.items if item.source.startswith("course:")]
    assert len(own) >= 3, f"{stem}: {len(own)} course items"
    assert all(item.source.startswith((TUTORIAL_SOURCE, "course:")) for item in quiz.items)


def test_seed_corrections_stay_corrected():
    tokenization = _load_quiz("01_tokenization").item("correct-tokenization-call")
    answer = next(option for option in tokenization.options if option.id in tokenization.answers)
    assert "tokenizer(text" in answer.text and "encode_plus" not in answer.text
    assert any("encode_plus" in option.text and "5.x" in option.feedback for option in tokenization.options)

    activation = _load_quiz("02_logits_to_predictions").item("binary-output-activation")
    assert activation.answers == ("softmax",)
    assert "num_labels=2" in activation.prompt
    sigmoid = next(option for option in activation.options if option.id == "sigmoid")
    assert "num_labels=1" in sigmoid.feedback and "multi_label_classification" in sigmoid.feedback

    layer = _load_quiz("02_logits_to_predictions").item("binary-output-layer")
    assert "two" in layer.answer and "softmax" in layer.answer

    labels = _load_quiz("03_missing_labels").item("missing-labels-fix")
    assert "AttributeError: 'NoneType' object has no attribute 'backward'" in labels.prompt
    assert "TypeError" in labels.explanation  # where the tutorial's TypeError really comes from


# --------------------------------------------------------------------------- validation

VALID_ITEM = """\
  - id: q1
    type: single_choice
    prompt: Which?
    options:
      - {id: a, text: A, feedback: fa}
      - {id: b, text: B, feedback: fb}
    answer: a
    explanation: Because.
    hint: Think.
"""

BAD_FILES = {
    "bad-yaml": ("title: T\nitems:\n  - id: q1\n    prompt: [unclosed\n", ["not valid YAML", "line"]),
    "empty": ("  \n", ["empty"]),
    "missing-answer": ("title: T\nitems:\n" + VALID_ITEM.replace("    answer: a\n", ""), ["item 'q1'", "field 'answer'", "missing"]),
    "answer-names-no-option": ("title: T\nitems:\n" + VALID_ITEM.replace("answer: a", "answer: e"),
                               ["item 'q1'", "field 'answer'", "'e' names no option"]),
    "duplicate-id": ("title: T\nitems:\n" + VALID_ITEM + VALID_ITEM, ["item 'q1'", "field 'id'", "duplicate"]),
    "unknown-type": ("title: T\nitems:\n" + VALID_ITEM.replace("single_choice", "essay"),
                     ["item 'q1'", "field 'type'", "'essay'", "single_choice"]),
    "missing-prompt": ("title: T\nitems:\n" + VALID_ITEM.replace("    prompt: Which?\n", ""), ["item 'q1'", "field 'prompt'"]),
    "empty-prompt": ("title: T\nitems:\n" + VALID_ITEM.replace("prompt: Which?", "prompt: ''"), ["item 'q1'", "field 'prompt'", "empty"]),
    "missing-id": ("title: T\nitems:\n" + VALID_ITEM.replace("  - id: q1\n    type", "  - type"), ["item '#1'", "field 'id'"]),
    "unknown-field": ("title: T\nitems:\n" + VALID_ITEM + "    difficulty: easy\n", ["item 'q1'", "field 'difficulty'"]),
    "duplicate-key": ("title: T\nitems:\n" + VALID_ITEM + "    hint: Again.\n", ["duplicate key 'hint'", "line"]),
    "option-without-feedback": ("title: T\nitems:\n" + VALID_ITEM.replace(", feedback: fb", ""),
                                ["item 'q1'", "field 'options[1].feedback'"]),
    "multiple-answer-not-list": ("title: T\nitems:\n" + VALID_ITEM.replace("single_choice", "multiple_choice"),
                                 ["item 'q1'", "field 'answer'", "list"]),
    "yes-as-option-id": ("title: T\nitems:\n" + VALID_ITEM.replace("{id: b,", "{id: yes,"),
                         ["item 'q1'", "field 'options[1].id'"]),
    "flashcard-with-options": ("title: T\nitems:\n" + VALID_ITEM.replace("single_choice", "flashcard"),
                               ["item 'q1'", "field 'options'"]),
    "no-items": ("title: T\nitems: []\n", ["field 'items'"]),
    "not-a-mapping": ("- just\n- a list\n", ["mapping"]),
}


@pytest.fixture
def write_quiz(tmp_path):
    def write(text: str, name: str = "broken.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_quiz_files_are_refused_with_one_clear_message(case, write_quiz, capsys):
    from courseware.cli import main

    text, expected = BAD_FILES[case]
    path = write_quiz(text)
    with pytest.raises(CourseError) as raised:
        _load_quiz(path)
    message = str(raised.value)
    assert "broken.yaml" in message
    for fragment in expected:
        assert fragment in message, (case, message)
    assert "\n" not in message
    assert main(["quiz", "check", str(path)]) == 2  # bad input: exit status 2, as everywhere on the command line
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {message}"]


def test_the_renderer_refuses_a_malformed_file_with_the_same_message(write_quiz):
    path = write_quiz("title: T\nitems:\n" + VALID_ITEM.replace("answer: a", "answer: e"))
    with pytest.raises(CourseError) as from_loader:
        _load_quiz(path)
    with pytest.raises(CourseError) as from_renderer:
        show_quiz(path)
    assert str(from_renderer.value) == str(from_loader.value)


def test_unknown_quiz_name_lists_the_available_ones():
    with pytest.raises(CourseError, match="01_tokenization"):
        _load_quiz("99_nonexistent")


def test_quiz_names_resolve_to_the_repository_quiz_files():
    """A clone or an editable install reads the top-level quizzes/ folder, the one copy in git."""
    assert Path(str(_quizzes_folder())) == ROOT / "quizzes"
    assert _load_quiz("02_logits_to_predictions").path == ROOT / "quizzes" / "02_logits_to_predictions.yaml"
    assert {Path(entry.name).stem for entry in _quiz_files()} >= set(NOTEBOOK_STEMS)
    assert not (ROOT / "courseware" / "quizzes").exists()  # no second copy in git
    assert not (ROOT / "course_utils" / "quizzes").exists()


@pytest.mark.slow
def test_the_wheel_ships_the_quiz_files(tmp_path):
    """`pip install .` and Colab's `pip install git+...` (not editable) build a wheel: it must carry every
    quiz file of the top-level quizzes/ folder as courseware/quizzes, where importlib.resources finds them."""
    import shutil
    import zipfile

    source = tmp_path / "source"  # a copy, so that building leaves no build/ folder in the checkout
    for folder in ("course_utils", "courseware", "quizzes", "exercises"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             str(source), "-w", str(tmp_path / "wheels")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("course_utils-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    quiz_files = sorted(path.name for path in (ROOT / "quizzes").glob("*.yaml"))
    assert {f"{stem}.yaml" for stem in NOTEBOOK_STEMS} <= set(quiz_files)
    for name in quiz_files:
        assert f"courseware/quizzes/{name}" in names, f"{name} is not in {wheel.name}"
    assert {"courseware/exercise_checks/nb04.py", "courseware/doctor.py", "course_utils/training.py"} <= names
    assert not [name for name in names if name.startswith("quizzes/")]  # not a top-level package of its own

    # installed from the wheel, away from the checkout, the quiz engine finds its files by importlib.resources
    target = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("from courseware.quiz import _quiz_files, _load_quiz\n"
            "files = _quiz_files()\n"
            "print(len(files), str(files[0]))\n"
            "print(_load_quiz('00_setup').title)\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)})
    assert shown.returncode == 0, shown.stderr[-2000:]
    count, first = shown.stdout.splitlines()[0].split(" ", 1)
    assert int(count) == len(quiz_files)
    assert first.startswith(str(target / "courseware" / "quizzes"))


# --------------------------------------------------------------------------- Markdown subset and escaping


def test_markdown_is_rendered_and_raw_html_escaped():
    assert _render_inline("**bold** and *em* and `code`") == "<strong>bold</strong> and <em>em</em> and <code>code</code>"
    assert _render_inline("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert _render_inline("`a*b*c < d`") == "<code>a*b*c &lt; d</code>"  # nothing rendered inside code
    assert _render_inline("2 * 3 * 4") == "2 * 3 * 4"
    assert _render_inline("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    html_text = _render_markdown("Para one\ncontinued.\n\n- first\n- *second*\n\n```python\nx = '<b>'\n```\n1. a\n2. b")
    assert "<p>Para one\ncontinued.</p>" in html_text
    assert "<ul>\n<li>first</li>\n<li><em>second</em></li>\n</ul>" in html_text
    assert '<pre style="background:#f5f7f9;padding:6px 8px"><code>x = \'&lt;b&gt;\'</code></pre>' in html_text
    assert "<ol>\n<li>a</li>\n<li>b</li>\n</ol>" in html_text
    blocked = _render_markdown("<div onclick=x>hi</div>\n\n[link](javascript:alert(1))")
    assert "<div" not in blocked and "&lt;div onclick=x&gt;" in blocked and "href" not in blocked


def test_plain_text_labels_drop_markers_but_keep_code_content():
    assert _plain_text("`tokens = tokenizer(text)` is **the** *one*") == "tokens = tokenizer(text) is the one"
    assert _plain_text("`a*b*c`") == "a*b*c"


# --------------------------------------------------------------------------- shuffling and grading


def test_shuffle_is_reproducible_and_a_permutation():
    item = _load_quiz("02_logits_to_predictions").item("argmax-dim1")
    first = _shuffled_options(item, seed=0)
    assert first == _shuffled_options(item, seed=0)
    assert sorted(option.id for option in first) == sorted(option.id for option in item.options)
    orders = {tuple(option.id for option in _shuffled_options(item, seed=seed)) for seed in range(10)}
    assert len(orders) > 1  # the seed matters


def test_shuffle_does_not_depend_on_the_hash_seed():
    code = ("from courseware.quiz import _load_quiz, _shuffled_options\n"
            "for item in _load_quiz('00_setup').items:\n"
            "    print(item.id, [o.id for o in _shuffled_options(item)])\n")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}).stdout
               for hash_seed in ("1", "2")}
    assert len(outputs) == 1
    here = "".join(f"{item.id} {[o.id for o in _shuffled_options(item)]}\n" for item in _load_quiz("00_setup").items)
    assert outputs == {here}


def test_grading_single_choice():
    item = _load_quiz(SAMPLE).item("pick-one")
    right = _grade(item, "right")
    assert right.correct and right.feedback == (("right", "Well done."),)
    wrong = _grade(item, "wrong")
    assert not wrong.correct and wrong.feedback == (("wrong", "Wrong because *reasons*."),)
    assert not _grade(item, None).correct and _grade(item, None).chosen == ()
    with pytest.raises(CourseError, match="no option 'nope'"):
        _grade(item, "nope")
    with pytest.raises(CourseError, match="single choice"):
        _grade(item, ["right", "wrong"])


def test_grading_multiple_choice_needs_exactly_the_right_set():
    item = _load_quiz(SAMPLE).item("pick-many")
    assert _grade(item, ["four", "two"]).correct
    partial = _grade(item, ["two"])
    assert not partial.correct and partial.missing == 1
    extra = _grade(item, ["two", "three", "four"])
    assert not extra.correct and extra.missing == 0
    assert [option_id for option_id, _ in extra.feedback] == ["two", "three", "four"]


def test_concepts_message():
    assert _concepts_message(3, 5) == "You got 3/5 concepts."


# --------------------------------------------------------------------------- static HTML


def test_static_html_is_deterministic_escaped_and_folds_answers_away():
    quiz = _load_quiz(SAMPLE)
    page = _static_html(quiz)
    assert page == _static_html(_load_quiz(SAMPLE))
    assert "Sample &lt;quiz&gt; &amp; friends" in page
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in page and "<script>" not in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    assert page.count("<details>") == 7  # hint + answer for 3 items, the card's back
    visible = _folded_away(page)
    for item in quiz.items:
        assert f'id="quiz-{item.id}"' in visible
    for hidden in ("Well done.", "It is right.", "Picking the wrong one", "First step", "The <strong>back</strong>",
                   "Pick the right one.", "Answer:"):
        assert hidden not in visible and hidden in page, hidden
    assert re.search(r"<li>[ABC]\. The <strong>right</strong> one</li>", visible)  # options shown, answer not


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_course_static_html_keeps_answers_folded(stem):
    quiz = _load_quiz(stem)
    visible = _folded_away(_static_html(quiz))
    for item in quiz.items:
        assert f'id="quiz-{item.id}"' in visible
        if item.type != "flashcard":
            assert _render_markdown(item.explanation) not in visible
        for option in item.options:
            assert _render_inline(option.feedback) not in visible


# --------------------------------------------------------------------------- widgets driven from Python


def test_single_choice_widget_wrong_then_right():
    view = _QuizView(_load_quiz(SAMPLE))
    item = view.items["pick-one"]
    labels = [label for label, _ in item.choice.options]
    assert sorted(labels) == sorted(f"{letter}. {text}" for letter, text in
                                    zip("ABC", [_plain_text(o.text) for o in item.options]))
    assert item.choice.value is None and "Score: 0/2" in view.score.value

    item.check.click()  # nothing chosen yet
    assert "Choose an option first" in item.feedback.value and item.attempts == 0

    item.choice.value = "wrong"
    item.check.click()
    assert "Not quite" in item.feedback.value and "Wrong because <em>reasons</em>." in item.feedback.value
    assert "It is right." not in item.feedback.value
    assert "Score: 0/2" in view.score.value

    item.choice.value = "right"
    assert item.feedback.value == ""  # a new choice clears the old feedback
    item.check.click()
    assert "Correct" in item.feedback.value and "Well done." in item.feedback.value
    assert "It is right." in item.feedback.value and "Picking the wrong one" in item.feedback.value
    assert "Score: 1/2 (0 on the first try)" in view.score.value


def test_retry_and_hint_buttons():
    view = _QuizView(_load_quiz(SAMPLE))
    item = view.items["pick-one"]
    item.hint_button.click()
    assert "Pick the right one." in item.hint.value
    item.hint_button.click()
    assert item.hint.value == ""
    item.choice.value = "right"
    item.check.click()
    assert "Score: 1/2 (1 on the first try)" in view.score.value
    item.retry.click()
    assert item.choice.value is None and item.feedback.value == ""
    assert "Score: 1/2" in view.score.value  # the running score keeps what was earned


def test_multiple_choice_widget():
    view = _QuizView(_load_quiz(SAMPLE))
    item = view.items["pick-many"]
    by_id = dict(zip((option.id for option in item.options), item.checkboxes))
    by_id["two"].value = True
    item.check.click()
    assert "Not quite" in item.feedback.value and "1 correct option is not ticked yet" in item.feedback.value
    by_id["four"].value = True
    item.check.click()
    assert "Correct" in item.feedback.value
    assert "Score: 1/2" in view.score.value


def test_flashcard_reveal_and_hide():
    view = _QuizView(_load_quiz(SAMPLE))
    card = view.items["card"]
    assert card.back.value == ""
    card.reveal.click()
    assert "The <strong>back</strong> of the card." in card.back.value and card.reveal.description == "Hide answer"
    card.reveal.click()
    assert card.back.value == "" and card.reveal.description == "Reveal answer"


def test_checklist_widget_counts_concepts():
    view = _QuizView(_load_quiz(SAMPLE))
    checklist = view.items["concepts"]
    assert checklist.concepts_box.layout.display == "none"  # the concepts stay hidden until asked for
    checklist.reveal.click()
    assert checklist.concepts_box.layout.display != "none"
    checklist.checkboxes[0].value = True
    checklist.checkboxes[2].value = True
    checklist.count.click()
    assert "You got 2/3 concepts." in checklist.feedback.value and "Three steps in all." in checklist.feedback.value
    assert "concepts: 2/3" in view.score.value


def test_display_bundle_has_widget_static_html_and_text():
    view = _QuizView(_load_quiz("01_tokenization"))
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == f"Quiz 01_tokenization: {len(view.quiz.items)} questions"
    assert bundle["text/html"] == _static_html(_load_quiz("01_tokenization"))
    assert bundle[_VIEW_MIMETYPE] == {"version_major": 2, "version_minor": 0, "model_id": view.widget.model_id}


def test_show_quiz_displays_one_object(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    assert show_quiz("06_metrics") is None
    assert len(shown) == 1 and shown[0].quiz.name == "06_metrics"


# --------------------------------------------------------------------------- notebooks: nbclient, nbconvert, nbval


@pytest.fixture(scope="module")
def executed_quiz_notebook(tmp_path_factory):
    """A one-cell notebook running the quiz cell, executed by nbclient as the course's notebooks are."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("quiz_notebook")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell('from courseware.quiz import show_quiz\nshow_quiz("02_logits_to_predictions")')]
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    notebook.metadata.pop("widgets", None)  # as scripts/execute_notebooks.py stores them
    path = folder / "quiz_cell.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_executed_quiz_cell_stores_static_html_text_and_widget_view(executed_quiz_notebook):
    import nbformat

    outputs = nbformat.read(executed_quiz_notebook, as_version=4).cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    data = outputs[0].data
    assert set(data) == {"text/plain", "text/html", _VIEW_MIMETYPE}
    assert data["text/html"] == _static_html(_load_quiz("02_logits_to_predictions"))
    assert data["text/plain"].startswith("Quiz 02_logits_to_predictions:")


@pytest.mark.slow
def test_nbconvert_html_shows_the_static_quiz(executed_quiz_notebook):
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_filename(str(executed_quiz_notebook))
    assert 'id="quiz-argmax-dim1"' in page and "<details><summary>Answer</summary>" in page
    assert _VIEW_MIMETYPE not in page  # no widget state stored: the static view is used


@pytest.mark.slow
def test_nbval_passes_on_re_execution(executed_quiz_notebook):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "-o", "addopts=", "-q", str(executed_quiz_notebook)],
        capture_output=True, text=True, cwd=executed_quiz_notebook.parent, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


# --------------------------------------------------------------------------- the course notebooks' stored outputs

# Items of the course's own, each checked against what its notebook printed:
# (quiz, item id) -> (text the notebook's outputs contain, text of the item's correct answer).
NOTEBOOK_FACTS = {
    ("00_setup", "always-ham-baseline"): ("right on 87.7% of them", "87.7%"),
    ("00_setup", "logits-shape-one-message"): ("logits shape: (1, 2)", "(1, 2)"),
    ("00_setup", "new-head-weights"): ("newly initialised: classifier.bias, classifier.weight", "`classifier.bias`"),
    ("01_tokenization", "token-count"): ("input_ids       [101, 2489, 4443, 999, 3793, 2663, 2000, 5385, 20842, "
                                         "2085, 2000, 4366, 2115, 27708, 2692, 3396, 102]", "17"),
    ("01_tokenization", "attention-mask-padded"): ("attention_mask: [1, 1, 1, 1, 1, 0, 0, 0]", "[1, 1, 1, 1, 1, 0, 0, 0]"),
    ("02_logits_to_predictions", "argmax-dim0-three-messages"): ("argmax(dim=0): tensor([0, 2])", "tensor([0, 2])"),
    ("02_logits_to_predictions", "sigmoid-of-difference"): ("sigmoid(l1 - l0):       tensor([0.2689, 0.7311])",
                                                            "sigmoid(l1 - l0)"),
    ("02_logits_to_predictions", "num-labels-1-regression"): ("problem_type after it: 'regression'", "'regression'"),
    ("03_missing_labels", "loss-without-labels"): ("outputs.loss is None: True", "`None`"),
    ("03_missing_labels", "typeerror-source"): ("forward() missing 1 required positional argument: 'labels'",
                                                "has no default for `labels`"),
    ("03_missing_labels", "label-key"): ("Did the model compute a loss? False", "only `labels` gives a loss"),
    ("03_missing_labels", "label-out-of-range"): ("Target 2 is out of bounds.", "Target 2 is out of bounds."),
    ("04_training_loop", "warmup-steps"): ("63 steps, 6 of warmup", "63 steps, 6 of warmup"),
    ("04_training_loop", "length-grouped-padding"): ("pad per length-grouped batch: 96% real tokens", "96%"),
    ("06_metrics", "worked-example"): ("F1         0.8421 ~ 0.84", "F1 0.84"),
    ("06_metrics", "which-f1"): ("  binary: F1 0.659", "0.659"),
    ("07_metrics_pitfalls", "always-ham-recall"): ("recall    0.0000  (0 of 112 spam caught)", "0.0000"),
    ("07_metrics_pitfalls", "leaky-copies"): ("93 of 973 test messages (9.6%) are copies of a training message", "93 of 973"),
    ("07_metrics_pitfalls", "more-dropout"): ("every dropout layer has p = 0.3: True", "hidden_dropout_prob=0.3"),
}


def _notebook_outputs(stem: str) -> list[str] | None:
    """Every text output of an executed course notebook, or None when it is missing or not executed."""
    import nbformat

    path = ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.exists():
        return None
    texts = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                         + output.get("evalue", ""))
    return texts or None


@pytest.mark.parametrize("key", sorted(NOTEBOOK_FACTS), ids=lambda key: f"{key[0]}:{key[1]}")
def test_course_items_match_what_the_notebook_printed(key):
    stem, item_id = key
    printed, answer = NOTEBOOK_FACTS[key]
    item = _load_quiz(stem).item(item_id)
    correct_text = " ".join(option.text for option in item.options if option.id in item.answers)
    assert answer in correct_text
    outputs = _notebook_outputs(stem)
    if outputs is None:
        pytest.skip(f"notebooks/{stem}.ipynb is missing or not executed yet")
    assert any(printed in text for text in outputs), f"{stem} no longer prints {printed!r}"


def test_stored_quiz_outputs_match_the_quiz_files():
    """After editing a quiz file, re-execute its notebook (scripts/execute_notebooks.py)."""
    import nbformat

    checked = 0
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            match = re.search(r"show_quiz\(\"([^\"]+)\"\)", cell.source) if cell.cell_type == "code" else None
            if not match or not cell.get("outputs"):
                continue
            assert match.group(1) == path.stem, f"{path.name} shows the quiz of {match.group(1)}"
            data = next(output.data for output in cell.outputs if "data" in output)
            assert data["text/html"] == _static_html(_load_quiz(path.stem)), f"{path.name}: re-execute it"
            checked += 1
    if not checked:
        pytest.skip("no executed notebook with a quiz cell yet")


def test_answer_key_covers_every_item():
    quizzes = [_load_quiz(path) for path in _quiz_files()]
    key = _answer_key_markdown(quizzes)
    for quiz in quizzes:
        assert f"## {quiz.name}: {quiz.title}" in key
        for item in quiz.items:
            assert f"`{item.id}`" in key


def test_the_header_says_how_many_questions_are_scored():
    for name in ("04_training_loop", "01_tokenization"):
        quiz = _load_quiz(name)
        scored = sum(item.scored for item in quiz.items)
        html = _static_html(quiz)
        if scored < len(quiz.items):
            assert f"({len(quiz.items)} questions, {scored} scored: recall cards and open prompts are not)" in html
        else:
            assert f"({len(quiz.items)} questions)" in html
