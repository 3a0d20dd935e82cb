"""Check that what the notebooks say matches what they show.

    python scripts/prose_check.py                          # every numbered notebook, all learner-facing text
    python scripts/prose_check.py notebooks/04_*.ipynb     # these notebooks only

Prints one line per problem and exits 1 if there is any (0 when all is well).
tests/test_prose_figures.py runs the same checks over the committed course and proves each
rule on synthetic notebooks.

Three checks over the committed notebooks (and, for the last, the other learner-facing files):

1. **Prose never outruns outputs.** A figure stated in a Markdown cell (0.812, 12%, 3,402,
   133 s, 5e-5, 22.7M, 7.5x) must be shown by a stored output or a code cell of the same
   notebook, or be quoted from a named source in ``ALLOWED`` below. A figure about a run that
   only the prose states drifts the next time the notebook runs.
2. **Stored outputs show finished states.** No progress bar is stored half-way (``0%|``,
   ``3/63``) and no model loading/saving message ("Loading weights", "Writing model shards",
   "Loading checkpoint shards") is stored.
3. **No authoring jargon** in learner-facing text: the course's own sources are "a common
   tutorial", never "the seeds", "source material", "lesson pages" or a file of the authors.

The rules, exactly (tests/test_prose_figures.py exercises each one on a synthetic notebook):

What counts as a figure in Markdown (``FIGURE``): a number with a decimal point (0.81, 7.5),
a percentage (12%, 87.65 %), a number with thousands commas (3,402), a number in scientific
notation (5e-5), a number with a scale suffix (22.7M, 110M, 2k), or any number followed by a
unit of time (133 s, 40 seconds, 2 minutes, a 3-second probe) or a speed-up factor (7.5x, 3×).
Plain integers without any of these (counts, steps, notebook numbers "04", "2×2") are not
figures: there are too many legitimate ones (907 messages, 8 epochs) to demand each in an output.

What is not a claim, and so is skipped:
- the section number at the start of a heading ("### 2.1 Finding a device");
- a reference to a section: a dotted number (no unit) that is the number of a heading of the
  same notebook ("the worked example of 2.1"), or of notebook NN when the text just before
  says "notebook NN" ("notebook 06, section 3.1"). A reference to a section that does not
  exist is still flagged: it is a dangling reference;
- version numbers: anything with two or more dots (2.13.0), "4.x", and a number right after a
  package or the words version/release/Python/CUDA ("Python 3.10-3.12", "transformers>=4.40",
  "torch 2.1"), ranges and lists included;
- numbers glued to a word or name (bf16, MiniLM-L6, H384, all-MiniLM-L6-v2);
- link targets and bare URLs (only the link text is prose), and HTML comments.
Numbers in inline code spans and fenced blocks of a Markdown cell ARE checked: `lr=5e-5` in
prose is still a statement about the course.

What counts as shown (``figure_is_shown``): every number of every stored text output
(stdout/stderr streams, text/plain, text/html with tags stripped, text/markdown, error
messages) and of every code cell's source, in the same notebook, is a *known* number (thousands
commas and, in code, digit underscores removed: 3,402 and 10_000; "%" and units of time
remembered). A prose figure written with d decimals is shown when some
known number rounds to it at d decimals (|known - figure| <= half a unit in the last written
place): 0.81 is shown by 0.812 or 0.8149 but not by 0.816; 0.888 is NOT shown by 0.89 (the
prose claims a digit the output does not have); 3,402 is shown by 3402. Changes of form allowed:
- a percentage is shown by a known percentage (12% by 12.3%) or by a known fraction (12% by
  0.1234, 87.65% by 0.8765), not by a bare 12 (too many unrelated integers);
- a plain decimal is shown by a known number (0.81 by 0.812) or by a known percentage (0.81 by
  81.2%);
- a time is shown by an output number written with a unit of time, converted (2 minutes by
  "128.4 s", 40 seconds by "0.67 min"), or by a literal in code (a 3-second probe by
  `timeout=3`); an output number without a unit shows no time (50 seconds is not shown by 50%);
- a scaled figure is shown by the full number or the written mantissa (22.7M by 22,713,216
  or by 22.7).
Hedges ("about", "~") change nothing: "about 12%" still needs something that rounds to 12%.

``ALLOWED`` is for figures quoted from a named, fixed source (a paper, the datasheet, a common
tutorial's page): figure -> source. Keep it short; each entry must still occur in some
notebook's prose (tests/test_prose_figures.py checks that) so it cannot go stale.

The checker is a maintainer's tool, not a helper learners use, so it lives under scripts/ and
not in course_utils.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))

# Figures quoted from a fixed, named source: normalised figure (see `Figure.key`) -> source.
ALLOWED: dict[str, str] = {
    "85%": "a common tutorial's metrics page: a good model has accuracy above 85%",
    "80%": "a common tutorial's metrics page: a good model has recall above 80%",
    "0.8": "a common tutorial's metrics page: a good model has F1 near 0.8 or higher",
    "5e-5": "BERT paper (Devlin et al. 2019), appendix A.3: fine-tuning learning rates 5e-5, 3e-5, 2e-5",
    "2e-5": "BERT paper (Devlin et al. 2019), appendix A.3: fine-tuning learning rates 5e-5, 3e-5, 2e-5",
}

# ---------------------------------------------------------------------------------------------
# Known numbers: what outputs and code show
# ---------------------------------------------------------------------------------------------

KNOWN_NUMBER = re.compile(
    r"(?<!\d)(\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"(?:(?P<percent>\s?%)|(?P<time>\s?(?:ms|s|secs?|seconds?|mins?|minutes?|hours?)\b))?"
)


@dataclass(frozen=True)
class Known:
    value: float
    percent: bool = False  # written with a percent sign
    seconds: float | None = None  # written with a unit of time: the value in seconds
    in_code: bool = False  # a literal in a code cell's source (no unit, any meaning)


def joined_text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def output_texts(cell) -> list[str]:
    """The text a reader sees in a code cell's stored outputs (HTML unescaped, tags stripped)."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append(joined_text(output["text"]))
        data = output.get("data", {})
        for mime in ("text/plain", "text/markdown", "text/latex"):
            if mime in data:
                texts.append(joined_text(data[mime]))
        if "text/html" in data:
            page = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", joined_text(data["text/html"]))
            texts.append(html.unescape(re.sub(r"<[^>]+>", " ", page)))
        if output.get("output_type") == "error":
            texts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
    return texts


