"""The quiz at the end of every notebook, introduced in notebook 00: ``show_quiz("01_tokenization")``."""

# A quiz file is quizzes/<notebook stem>.yaml (at the top of the repository; the wheel ships it as
# courseware/quizzes); its schema is the pydantic models below.
# show_quiz displays one object with three views (course_utils.widgets): the live ipywidgets quiz,
# static HTML with the answers folded away (GitHub, nbviewer) and one line of text. Markdown in
# the files is rendered by markdown-it-py with raw HTML off: HTML in a quiz file shows as text.

from __future__ import annotations

import functools
import random
import reprlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Iterable, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from course_utils.errors import CourseError
from course_utils.files import display_path
from course_utils.widgets import WithFallback, import_ipywidgets

__all__ = ["show_quiz"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Long option texts wrap instead of being cut off; the class names are the same in ipywidgets 7 and 8.
_WIDGET_CSS = (
    "<style>"
    ".course-quiz-item .widget-radio-box label{display:flex;flex-direction:row-reverse;"
    "justify-content:flex-end;align-items:flex-start;height:auto;min-height:22px;line-height:1.4;"
    "white-space:normal;margin:2px 0}"
    ".course-quiz-item .widget-radio-box input{flex:none;margin-top:3px}"
    ".course-quiz-item .widget-checkbox{height:auto;min-height:22px}"
    ".course-quiz-item .widget-checkbox label,.course-quiz-item .widget-checkbox span{height:auto;"
    "line-height:1.4;white-space:normal;overflow:visible;text-overflow:clip}"
    "</style>"
)


# --------------------------------------------------------------------------- the schema of a quiz file

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), Field(description="text (Markdown)")]
_OptionalText = Annotated[str, StringConstraints(strip_whitespace=True), Field(description="text (Markdown)")]
_Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Option(_Model):
    id: _Id = Field(description="a short lowercase id such as `a` or `softmax`")
    text: _Text
    feedback: _Text = Field(description="text (Markdown) shown when this option is chosen")


class _Item(_Model):
    """The fields of every item, in the order a quiz file writes them; each item type refines some."""

    id: _Id = Field(description="a unique lowercase id such as `argmax-dim1`")
    type: str
    prompt: _Text
    code: _OptionalText = Field("", description="a code block shown under the prompt")
    options: tuple[_Option, ...] = Field((), max_length=0)  # only choice questions have options
    answer: str | tuple[str, ...]
    explanation: _Text
    hint: _Text
    common_mistakes: tuple[_Text, ...] = Field((), description="a list of texts (one `- ...` line each)")
    source: _OptionalText = Field("", description="a note for instructors: where the item comes from")
    scored: ClassVar[bool] = False  # choice questions count towards the score; cards and checklists do not
    label: ClassVar[str]  # what the heading says the learner does

    @property
    def answers(self) -> tuple[str, ...]:
        """The correct option ids, the concepts of a checklist, or the back of a flashcard, as a tuple."""
        return self.answer if isinstance(self.answer, tuple) else (self.answer,)


def _quiz_error(field: str, message: str, **ctx: Any) -> PydanticCustomError:
    """A problem pydantic's types cannot see (duplicates, unknown ids), located by ``field``."""
    return PydanticCustomError("quiz", message, {"field": field, **ctx})


class _Choice(_Item):
    options: tuple[_Option, ...] = Field(
        min_length=2, description="a list of at least two options, each with `id`, `text` and `feedback`")
    scored: ClassVar[bool] = True

    @model_validator(mode="after")
    def _answers_name_options(self) -> _Choice:
        ids = [option.id for option in self.options]
        for index, option_id in enumerate(ids):
            if option_id in ids[:index]:
                raise _quiz_error(f"options[{index}].id", "duplicate option id '{id}'. Fix: give every option of "
                                  "the item its own id.", id=option_id)
        if len(set(self.answers)) != len(self.answers):
            raise _quiz_error("answer", "names the same option twice. Fix: list each correct option once.")
        for answer in self.answers:
            if answer not in ids:
                raise _quiz_error("answer", "'{answer}' names no option of this item. Fix: use one of {ids}.",
                                  answer=answer, ids=", ".join(ids))
        return self


