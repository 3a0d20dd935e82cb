"""Command line for instructors and CI.

    python -m course_utils quiz check [FILES]          # validate quiz files (default: quizzes/*.yaml)
    python -m course_utils quiz answer-key [-o FILE]   # the answer key as Markdown (default: stdout)
    python -m course_utils exercises OUTDIR [--notebooks DIR] [--overwrite]   # workshop exercise copies

A malformed quiz file is reported in one line naming the file, the item and the field,
and the exit status is 1; nothing is written. Introduced with the quizzes (every notebook's
section "7. Practice").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.errors import CourseError


def _quiz_files(files: list[str]) -> list[Path]:
    from course_utils.quiz import available_quizzes, quizzes_dir

    if files:
        return [Path(file) for file in files]
    found = available_quizzes()
    if not found:
        raise CourseError(f"No quiz files (*.yaml) in {quizzes_dir()}. Fix: pass the files to check.")
    return found


def quiz_check(files: list[str]) -> int:
    """Validate each file; print one line per file; 1 if any file is malformed."""
    from course_utils.quiz import display_path, load_quiz

    failures = 0
    for path in _quiz_files(files):
        try:
            quiz = load_quiz(path)
        except CourseError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            continue
        count = len(quiz.items)
        print(f"ok: {display_path(path)} ({count} item{'s' if count != 1 else ''})")
    if failures:
        print(f"{failures} quiz file{'s' if failures != 1 else ''} refused.", file=sys.stderr)
    return 1 if failures else 0


def quiz_answer_key(files: list[str], output: str | None) -> int:
    """Write the answer key for all quiz files (all validated first) to ``output`` or stdout."""
    from course_utils.quiz import answer_key_markdown, load_quiz

    quizzes = [load_quiz(path) for path in _quiz_files(files)]
    text = answer_key_markdown(quizzes)
    if output is None or output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(output)
    if not target.parent.is_dir():
        raise CourseError(f"Cannot write {target}: the folder {target.parent} does not exist. "
                          "Fix: create it or choose another path.")
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({sum(len(quiz.items) for quiz in quizzes)} items from {len(quizzes)} quizzes)")
    return 0


def exercises_command(out_dir: str, notebooks: str | None, overwrite: bool) -> int:
    """Write exercise copies (course_utils.exercises); one line per notebook. Bad input: exit status 2."""
    import warnings

    from course_utils.exercises import count_exercises, default_notebooks_dir, make_exercises
    from course_utils.quiz import display_path

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            written = make_exercises(notebooks or default_notebooks_dir(), out_dir, overwrite=overwrite)
        except CourseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    total = 0
    for path in written:
        count = count_exercises(path)
        total += count
        print(f"{display_path(path)}: {count} exercise{'s' if count != 1 else ''}")
    print(f"{total} exercises in {len(written)} notebooks, written to {display_path(Path(out_dir))}")
    return 0


def add_exercises_parser(commands) -> None:
    exercises = commands.add_parser("exercises", help="write exercise copies of the notebooks (solutions removed)")
    exercises.add_argument("out_dir", metavar="OUTDIR", help="folder for the copies (new or empty)")
    exercises.add_argument("--notebooks", metavar="DIR", help="the notebooks folder (default: the course's notebooks/)")
    exercises.add_argument("--overwrite", action="store_true", help="replace the exercise notebooks in OUTDIR")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils",
                                     description="Tools for the course 'Fine-tuning BERT for text classification'.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    quiz = commands.add_parser("quiz", help="validate quiz files or write the answer key")
    quiz_commands = quiz.add_subparsers(dest="quiz_command", metavar="QUIZ_COMMAND")
    quiz_commands.required = True
    check = quiz_commands.add_parser("check", help="validate quiz files (default: every quizzes/*.yaml)")
    check.add_argument("files", nargs="*", metavar="FILE")
    key = quiz_commands.add_parser("answer-key", help="write the instructors' answer key as Markdown")
    key.add_argument("files", nargs="*", metavar="FILE", help="quiz files (default: every quizzes/*.yaml)")
    key.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    add_exercises_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_utils`` and the ``course-utils`` script."""
    args = build_parser().parse_args(argv)
    if args.command == "exercises":
        return exercises_command(args.out_dir, args.notebooks, args.overwrite)
    try:
        if args.command == "quiz" and args.quiz_command == "check":
            return quiz_check(args.files)
        if args.command == "quiz" and args.quiz_command == "answer-key":
            return quiz_answer_key(args.files, args.output)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2  # argparse rejects anything else before this line


if __name__ == "__main__":
    sys.exit(main())