def known_numbers(text: str, in_code: bool = False) -> set[Known]:
    """Every number in ``text``; in code, ``10_000`` is 10000."""
    if in_code:
        text = re.sub(r"(?<=\d)_(?=\d)", "", text)
    found = set()
    for match in KNOWN_NUMBER.finditer(text):
        token = match.group(1)
        parts = [token.replace(",", "")]
        if "," in token:  # "(100,200)" in code is two numbers, not 100200: keep both readings
            parts += token.split(",")
        time_word = (match.group("time") or "").strip()
        for part in parts:
            try:
                value = float(part)
            except ValueError:
                continue
            seconds = value * TIME_UNITS[time_word] if time_word else None
            found.add(Known(value, bool(match.group("percent")), seconds, in_code))
    return found


def notebook_known_numbers(notebook: dict) -> set[Known]:
    """The numbers the code cells of ``notebook`` show: their sources and stored outputs."""
    known: set[Known] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            known |= known_numbers(joined_text(cell["source"]), in_code=True)
            for text in output_texts(cell):
                known |= known_numbers(text)
    return known


# ---------------------------------------------------------------------------------------------
# Figures: what the prose states
# ---------------------------------------------------------------------------------------------

FIGURE = re.compile(
    r"""
    (?<![\w.,])                                   # not glued to a word, a dotted name, a list
    (?P<number>
        \d+(?:\.\d+)?[eE][-+]?\d+                 # 5e-5, 1.5e-4
      | \d{1,3}(?:,\d{3})+(?:\.\d+)?              # 3,402
      | \d+\.\d+                                  # 0.812
      | \d+                                       # 133 (a figure only with a unit or scale)
    )
    (?:
        (?P<percent>\s?%)
      | (?P<time>[\s-]?(?:ms|s|secs?|seconds?|mins?|minutes?|hours?)\b)
      | (?P<factor>\s?[x×](?![\w×]))
      | (?P<scale>[kMB](?!\w))
    )?
    (?![\w%]|\.\d)                                # not part of 2.13.0, 4.x is an integer
    """,
    re.VERBOSE,
)
VERSION_CONTEXT = re.compile(
    r"""(?ix)
    \b(?:python|pytorch|torch|transformers|ipywidgets|jupyterlab|numpy|pandas|scikit-learn|
        sklearn|nbval|tqdm|cuda|version|versions|release|v)
    \s*(?:[<>=~!]=?\s*)?
    (?:\d+(?:\.(?:\d+|x))*\s*(?:[-–/,]|\band\b|\bor\b|\bto\b|<|>|=)+\s*)*
    $"""
)
NOTEBOOK_REFERENCE = re.compile(r"(?i)\bnotebook\s+(\d\d)\b[^.\n]{0,20}$")
HEADING_NUMBER = re.compile(r"(?m)^#{1,6}\s*(\d+(?:\.\d+)*)\.?(?=\s)")
TIME_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "min": 60,
              "mins": 60, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}
