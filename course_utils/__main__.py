"""Command line: train and use a classifier on any CSV file, check a machine, and instructors' tools.

    python -m course_utils train FILE.csv --text-column C --label-column C [--model M] [--epochs N]
        [--batch-size N] [--max-length N] [--lr X] [--output DIR] [--overwrite] [--seed N]
    python -m course_utils predict DIR "a text" ["another text" ...]
    python -m course_utils predict DIR --file FILE.csv [--text-column C] [--output OUT.csv] [--overwrite]
    python -m course_utils doctor                      # will the course run here? one line per check
    python -m course_utils quiz check [FILES]          # validate quiz files (default: the course's quizzes)
    python -m course_utils quiz answer-key [-o FILE]   # the answer key as Markdown (default: stdout)
    python -m course_utils exercises OUTDIR [--notebooks DIR] [--overwrite]   # workshop exercise copies

``train`` does what the notebooks do, in one command (the last notebook, 08, walks the same
path): it reads the CSV, removes repeated texts, makes a stratified train/validation/test
split with no text in two splits, prints a data summary, fine-tunes (the packaged
all-MiniLM-L6-v2 by default, offline) with a progress bar, prints the test metrics per
class and saves to DIR (default ``./model-<csv name>``) the model, its tokenizer, the class
names, for two classes the threshold chosen on validation, ``splits.json`` and
``metrics.json``. ``predict`` labels texts with such a folder; ``doctor`` checks Python,
the packages, the device, the packaged model, the data and the widgets, and exits 0 only
when the course will run. The code of these three lives in :mod:`course_utils.cli`.

Bad input (a missing, empty, binary or non-CSV file, a missing column, one class only,
blank texts, an output that exists without ``--overwrite``, an incomplete model folder)
is reported in one line ``error: ...`` naming the problem and the fix, with exit status 2,
and nothing is written; Ctrl-C during training leaves nothing behind (exit status 130).
A malformed quiz file is reported in one line naming the file, the item and the field,
with exit status 2 as well; nothing is written. The quiz tools were introduced with the
quizzes (every notebook's section "7. Practice").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.errors import CourseError


def _quiz_files(files: list[str]) -> list:
    """The files named, or every quiz file shipped with the course."""
    from course_utils.quiz import _quiz_files as course_quizzes

    return [Path(file) for file in files] if files else course_quizzes()


def quiz_check(files: list[str]) -> int:
    """Validate each file; print one line per file; exit status 2 if any file is malformed."""
    from course_utils.files import display_path
    from course_utils.quiz import _load_quiz

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


def quiz_answer_key(files: list[str], output: str | None) -> int:
    """Write the answer key for all quiz files (all validated first) to ``output`` or stdout."""
    from course_utils.files import atomic_write_text
    from course_utils.quiz import _answer_key_markdown, _load_quiz

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


def exercises_command(out_dir: str, notebooks: str | None, overwrite: bool) -> int:
    """Write exercise copies (course_utils.exercises); one line per notebook. Bad input: exit status 2."""
    import warnings

    from course_utils.exercises import count_exercises, default_notebooks_dir, make_exercises
    from course_utils.files import display_path

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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message}. Fix: see {self.prog} --help\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a learning rate such as 5e-5, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a learning rate above 0 and below 1 such as 5e-5, got {text}")
    return value


def add_train_parser(commands) -> None:
    train = commands.add_parser("train", help="fine-tune a classifier on a CSV file of texts and labels")
    train.add_argument("csv", metavar="FILE.csv", help="a CSV file with a header line, one text and its label per row")
    train.add_argument("--text-column", required=True, metavar="C", help="the column holding the texts")
    train.add_argument("--label-column", required=True, metavar="C", help="the column holding the labels")
    train.add_argument("--model", metavar="M", help="'packaged', a hub id or a local folder "
                                                    "(default: chosen by course_utils.models.choose_model)")
    train.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                       help="passes over the training texts (default: the model's recipe, 3 for the packaged model)")
    train.add_argument("--batch-size", type=_positive_int, default=16, metavar="N", help="texts per step (16)")
    train.add_argument("--max-length", type=_positive_int, default=128, metavar="N",
                       help="tokens kept per text; longer texts are truncated (128)")
    train.add_argument("--lr", type=_learning_rate, default=None, metavar="X",
                       help="peak learning rate (default: the model's recipe, 1e-4 for the packaged model)")
    train.add_argument("--output", metavar="DIR", help="the folder to save to (default: ./model-<csv name>)")
    train.add_argument("--overwrite", action="store_true", help="replace DIR if it holds a saved model")
    train.add_argument("--seed", type=int, default=42, metavar="N", help="seed of the split and the training (42)")
    train.add_argument("--positive-label", metavar="NAME",
                       help="two classes: the class whose precision, recall and F1 are reported and whose "
                            "threshold is tuned (default: the second label in sorted order)")


def add_predict_parser(commands) -> None:
    predict = commands.add_parser("predict", help="label texts with a model saved by train")
    predict.add_argument("model_dir", metavar="DIR", help="a folder written by train")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to label (quote each one)")
    predict.add_argument("--file", metavar="FILE.csv", help="label the texts of a CSV file instead")
    predict.add_argument("--text-column", default="text", metavar="C", help="the text column of --file (text)")
    predict.add_argument("--output", metavar="OUT.csv", help="write text,label,probability to OUT.csv")
    predict.add_argument("--overwrite", action="store_true", help="replace OUT.csv if it exists")
    predict.add_argument("--max-length", type=_positive_int, default=128, metavar="N",
                         help="tokens kept per text (128, as in train)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m course_utils",
                                     description="Tools for the course 'Fine-tuning BERT for text classification'.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    quiz = commands.add_parser("quiz", help="validate quiz files or write the answer key")
    quiz_commands = quiz.add_subparsers(dest="quiz_command", metavar="QUIZ_COMMAND")
    quiz_commands.required = True
    check = quiz_commands.add_parser("check", help="validate quiz files (default: every quiz of the course)")
    check.add_argument("files", nargs="*", metavar="FILE")
    key = quiz_commands.add_parser("answer-key", help="write the instructors' answer key as Markdown")
    key.add_argument("files", nargs="*", metavar="FILE", help="quiz files (default: every quiz of the course)")
    key.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    add_exercises_parser(commands)
    add_train_parser(commands)
    add_predict_parser(commands)
    commands.add_parser("doctor", help="check that the course will run on this machine")
    return parser


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def cli_command(args) -> int:
    """``train``, ``predict`` and ``doctor`` (course_utils.cli). Bad input: one line, exit status 2."""
    from course_utils import cli

    try:
        if args.command == "train":
            return cli.train_command(cli.TrainSettings(
                csv=args.csv, text_column=args.text_column, label_column=args.label_column, model=args.model,
                epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length, lr=args.lr,
                output=args.output, overwrite=args.overwrite, seed=args.seed, positive_label=args.positive_label))
        if args.command == "predict":
            return cli.predict_command(args.model_dir, args.texts, args.file, args.text_column, args.output,
                                       args.overwrite, args.max_length)
        return cli.doctor_command()
    except CourseError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # a disk that is full or a folder that cannot be written
        print(f"error: {_one_line(error)}. Fix: check the path, its permissions and the free space.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written.", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_utils`` and the ``course-utils`` script."""
    args = build_parser().parse_args(argv)
    if args.command in ("train", "predict", "doctor"):
        return cli_command(args)
    if args.command == "exercises":
        return exercises_command(args.out_dir, args.notebooks, args.overwrite)
    try:
        if args.command == "quiz" and args.quiz_command == "check":
            return quiz_check(args.files)
        if args.command == "quiz" and args.quiz_command == "answer-key":
            return quiz_answer_key(args.files, args.output)
    except CourseError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    return 2  # argparse rejects anything else before this line


if __name__ == "__main__":
    sys.exit(main())
