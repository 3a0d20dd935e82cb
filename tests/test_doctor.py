"""`python -m courseware doctor`: will the course run here? Inside the course's environment, and where it
is needed most: a bare Python without the course's packages, where it must report, never crash.

The checks run in-process through the ``run_courseware`` fixture; the bare Pythons run as subprocesses
(a venv made with ``--without-pip`` has no site packages: no torch, no pandas, not even pyyaml).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from courseware import doctor

ROOT = Path(__file__).resolve().parents[1]
CHECK_LINE_STATUSES = {"ok", "warn", "FAIL"}


def check_lines(out: str) -> list[str]:
    """The lines of the report that are checks (``ok    torch: 2.13.0``)."""
    return [line for line in out.splitlines() if line.split(maxsplit=1)[:1] and line.split()[0] in CHECK_LINE_STATUSES]


# ---------------------------------------------------------------------------
# in the course's environment
# ---------------------------------------------------------------------------


def test_doctor_passes_here(run_courseware):
    code, out, _ = run_courseware(["doctor"])
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("Checking this machine for the course (") and sys.executable in lines[0]
    statuses = {line.split()[0] for line in lines[1:-1]}
    assert statuses <= {"ok", "warn"}
    for name in ("python:", "torch:", "transformers:", "tokenizers:", "scikit-learn:", "pandas:", "ipywidgets:",
                 "device:", "packaged model:", "SMS spam data:", "question titles:", "widgets:"):
        assert any(line.split(maxsplit=1)[1].startswith(name) for line in lines[1:-1]), name
    assert "loads offline" in out and "checksum ok" in out and "The course will run here" in out


def test_doctor_fails_when_a_check_fails(monkeypatch, run_courseware):
    def broken_data():
        return [doctor._CheckResult(doctor.FAIL, "SMS spam data", "corrupted", "pip install --force-reinstall x")]

    def crashing_check():
        raise RuntimeError("the widgets package is broken")

    monkeypatch.setattr(doctor, "_DOCTOR_CHECKS", [doctor._check_python, broken_data, crashing_check])
    code, out, _ = run_courseware(["doctor"])
    assert code == 1
    assert "FAIL  SMS spam data: corrupted. Fix: pip install --force-reinstall x" in out
    assert "FAIL  crashing check: RuntimeError: the widgets package is broken. Fix:" in out
    assert "2 checks failed" in out


def test_a_check_that_needs_a_missing_package_fails_with_the_fix(monkeypatch, run_courseware):
    def _check_device():
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(doctor, "_DOCTOR_CHECKS", [doctor._check_python, _check_device])
    code, out, err = run_courseware(["doctor"])
    assert code == 1 and err == ""
    assert "FAIL  device: not checked: torch is not installed. Fix: bash course.sh install" in out


def test_doctor_python_and_widget_rules(monkeypatch):
    assert doctor._check_python((3, 11, 7))[0].status == doctor.OK
    assert doctor._check_python((3, 13, 1))[0].status == doctor.WARN
    assert doctor._check_python((3, 9, 18))[0].status == doctor.FAIL
    versions = {"ipywidgets": "8.1.5", "jupyterlab": "4.2.0", "jupyterlab_widgets": None}
    monkeypatch.setattr(doctor, "_package_version", versions.get)
    result = doctor._check_widgets()[0]
    assert result.status == doctor.FAIL and "jupyterlab_widgets" in result.fix
    versions.update({"ipywidgets": "7.6.5", "jupyterlab_widgets": "1.1.0"})
    assert doctor._check_widgets()[0].status == doctor.FAIL
    versions.update({"ipywidgets": "7.7.1", "widgetsnbextension": "3.6.1"})
    assert doctor._check_widgets()[0].status == doctor.OK


def test_doctor_outside_the_course_environment_says_so_first(tmp_path, monkeypatch):
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    note = doctor._environment_note(prefix="/usr", base_prefix="/usr", course_venv=tmp_path / ".venv")
    assert note.startswith("Note: this is the system Python") and "bash course.sh doctor" in note
    assert f"{venv_python} -m courseware doctor" in note
    fresh = doctor._environment_note(prefix="/usr", base_prefix="/usr", course_venv=tmp_path / "missing")
    assert "bash course.sh install" in fresh
    assert doctor._environment_note(prefix="/work/.venv", base_prefix="/usr") is None  # inside a virtual environment


HEAVY = ("torch", "transformers", "pandas", "sklearn", "numpy")

WATCH_HEAVY_IMPORTS = textwrap.dedent(f"""
    import sys

    class Watch:  # says on stdout when a heavy package is first imported, then lets the import go on
        seen = set()

        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in {HEAVY!r} and top not in self.seen:
                self.seen.add(top)
                print(f"<import {{top}}>", flush=True)
            return None

    sys.meta_path.insert(0, Watch())
    from courseware.cli import main

    sys.exit(main(["doctor"]))