SCALES = {"k": 1e3, "M": 1e6, "B": 1e9}


@dataclass(frozen=True)
class Figure:
    text: str  # as written, e.g. "3,402", "12.3%", "40 seconds"
    value: float  # in the unit written (percent points, seconds, full count for 22.7M)
    tolerance: float  # half a unit in the last written place, in the same unit
    kind: str  # "percent", "time", "factor", "scale", "scientific", "decimal", "thousands"
    seconds_per_unit: float = 1.0

    @property
    def key(self) -> str:
        """The form ALLOWED uses: no thousands commas, no space before the unit."""
        return re.sub(r"\s+", "", self.text.replace(",", ""))


def parse_figure(match: re.Match) -> Figure | None:
    number = match.group("number")
    unit = next((name for name in ("percent", "time", "factor", "scale") if match.group(name)), None)
    plain = number.replace(",", "")
    if re.fullmatch(r"\d+", plain) and unit is None and "," not in number:
        return None  # a plain integer: a count, a step, a notebook number
    if "e" in plain.lower():
        mantissa, exponent = re.split("[eE]", plain)
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        value = float(plain)
        return Figure(match.group(0), value, 0.5 * 10 ** (int(exponent) - decimals) * 1.000001,
                      "scientific")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = float(plain)
    tolerance = 0.5 * 10 ** -decimals * 1.000001
    if unit == "scale":
        factor = SCALES[match.group("scale")]
        return Figure(match.group(0), value * factor, tolerance * factor, "scale")
    if unit == "time":
        word = match.group("time").strip(" -")
        return Figure(match.group(0), value, tolerance, "time", TIME_UNITS[word])
    kind = unit or ("thousands" if "," in number and "." not in number else "decimal")
    return Figure(match.group(0), value, tolerance, kind)


def figure_is_shown(figure: Figure, known: set[Known]) -> bool:
    """True when a known number rounds to ``figure`` (see the module docstring for the rules)."""
    for k in known:
        if figure.kind == "percent":
            candidates = [k.value] if k.percent else [k.value * 100]
        elif figure.kind == "decimal":
            candidates = [k.value] + ([k.value / 100] if k.percent else [])
        elif figure.kind == "time":
            # an output's time in the figure's unit ("133.2 s" shows "2 minutes"); a code literal
            # as it stands (`timeout=3`); an output number without a unit shows no time
            candidates = ([k.seconds / figure.seconds_per_unit] if k.seconds is not None else []) + (
                [k.value] if k.in_code else [])
        elif figure.kind == "scale":
            scale = figure.value / float(re.sub(r"[^\d.]", "", figure.text.replace(",", "")))
            candidates = [k.value, k.value * scale]
        else:
            candidates = [k.value]
        if any(abs(candidate - figure.value) <= figure.tolerance for candidate in candidates):
            return True
    return False


