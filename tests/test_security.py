"""Security of what ships and what learners run: ruff's bandit rules, and how models are loaded.

`ruff check` (configured under [tool.ruff] in pyproject.toml) applies flake8-bandit's rules (S)
to course_utils/, courseware/, scripts/, benchmarks/ and the notebooks' code cells: no eval or exec, no pickle,
no unsafe YAML loading, no shell commands, and so on. A line that must do one of these says why
in a `# noqa: S...` comment. What ruff has no rule for is checked here on the syntax tree: model
weights load only from safetensors and never with remote code, and torch.load only with
weights_only=True.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]


def ruff_check(*args: str) -> subprocess.CompletedProcess:
    """`ruff check ARGS` from the repository root, with the project's configuration."""
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed: pip install -e '.[test]' installs it")
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# --- ruff ---------------------------------------------------------------------------------------

def test_ruff_finds_nothing():
    result = ruff_check()
    assert result.returncode == 0, (
        "ruff's security rules flag the code below. Fix the code, or where it is safe say why on the "
        "line with `# noqa: RULE - reason`:\n" + result.stdout + result.stderr)


def test_ruff_looks_at_the_package_the_scripts_and_the_notebooks():
    checked = {Path(line.strip()).resolve().relative_to(ROOT).as_posix()
               for line in ruff_check("--show-files").stdout.splitlines() if line.strip()}
    assert {"course_utils/models.py", "courseware/quiz.py", "scripts/sync_colab.py", "benchmarks/train_speed.py",
            "notebooks/04_training_loop.ipynb"} <= checked


@pytest.mark.parametrize(("code", "rule"), [
    ("eval(text)", "S307"),
    ("exec(text)", "S102"),
    ("import pickle\npickle.loads(text)", "S301"),
    ("import yaml\nyaml.load(text, Loader=yaml.Loader)", "S506"),
    ("import yaml\nyaml.unsafe_load(text)", "TID251"),
    ("import yaml\nyaml.full_load(text)", "TID251"),
    ("import subprocess\nsubprocess.run(text, shell=True)", "S602"),
])
def test_ruff_flags_the_hazards(tmp_path, code, rule):
    path = tmp_path / "hazard.py"
    path.write_text(f"text = input()\n{code}\n", encoding="utf-8")
    result = ruff_check("--config", str(ROOT / "pyproject.toml"), "--output-format", "json", str(path))
    assert rule in {finding["code"] for finding in json.loads(result.stdout)}, result.stdout


# --- loading models: what ruff cannot see -------------------------------------------------------

def package_sources() -> dict[str, str]:
    """Every module of both packages: course_utils (the library) and courseware (the course's machinery)."""
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
            for package in ("course_utils", "courseware") for path in sorted((ROOT / package).rglob("*.py"))}


def notebook_and_script_sources() -> dict[str, str]:
    """Code cells of every notebook (shell and magic lines left out), the scripts and the benchmarks."""
    sources = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = ["\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("!", "%")))
                 for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        sources[f"notebooks/{path.name}"] = "\n\n".join(cells)
    for folder in ("scripts", "benchmarks"):
        sources.update({f"{folder}/{path.name}": path.read_text(encoding="utf-8")
                        for path in sorted((ROOT / folder).glob("*.py"))})
    return sources


def loading_problems(sources: dict[str, str], explicit_no_remote_code: bool) -> tuple[list[str], int]:
    """(problems, number of model loads checked): a model's from_pretrained must say use_safetensors=True
    (and, with ``explicit_no_remote_code``, trust_remote_code=False); no call may pass trust_remote_code
    other than False; torch.load must say weights_only=True."""
    problems, model_loads = [], 0
    for name, source in sources.items():
        for call in ast.walk(ast.parse(source, filename=name)):
            if not isinstance(call, ast.Call):
                continue
            function = ast.unparse(call.func)
            keywords = {keyword.arg: ast.unparse(keyword.value) for keyword in call.keywords}
            if keywords.get("trust_remote_code", "False") != "False":
                problems.append(f"{name}: {function}(trust_remote_code={keywords['trust_remote_code']})")
            if function == "torch.load" and keywords.get("weights_only") != "True":
                problems.append(f"{name}: torch.load without weights_only=True")
            if not function.endswith(".from_pretrained") or "Tokenizer" in function or "Config" in function:
                continue  # tokenizers and configurations hold no weights
            model_loads += 1
            if keywords.get("use_safetensors") != "True":
                problems.append(f"{name}: {function} without use_safetensors=True")
            if explicit_no_remote_code and keywords.get("trust_remote_code") != "False":
                problems.append(f"{name}: {function} without trust_remote_code=False")
    return problems, model_loads


@pytest.mark.parametrize(("sources", "explicit_no_remote_code", "at_least"), [
    (package_sources, True, 2),  # the package says trust_remote_code=False on every model load
    (notebook_and_script_sources, False, 5),
], ids=["package", "notebooks and scripts"])
def test_models_load_only_safetensors_and_no_remote_code(sources, explicit_no_remote_code, at_least):
    problems, model_loads = loading_problems(sources(), explicit_no_remote_code)
    assert not problems, "\n".join(problems)
    assert model_loads >= at_least  # the check did look at the loads that are there


@pytest.mark.parametrize("code", [
    "AutoModel.from_pretrained(path)",
    "AutoModel.from_pretrained(path, use_safetensors=True, trust_remote_code=True)",
    "AutoTokenizer.from_pretrained(path, trust_remote_code=True)",
    "torch.load(path)",
    "torch.load(path, weights_only=False)",
])
def test_the_loading_check_catches_unsafe_loads(code):
    problems, _ = loading_problems({"example.py": code}, explicit_no_remote_code=False)
    assert len(problems) == 1, problems


# --- quiz files are data, never code --------------------------------------------------------------

def test_the_quiz_yaml_loader_is_a_safe_loader():
    import yaml

    from courseware.quiz import _strict_yaml_loader

    assert issubclass(_strict_yaml_loader(), yaml.SafeLoader)


def test_a_quiz_file_is_never_executed(tmp_path):
    from courseware.quiz import show_quiz

    marker = tmp_path / "pwned"
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(f'title: !!python/object/apply:os.system ["touch {marker}"]\nitems: []\n', encoding="utf-8")
    with pytest.raises(CourseError):
        show_quiz(hostile)
    assert not marker.exists()
