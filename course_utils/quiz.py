"""Quizzes, recall cards and concept checklists at the end of every notebook.

Introduced in notebook 00 (setup); section "7. Practice" of every notebook ends with::

    from course_utils.quiz import show_quiz
    show_quiz("01_tokenization")

Each notebook has one quiz file, ``quizzes/<notebook stem>.yaml``: a ``title``, an
optional ``intro`` and a list of ``items``. An item has an ``id`` (unique in the file),
a ``type`` (``single_choice``, ``multiple_choice``, ``checklist``, ``flashcard``), a
Markdown ``prompt``, optional ``code``, ``options`` (each with ``id``, ``text`` and
``feedback``) for the choice types, the ``answer`` (an option id, a list of option ids,
the list of concepts of a checklist, or the back of a flashcard), an ``explanation``, a
``hint``, ``common_mistakes`` and a ``source`` note for instructors.

:func:`show_quiz` displays one object with three views of the same quiz: the live
ipywidgets quiz (JupyterLab, Colab, VS Code), a static HTML page with the answers folded
away (GitHub, nbviewer, nbconvert HTML) and one line of plain text. Only core widgets
that exist in ipywidgets 7.7 and 8.x are used, and feedback is written into widget
values, so the quiz works in Colab's ipywidgets 7 too.

Text from quiz files is HTML-escaped; only a small Markdown subset is rendered:
```code```, ``code``, ``**bold**``, ``*emphasis*``, paragraphs and ``-``/``1.`` lists.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NoReturn, Sequence

from course_utils.errors import CourseError

QUIZ_TYPES: tuple[str, ...] = ("single_choice", "multiple_choice", "checklist", "flashcard")
CHOICE_TYPES: tuple[str, ...] = ("single_choice", "multiple_choice")
TYPE_LABELS = {
    "single_choice": "choose one",
    "multiple_choice": "choose all that apply",
    "checklist": "explain, then count your concepts",
    "flashcard": "recall card",
}
TOP_LEVEL_FIELDS = ("title", "intro", "items")
ITEM_FIELDS = ("id", "type", "prompt", "code", "options", "answer", "explanation", "hint",
               "common_mistakes", "source")
OPTION_FIELDS = ("id", "text", "feedback")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
# Long option texts wrap instead of being cut off or overlapping. Scoped to the quiz's own boxes;
# the class names are the same in ipywidgets 7 and 8.
WIDGET_CSS = (
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
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Option:
    """One answer option of a choice question, with the feedback shown when it is chosen."""

    id: str
    text: str
    feedback: str


@dataclass(frozen=True)
class QuizItem:
    """One question, card or checklist.

    ``answer`` is a tuple for every type: the correct option id(s) of a choice question,
    the concepts of a checklist, or the back of a flashcard as its only element.
    """

    id: str
    type: str
    prompt: str
    answer: tuple[str, ...]
    options: tuple[Option, ...] = ()
    code: str = ""
    explanation: str = ""
    hint: str = ""
    common_mistakes: tuple[str, ...] = ()
    source: str = ""

    @property
    def scored(self) -> bool:
        """Choice questions count towards the score; cards and checklists do not."""
        return self.type in CHOICE_TYPES


@dataclass(frozen=True)
class Quiz:
    """A validated quiz file: ``name`` is the file stem (the notebook it belongs to)."""

    name: str
    title: str
    path: Path
    items: tuple[QuizItem, ...]
    intro: str = ""

    def item(self, item_id: str) -> QuizItem:
        """The item with this id."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise CourseError(f"{self.path.name}: there is no item '{item_id}'. "
                          f"Items: {', '.join(i.id for i in self.items)}.")


# --------------------------------------------------------------------------- files


def quizzes_dir() -> Path:
    """The ``quizzes/`` folder next to the ``course_utils`` package."""
    import course_utils

    return Path(course_utils.__file__).resolve().parents[1] / "quizzes"


def available_quizzes(folder: str | Path | None = None) -> list[Path]:
    """Every ``*.yaml`` quiz file in ``folder`` (default: the course's ``quizzes/``), sorted."""
    folder = Path(folder) if folder is not None else quizzes_dir()
    return sorted(folder.glob("*.yaml"))


