"""pyproject.toml is the one list of dependencies; requirements.txt and the Colab setup cells follow it.

- requirements.txt is torch, then pyproject's dependencies and its notebooks and test extras, line
  for line (a flat list, so `pip download -r requirements.txt` fills an instructor's wheelhouse);
- torch is in no list of pyproject.toml (course.sh installs it only where it is missing);
- the Colab setup cells install what is missing of the dependencies (scripts/sync_colab.py writes
  them; tests/test_colab_setup.py checks the cells);
- every package course_utils, courseware and scripts/ import is declared, or comes with a declared one.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import sync_colab  # scripts/sync_colab.py (pyproject's pythonpath puts scripts/ on the path)
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch>=2.1"  # the requirements.txt line; pyproject.toml leaves torch out on purpose

# Imported directly, installed (and pinned) by a declared package: import name -> that package.
COMES_WITH = {
    "huggingface_hub": "transformers",
    "safetensors": "transformers",
    "pydantic_core": "pydantic",
    "IPython": "ipywidgets",
}


PROJECT = sync_colab.read_pyproject(ROOT)["project"]
DEPENDENCIES = PROJECT["dependencies"]
EXTRAS = PROJECT["optional-dependencies"]


def normalized(requirement: str) -> str:
    return str(Requirement(requirement))


def distribution(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def requirements_txt() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split(" #", 1)[0].strip() for line in lines if line.strip() and not line.startswith("#")]


def test_requirements_txt_is_torch_then_pyprojects_lists():
    wanted = [TORCH, *DEPENDENCIES, *EXTRAS["notebooks"], *EXTRAS["test"]]
    written = requirements_txt()
    assert [normalized(line) for line in written] == [normalized(line) for line in wanted], (
        "requirements.txt differs from pyproject.toml (torch, the dependencies, the notebooks and test extras). "
        "Write these lines under its header comment:\n" + "\n".join(wanted))


def test_torch_is_left_out_of_pyproject():
    lists = {"dependencies": DEPENDENCIES, **{f"extra {name}": extra for name, extra in EXTRAS.items()}}
    assert not [name for name, entries in lists.items() if "torch" in map(distribution, entries)]
    assert set(EXTRAS) == {"notebooks", "test"}  # what requirements.txt and course.sh install


def test_the_colab_cells_install_the_package_whose_dependencies_these_are():
    assert sync_colab.check_dependencies(ROOT) == DEPENDENCIES
    source = sync_colab.setup_cell_source(sync_colab.read_repository(ROOT))
    assert f'"course-utils @ git+{sync_colab.read_repository(ROOT).url}"' in source
    assert PROJECT["name"] == "course-utils"  # the name the cell installs


def test_sync_colab_refuses_torch_in_the_dependencies(tmp_path):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(text.replace("dependencies = [\n", 'dependencies = [\n    "torch>=2.1",\n', 1),
                                             encoding="utf-8")
    with pytest.raises(sync_colab.CourseError, match="lists torch among the dependencies"):
        sync_colab.check_dependencies(tmp_path)


def third_party_imports(paths: list[Path]) -> dict[str, set[str]]:
    """Top-level module -> files importing it, for modules outside the standard library and this project."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                sibling = (path.parent / f"{top}.py").is_file()  # a script importing another script beside it
                if top not in sys.stdlib_module_names and top not in {"course_utils", "courseware", "torch"} and not sibling:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(("folder", "lists"), [
    ("course_utils", ("dependencies",)),
    ("courseware", ("dependencies",)),
    ("scripts", ("dependencies", "notebooks", "test")),
])
def test_what_is_imported_is_declared(folder, lists):
    declared = {distribution(requirement) for name in lists
                for requirement in (DEPENDENCIES if name == "dependencies" else EXTRAS[name])}
    providers = importlib.metadata.packages_distributions()
    undeclared = []
    for module, files in sorted(third_party_imports(sorted((ROOT / folder).rglob("*.py"))).items()):
        if module in COMES_WITH:
            parent = COMES_WITH[module]
            assert parent in declared
            required = {distribution(line.split(";")[0]) for line in importlib.metadata.requires(parent) or []}
            assert {distribution(name) for name in providers.get(module, [module])} & required, \
                f"{parent} does not install {module} (any more): declare it"
            continue
        if not {distribution(name) for name in providers.get(module, [module])} & declared:
            undeclared.append(f"{module} (imported by {', '.join(sorted(files))})")
    assert not undeclared, f"imported but not declared in pyproject.toml's {' or '.join(lists)}: {undeclared}"