class _SingleChoice(_Choice):
    type: Literal["single_choice"]
    label: ClassVar[str] = "choose one"
    answer: _Id = Field(description="one option id")


class _MultipleChoice(_Choice):
    type: Literal["multiple_choice"]
    label: ClassVar[str] = "choose all that apply"
    answer: tuple[_Id, ...] = Field(min_length=1, description="a non-empty list of option ids, such as `[a, c]`")


class _Checklist(_Item):
    type: Literal["checklist"]
    label: ClassVar[str] = "explain, then count your concepts"
    answer: tuple[_Text, ...] = Field(
        min_length=1, description="a non-empty list of the key concepts (one `- ...` line each)")


class _Flashcard(_Item):
    type: Literal["flashcard"]
    label: ClassVar[str] = "recall card"
    answer: _Text = Field(description="the back of the card, text (Markdown)")
    explanation: _OptionalText = ""
    hint: _OptionalText = ""


_ITEM_TYPES: dict[str, type[_Item]] = {"single_choice": _SingleChoice, "multiple_choice": _MultipleChoice,
                                       "checklist": _Checklist, "flashcard": _Flashcard}
_AnyItem = Annotated[Union[_SingleChoice, _MultipleChoice, _Checklist, _Flashcard], Field(discriminator="type")]


class _Quiz(_Model):
    title: _Text
    intro: _OptionalText = ""
    items: tuple[_AnyItem, ...] = Field(
        min_length=1, description="a non-empty list of quiz items, each starting with `- id: ...`")
    _path: Path = PrivateAttr()

    @model_validator(mode="after")
    def _unique_item_ids(self) -> _Quiz:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise PydanticCustomError("quiz", "duplicate id: another item of this file already uses it. "
                                          "Fix: give each item its own id.", {"field": "id", "item": item.id})
            seen.add(item.id)
        return self

    @property
    def path(self) -> Path:
        return self._path

    @property
    def name(self) -> str:
        """The file stem, which is the notebook's."""
        return Path(self._path.name).stem

    def item(self, item_id: str) -> _Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise CourseError(f"{self._path.name}: there is no item '{item_id}'. "
                          f"Items: {', '.join(item.id for item in self.items)}.")


