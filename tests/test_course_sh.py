"""course.sh, as a workshop runs it: a typo is refused at once, and once installed it needs no network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_INDEX = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple"}  # nothing answers there


def course_sh(*args: str, extra_env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``bash course.sh ARGS`` against the environment running the tests (not a new ./.venv)."""
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix, "PYTHON": sys.executable, **(extra_env or {})}
    return subprocess.run(["bash", str(ROOT / "course.sh"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_a_typo_prints_the_usage_before_installing_anything():
    done = course_sh("tset", timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == "usage: bash course.sh [lab|test|install|doctor|exercises] (got 'tset')"
    assert "install" not in done.stdout  # nothing was installed or checked first


@pytest.mark.slow  # pip, then the doctor's checks
def test_once_installed_it_runs_without_a_package_index():
    first = course_sh("install")  # installs whatever is missing (a no-op where course.sh installed already)
    assert first.returncode == 0, first.stderr[-2000:]
    offline = course_sh("install", extra_env=NO_INDEX)
    assert offline.returncode == 0, offline.stdout[-2000:] + offline.stderr[-2000:]
    assert "everything is installed already" in offline.stdout
    doctor = course_sh("doctor", extra_env={**NO_INDEX, "HF_HUB_OFFLINE": "1"})
    assert "everything is installed already" in doctor.stdout
    assert doctor.returncode == 0, doctor.stdout[-2000:]
    assert f"ok    python: {sys.version.split()[0]}" in doctor.stdout  # the checks ran in this environment
    assert "The course will run here." in doctor.stdout


@pytest.mark.slow  # the command line end to end
def test_exercises_land_where_the_lab_shows_them():
    workshop = ROOT / "workshop"
    if workshop.exists():
        pytest.skip("workshop/ holds a learner's exercise copies; not touching them")
    try:
        done = course_sh("exercises", extra_env=NO_INDEX)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        copies = sorted(path.name for path in workshop.glob("*.ipynb"))
        assert "04_training_loop.ipynb" in copies and len(copies) >= 8
        lab_root = [line for line in (ROOT / "course.sh").read_text().splitlines() if "lab_args=(" in line][0]
        assert '--ServerApp.root_dir="$PWD"' in lab_root  # the lab serves the folder that holds workshop/
        assert "workshop/" in (ROOT / ".gitignore").read_text().splitlines()
    finally:
        shutil.rmtree(workshop, ignore_errors=True)


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python: pip and pytest are only logged, torch is "there"; the rest runs for real.
case "$*" in
  "-m pip "*) echo "pip" >> "$FAKE_LOG"; exit 0 ;;
  "-m pytest"*) echo "pytest ${*:3}" >> "$FAKE_LOG"; exit "$FAKE_TESTS_STATUS" ;;
  "-c import sys; print(sys.prefix)") echo "$FAKE_PREFIX"; exit 0 ;;
  "-c "*torch*) echo "2.13.0"; exit 0 ;;
esac
exec "$REAL_PYTHON" "$@"
"""


@pytest.mark.parametrize("tests_status", [0, 1, 2])
def test_test_runs_tests_and_notebooks_in_one_run_on_every_core(tmp_path, tests_status):
    """`course.sh test`: one pytest run over tests/ and, under nbval, notebooks/, on every core;
    its exit status is pytest's. With arguments, pytest runs with them only."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text(FAKE_PYTHON)
    (fake / "apt-get").write_text("#!/usr/bin/env bash\necho apt-get >> \"$FAKE_LOG\"\n")  # never install chromium here
    for stub in fake.iterdir():
        stub.chmod(0o755)
    (tmp_path / "prefix").mkdir()
    log = tmp_path / "log"
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(fake / "python"),
           "REAL_PYTHON": sys.executable, "FAKE_PREFIX": str(tmp_path / "prefix"), "FAKE_LOG": str(log),
           "FAKE_TESTS_STATUS": str(tests_status)}
    done = course_sh("test", extra_env=env, timeout=60)
    assert done.returncode == tests_status, done.stdout + done.stderr
    steps = [line for line in log.read_text().splitlines() if line.startswith("pytest")]
    assert len(steps) == 1 and steps[0].startswith("pytest -n auto --dist loadscope --nbval ") and \
        steps[0].endswith(" tests"), steps
    notebooks = steps[0].split()[6:-1]
    assert sorted(notebooks) == sorted(f"notebooks/{path.name}" for path in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert notebooks[:2] == ["notebooks/04_training_loop.ipynb", "notebooks/07_metrics_pitfalls.ipynb"]  # 1st, 2nd worker

    log.unlink()
    done = course_sh("test", "-m", "not slow and not browser", extra_env=env, timeout=60)
    assert done.returncode == tests_status
    assert [line for line in log.read_text().splitlines() if line.startswith("pytest")] == [
        "pytest -m not slow and not browser"]
