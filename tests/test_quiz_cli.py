"""`python -m courseware quiz check` and `quiz answer-key`, run as a person runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from courseware.quiz import _load_quiz, _quiz_files

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "quizzes" / "sample.yaml"
BAD_ANSWER = (ROOT / "tests" / "fixtures" / "quizzes" / "bad_answer.yaml").read_text()


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "courseware", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_check_accepts_every_course_quiz():
    result = run_cli("quiz", "check")
    assert result.returncode == 0, result.stderr
    for path in _quiz_files():
        count = len(_load_quiz(path).items)
        assert f"ok: quizzes/{path.name} ({count} item{'s' if count != 1 else ''})" in result.stdout


def test_check_accepts_named_files():
    result = run_cli("quiz", "check", str(SAMPLE))
    assert result.returncode == 0 and "ok: tests/fixtures/quizzes/sample.yaml (4 items)" in result.stdout


@pytest.mark.parametrize("text, fragments", [
    (BAD_ANSWER, ["broken.yaml", "item 'q1'", "field 'answer'", "'e' names no option"]),
    ("", ["broken.yaml", "empty"]),
    ("title: [oops\n", ["broken.yaml", "not valid YAML", "line"]),
    (BAD_ANSWER.replace("single_choice", "essay"), ["broken.yaml", "item 'q1'", "field 'type'"]),
])
def test_check_refuses_a_malformed_file_without_traceback(tmp_path, text, fragments):
    bad = tmp_path / "broken.yaml"
    bad.write_text(text)
    result = run_cli("quiz", "check", str(SAMPLE), str(bad))
    assert result.returncode == 2  # bad input, as everywhere on the command line
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0]
    assert "ok: tests/fixtures/quizzes/sample.yaml" in result.stdout  # the good file is still checked


def test_check_refuses_a_missing_file(tmp_path):
    result = run_cli("quiz", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "No quiz file at" in result.stderr and "Traceback" not in result.stderr


def test_answer_key_to_stdout_covers_every_quiz():
    result = run_cli("quiz", "answer-key")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Answer key")
    for path in _quiz_files():
        quiz = _load_quiz(path)
        assert f"## {quiz.name}: {quiz.title}" in result.stdout
        for item in quiz.items:
            assert f"`{item.id}`" in result.stdout


def test_answer_key_to_a_file(tmp_path):
    target = tmp_path / "answer_key.md"
    result = run_cli("quiz", "answer-key", str(SAMPLE), "-o", str(target))
    assert result.returncode == 0, result.stderr
    key = target.read_text()
    assert "**Answer:**" in key and "The **right** one (**correct**)" in key
    assert "1. First step" in key and "**Back of the card:** The **back** of the card." in key


def test_answer_key_writes_nothing_when_a_file_is_malformed(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BAD_ANSWER)
    target = tmp_path / "answer_key.md"
    result = run_cli("quiz", "answer-key", str(SAMPLE), str(bad), "-o", str(target))
    assert result.returncode == 2 and "field 'answer'" in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()


def test_usage_errors_exit_2():
    assert run_cli().returncode == 2
    assert run_cli("quiz").returncode == 2
    assert run_cli("quiz", "grade").returncode == 2


def test_the_answer_key_into_a_closed_pipe_ends_quietly():
    """`python -m courseware quiz answer-key | head -1`: the reader has gone; no BrokenPipeError traceback."""
    process = subprocess.Popen([sys.executable, "-m", "courseware", "quiz", "answer-key"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader leaves before the first line, as `head` does after its lines
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 141, stderr  # as a shell reports a process ended by SIGPIPE
    assert stderr == ""


def test_the_library_command_line_has_no_quiz_command():
    """course_utils is the library the notebooks teach: its command line is train and predict only."""
    done = subprocess.run([sys.executable, "-m", "course_utils", "quiz", "check"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "invalid choice: 'quiz'" in done.stderr