""")


def test_nothing_heavy_is_imported_before_doctor_says_where_it_runs():
    """The command, the package and doctor's module import no torch, pandas or transformers; the first
    line says where the checks run, and only the checks that need those packages import them."""
    imported = subprocess.run([sys.executable, "-c", "import sys, courseware, courseware.cli, courseware.doctor; "
                               f"print(sorted(set(sys.modules) & set({HEAVY!r})))"],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert imported.stdout.strip() == "[]", imported.stdout + imported.stderr
    done = subprocess.run([sys.executable, "-c", WATCH_HEAVY_IMPORTS], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Checking this machine for the course"), done.stdout[:2000]
    first_heavy = next(index for index, line in enumerate(lines) if line.startswith("<import "))
    assert any(line.startswith("ok    torch:") for line in lines[:first_heavy])  # the package lines came first
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------
# bare Pythons: the course is not installed (yet)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment with no packages at all: ``python3 -m venv --without-pip``."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import yaml"], capture_output=True, cwd=folder).returncode != 0
    return python


def run_bare(python: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m courseware ARGS`` from the repository root, nothing of the test environment inherited."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run([str(python), "-m", "courseware", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


def test_doctor_in_a_bare_venv_reports_what_is_missing_and_the_fix(bare_python):
    done = run_bare(bare_python, "doctor")
    assert done.returncode == 1
    assert done.stderr == "" and "Traceback" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Checking this machine for the course (") and str(bare_python) in lines[0]
    assert "FAIL  torch: not installed. Fix: bash course.sh install" in done.stdout
    assert "FAIL  pandas: not installed. Fix: bash course.sh install" in done.stdout
    assert "FAIL  device: not checked: torch is not installed. Fix: bash course.sh install" in done.stdout
    assert "FAIL  data: not checked: pandas is not installed. Fix: bash course.sh install" in done.stdout
    assert lines[-1].endswith("failed: fix them before running the notebooks.")
    assert all(line.split()[0] in CHECK_LINE_STATUSES for line in lines[1:-1]), done.stdout


def test_doctor_cut_short_by_a_closed_pipe_ends_quietly(bare_python):
    """`python -m courseware doctor | head -1` ends without a BrokenPipeError traceback."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    process = subprocess.Popen([str(bare_python), "-m", "courseware", "doctor"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader has gone before the first line
    stderr = process.communicate(timeout=300)[1].decode()
    assert stderr == "" and process.returncode == 141
    piped = subprocess.run(f"'{bare_python}' -m courseware doctor | head -1", shell=True, capture_output=True,
                           text=True, cwd=ROOT, env=env, timeout=300)
    assert piped.stdout.startswith("Checking this machine for the course") and piped.stdout.count("\n") == 1
    assert piped.stderr == ""


@pytest.mark.parametrize("kind", ["system-site-packages venv", "system python"])
def test_doctor_in_other_bare_pythons_reports_without_a_traceback(kind, tmp_path):
    """A venv that sees the system's packages, and the system's own Python (where one lacks torch)."""
    if kind == "system python":
        python = Path("/usr/bin/python3")
        if not python.exists() or subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode == 0:
            pytest.skip("no system Python without torch here")
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(tmp_path / "v")],
                       check=True, timeout=120)
        python = tmp_path / "v" / "bin" / "python"
    done = run_bare(python, "doctor")
    assert done.returncode in (0, 1) and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    if kind == "system python":
        assert lines[0].startswith("Note: this is the system Python") and "bash course.sh" in lines[0]
        lines = lines[1:]
    assert lines[0].startswith("Checking this machine for the course (")
    assert all(line.split()[0] in CHECK_LINE_STATUSES for line in lines[1:-1]), done.stdout