@dataclass(frozen=True)
class Offence:
    notebook: str
    heading: str
    figure: str
    snippet: str

    def __str__(self) -> str:
        return f"{self.notebook} [{self.heading}]: {self.figure!r} in ...{self.snippet}..."


def markdown_prose(source: str) -> str:
    """The cell's text with what is not prose blanked out, keeping every offset in place."""
    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    text = re.sub(r"(?s)<!--.*?-->", blank, source)
    text = re.sub(r"(?<=\])\([^)\s]*\)", blank, text)  # [text](target): the target
    text = re.sub(r"https?://\S+", blank, text)
    text = HEADING_NUMBER.sub(lambda m: m.group(0).replace(m.group(1), " " * len(m.group(1))), text)
    return text


def section_numbers(notebook: dict) -> set[str]:
    return {number for cell in notebook["cells"] if cell["cell_type"] == "markdown"
            for number in HEADING_NUMBER.findall(joined_text(cell["source"])) if "." in number}


def all_sections(paths: list[Path] | None = None) -> dict[str, set[str]]:
    """Notebook number ("06") -> its numbered sections, for references across notebooks."""
    return {path.name[:2]: section_numbers(json.loads(path.read_text(encoding="utf-8")))
            for path in (NOTEBOOKS if paths is None else paths)}


def unshown_figures(path: Path, allowed: dict[str, str] | None = None,
                    other_sections: dict[str, set[str]] | None = None) -> list[Offence]:
    """The figures that `path`'s Markdown states and none of its outputs or code shows."""
    allowed = ALLOWED if allowed is None else allowed
    other_sections = other_sections or {}
    notebook = json.loads(path.read_text(encoding="utf-8"))
    known = notebook_known_numbers(notebook)
    own_sections = section_numbers(notebook)
    offences = []
    heading = "(top)"
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = joined_text(cell["source"])
        prose = markdown_prose(source)
        headings = [(m.start(), m.group(1).strip()) for m in re.finditer(r"(?m)^#{1,6}\s*(.+)$", source)]
        for match in FIGURE.finditer(prose):
            figure = parse_figure(match)
            if figure is None:
                continue
            before = prose[max(0, match.start() - 60):match.start()]
            number = match.group("number")
            if figure.kind == "decimal":
                if number in own_sections:
                    continue  # "the worked example of 2.1"
                reference = NOTEBOOK_REFERENCE.search(before)
                if reference and number in other_sections.get(reference.group(1), set()):
                    continue  # "notebook 06, section 3.1"
            if VERSION_CONTEXT.search(before):
                continue  # "Python 3.10-3.12", "transformers>=4.40"
            if figure.key in allowed or figure_is_shown(figure, known):
                continue
            current = [text for start, text in headings if start <= match.start()]
            snippet = source[max(0, match.start() - 50):match.end() + 30]
            offences.append(Offence(path.name, (current[-1] if current else heading)[:50],
                                    figure.text, " ".join(snippet.split())))
        if headings:
            heading = headings[-1][1]
    return offences


# ---------------------------------------------------------------------------------------------
# Stored progress bars and loading messages
# ---------------------------------------------------------------------------------------------

LOADING_MESSAGE = re.compile(r"Writing model shards|Loading checkpoint shards|Loading weights")
BAR_PERCENT = re.compile(r"(?<!\d)(\d{1,3})%\|")
BAR_COUNT = re.compile(r"%\|[^|\n]*\|\s*(\d+)/(\d+)\b")


def displayed_lines(text: str) -> list[str]:
    """Lines as a notebook shows them: a carriage return overwrites the line (tqdm's redraws)."""
    lines = []
    for line in text.split("\n"):
        segments = [segment for segment in line.split("\r") if segment.strip()]
        lines.append(segments[-1] if segments else "")
    return lines


