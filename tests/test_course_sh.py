"""course.sh, as a workshop runs it: a typo is refused at once, and once installed it needs no network."""

from __future__ import annotations

import os
import re
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


# --- which torch course.sh installs, decided without installing anything ---------------------------

FAKE_PYTHON_WITHOUT_TORCH = """#!/usr/bin/env bash
# Stands in for a python without torch (with torch when FAKE_TORCH=1): pip is only logged, and fails for
# PyTorch's CPU index when FAKE_CPU_INDEX_DOWN=1; the rest runs for real.
case "$*" in
  "-m pip "*)
    echo "pip ${*:3}" >> "$FAKE_LOG"
    case "$*" in *download.pytorch.org*) [ "$FAKE_CPU_INDEX_DOWN" = "1" ] && exit 1 ;; esac
    exit 0 ;;
  "-c import sys; print(sys.prefix)") echo "$FAKE_PREFIX"; exit 0 ;;
  "-c "*torch*) [ "$FAKE_TORCH" = "1" ] && { echo "2.13.0+cu128"; exit 0; }; exit 1 ;;
esac
exec "$REAL_PYTHON" "$@"
"""
TORCH_VERSION = re.search(r'^TORCH_VERSION="([^"]+)"', (ROOT / "course.sh").read_text(), re.MULTILINE).group(1)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_commands(tmp_path: Path, system: str, nvidia_smi: str | None, **env: str) -> tuple[list[str], str]:
    """The pip commands `course.sh install` runs for torch, with `uname -s` printing system and nvidia-smi
    exiting with that status ("absent": no nvidia-smi stub), and its output."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text(FAKE_PYTHON_WITHOUT_TORCH)
    (fake / "uname").write_text(f"#!/usr/bin/env bash\necho {system}\n")
    if nvidia_smi is not None:
        (fake / "nvidia-smi").write_text(f"#!/usr/bin/env bash\necho nvidia-smi >> \"$FAKE_LOG\"\nexit {nvidia_smi}\n")
    for stub in fake.iterdir():
        stub.chmod(0o755)
    (tmp_path / "prefix").mkdir()
    log = tmp_path / "log"
    log.write_text("")
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(fake / "python"),
           "REAL_PYTHON": sys.executable, "FAKE_PREFIX": str(tmp_path / "prefix"), "FAKE_LOG": str(log),
           "FAKE_TORCH": "0", "FAKE_CPU_INDEX_DOWN": "0", "TORCH_SPEC": "", **env}
    done = course_sh("install", extra_env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    pip = [line for line in log.read_text().splitlines() if line.startswith("pip ")]
    assert pip[-2:] == ["pip install --disable-pip-version-check -q -r requirements.txt",
                        "pip install --disable-pip-version-check -q --no-deps -e ."], pip
    return pip[:-2], done.stdout


NO_GPU = ["9"] + (["absent"] if shutil.which("nvidia-smi") is None else [])


@pytest.mark.parametrize("nvidia_smi", NO_GPU)
def test_linux_without_an_nvidia_gpu_gets_the_cpu_build_with_its_progress_shown(tmp_path, nvidia_smi):
    commands, out = torch_commands(tmp_path, "Linux", None if nvidia_smi == "absent" else nvidia_smi)
    assert commands == [
        f"pip index versions torch --isolated --index-url {CPU_INDEX} --timeout 5 --retries 0",
        f"pip install --disable-pip-version-check --index-url {CPU_INDEX} torch=={TORCH_VERSION}",  # no -q
    ]
    assert f"no NVIDIA GPU here, so installing the CPU build of torch=={TORCH_VERSION}" in out


def test_when_the_cpu_index_cannot_be_reached_the_default_index_is_used(tmp_path):
    commands, out = torch_commands(tmp_path, "Linux", "9", FAKE_CPU_INDEX_DOWN="1")
    assert commands == [
        f"pip index versions torch --isolated --index-url {CPU_INDEX} --timeout 5 --retries 0",
        f"pip install --disable-pip-version-check torch=={TORCH_VERSION}",
    ]
    assert "PyTorch's CPU index could not be reached or used" in out


@pytest.mark.parametrize(("system", "nvidia_smi"), [("Linux", "0"), ("Darwin", None), ("MINGW64_NT-10.0", None)])
def test_with_an_nvidia_gpu_and_on_macos_and_windows_the_default_index(tmp_path, system, nvidia_smi):
    commands, out = torch_commands(tmp_path, system, nvidia_smi)
    assert commands == [f"pip install --disable-pip-version-check torch=={TORCH_VERSION}"]
    assert f"installing torch=={TORCH_VERSION} from the default index" in out


def test_torch_spec_overrides_the_choice(tmp_path):
    spec = f"torch=={TORCH_VERSION} --index-url https://example.org/whl"
    commands, out = torch_commands(tmp_path, "Linux", "9", TORCH_SPEC=spec)
    assert commands == [f"pip install --disable-pip-version-check {spec}"]
    assert f"installing {spec} (from TORCH_SPEC)" in out


@pytest.mark.parametrize("nvidia_smi", ["0", "9"])
def test_a_torch_already_there_is_kept(tmp_path, nvidia_smi):
    commands, out = torch_commands(tmp_path, "Linux", nvidia_smi, FAKE_TORCH="1")
    assert commands == []
    assert "torch 2.13.0+cu128 already installed; keeping it" in out


# --- lab: the learner's own copies, and a checkout left clean ---------------------------------------

COPIED = ("course.sh", "pyproject.toml", "requirements.txt", ".gitignore", "notebooks", "exercises")


def checkout_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A git checkout of what course.sh needs (committed, clean) and an environment whose python fakes pip."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("outputs", ".ipynb_checkpoints"))
        else:
            shutil.copy(ROOT / name, repo / name)
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the course"]):
        subprocess.run([*git, *command], cwd=repo, check=True, capture_output=True)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text(FAKE_PYTHON)
    (fake / "python").chmod(0o755)
    (tmp_path / "prefix").mkdir()
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix, "PYTHON": str(fake / "python"), "REAL_PYTHON": sys.executable,
           "FAKE_PREFIX": str(tmp_path / "prefix"), "FAKE_LOG": str(tmp_path / "log"), "FAKE_TESTS_STATUS": "0"}
    return repo, env


def git_status(repo: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_exercises_makes_the_learners_own_copies_once_and_never_overwrites_them(tmp_path):
    repo, env = checkout_copy(tmp_path)
    notebooks = sorted(path.name for path in (repo / "notebooks").glob("[0-9]*.ipynb"))
    exercises = sorted(path.name for path in (repo / "exercises").glob("[0-9]*.ipynb"))
    assert notebooks and exercises

    def run() -> str:
        done = subprocess.run(["bash", "course.sh", "exercises"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return [line for line in done.stdout.splitlines() if "my-notebooks/" in line]

    assert run() == [f"course.sh: you work in your own copies in my-notebooks/ ({len(notebooks) + len(exercises)} new); "
                     "they are never overwritten (delete one to get a fresh copy)"]
    own = repo / "my-notebooks"
    assert sorted(path.name for path in (own / "notebooks").iterdir()) == notebooks
    assert sorted(path.name for path in (own / "exercises").iterdir()) == exercises
    assert (own / "exercises" / exercises[0]).read_bytes() == (repo / "exercises" / exercises[0]).read_bytes()
    mine = own / "exercises" / exercises[0]
    mine.write_text("a learner's work")
    (own / "notebooks" / notebooks[-1]).unlink()
    assert "(1 new)" in run()[0]
    assert mine.read_text() == "a learner's work"  # never overwritten
    assert (own / "notebooks" / notebooks[-1]).read_bytes() == (repo / "notebooks" / notebooks[-1]).read_bytes()
    assert git_status(repo) == ""  # my-notebooks/ is git-ignored


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(base: str, token: str, method: str, path: str, body: dict | None = None):
    """One call of the Jupyter server's REST API: (status, parsed JSON or None)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost: never through a proxy
    try:
        with opener.open(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, None
    except urllib.error.URLError:  # not listening yet
        return 0, None


def execute(base: str, token: str, kernel_id: str, codes: list[str]) -> list[dict]:
    """Run each code in the kernel through the server's websocket, as JupyterLab does; each cell's reply content
    and outputs ({"status": ..., "outputs": [...]}). Stops at the first error, as Run All does."""
    import asyncio
    import json
    import uuid

    from tornado.websocket import websocket_connect

    async def run() -> list[dict]:
        url = base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels?token={token}"
        connection = await websocket_connect(url)
        session, results = uuid.uuid4().hex, []
        for code in codes:
            msg_id = uuid.uuid4().hex
            await connection.write_message(json.dumps({
                "header": {"msg_id": msg_id, "username": "learner", "session": session, "msg_type": "execute_request",
                           "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            outputs, status, idle = [], None, False
            while status is None or not idle:
                message = json.loads(await asyncio.wait_for(connection.read_message(), timeout=300))
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind == "execute_reply":
                    status = message["content"]["status"]
                elif kind == "status" and message["content"]["execution_state"] == "idle":
                    idle = True
                elif kind in {"stream", "error", "execute_result", "display_data"}:
                    outputs.append({"output_type": kind, **message["content"]})
            results.append({"status": status, "outputs": outputs})
            if status != "ok":
                break
        connection.close()
        return results

    return asyncio.run(run())


@pytest.mark.slow  # JupyterLab starts, and a kernel runs notebook 01's cells up to its first exercise
def test_lab_serves_only_the_learners_copies_and_leaves_the_checkout_clean(tmp_path):
    """`course.sh lab` as a learner meets it: the server opens on their own copies; a notebook is opened,
    saved the way JupyterLab autosaves it (kernelspec and language_info rewritten) and run, and it writes
    outputs; then `git status --porcelain` is as clean as before."""
    import time

    import nbformat

    repo, env = checkout_copy(tmp_path)
    env.update({"COURSE_FAST": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "OMP_NUM_THREADS": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
                "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime")})
    assert git_status(repo) == ""
    port, token = free_port(), "course-test-token"
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(["bash", "course.sh", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                            f"--IdentityProvider.token={token}"], cwd=repo, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while api(base, token, "GET", "/api/status")[0] != 200:
            assert lab.poll() is None and time.monotonic() < deadline, (tmp_path / "lab.log").read_text()[-3000:]
            time.sleep(1)
        status, root = api(base, token, "GET", "/api/contents")
        assert status == 200 and {item["name"] for item in root["content"]} >= {"notebooks", "exercises"}
        assert not {"course.sh", "pyproject.toml"} & {item["name"] for item in root["content"]}  # only the copies
        name = next(path.name for path in (repo / "exercises").glob("01_*.ipynb"))
        path = f"exercises/{name}"
        status, opened = api(base, token, "GET", f"/api/contents/{path}")
        assert status == 200 and opened["type"] == "notebook"
        notebook = opened["content"]
        notebook["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"  # what opening 02 rewrote
        notebook["metadata"]["language_info"] = {"name": "python", "version": sys.version.split()[0]}
        assert api(base, token, "PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json",
                                                                   "content": notebook})[0] == 200
        assert api(base, token, "POST", f"/api/contents/{path}/checkpoints")[0] == 201
        status, session = api(base, token, "POST", "/api/sessions", {"path": path, "type": "notebook", "name": name,
                                                                       "kernel": {"name": "python3"}})
        assert status == 201, status
        cells = nbformat.from_dict(notebook).cells
        first = next(index for index, cell in enumerate(cells) if "exercise" in cell.metadata.get("tags", []))
        codes = [cell.source for cell in cells[:first + 1] if cell.cell_type == "code"]
        codes.insert(-1, 'from pathlib import Path\nPath("outputs").mkdir(exist_ok=True)\n'
                         'Path("outputs/probe.txt").write_text("what a notebook saves")')  # as 04 and 09 save
        results = execute(base, token, session["kernel"]["id"], codes)
        assert [result["status"] for result in results] == ["ok"] * (len(codes) - 1) + ["error"], results[-1]
        error = results[-1]["outputs"][-1]
        assert error["output_type"] == "error" and len(error["traceback"]) == 1  # the unanswered exercise: one line
        assert (repo / "my-notebooks" / "exercises" / "outputs" / "probe.txt").is_file()
        api(base, token, "DELETE", f"/api/sessions/{session['id']}")
    finally:
        os.killpg(lab.pid, 15)
        lab.wait(timeout=60)
        log.close()
    assert "you work in your own copies in my-notebooks/" in (tmp_path / "lab.log").read_text()
    assert git_status(repo) == "", "opening and running a notebook changed the checkout"
    saved = nbformat.read(repo / "my-notebooks" / path, as_version=4)
    assert saved.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"  # the save went to the copy
