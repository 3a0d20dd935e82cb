"""course.sh, as a workshop runs it: a typo is refused at once, and once installed it needs no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_exercises_land_where_the_lab_shows_them():
    import shutil

    import pytest

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