def _error_line(error: dict[str, Any], data: Any, where: str) -> str:
    """One pydantic error as one line: ``FILE: item 'ID', field 'FIELD': problem. Fix: ...``."""
    parts, model, item, tag = list(error["loc"]), _Quiz, None, None
    if parts[:1] == ["items"] and len(parts) > 1:  # inside an item: name it by its id, or by its number
        index, parts = parts[1], parts[2:]
        raw = data["items"][index]
        item = raw["id"] if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{index + 1}"
        if parts and parts[0] in _ITEM_TYPES:  # pydantic names the item type it validated against
            tag, parts = parts[0], parts[1:]
        model = _ITEM_TYPES.get(tag, _Item)
    if parts[:1] == ["options"] and len(parts) > 2:
        model = _Option
    ctx, kind, value = error.get("ctx") or {}, error["type"], error.get("input")
    item = ctx.get("item", item)
    field = ctx.get("field") or "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)[1:]
    info = model.model_fields.get(str(parts[-1])) if parts else None
    what = info.description if info is not None and info.description else "text"  # the schema's words
    shown, not_a_mapping = reprlib.repr(value), kind in ("model_type", "model_attributes_type", "dict_type")
    if kind == "quiz":  # raised by a validator above, already in words
        problem = error["msg"]
    elif kind == "union_tag_invalid":
        field, problem = "type", f"{ctx['tag']!r} is not a quiz type. Fix: use one of {', '.join(_ITEM_TYPES)}."
    elif kind == "union_tag_not_found":
        field, problem = "type", f"is missing. Fix: add one of {', '.join(_ITEM_TYPES)}."
    elif field == "options" and tag in ("checklist", "flashcard"):
        problem = f"a {tag} has no options. Fix: remove them, or make it a single_choice or multiple_choice."
    elif kind == "extra_forbidden":
        owner = {_Quiz: "a quiz", _Option: "an option"}.get(model, "an item")
        problem = f"is not {owner} field. Fix: use only {', '.join(model.model_fields)}."
    elif not_a_mapping and parts[:1] == ["options"]:
        problem = "must be a mapping with `id`, `text` and `feedback`."
    elif not_a_mapping and item:
        problem = "must be a mapping with id, type, prompt, answer, ... Fix: start the item with `- id: ...`."
    elif not_a_mapping:
        problem = f"must be a mapping with `title:` and `items:` at the top level, not a {type(value).__name__}."
    elif kind == "missing":
        problem = f"is missing. Fix: add {what}."
    elif kind == "string_too_short":
        problem = "is empty. Fix: write the text."
    elif kind == "string_type" and isinstance(value, (bool, int, float)):
        read_as = "yes/no" if isinstance(value, bool) else "number"
        problem = f"must be {what}, not {shown}: YAML read it as a {read_as}. Fix: put it in quotes."
    elif kind == "string_pattern_mismatch":
        problem = f"{shown} is not a valid id. Fix: use lowercase letters, digits, `-` and `_`, e.g. `argmax-dim1`."
    elif kind == "too_short":
        problem = f"must be {what}; it has {ctx.get('actual_length', 0)}."
    else:
        problem = f"must be {what}, not {shown}."
    place = ", ".join(([f"item '{item}'"] if item else []) + ([f"field '{field}'"] if field else []))
    return f"{where}: {place}: {problem}" if place else f"{where}: {problem}"


# --------------------------------------------------------------------------- files


def _quizzes_folder():
    """The course's quiz files: ``courseware/quizzes`` in an installed wheel (package data, found by
    importlib.resources), else the repository's top-level ``quizzes/`` (a clone, an editable install)."""
    shipped = resources.files("courseware") / "quizzes"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[1] / "quizzes"


def _quiz_files():
    """Every quiz file of the course, sorted by name."""
    return sorted((entry for entry in _quizzes_folder().iterdir() if entry.name.endswith(".yaml")),
                  key=lambda entry: entry.name)