def unfinished_outputs(path: Path) -> list[str]:
    """Stored progress bars short of their end, and stored model loading/saving messages.

    Looks at stream outputs and at the text/plain of displayed outputs (a tqdm widget stores
    its text form there, and that is what GitHub and other static viewers show).
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            text = joined_text(output.get("text", "")) + "\n" + joined_text(output.get("data", {}).get("text/plain", ""))
            for line in displayed_lines(text):
                where = f"{path.name} cell {index}: {line.strip()[:90]!r}"
                if LOADING_MESSAGE.search(line):
                    problems.append(f"{where} (a loading/saving message)")
                    continue
                percent = BAR_PERCENT.search(line)
                count = BAR_COUNT.search(line)
                if (percent and int(percent.group(1)) < 100) or (count and int(count.group(1)) < int(count.group(2))):
                    problems.append(f"{where} (an unfinished progress bar)")
    return problems


# ---------------------------------------------------------------------------------------------
# Authoring jargon
# ---------------------------------------------------------------------------------------------

JARGON = re.compile(
    r"""(?imx)
      \bseeds['’]                                 # the seeds' answer, the seeds' page
    | \bseed['’]s\b                               # the seed's example
    | \bthe\s+seeds\b(?!\s*(?:\d|\[|\(|=|of\s+\d))  # the seeds say (not "the seeds 0, 1, 2")
    | (?:^\s*|source:\s*["']?)seeds:              # a quiz's "source: seeds: ..."
    | \bsource\s+material
    | \blesson(?:['’]s)?\s+pages?\b                 # the lesson pages, the lesson page
    | \blesson['’]s\b                             # the lesson's loop, the lesson's question
    | \bCOURSE\.md\b
    """
)


def learner_facing_texts(notebooks: list[Path] | None = None, files: bool = True) -> list[tuple[str, str]]:
    """(where, text) for every learner-facing text: notebooks (Markdown, code, outputs),
    quizzes, README.md, data/README.md, docs/*.md. With ``notebooks``, those notebooks only,
    and the other files only when ``files``."""
    texts = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) if notebooks is None else notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(notebook["cells"]):
            where = f"{_shown_path(path)} cell {index}"
            texts.append((f"{where} ({cell['cell_type']})", joined_text(cell["source"])))
            for text in output_texts(cell):
                texts.append((f"{where} (output)", text))
    if not files:
        return texts
    files = [*sorted((ROOT / "quizzes").glob("*.yaml")), ROOT / "README.md", ROOT / "data" / "README.md",
             *sorted((ROOT / "docs").glob("*.md"))]
    texts += [(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")) for path in files if path.exists()]
    return texts


def jargon_in(where: str, text: str) -> list[str]:
    found = []
    for match in JARGON.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        snippet = " ".join(text[max(0, match.start() - 40):match.end() + 40].split())
        found.append(f"{where} line {line}: {match.group(0).strip()!r} in ...{snippet}...")
    return found


def _shown_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def problems(notebooks: list[Path] | None = None) -> list[str]:
    """Every problem of the three checks: over ``notebooks`` (default: the numbered ones and all
    learner-facing files), one line each."""
    paths = NOTEBOOKS if notebooks is None else notebooks
    sections = {**all_sections(), **all_sections(paths)}
    found = [str(offence) for path in paths for offence in unshown_figures(path, other_sections=sections)]
    found += [problem for path in paths for problem in unfinished_outputs(path)]
    found += [line for where, text in learner_facing_texts(notebooks, files=notebooks is None)
              for line in jargon_in(where, text)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to check (default: every numbered notebook and all learner-facing files)")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = problems(args.notebooks or None)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problem(s). A figure about a run belongs in the output of the cell that computes it; "
              "a figure quoted from a fixed source goes into ALLOWED in scripts/prose_check.py with that source.",
              file=sys.stderr)
        return 1
    print("Prose, outputs and wording agree.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
