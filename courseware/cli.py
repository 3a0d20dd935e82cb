"""The course's command line, ``python -m courseware`` (or the ``courseware`` script): quizzes, exercises, doctor.

    python -m courseware doctor                      # will the course run here? one line per check
    python -m courseware quiz check [FILES]          # validate quiz files (default: the course's quizzes)
    python -m courseware quiz answer-key [-o FILE]   # the answer key as Markdown (default: stdout)
    python -m courseware exercises OUTDIR [--notebooks DIR] [--overwrite]   # exercise copies of the notebooks

The library's own command line (``train``, ``predict``) is ``python -m course_utils``
(:mod:`course_utils.cli`). The same exit-code policy: bad input (a malformed quiz file, a
missing notebooks folder) is one line ``error: ...`` naming the problem and the fix, exit
status 2, and nothing is written. ``doctor`` exits 1 when a check fails. Output cut short by a
closed pipe (``python -m courseware doctor | head -1``) ends quietly.

Nothing heavy is imported here: ``doctor`` must run from a bare Python without the course's
packages, and the quiz and exercise modules are imported only by their commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]

_BROKEN_PIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message}. Fix: see {self.prog} --help\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m courseware",
                            description="The course's machinery: quizzes, exercise copies and the machine check.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    commands.add_parser("doctor", help="check that the course will run on this machine")
    quiz = commands.add_parser("quiz", help="validate quiz files or write the answer key")
    quiz_commands = quiz.add_subparsers(dest="quiz_command", metavar="QUIZ_COMMAND")
    quiz_commands.required = True
    check = quiz_commands.add_parser("check", help="validate quiz files (default: every quiz of the course)")
    check.add_argument("files", nargs="*", metavar="FILE")
    key = quiz_commands.add_parser("answer-key", help="write the instructors' answer key as Markdown")
    key.add_argument("files", nargs="*", metavar="FILE", help="quiz files (default: every quiz of the course)")
    key.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    exercises = commands.add_parser("exercises", help="write exercise copies of the notebooks (solutions removed)")
    exercises.add_argument("out_dir", metavar="OUTDIR", help="folder for the copies (new or empty)")
    exercises.add_argument("--notebooks", metavar="DIR", help="the notebooks folder (default: the course's notebooks/; without one, as in a pip or "
                           "Colab install, the exercise notebooks the package ships)")
    exercises.add_argument("--overwrite", action="store_true", help="replace the exercise notebooks in OUTDIR")
    return parser


# ---------------------------------------------------------------------------
# quiz
# ---------------------------------------------------------------------------


def _quiz_files(files: list[str]) -> list:
    """The files named, or every quiz file shipped with the course."""
    from courseware.quiz import _quiz_files as course_quizzes

    return [Path(file) for file in files] if files else course_quizzes()


def _quiz_check(files: list[str]) -> int:
    """Validate each file; print one line per file; exit status 2 if any file is malformed."""
    from course_utils.errors import CourseError
    from course_utils.files import display_path
    from courseware.quiz import _load_quiz

    failures = 0
    for path in _quiz_files(files):
        try:
            quiz = _load_quiz(path)
        except CourseError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            continue
        count = len(quiz.items)
        print(f"ok: {display_path(quiz.path)} ({count} item{'s' if count != 1 else ''})")
    if failures:
        print(f"{failures} quiz file{'s' if failures != 1 else ''} refused.", file=sys.stderr)
    return 2 if failures else 0


def _quiz_answer_key(files: list[str], output: str | None) -> int:
    """Write the answer key for all quiz files (all validated first) to ``output`` or stdout."""
    from course_utils.errors import CourseError
    from course_utils.files import atomic_write_text
    from courseware.quiz import _answer_key_markdown, _load_quiz

    quizzes = [_load_quiz(path) for path in _quiz_files(files)]
    text = _answer_key_markdown(quizzes)
    if output is None or output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(output)
    if not target.parent.is_dir():
        raise CourseError(f"Cannot write {target}: the folder {target.parent} does not exist. "
                          "Fix: create it or choose another path.")
    atomic_write_text(target, text)
    print(f"wrote {target} ({sum(len(quiz.items) for quiz in quizzes)} items from {len(quizzes)} quizzes)")
    return 0


# ---------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------


def _exercises_command(out_dir: str, notebooks: str | None, overwrite: bool) -> int:
    """Write exercise copies (courseware.exercises); one line per notebook. Bad input: exit status 2.

    In a clone they are made from notebooks/; from a pip or Colab install (no notebooks/ next to the
    package) they are the exercise notebooks the package ships.
    """
    import warnings

    from course_utils.errors import CourseError
    from course_utils.files import display_path
    from courseware.exercises import _count_exercises, _default_notebooks_dir, copy_shipped_exercises, make_exercises

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if notebooks is None and not _default_notebooks_dir().is_dir():
                # a pip or Colab install has no notebooks/: the exercise notebooks shipped in the package
                written = copy_shipped_exercises(out_dir, overwrite=overwrite)
            else:
                written = make_exercises(notebooks or _default_notebooks_dir(), out_dir, overwrite=overwrite)
        except CourseError as error:
            print(f"error: {_one_line(error)}", file=sys.stderr)
            return 2
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    total = 0
    for path in written:
        count = _count_exercises(path)
        total += count
        print(f"{display_path(path)}: {count} exercise{'s' if count != 1 else ''}")
    print(f"{total} exercises in {len(written)} notebooks, written to {display_path(Path(out_dir))}")
    return 0


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _command(args) -> int:
    if args.command == "doctor":
        from courseware.doctor import doctor_command

        return doctor_command()
    if args.command == "exercises":
        return _exercises_command(args.out_dir, args.notebooks, args.overwrite)
    from course_utils.errors import CourseError

    try:
        if args.quiz_command == "check":
            return _quiz_check(args.files)
        return _quiz_answer_key(args.files, args.output)
    except CourseError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """After a closed pipe: send what is left of stdout to /dev/null, so that exiting prints no traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (redirected in-process)
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m courseware`` and the ``courseware`` script."""
    args = _build_parser().parse_args(argv)
    try:
        code = _command(args)
        sys.stdout.flush()  # inside the try: a reader that has gone (`| head -1`) is noticed here
    except BrokenPipeError:
        _silence_stdout()
        return _BROKEN_PIPE_EXIT
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    return code