def _quiz_source(name_or_path: str | Path):
    """``"01_tokenization"`` -> the packaged ``01_tokenization.yaml``; a path ending in .yaml passes through."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
    source = Path(text) if looks_like_path else _quizzes_folder() / f"{text}.yaml"
    if not source.is_file():
        names = ", ".join(Path(entry.name).stem for entry in _quiz_files()) or "none found"
        raise CourseError(f"No quiz file at {source}. Fix: pass a notebook stem such as '01_tokenization' "
                          f"(quizzes available: {names}) or the path of a .yaml quiz file.")
    return source


def _strict_yaml_loader():
    """A safe YAML loader that refuses duplicate keys instead of keeping the last one."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def _load_quiz(name_or_path: str | Path) -> _Quiz:
    """Read and validate a quiz file; any problem raises one line of :class:`CourseError`.

    The line names the file, the item and the field, e.g.
    ``broken.yaml: item 'cls-token', field 'answer': 'e' names no option of this item. Fix: ...``.
    """
    import yaml

    source = _quiz_source(name_or_path)
    where = display_path(str(source))
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{where}: cannot be read as UTF-8 text ({error}). Fix: save it as UTF-8.") from None
    if not text.strip():
        raise CourseError(f"{where}: the file is empty. Fix: a quiz file needs `title:` and a list of `items:`.")
    try:
        data = yaml.load(text, Loader=_strict_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CourseError(f"{where}: not valid YAML{at}: {problem}. Fix the YAML syntax there "
                          f"(indentation, quotes around text containing ': ').") from None
    try:
        quiz = _Quiz.model_validate(data)
    except ValidationError as error:
        raise CourseError(" ".join(_error_line(error.errors()[0], data, where).split())) from None
    quiz._path = Path(str(source))
    return quiz


# --------------------------------------------------------------------------- Markdown


@functools.cache
def _markdown():
    """CommonMark with raw HTML off (it is shown as text), code blocks on a light background."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False})

    def code_block(self, tokens, index, options, env) -> str:
        return _code_html(tokens[index].content.rstrip("\n"))

    parser.add_render_rule("fence", code_block)
    parser.add_render_rule("code_block", code_block)
    return parser


def _code_html(code: str) -> str:
    from markdown_it.common.utils import escapeHtml

    return f'<pre style="background:#f5f7f9;padding:6px 8px"><code>{escapeHtml(code)}</code></pre>\n' if code else ""


def _render_markdown(text: str) -> str:
    return _markdown().render(text).rstrip("\n")


def _render_inline(text: str) -> str:
    return _markdown().renderInline(text)


def _plain_text(text: str) -> str:
    """Markdown markers removed, for widget labels that show plain text (radio buttons, checkboxes)."""
    tokens = _markdown().parseInline(text)[0].children or []
    return " ".join("".join(token.content if token.type in ("text", "code_inline") else " "
                            for token in tokens if token.type in ("text", "code_inline", "softbreak")).split())


# --------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class _Grade:
    """The result of checking a choice question: ``feedback`` pairs each chosen option id with its text;
    ``missing`` counts correct options not chosen (multiple choice)."""

    correct: bool
    chosen: tuple[str, ...]
    feedback: tuple[tuple[str, str], ...]
    missing: int = 0


def _shuffled_options(item: _Item, seed: int = 0) -> tuple[_Option, ...]:
    """The options in an order that depends only on ``seed`` and the item id (stable across runs and machines)."""
    options = list(item.options)
    random.Random(f"{seed}:{item.id}").shuffle(options)
    return tuple(options)


def _grade(item: _Item, chosen: str | Iterable[str] | None) -> _Grade:
    """Check a choice: one option id (single choice) or a collection of ids (multiple choice)."""
    if not item.scored:
        raise CourseError(f"Item '{item.id}' is a {item.type}: only choice questions are graded.")
    chosen_ids = () if chosen is None else (chosen,) if isinstance(chosen, str) else tuple(chosen)
    by_id = {option.id: option for option in item.options}
    unknown = [option_id for option_id in chosen_ids if option_id not in by_id]
    if unknown:
        raise CourseError(f"Item '{item.id}' has no option '{unknown[0]}'. Options: {', '.join(by_id)}.")
    if item.type == "single_choice" and len(chosen_ids) > 1:
        raise CourseError(f"Item '{item.id}' is single choice: choose one option, not {len(chosen_ids)}.")
    ordered = tuple(option.id for option in item.options if option.id in chosen_ids)
    correct_ids = set(item.answers)
    return _Grade(correct=bool(ordered) and set(ordered) == correct_ids, chosen=ordered,
                  feedback=tuple((option_id, by_id[option_id].feedback) for option_id in ordered),
                  missing=len(correct_ids - set(ordered)))


def _concepts_message(got: int, total: int) -> str:
    return f"You got {got}/{total} concepts."


# --------------------------------------------------------------------------- HTML shared by both views


def _mistakes_html(item: _Item) -> str:
    if not item.common_mistakes:
        return ""
    entries = "".join(f"<li>{_render_inline(mistake)}</li>" for mistake in item.common_mistakes)
    return f"<p><strong>Common mistakes</strong></p><ul>{entries}</ul>"


def _feedback_html(item: _Item, result: _Grade) -> str:
    """What the widget shows after Check: per-option feedback, then the explanation when right."""
    mark = {True: "&#10004;", False: "&#10008;"}
    lines = [f"<li>{mark[option_id in item.answers]} {_render_inline(text)}</li>"
             for option_id, text in result.feedback]
    options_html = f"<ul>{''.join(lines)}</ul>" if lines else ""
    if result.correct:
        return ('<div class="course-quiz-correct" style="color:#1b5e20">'
                f"<p><strong>&#10004; Correct.</strong></p>{options_html}</div>"
                f"<div><p><strong>Why</strong></p>{_render_markdown(item.explanation)}{_mistakes_html(item)}</div>")
    if not result.chosen:
        return '<p class="course-quiz-empty"><strong>Choose an option first, then press Check.</strong></p>'
    missing = (f"<p>{result.missing} correct option{'s are' if result.missing != 1 else ' is'} not ticked yet.</p>"
               if item.type == "multiple_choice" and result.missing else "")
    return ('<div class="course-quiz-wrong" style="color:#b71c1c">'
            f"<p><strong>&#10008; Not quite.</strong></p>{options_html}{missing}</div>"
            "<p>Change your answer and press Check again, or open the hint.</p>")


def _item_heading(item: _Item, number: int, total: int) -> str:
    return f"Question {number} of {total} &middot; {item.label}"


def _questions(count: int) -> str:
    return f"{count} question{'s' if count != 1 else ''}"


def _header_count(quiz: _Quiz) -> str:
    """``6 questions, 5 scored: recall cards and open prompts are not``: what the score counts out of."""
    scored = sum(item.scored for item in quiz.items)
    if scored == len(quiz.items):
        return _questions(scored)
    return f"{_questions(len(quiz.items))}, {scored} scored: recall cards and open prompts are not"


def _correct_letters(item: _Item, seed: int) -> list[tuple[str, _Option]]:
    """(letter, option) of the correct options, letters as the learner sees them."""
    return [(_LETTERS[index], option) for index, option in enumerate(_shuffled_options(item, seed))
            if option.id in item.answers]


# --------------------------------------------------------------------------- static view


def _static_item(item: _Item, number: int, total: int, seed: int) -> str:
    shown = _shuffled_options(item, seed)
    parts = [f'<div class="course-quiz-item" id="quiz-{item.id}">',
             f"<p><strong>{_item_heading(item, number, total)}</strong></p>",
             _render_markdown(item.prompt), _code_html(item.code)]
    if item.scored:
        parts.append("<ul>" + "".join(f"<li>{_LETTERS[index]}. {_render_inline(option.text)}</li>"
                                      for index, option in enumerate(shown)) + "</ul>")
    if item.type == "checklist":
        parts.append("<p><em>Write your answer first, then compare it with the key concepts.</em></p>")
    if item.hint:
        parts.append(f"<details><summary>Hint</summary>{_render_markdown(item.hint)}</details>")
    if item.scored:
        answers = ", ".join(f"{letter}. {_render_inline(option.text)}"
                            for letter, option in _correct_letters(item, seed))
        feedback = "".join(
            f"<li><strong>{_LETTERS[index]}</strong> ({'correct' if option.id in item.answers else 'wrong'}): "
            f"{_render_inline(option.feedback)}</li>" for index, option in enumerate(shown))
        body = (f"<p><strong>Answer:</strong> {answers}</p>{_render_markdown(item.explanation)}"
                f"<ul>{feedback}</ul>{_mistakes_html(item)}")
        parts.append(f"<details><summary>Answer</summary>{body}</details>")
    elif item.type == "checklist":
        concepts = "".join(f"<li>{_render_inline(concept)}</li>" for concept in item.answers)
        body = (f"<p><strong>Key concepts ({len(item.answers)}):</strong></p><ol>{concepts}</ol>"
                f"{_render_markdown(item.explanation)}{_mistakes_html(item)}")
        parts.append(f"<details><summary>Key concepts</summary>{body}</details>")
    else:
        parts.append(f"<details><summary>Reveal answer</summary>{_card_back_html(item)}</details>")
    parts.append("</div>")
    return "\n".join(part.strip("\n") for part in parts if part)


def _card_back_html(item: _Item) -> str:
    extra = _render_markdown(item.explanation) if item.explanation else ""
    return f"{_render_markdown(item.answers[0])}{extra}{_mistakes_html(item)}"


def _static_html(quiz: _Quiz, seed: int = 0) -> str:
    """The quiz as static HTML with hints and answers folded in ``<details>``: deterministic, so nbval compares it."""
    header = [f'<div class="course-quiz" id="quiz-{quiz.name}">',
              f"<p><strong>Quiz: {_render_inline(quiz.title)}</strong> ({_header_count(quiz)})</p>",
              "<p><em>Static view: run this cell in Jupyter to answer with feedback and a score. "
              "Hints and answers are folded below each question.</em></p>"]
    if quiz.intro:
        header.append(_render_markdown(quiz.intro).strip("\n"))
    total = len(quiz.items)
    items = [_static_item(item, number, total, seed) for number, item in enumerate(quiz.items, start=1)]
    return "\n".join(header) + "\n<hr>\n" + "\n<hr>\n".join(items) + "\n</div>"


def _text_summary(quiz: _Quiz) -> str:
    """One plain line: ``Quiz 01_tokenization: 6 questions``."""
    return f"Quiz {quiz.name}: {_questions(len(quiz.items))}"


# --------------------------------------------------------------------------- live view


class _ItemView:
    """The widgets of one item: ``box`` (all of it), ``choice`` (RadioButtons), ``checkboxes``, the
    Buttons ``check`` / ``hint_button`` / ``retry`` / ``reveal`` / ``count``, and the HTML widgets
    ``hint`` / ``feedback`` / ``back`` whose ``value`` holds what the learner reads."""

    def __init__(self, item: _Item, number: int, total: int, seed: int, on_change) -> None:
        widgets = import_ipywidgets()
        self.item, self.options, self._on_change = item, _shuffled_options(item, seed), on_change
        self.attempts, self.solved, self.solved_first_try, self.concepts_got = 0, False, False, None
        self.choice, self.checkboxes = None, []
        self.check = self.hint_button = self.retry = self.reveal = self.count = self.concepts_box = None
        self.hint, self.feedback, self.back = (widgets.HTML(value="") for _ in range(3))
        for widget, name in ((self.hint, "hint"), (self.feedback, "feedback"), (self.back, "back")):
            widget.add_class(f"course-quiz-{name}")
        wide = widgets.Layout(width="100%")
        children = [widgets.HTML(value=f"<p><strong>{_item_heading(item, number, total)}</strong></p>"),
                    widgets.HTML(value=_render_markdown(item.prompt) + _code_html(item.code))]
        buttons = []
        if item.type == "single_choice":
            self.choice = widgets.RadioButtons(
                options=[(f"{_LETTERS[i]}. {_plain_text(o.text)}", o.id) for i, o in enumerate(self.options)],
                index=None, layout=wide)
            self.choice.observe(self._clear_feedback, names="value")
            children.append(self.choice)
        elif item.type == "multiple_choice":
            self.checkboxes = [widgets.Checkbox(value=False, description=f"{_LETTERS[i]}. {_plain_text(o.text)}",
                                                indent=False, layout=wide) for i, o in enumerate(self.options)]
            for box in self.checkboxes:
                box.observe(self._clear_feedback, names="value")
            children.append(widgets.VBox(self.checkboxes))
        if item.scored:
            self.check = self._button("Check", "Check your answer", self._on_check, "primary")
            self.retry = self._button("Try again", "Clear your answer and the feedback", self._on_retry)
            buttons.append(self.check)
        elif item.type == "checklist":
            children.append(widgets.Textarea(
                placeholder="Write your answer here (optional), then press 'Show key concepts'.",
                layout=widgets.Layout(width="100%", height="90px")))
            self.reveal = self._button("Show key concepts", "Show the concepts to compare with your answer",
                                       self._on_show_concepts, "info")
            self.checkboxes = [widgets.Checkbox(value=False, description=_plain_text(concept), indent=False,
                                                layout=wide) for concept in item.answers]
            self.count = self._button("Count my concepts", "Count the concepts your answer covered",
                                      self._on_count, "primary")
            self.concepts_box = widgets.VBox(
                [widgets.HTML(value="<p>Tick each concept your answer covered:</p>"), *self.checkboxes, self.count],
                layout=widgets.Layout(display="none"))
            buttons.append(self.reveal)
        else:
            self.reveal = self._button("Reveal answer", "Show the back of the card", self._on_reveal, "info")
            buttons.append(self.reveal)
        if item.hint:
            self.hint_button = self._button("Hint", "Show or hide a hint", self._on_hint)
            buttons.append(self.hint_button)
        if self.retry is not None:
            buttons.append(self.retry)
        children += [widgets.HBox(buttons), self.hint]
        if self.concepts_box is not None:
            children.append(self.concepts_box)
        children += [self.feedback, self.back]
        self.box = widgets.VBox(children, layout=widgets.Layout(
            border="1px solid #cfd8dc", padding="4px 12px", margin="0 0 12px 0"))
        self.box.add_class("course-quiz-item")
        self.box.add_class(f"course-quiz-item-{item.id}")

    @staticmethod
    def _button(description: str, tooltip: str, on_click, style: str = ""):
        button = import_ipywidgets().Button(description=description, tooltip=tooltip, button_style=style)
        button.on_click(on_click)
        return button

    def chosen(self) -> tuple[str, ...]:
        """The option ids currently selected."""
        if self.item.type == "single_choice":
            return () if self.choice.value is None else (self.choice.value,)
        return tuple(o.id for o, box in zip(self.options, self.checkboxes) if box.value) if self.item.scored else ()

    def _clear_feedback(self, change=None) -> None:
        self.feedback.value = ""

    def _on_check(self, button=None) -> None:
        result = _grade(self.item, self.chosen())
        self.feedback.value = _feedback_html(self.item, result)
        if not result.chosen:
            return
        self.attempts += 1
        if result.correct and not self.solved:
            self.solved, self.solved_first_try = True, self.attempts == 1
        self._on_change()

    def _on_retry(self, button=None) -> None:
        if self.choice is not None:
            self.choice.index = None
        for box in self.checkboxes:
            box.value = False
        self.feedback.value = self.hint.value = ""

    def _on_hint(self, button=None) -> None:
        self.hint.value = "" if self.hint.value else (
            f'<div style="color:#37474f"><p><strong>Hint:</strong></p>{_render_markdown(self.item.hint)}</div>')

    def _on_reveal(self, button=None) -> None:
        shown = bool(self.back.value)
        self.back.value = "" if shown else f'<div class="course-quiz-card-back">{_card_back_html(self.item)}</div>'
        self.reveal.description = "Reveal answer" if shown else "Hide answer"

    def _on_show_concepts(self, button=None) -> None:
        self.concepts_box.layout.display = ""

    def _on_count(self, button=None) -> None:
        self.concepts_got = sum(box.value for box in self.checkboxes)
        self.feedback.value = (f"<p><strong>{_concepts_message(self.concepts_got, len(self.item.answers))}</strong>"
                               f"</p>{_render_markdown(self.item.explanation)}{_mistakes_html(self.item)}")
        self._on_change()


class _QuizView(WithFallback):
    """The live quiz (one :class:`_ItemView` per item in ``items``, the running ``score``), shown as a
    widget where widgets run and as :func:`_static_html` and one line of text where they do not."""

    def __init__(self, quiz: _Quiz, seed: int = 0) -> None:
        widgets = import_ipywidgets()
        self.quiz = quiz
        self.items = {item.id: _ItemView(item, number, len(quiz.items), seed, self._update_score)
                      for number, item in enumerate(quiz.items, start=1)}
        self.score = widgets.HTML(value="")
        self.score.add_class("course-quiz-score")
        intro = _render_markdown(quiz.intro) if quiz.intro else ""
        header = widgets.HTML(value=f"{_WIDGET_CSS}<p><strong>Quiz: {_render_inline(quiz.title)}</strong> "
                                    f"({_header_count(quiz)})</p>{intro}")
        box = widgets.VBox([header, self.score, *(view.box for view in self.items.values())])
        box.add_class("course-quiz")
        super().__init__(box, text=_text_summary(quiz), html=_static_html(quiz, seed))
        self._update_score()

    def score_text(self) -> str:
        """``Score: 2/5 (1 on the first try)``, plus the concepts counted in checklists, if any."""
        scored = [view for view in self.items.values() if view.item.scored]
        right, first_try = sum(view.solved for view in scored), sum(view.solved_first_try for view in scored)
        parts = [f"Score: {right}/{len(scored)} ({first_try} on the first try)"] if scored else []
        checklists = [view for view in self.items.values() if view.item.type == "checklist"]
        if checklists:
            got = sum(view.concepts_got or 0 for view in checklists)
            parts.append(f"concepts: {got}/{sum(len(view.item.answers) for view in checklists)}")
        return " &middot; ".join(parts) or "Recall cards only: nothing to score"

    def _update_score(self) -> None:
        self.score.value = f"<p><strong>{self.score_text()}</strong></p>"


def show_quiz(name_or_path: str | Path, seed: int = 0) -> None:
    """Display the quiz of a notebook: ``show_quiz("01_tokenization")`` (every notebook's section 7, Practice).

    ``name_or_path`` is a notebook stem (a quiz shipped with the course) or the path of a quiz
    file; ``seed`` changes the order of the options. A malformed quiz file raises
    :class:`CourseError` in one line naming the file, the item and the field.
    """
    from IPython.display import display

    display(_QuizView(_load_quiz(name_or_path), seed=seed))


# --------------------------------------------------------------------------- answer key


def _key_item(item: _Item, number: int, seed: int) -> str:
    lines = [f"### {number}. `{item.id}` ({item.type.replace('_', ' ')})", ""]
    if item.source:
        lines += [f"*Source:* {item.source}", ""]
    lines += [item.prompt, ""]
    if item.code:
        lines += ["```python", item.code, "```", ""]
    if item.scored:
        for index, option in enumerate(_shuffled_options(item, seed)):
            flag = "**correct**" if option.id in item.answers else "wrong"
            lines.append(f"- {_LETTERS[index]}. {option.text} ({flag}): {option.feedback}")
        answers = ", ".join(f"{letter}. {option.text}" for letter, option in _correct_letters(item, seed))
        lines += ["", f"**Answer:** {answers}", ""]
    elif item.type == "checklist":
        lines += [f"**Key concepts ({len(item.answers)}):**", ""]
        lines += [f"{index}. {concept}" for index, concept in enumerate(item.answers, start=1)] + [""]
    else:
        lines += [f"**Back of the card:** {item.answers[0]}", ""]
    if item.explanation:
        lines += ["**Explanation:**", "", item.explanation, ""]
    if item.hint:
        lines += [f"**Hint:** {item.hint}", ""]
    if item.common_mistakes:
        lines += ["**Common mistakes:**", ""] + [f"- {mistake}" for mistake in item.common_mistakes] + [""]
    return "\n".join(lines)


def _answer_key_markdown(quizzes: Sequence[_Quiz], seed: int = 0) -> str:
    """The instructors' answer key as Markdown; option letters are those learners see with ``seed``."""
    lines = ["# Answer key: Fine-tuning BERT for text classification", "",
             "Every quiz item, with its answer, explanation, hint and common mistakes. "
             f"Option letters are in the order learners see them (`show_quiz(..., seed={seed})`).", ""]
    for quiz in quizzes:
        lines += [f"## {quiz.name}: {quiz.title}", ""]
        lines += [_key_item(item, number, seed) for number, item in enumerate(quiz.items, start=1)]
    return "\n".join(lines).rstrip() + "\n"