def quiz_path(name_or_path: str | Path) -> Path:
    """Resolve ``"01_tokenization"`` to ``quizzes/01_tokenization.yaml``; paths pass through."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
    path = Path(text) if looks_like_path else quizzes_dir() / f"{text}.yaml"
    if not path.is_file():
        names = ", ".join(p.stem for p in available_quizzes()) or "none found"
        raise CourseError(
            f"No quiz file at {path}. Fix: pass a notebook stem such as '01_tokenization' "
            f"(quizzes available: {names}) or the path of a .yaml quiz file."
        )
    return path


def display_path(path: Path) -> str:
    """The path as a person would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _strict_yaml_loader():
    """A safe YAML loader that refuses duplicate keys instead of keeping the last one."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def load_quiz(name_or_path: str | Path) -> Quiz:
    """Read and validate a quiz file; any problem raises :class:`CourseError`.

    The message names the file, the item id and the field, e.g.
    ``quizzes/01_tokenization.yaml: item 'cls-token', field 'answer': ...``.
    """
    import yaml

    path = quiz_path(name_or_path)
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
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
    return parse_quiz(data, path)


def _fail(where: str, item_id: str | None, field: str | None, problem: str) -> NoReturn:
    """Raise the one message: ``FILE: item 'ID', field 'FIELD': problem. Fix: ...``."""
    details = ([f"item '{item_id}'"] if item_id is not None else []) + ([f"field '{field}'"] if field else [])
    place = f"{where}: {', '.join(details)}" if details else where
    raise CourseError(f"{place}: {problem}")


def _text(value: Any, where: str, item_id: str | None, field: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if value is None:
        _fail(where, item_id, field, "is missing. Fix: add it (Markdown text).")
    if not isinstance(value, str):
        _fail(where, item_id, field, f"must be text, not {type(value).__name__} ({value!r}). "
                                     "Fix: put the value in quotes.")
    if required and not value.strip():
        _fail(where, item_id, field, "is empty. Fix: write the text.")
    return value.strip()


def _text_list(value: Any, where: str, item_id: str, field: str, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        _fail(where, item_id, field, "must be a non-empty list of texts (one `- ...` line each).")
    return tuple(_text(entry, where, item_id, f"{field}[{index}]") for index, entry in enumerate(value))


def _options(value: Any, where: str, item_id: str) -> tuple[Option, ...]:
    if not isinstance(value, list) or len(value) < 2:
        _fail(where, item_id, "options", "a choice question needs a list of at least two options, "
                                          "each with `id`, `text` and `feedback`.")
    options: list[Option] = []
    for index, entry in enumerate(value):
        field = f"options[{index}]"
        if not isinstance(entry, dict):
            _fail(where, item_id, field, "must be a mapping with `id`, `text` and `feedback`.")
        unknown = sorted(str(key) for key in entry if key not in OPTION_FIELDS)
        if unknown:
            _fail(where, item_id, f"{field}.{unknown[0]}",
                  f"is not an option field. Fix: use only {', '.join(OPTION_FIELDS)}.")
        option_id = entry.get("id")
        if not isinstance(option_id, str) or not ID_PATTERN.match(option_id):
            _fail(where, item_id, f"{field}.id", f"must be a short lowercase id such as `a` or `softmax`, "
                                                  f"not {option_id!r} (put it in quotes if YAML reads it as a "
                                                  "number or yes/no).")
        if any(option.id == option_id for option in options):
            _fail(where, item_id, f"{field}.id", f"duplicate option id '{option_id}'. Fix: give every option "
                                                  "of the item its own id.")
        options.append(Option(option_id, _text(entry.get("text"), where, item_id, f"{field}.text"),
                              _text(entry.get("feedback"), where, item_id, f"{field}.feedback")))
    return tuple(options)


def _answer(item_type: str, value: Any, options: tuple[Option, ...], where: str, item_id: str) -> tuple[str, ...]:
    option_ids = [option.id for option in options]
    if value is None:
        _fail(where, item_id, "answer", "is missing. Fix: add the answer "
              + {"single_choice": "(one option id).", "multiple_choice": "(a list of option ids).",
                 "checklist": "(the list of key concepts).", "flashcard": "(the back of the card)."}[item_type])
    if item_type == "flashcard":
        return (_text(value, where, item_id, "answer"),)
    if item_type == "checklist":
        return _text_list(value, where, item_id, "answer")
    if item_type == "single_choice":
        if not isinstance(value, str):
            _fail(where, item_id, "answer", f"must be one option id, not {value!r}. "
                                            f"Fix: use one of {', '.join(option_ids)}.")
        chosen = [value]
    else:
        if not isinstance(value, list) or not value:
            _fail(where, item_id, "answer", f"must be a non-empty list of option ids, not {value!r}. "
                                            f"Fix: e.g. [{', '.join(option_ids[:2])}].")
        chosen = value
        if len(set(map(str, chosen))) != len(chosen):
            _fail(where, item_id, "answer", "names the same option twice. Fix: list each correct option once.")
    for answer_id in chosen:
        if answer_id not in option_ids:
            _fail(where, item_id, "answer", f"'{answer_id}' names no option of this item. "
                                            f"Fix: use one of {', '.join(option_ids)}.")
    return tuple(chosen)


def _item(entry: Any, index: int, seen_ids: set[str], where: str) -> QuizItem:
    label = f"#{index + 1}"
    if not isinstance(entry, dict):
        _fail(where, label, None, "must be a mapping with id, type, prompt, answer, ... "
                                  "Fix: start the item with `- id: ...`.")
    raw_id = entry.get("id")
    if raw_id is None:
        _fail(where, label, "id", "is missing. Fix: give the item a unique lowercase id.")
    if not isinstance(raw_id, str) or not ID_PATTERN.match(raw_id):
        _fail(where, label, "id", f"{raw_id!r} is not a valid id. Fix: use lowercase letters, digits, "
                                  "`-` and `_`, e.g. `argmax-dim1`.")
    item_id = raw_id
    if item_id in seen_ids:
        _fail(where, item_id, "id", "duplicate id: another item of this file already uses it. "
                                    "Fix: give each item its own id.")
    seen_ids.add(item_id)
    unknown = sorted(str(key) for key in entry if key not in ITEM_FIELDS)
    if unknown:
        _fail(where, item_id, unknown[0], f"is not an item field. Fix: use only {', '.join(ITEM_FIELDS)}.")
    item_type = entry.get("type")
    if item_type not in QUIZ_TYPES:
        _fail(where, item_id, "type", f"{item_type!r} is not a quiz type. Fix: use one of {', '.join(QUIZ_TYPES)}.")
    prompt = _text(entry.get("prompt"), where, item_id, "prompt")
    if item_type in CHOICE_TYPES:
        options = _options(entry.get("options"), where, item_id)
    elif entry.get("options") is not None:
        _fail(where, item_id, "options", f"a {item_type} has no options. Fix: remove them, or make it a "
                                         "single_choice or multiple_choice.")
    else:
        options = ()
    answer = _answer(item_type, entry.get("answer"), options, where, item_id)
    needs_text = item_type != "flashcard"
    return QuizItem(
        id=item_id,
        type=item_type,
        prompt=prompt,
        answer=answer,
        options=options,
        code=_text(entry.get("code"), where, item_id, "code", required=False),
        explanation=_text(entry.get("explanation"), where, item_id, "explanation", required=needs_text),
        hint=_text(entry.get("hint"), where, item_id, "hint", required=needs_text),
        common_mistakes=_text_list(entry.get("common_mistakes"), where, item_id, "common_mistakes", required=False),
        source=_text(entry.get("source"), where, item_id, "source", required=False),
    )


def parse_quiz(data: Any, path: str | Path) -> Quiz:
    """Validate the parsed YAML of a quiz file and build a :class:`Quiz`."""
    path = Path(path)
    where = display_path(path)
    if not isinstance(data, dict):
        _fail(where, None, None, "must be a mapping with `title:` and `items:` at the top level, "
                                 f"not a {type(data).__name__}.")
    unknown = sorted(str(key) for key in data if key not in TOP_LEVEL_FIELDS)
    if unknown:
        _fail(where, None, unknown[0], f"is not a quiz field. Fix: use only {', '.join(TOP_LEVEL_FIELDS)}.")
    title = _text(data.get("title"), where, None, "title")
    intro = _text(data.get("intro"), where, None, "intro", required=False)
    entries = data.get("items")
    if not isinstance(entries, list) or not entries:
        _fail(where, None, "items", "must be a non-empty list of quiz items.")
    seen: set[str] = set()
    items = tuple(_item(entry, index, seen, where) for index, entry in enumerate(entries))
    return Quiz(name=path.stem, title=title, path=path, items=items, intro=intro)


# --------------------------------------------------------------------------- Markdown subset

_INLINE = re.compile(r"`([^`\n]+)`|\*\*(?=\S)(.+?)(?<=\S)\*\*|\*(?=[^\s*])([^*\n]+?)(?<=\S)\*")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def render_inline(text: str) -> str:
    """Escape ``text`` for HTML, then render `code`, **bold** and *emphasis*."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()]))
        code, bold, emphasis = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{render_inline(bold)}</strong>")
        else:
            out.append(f"<em>{render_inline(emphasis)}</em>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def render_markdown(text: str) -> str:
    """A safe Markdown subset as HTML: paragraphs, lists, fenced code, inline code, bold, emphasis.

    Everything else is escaped: raw HTML in a quiz file shows as text, never as markup.
    """
    lines = text.strip("\n").splitlines()
    blocks: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            code_lines = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith("```"):
                code_lines.append(lines[index])
                index += 1
            index += 1  # the closing fence
            blocks.append(_code_html(chr(10).join(code_lines)))
        elif not stripped:
            index += 1
        elif _BULLET.match(line) or _NUMBERED.match(line):
            pattern, tag = (_BULLET, "ul") if _BULLET.match(line) else (_NUMBERED, "ol")
            entries = []
            while index < len(lines) and pattern.match(lines[index]):
                entries.append(f"<li>{render_inline(pattern.match(lines[index]).group(1).strip())}</li>")
                index += 1
            blocks.append(f"<{tag}>{''.join(entries)}</{tag}>")
        else:
            paragraph = []
            while (index < len(lines) and lines[index].strip() and not lines[index].strip().startswith("```")
                   and not _BULLET.match(lines[index]) and not _NUMBERED.match(lines[index])):
                paragraph.append(lines[index].strip())
                index += 1
            blocks.append(f"<p>{render_inline(' '.join(paragraph))}</p>")
    return "\n".join(blocks)


def plain_text(text: str) -> str:
    """Markdown markers removed, for widget labels that show plain text (radio buttons, checkboxes)."""
    def unmark(match: re.Match) -> str:
        code, bold, emphasis = match.groups()
        return code if code is not None else plain_text(bold if bold is not None else emphasis)

    return " ".join(_INLINE.sub(unmark, text).split())


def _code_html(code: str) -> str:
    """A code block, escaped, on a light background."""
    return (f'<pre style="background:#f5f7f9;padding:6px 8px"><code>{html.escape(code)}</code></pre>'
            if code else "")


# --------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class Grade:
    """The result of checking a choice question.

    ``feedback`` pairs each chosen option id with its feedback text; ``missing`` counts
    correct options that were not chosen (multiple choice).
    """

    correct: bool
    chosen: tuple[str, ...]
    feedback: tuple[tuple[str, str], ...]
    missing: int = 0


def shuffled_options(item: QuizItem, seed: int = 0) -> tuple[Option, ...]:
    """The item's options in a shuffled order that depends only on ``seed`` and the item id.

    ``random.Random`` seeded with a string is stable across runs, machines and
    ``PYTHONHASHSEED``, so the static HTML and the answer key letters never change.
    """
    options = list(item.options)
    random.Random(f"{seed}:{item.id}").shuffle(options)
    return tuple(options)


def grade(item: QuizItem, chosen: str | Iterable[str] | None) -> Grade:
    """Check a choice: one option id (single choice) or a collection of ids (multiple choice)."""
    if item.type not in CHOICE_TYPES:
        raise CourseError(f"Item '{item.id}' is a {item.type}: only choice questions are graded.")
    if chosen is None:
        chosen_ids: tuple[str, ...] = ()
    elif isinstance(chosen, str):
        chosen_ids = (chosen,)
    else:
        chosen_ids = tuple(chosen)
    by_id = {option.id: option for option in item.options}
    unknown = [option_id for option_id in chosen_ids if option_id not in by_id]
    if unknown:
        raise CourseError(f"Item '{item.id}' has no option '{unknown[0]}'. Options: {', '.join(by_id)}.")
    if item.type == "single_choice" and len(chosen_ids) > 1:
        raise CourseError(f"Item '{item.id}' is single choice: choose one option, not {len(chosen_ids)}.")
    ordered = tuple(option.id for option in item.options if option.id in chosen_ids)
    correct_ids = set(item.answer)
    return Grade(
        correct=bool(ordered) and set(ordered) == correct_ids,
        chosen=ordered,
        feedback=tuple((option_id, by_id[option_id].feedback) for option_id in ordered),
        missing=len(correct_ids - set(ordered)),
    )


def count_concepts(item: QuizItem, ticked: Sequence[bool]) -> int:
    """How many of a checklist's concepts the learner ticked."""
    if item.type != "checklist":
        raise CourseError(f"Item '{item.id}' is a {item.type}, not a checklist.")
    if len(ticked) != len(item.answer):
        raise CourseError(f"Item '{item.id}' has {len(item.answer)} concepts; got {len(ticked)} ticks.")
    return sum(bool(tick) for tick in ticked)


def concepts_message(got: int, total: int) -> str:
    """``"You got 3/5 concepts."``"""
    return f"You got {got}/{total} concepts."


def _mistakes_html(item: QuizItem) -> str:
    if not item.common_mistakes:
        return ""
    entries = "".join(f"<li>{render_inline(mistake)}</li>" for mistake in item.common_mistakes)
    return f"<p><strong>Common mistakes</strong></p><ul>{entries}</ul>"


def feedback_html(item: QuizItem, result: Grade) -> str:
    """The feedback written into the widget after Check: per-option feedback, then the explanation."""
    mark = {True: "&#10004;", False: "&#10008;"}
    correct_ids = set(item.answer)
    lines = [f"<li>{mark[option_id in correct_ids]} {render_inline(text)}</li>"
             for option_id, text in result.feedback]
    options_html = f"<ul>{''.join(lines)}</ul>" if lines else ""
    if result.correct:
        return ('<div class="course-quiz-correct" style="color:#1b5e20">'
                f"<p><strong>&#10004; Correct.</strong></p>{options_html}</div>"
                f"<div><p><strong>Why</strong></p>{render_markdown(item.explanation)}{_mistakes_html(item)}</div>")
    if not result.chosen:
        return '<p class="course-quiz-empty"><strong>Choose an option first, then press Check.</strong></p>'
    missing = (f"<p>{result.missing} correct option{'s are' if result.missing != 1 else ' is'} not ticked yet.</p>"
               if item.type == "multiple_choice" and result.missing else "")
    return ('<div class="course-quiz-wrong" style="color:#b71c1c">'
            f"<p><strong>&#10008; Not quite.</strong></p>{options_html}{missing}</div>"
            "<p>Change your answer and press Check again, or open the hint.</p>")


# --------------------------------------------------------------------------- static HTML


def _item_heading(item: QuizItem, number: int, total: int) -> str:
    return f"Question {number} of {total} &middot; {TYPE_LABELS[item.type]}"


def _answer_text(item: QuizItem, seed: int) -> list[tuple[str, Option]]:
    """(letter, option) pairs of the correct options, letters as the learner sees them."""
    shown = shuffled_options(item, seed)
    return [(LETTERS[index], option) for index, option in enumerate(shown) if option.id in item.answer]


def _static_item(item: QuizItem, number: int, total: int, seed: int) -> str:
    parts = [f'<div class="course-quiz-item" id="quiz-{item.id}">',
             f"<p><strong>{_item_heading(item, number, total)}</strong></p>",
             render_markdown(item.prompt), _code_html(item.code)]
    shown = shuffled_options(item, seed)
    if item.type in CHOICE_TYPES:
        parts.append("<ul>" + "".join(f"<li>{LETTERS[index]}. {render_inline(option.text)}</li>"
                                      for index, option in enumerate(shown)) + "</ul>")
    if item.type == "checklist":
        parts.append("<p><em>Write your answer first, then compare it with the key concepts.</em></p>")
    if item.hint:
        parts.append(f"<details><summary>Hint</summary>{render_markdown(item.hint)}</details>")
    if item.type in CHOICE_TYPES:
        answers = ", ".join(f"{letter}. {render_inline(option.text)}" for letter, option in _answer_text(item, seed))
        feedback = "".join(
            f"<li><strong>{LETTERS[index]}</strong> ({'correct' if option.id in item.answer else 'wrong'}): "
            f"{render_inline(option.feedback)}</li>" for index, option in enumerate(shown))
        body = (f"<p><strong>Answer:</strong> {answers}</p>{render_markdown(item.explanation)}"
                f"<ul>{feedback}</ul>{_mistakes_html(item)}")
        parts.append(f"<details><summary>Answer</summary>{body}</details>")
    elif item.type == "checklist":
        concepts = "".join(f"<li>{render_inline(concept)}</li>" for concept in item.answer)
        body = (f"<p><strong>Key concepts ({len(item.answer)}):</strong></p><ol>{concepts}</ol>"
                f"{render_markdown(item.explanation)}{_mistakes_html(item)}")
        parts.append(f"<details><summary>Key concepts</summary>{body}</details>")
    else:
        extra = render_markdown(item.explanation) if item.explanation else ""
        parts.append(f"<details><summary>Reveal answer</summary>{render_markdown(item.answer[0])}{extra}"
                     f"{_mistakes_html(item)}</details>")
    parts.append("</div>")
    return "\n".join(part for part in parts if part)


def static_html(quiz: Quiz, seed: int = 0) -> str:
    """The quiz as static HTML with hints and answers folded in ``<details>``.

    Shown where widgets cannot run (GitHub, nbviewer, nbconvert HTML). Deterministic:
    the same quiz file and seed give the same bytes, so nbval can compare it.
    """
    total = len(quiz.items)
    header = [f'<div class="course-quiz" id="quiz-{quiz.name}">',
              f"<p><strong>Quiz: {render_inline(quiz.title)}</strong> ({_header_count(quiz)})</p>",
              "<p><em>Static view: run this cell in Jupyter to answer with feedback and a score. "
              "Hints and answers are folded below each question.</em></p>"]
    if quiz.intro:
        header.append(render_markdown(quiz.intro))
    items = [_static_item(item, number, total, seed) for number, item in enumerate(quiz.items, start=1)]
    return "\n".join(header) + "\n<hr>\n" + "\n<hr>\n".join(items) + "\n</div>"


def text_summary(quiz: Quiz) -> str:
    """One plain line: ``Quiz 01_tokenization: 6 questions``."""
    return f"Quiz {quiz.name}: {_questions(len(quiz.items))}"


def _questions(count: int) -> str:
    return f"{count} question{'s' if count != 1 else ''}"


def _header_count(quiz: Quiz) -> str:
    """``6 questions, 5 scored: recall cards and open prompts are not``: what the score counts out of."""
    total = len(quiz.items)
    scored = sum(item.scored for item in quiz.items)
    if scored == total:
        return _questions(total)
    return f"{_questions(total)}, {scored} scored: recall cards and open prompts are not"


# --------------------------------------------------------------------------- widgets


def _widgets():
    try:
        import ipywidgets
    except ImportError:
        raise CourseError("ipywidgets is not installed, so the quiz cannot run. "
                          "Fix: pip install 'ipywidgets>=7.7,<9', then restart the kernel.") from None
    return ipywidgets


class ItemView:
    """The widgets of one item. Attributes used by tests and by the quiz score:

    ``box`` (the whole item), ``choice`` (RadioButtons, single choice), ``checkboxes``
    (multiple choice options or checklist concepts), ``check`` / ``hint_button`` /
    ``retry`` / ``reveal`` / ``count`` (Buttons), ``hint`` / ``feedback`` / ``back``
    (HTML widgets whose ``value`` holds what the learner reads).
    """

    def __init__(self, item: QuizItem, number: int, total: int, seed: int, on_change) -> None:
        widgets = _widgets()
        self.item = item
        self.options = shuffled_options(item, seed)
        self.attempts = 0
        self.solved = False
        self.solved_first_try = False
        self.concepts_got: int | None = None
        self._on_change = on_change
        self.choice = None
        self.checkboxes: list = []
        self.check = self.hint_button = self.retry = self.reveal = self.count = None
        self.answer_area = self.concepts_box = None
        self.hint = widgets.HTML(value="")
        self.hint.add_class("course-quiz-hint")
        self.feedback = widgets.HTML(value="")
        self.feedback.add_class("course-quiz-feedback")
        self.back = widgets.HTML(value="")
        self.back.add_class("course-quiz-back")
        heading = widgets.HTML(value=f"<p><strong>{_item_heading(item, number, total)}</strong></p>")
        prompt = widgets.HTML(value=render_markdown(item.prompt) + _code_html(item.code))
        children = [heading, prompt]
        wide = widgets.Layout(width="100%")
        if item.type == "single_choice":
            self.choice = widgets.RadioButtons(
                options=[(f"{LETTERS[i]}. {plain_text(o.text)}", o.id) for i, o in enumerate(self.options)],
                index=None, layout=wide)
            self.choice.observe(self._clear_feedback, names="value")
            children.append(self.choice)
        elif item.type == "multiple_choice":
            self.checkboxes = [widgets.Checkbox(value=False, description=f"{LETTERS[i]}. {plain_text(o.text)}",
                                                indent=False, layout=wide)
                               for i, o in enumerate(self.options)]
            for box in self.checkboxes:
                box.observe(self._clear_feedback, names="value")
            children.append(widgets.VBox(self.checkboxes))
        buttons = []
        if item.type in CHOICE_TYPES:
            self.check = widgets.Button(description="Check", button_style="primary", tooltip="Check your answer")
            self.check.on_click(self._on_check)
            self.retry = widgets.Button(description="Try again", tooltip="Clear your answer and the feedback")
            self.retry.on_click(self._on_retry)
            buttons += [self.check]
        if item.type == "checklist":
            self.answer_area = widgets.Textarea(
                placeholder="Write your answer here (optional), then press 'Show key concepts'.",
                layout=widgets.Layout(width="100%", height="90px"))
            children.append(self.answer_area)
            self.reveal = widgets.Button(description="Show key concepts", button_style="info",
                                         tooltip="Show the concepts to compare with your answer")
            self.reveal.on_click(self._on_show_concepts)
            self.checkboxes = [widgets.Checkbox(value=False, description=plain_text(concept), indent=False,
                                                layout=wide) for concept in item.answer]
            self.count = widgets.Button(description="Count my concepts", button_style="primary",
                                        tooltip="Count the concepts your answer covered")
            self.count.on_click(self._on_count)
            self.concepts_box = widgets.VBox(
                [widgets.HTML(value="<p>Tick each concept your answer covered:</p>"), *self.checkboxes, self.count],
                layout=widgets.Layout(display="none"))
            buttons.append(self.reveal)
        if item.type == "flashcard":
            self.reveal = widgets.Button(description="Reveal answer", button_style="info",
                                         tooltip="Show the back of the card")
            self.reveal.on_click(self._on_reveal)
            buttons.append(self.reveal)
        if item.hint:
            self.hint_button = widgets.Button(description="Hint", tooltip="Show or hide a hint")
            self.hint_button.on_click(self._on_hint)
            buttons.append(self.hint_button)
        if self.retry is not None:
            buttons.append(self.retry)
        children.append(widgets.HBox(buttons))
        children.append(self.hint)
        if item.type == "checklist":
            children.append(self.concepts_box)
        children += [self.feedback, self.back]
        self.box = widgets.VBox(children, layout=widgets.Layout(
            border="1px solid #cfd8dc", padding="4px 12px", margin="0 0 12px 0"))
        self.box.add_class("course-quiz-item")
        self.box.add_class(f"course-quiz-item-{item.id}")

    # -- current answer
    def chosen(self) -> tuple[str, ...]:
        """The option ids currently selected."""
        if self.item.type == "single_choice":
            return () if self.choice.value is None else (self.choice.value,)
        if self.item.type == "multiple_choice":
            return tuple(o.id for o, box in zip(self.options, self.checkboxes) if box.value)
        return ()

    # -- callbacks
    def _clear_feedback(self, change=None) -> None:
        self.feedback.value = ""

    def _on_check(self, button=None) -> None:
        result = grade(self.item, self.chosen())
        self.feedback.value = feedback_html(self.item, result)
        if not result.chosen:
            return
        self.attempts += 1
        if result.correct and not self.solved:
            self.solved = True
            self.solved_first_try = self.attempts == 1
        self._on_change()

    def _on_retry(self, button=None) -> None:
        if self.choice is not None:
            self.choice.index = None
        for box in self.checkboxes:
            box.value = False
        self.feedback.value = ""
        self.hint.value = ""

    def _on_hint(self, button=None) -> None:
        self.hint.value = "" if self.hint.value else (
            f'<div style="color:#37474f"><p><strong>Hint:</strong></p>{render_markdown(self.item.hint)}</div>')

    def _on_reveal(self, button=None) -> None:
        if self.back.value:
            self.back.value = ""
            self.reveal.description = "Reveal answer"
            return
        extra = render_markdown(self.item.explanation) if self.item.explanation else ""
        self.back.value = (f'<div class="course-quiz-card-back">{render_markdown(self.item.answer[0])}'
                           f"{extra}{_mistakes_html(self.item)}</div>")
        self.reveal.description = "Hide answer"

    def _on_show_concepts(self, button=None) -> None:
        self.concepts_box.layout.display = ""

    def _on_count(self, button=None) -> None:
        got = count_concepts(self.item, [box.value for box in self.checkboxes])
        self.concepts_got = got
        self.feedback.value = (f"<p><strong>{concepts_message(got, len(self.item.answer))}</strong></p>"
                               f"{render_markdown(self.item.explanation)}{_mistakes_html(self.item)}")
        self._on_change()


class QuizView:
    """The live quiz: one :class:`ItemView` per item and a running score.

    ``items`` maps item ids to their views; ``score`` is the HTML widget showing
    ``Score: 2/5``; ``box`` is the widget to display.
    """

    def __init__(self, quiz: Quiz, seed: int = 0) -> None:
        widgets = _widgets()
        self.quiz = quiz
        self.seed = seed
        total = len(quiz.items)
        self.items = {item.id: ItemView(item, number, total, seed, self._update_score)
                      for number, item in enumerate(quiz.items, start=1)}
        self.score = widgets.HTML(value="")
        self.score.add_class("course-quiz-score")
        intro = render_markdown(quiz.intro) if quiz.intro else ""
        header = widgets.HTML(value=f"{WIDGET_CSS}<p><strong>Quiz: {render_inline(quiz.title)}</strong> "
                                    f"({_header_count(quiz)})</p>{intro}")
        self.box = widgets.VBox([header, self.score, *(view.box for view in self.items.values())])
        self.box.add_class("course-quiz")
        self._update_score()

    def score_counts(self) -> tuple[int, int, int]:
        """(right, right on the first try, scored questions)."""
        scored = [view for view in self.items.values() if view.item.scored]
        return (sum(view.solved for view in scored), sum(view.solved_first_try for view in scored), len(scored))

    def score_text(self) -> str:
        """``Score: 2/5 (1 on the first try)``, plus concepts counted in checklists, if any."""
        right, first_try, total = self.score_counts()
        parts = [f"Score: {right}/{total} ({first_try} on the first try)"] if total else []
        checklists = [view for view in self.items.values() if view.item.type == "checklist"]
        if checklists:
            got = sum(view.concepts_got or 0 for view in checklists)
            parts.append(f"concepts: {got}/{sum(len(view.item.answer) for view in checklists)}")
        return " &middot; ".join(parts) or "Recall cards only: nothing to score"

    def _update_score(self) -> None:
        self.score.value = f"<p><strong>{self.score_text()}</strong></p>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        """Live widget where widgets render, static HTML where they do not, one line of text."""
        return {
            "text/plain": text_summary(self.quiz),
            "text/html": static_html(self.quiz, self.seed),
            WIDGET_VIEW_MIMETYPE: {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id},
        }


def build_quiz(name_or_path: str | Path, seed: int = 0) -> QuizView:
    """Load, validate and build the live quiz without displaying it (tests, custom layouts)."""
    return QuizView(load_quiz(name_or_path), seed=seed)


def show_quiz(name_or_path: str | Path, seed: int = 0) -> None:
    """Display the quiz of a notebook: ``show_quiz("01_tokenization")``.

    ``name_or_path`` is a notebook stem (looked up in the course's ``quizzes/`` folder)
    or the path of a quiz file. ``seed`` changes the order of the options. A malformed
    quiz file raises :class:`CourseError` naming the file, the item and the field.
    """
    from IPython.display import display

    display(build_quiz(name_or_path, seed=seed))


# --------------------------------------------------------------------------- answer key


def _key_item(item: QuizItem, number: int, seed: int) -> str:
    lines = [f"### {number}. `{item.id}` ({item.type.replace('_', ' ')})", ""]
    if item.source:
        lines += [f"*Source:* {item.source}", ""]
    lines += [item.prompt, ""]
    if item.code:
        lines += ["```python", item.code, "```", ""]
    if item.type in CHOICE_TYPES:
        for index, option in enumerate(shuffled_options(item, seed)):
            flag = "**correct**" if option.id in item.answer else "wrong"
            lines.append(f"- {LETTERS[index]}. {option.text} ({flag}): {option.feedback}")
        answers = ", ".join(f"{letter}. {option.text}" for letter, option in _answer_text(item, seed))
        lines += ["", f"**Answer:** {answers}", ""]
    elif item.type == "checklist":
        lines += [f"**Key concepts ({len(item.answer)}):**", ""]
        lines += [f"{index}. {concept}" for index, concept in enumerate(item.answer, start=1)] + [""]
    else:
        lines += [f"**Back of the card:** {item.answer[0]}", ""]
    if item.explanation:
        lines += ["**Explanation:**", "", item.explanation, ""]
    if item.hint:
        lines += [f"**Hint:** {item.hint}", ""]
    if item.common_mistakes:
        lines += ["**Common mistakes:**", ""] + [f"- {mistake}" for mistake in item.common_mistakes] + [""]
    return "\n".join(lines)


def answer_key_markdown(quizzes: Sequence[Quiz], seed: int = 0) -> str:
    """The instructors' answer key for these quizzes as Markdown.

    Option letters are the ones learners see with the default ``seed``.
    """
    lines = ["# Answer key: Fine-tuning BERT for text classification", "",
             "Every quiz item, with its answer, explanation, hint and common mistakes. "
             f"Option letters are in the order learners see them (`show_quiz(..., seed={seed})`).", ""]
    for quiz in quizzes:
        lines += [f"## {quiz.name}: {quiz.title}", ""]
        lines += [_key_item(item, number, seed) for number, item in enumerate(quiz.items, start=1)]
    return "\n".join(lines).rstrip() + "\n"
