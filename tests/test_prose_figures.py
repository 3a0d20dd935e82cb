"""What the notebooks say matches what they show: scripts/prose_check.py over the committed course.

The checker (its rules are in its docstring) is a tool a maintainer also runs by hand:
`python scripts/prose_check.py notebooks/NN_name.ipynb`. Here it runs over every notebook and
learner-facing file, and each rule is proven both ways on synthetic notebooks.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import prose_check  # scripts/prose_check.py (pyproject's pythonpath puts scripts/ on the path)
import pytest

NOTEBOOKS = prose_check.NOTEBOOKS
ALLOWED = prose_check.ALLOWED
FIGURE = prose_check.FIGURE
unshown_figures = prose_check.unshown_figures
unfinished_outputs = prose_check.unfinished_outputs
jargon_in = prose_check.jargon_in


# ---------------------------------------------------------------------------------------------
# The tests over the committed course
# ---------------------------------------------------------------------------------------------


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 7, f"expected the course's notebooks in {prose_check.ROOT / 'notebooks'}"


def test_prose_figures_are_shown_by_outputs_or_code():
    sections = prose_check.all_sections()
    offences = [offence for path in NOTEBOOKS for offence in unshown_figures(path, other_sections=sections)]
    assert not offences, (
        f"{len(offences)} figure(s) in Markdown that no stored output or code cell of the same "
        "notebook shows. Print the figure from the cell that computes it (an f-string), say it "
        "without the number, or, for a figure quoted from a fixed source, add it to ALLOWED in "
        "scripts/prose_check.py with that source:\n" + "\n".join(map(str, offences)))


def test_every_allowed_figure_is_used():
    written = {figure.key for path in NOTEBOOKS
               for cell in json.loads(path.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "markdown"
               for match in FIGURE.finditer(prose_check.markdown_prose(prose_check.joined_text(cell["source"])))
               if (figure := prose_check.parse_figure(match)) is not None}
    unused = sorted(set(ALLOWED) - written)
    assert not unused, f"ALLOWED entries no notebook's Markdown states any more (remove them): {unused}"


def test_stored_outputs_show_finished_progress_and_no_loading_messages():
    problems = [problem for path in NOTEBOOKS for problem in unfinished_outputs(path)]
    assert not problems, (
        f"{len(problems)} stored output line(s) show an unfinished progress bar or a model "
        "loading/saving message; re-run the notebook so bars are stored at their end (or closed "
        "and cleared), and silence the loading reports:\n" + "\n".join(problems))


def test_no_authoring_jargon():
    offenders = [found for where, text in prose_check.learner_facing_texts() for found in jargon_in(where, text)]
    assert not offenders, (
        f"{len(offenders)} place(s) in learner-facing text talk about how the course was written "
        "(say 'a common tutorial' and quote its code or claim instead):\n" + "\n".join(offenders))


# ---------------------------------------------------------------------------------------------
# The checkers, proven both ways on synthetic notebooks
# ---------------------------------------------------------------------------------------------


def write_notebook(tmp_path: Path, markdown: str, code: str = "", output: str = "",
                   name: str = "99_synthetic.ipynb") -> Path:
    code_cell = nbformat.v4.new_code_cell(code, execution_count=1)
    if output:
        code_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 1. Results\n\n### 1.1 Scores"),
                                               code_cell, nbformat.v4.new_markdown_cell(markdown)])
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def flagged(tmp_path: Path, markdown: str, code: str = "", output: str = "") -> list[str]:
    return [offence.figure for offence in unshown_figures(write_notebook(tmp_path, markdown, code, output),
                                                          allowed={"85%": "a test source"})]


def test_a_wrong_figure_is_flagged_with_notebook_heading_and_snippet(tmp_path):
    path = write_notebook(tmp_path, "## 2. Notes\n\nThe model reached an accuracy of 0.93 on test.",
                          output="accuracy 0.812\n")
    offences = unshown_figures(path, allowed={})
    assert [str(offence) for offence in offences] == [
        "99_synthetic.ipynb [2. Notes]: '0.93' in ...## 2. Notes The model reached an accuracy of 0.93 on test...."]


def test_a_matching_figure_passes(tmp_path):
    assert flagged(tmp_path, "The model reached an accuracy of 0.81 on test.", output="accuracy 0.812\n") == []


@pytest.mark.parametrize("markdown, code, output", [
    ("3,402 messages", "", "3402 rows\n"),                      # thousands commas
    ("0.81 accuracy", "", "accuracy 0.8149\n"),                  # rounding at 2 decimals
    ("12% spam", "", "spam share 0.1234\n"),                     # a fraction shown as a percentage
    ("12.3% spam", "", "spam: 12.34%\n"),                        # a percentage, rounded
    ("about 88% accuracy", "", "accuracy 87.65%\n"),             # rounding, hedge or not
    ("precision 0.81", "", "precision 81.2%\n"),                 # a percentage shown as a decimal
    ("one epoch took 133 s", "", "epoch 1: 133.2 s\n"),          # a time
    ("about 2 minutes", "", "training took 128.4 s\n"),          # minutes from seconds
    ("7.5x faster", "", "7.5x the plain loop\n"),               # a speed-up factor
    ("22.7M parameters", "", "22,713,216 parameters\n"),         # a scaled count
    ("learning rate 1e-4", "lr = 1e-4", ""),                     # shown by code, not an output
    ("a 3-second probe", "probe(timeout=3)", ""),                # a time as a code literal
    ("10,000 transactions", "n = 10_000", ""),                   # digit underscores in code
    ("`dropout=0.3` in code", "model(dropout=0.3)", ""),         # a code span, shown by code
    ("accuracy above 85%", "", ""),                              # in ALLOWED
    ("Python 3.10-3.12, torch 2.13.0, transformers 4.x", "", ""),  # versions
    ("the example of 1.1 above", "", ""),                        # a section of this notebook
    ("see [the docs](https://example.org/v1.5/page) and https://x.org/2.5", "", ""),  # link targets
    ("bf16 on MiniLM-L6, 2×2 matrix, 907 messages, 8 epochs", "", ""),  # not figures
])
def test_shown_figures_pass(tmp_path, markdown, code, output):
    assert flagged(tmp_path, markdown, code, output) == []


@pytest.mark.parametrize("markdown, code, output, expected", [
    ("0.888 precision", "", "precision 0.89\n", ["0.888"]),     # more digits than the output
    ("0.81 accuracy", "", "accuracy 0.816\n", ["0.81"]),        # rounds to 0.82, not 0.81
    ("12% spam", "", "12 messages\n", ["12%"]),                  # a bare integer is no percentage
    ("3,402 messages", "", "3403 rows\n", ["3,402"]),
    ("one epoch took 40 seconds", "", "epoch: 133.2 s\n", ["40 seconds"]),
    ("a 3-second probe", "", "", ["3-second"]),
    ("about 50 seconds", "", "A. 50%  B. 12.3%\n", ["50 seconds"]),  # 50% is no time
    ("it took 2 minutes", "", "it took 2 epochs\n", ["2 minutes"]),  # nor is a bare 2 in output
    ("`lr=5e-5` here", "lr = 1e-4", "", ["5e-5"]),               # code spans are still claims
    ("as section 4.5 measures", "", "", ["4.5"]),                # a dangling section reference
    ("the training loss falls to about 0.01", "", "loss 0.0234\n", ["0.01"]),
    ("110M parameters", "", "22,713,216 parameters\n", ["110M"]),
])
def test_unshown_figures_are_flagged(tmp_path, markdown, code, output, expected):
    assert flagged(tmp_path, markdown, code, output) == expected


def test_a_section_of_another_notebook_is_a_reference(tmp_path):
    path = write_notebook(tmp_path, "as in notebook 06, section 3.1, and in 3.1 here")
    assert [o.figure for o in unshown_figures(path, allowed={}, other_sections={"06": {"3.1"}})] == ["3.1"]


def write_output_notebook(tmp_path: Path, output: dict) -> Path:
    cell = nbformat.v4.new_code_cell("train()", execution_count=1)
    cell.outputs = [nbformat.v4.new_output(**output)]
    path = tmp_path / "99_outputs.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


@pytest.mark.parametrize("output", [
    {"output_type": "stream", "name": "stderr", "text": "epoch 1:   0%|          | 0/63 [00:00<?, ?it/s]"},
    {"output_type": "stream", "name": "stderr", "text": "\r  0%|   | 0/63\r 49%|#  | 31/63 [00:03<00:03, 9.9it/s]"},
    {"output_type": "display_data",
     "data": {"text/plain": "training:   0%|          | 0/63 [00:00<?, ?step/s]"}},
    {"output_type": "stream", "name": "stdout", "text": "saved\nWriting model shards: 100%|##| 1/1\n"},
    {"output_type": "display_data", "data": {"text/plain": "Loading weights: 100%|##| 105/105"}},
])
def test_unfinished_bars_and_loading_messages_are_flagged(tmp_path, output):
    assert len(unfinished_outputs(write_output_notebook(tmp_path, output))) == 1


@pytest.mark.parametrize("output", [
    {"output_type": "stream", "name": "stderr",
     "text": "\r  0%|   | 0/63\r100%|###| 63/63 [00:06<00:00, 9.9it/s]\n"},
    {"output_type": "stream", "name": "stdout", "text": "epoch 1: loss 0.31, accuracy 0.94 (30/32)\n"},
])
def test_finished_bars_and_plain_output_pass(tmp_path, output):
    assert unfinished_outputs(write_output_notebook(tmp_path, output)) == []


@pytest.mark.parametrize("text", [
    "This is the seeds' answer.", "the seed's example", "The seeds describe a sigmoid head.",
    'source: "seeds: practice 3"', "as the source material does", "as the lesson pages say",
    "the lesson's loop", "see COURSE.md",
])
def test_jargon_is_flagged(text):
    assert len(jargon_in("x", text)) == 1


@pytest.mark.parametrize("text", [
    "torch.manual_seed(0) fixes the random seed", "three random seeds: 0, 1 and 2",
    "try the seeds 0, 1 and 2", "set_seed(seed)", "a common tutorial's loop", "this lesson",
])
def test_random_seeds_are_not_jargon(text):
    assert jargon_in("x", text) == []


def test_the_command_line_lists_problems_and_exits_1(tmp_path, capsys):
    bad = write_notebook(tmp_path, "The model reached an accuracy of 0.93 on test.", output="accuracy 0.812\n")
    assert prose_check.main([str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "99_synthetic.ipynb [1.1 Scores]: '0.93'" in out and "1 problem(s)" in err
    good = write_notebook(tmp_path, "The model reached an accuracy of 0.81 on test.", output="accuracy 0.812\n",
                          name="98_synthetic.ipynb")
    assert prose_check.main([str(good)]) == 0
    assert capsys.readouterr().out == "Prose, outputs and wording agree.\n"
    assert prose_check.main([str(tmp_path / "absent.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
