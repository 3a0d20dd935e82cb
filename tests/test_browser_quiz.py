"""A learner takes a quiz in JupyterLab with the mouse, in a real headless Chromium.

Starts JupyterLab on a free localhost port (random token, temporary root folder holding
one notebook with the quiz cell), opens the notebook in Debian's ``/usr/bin/chromium``
through Playwright, runs the cell, picks a wrong answer, presses Check, reads the
feedback, picks the right answer, presses Check again and reads the feedback and the
score from the page. The server is always stopped.

CI installs what it needs with ``apt-get install -y chromium`` (the Python package
``playwright`` drives it; no Playwright browser download is needed).

``COURSE_LAB_PYTHON=/path/to/python`` runs JupyterLab and the kernel from another
environment, e.g. one with ipywidgets 7.7 and JupyterLab 3.6 (Colab's widget version);
the course is put on its ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from courseware.quiz import _load_quiz, _shuffled_options

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUIZ = "02_logits_to_predictions"
ITEM = "argmax-dim1"
STEP_TIMEOUT_MS = 30_000
SERVER_START_S = 45
REPO = Path(__file__).resolve().parents[1]
LAB_PYTHON = os.environ.get("COURSE_LAB_PYTHON", sys.executable)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_notebooks(folder: Path) -> None:
    """quiz_check.ipynb: the quiz cell, never run. quiz_saved.ipynb: the same cell with the output
    a committed course notebook stores (no widget state), as a learner opens it from git."""
    import nbformat

    from courseware.quiz import _QuizView

    for name, outputs in [("quiz_check", []), ("quiz_saved", [nbformat.v4.new_output(
            "display_data", data=_QuizView(_load_quiz(QUIZ))._repr_mimebundle_())])]:
        notebook = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell(f'from courseware.quiz import show_quiz\nshow_quiz("{QUIZ}")')
        cell.outputs = outputs
        notebook.cells = [cell]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / f"{name}.ipynb")


def _quiet_lab_settings(settings_dir: Path) -> None:
    """No news or update toasts over the page."""
    folder = settings_dir / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True)
    (folder / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def _wait_for_server(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the server and the kernel it started, nothing else
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """(base url, token) of a JupyterLab serving a temporary folder with the quiz notebooks."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the Python package playwright is missing (pip install playwright)")
    if LAB_PYTHON == sys.executable:
        pytest.importorskip("jupyterlab", reason="jupyterlab is missing (pip install jupyterlab)")
    tmp_path = tmp_path_factory.mktemp("browser")
    root = tmp_path / "lab"
    root.mkdir()
    _write_notebooks(root)
    settings = tmp_path / "settings"
    _quiet_lab_settings(settings)
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    if LAB_PYTHON != sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            [LAB_PYTHON, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(process, f"{base}/api/status?token={token}", log)
        yield base, token
    finally:
        _stop(process)


@contextmanager
def _notebook_page(jupyterlab, notebook: str):
    """A headless Chromium page showing ``notebook`` in JupyterLab; the browser is always closed."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    base, token = jupyterlab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.goto(f"{base}/lab/tree/{notebook}?token={token}")
            yield page
        finally:
            browser.close()


def test_learner_answers_wrong_then_right_with_the_mouse(jupyterlab):
    from playwright.sync_api import expect

    quiz = _load_quiz(QUIZ)
    item = quiz.item(ITEM)
    shown = _shuffled_options(item)
    right = next(option for option in shown if option.id in item.answers)
    wrong = next(option for option in shown if option.id not in item.answers)
    label = {option.id: f"{'ABCDEFGH'[index]}. {option.text.strip('`')}" for index, option in enumerate(shown)}
    scored = sum(1 for quiz_item in quiz.items if quiz_item.scored)

    with _notebook_page(jupyterlab, "quiz_check.ipynb") as page:
        expect(page.get_by_text(re.compile(r"\| Idle$"))).to_be_visible()  # the kernel is ready
        page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
        page.keyboard.press("Shift+Enter")

        card = page.locator(f".course-quiz-item-{ITEM}")
        expect(card).to_be_visible()
        feedback = card.locator(".course-quiz-feedback")

        card.locator("label", has_text=label[wrong.id]).click()
        card.get_by_role("button", name="Check").click()
        expect(feedback).to_contain_text("Not quite")
        expect(feedback).to_contain_text(wrong.feedback.split("`")[0][:30])

        card.locator("label", has_text=label[right.id]).click()
        expect(feedback).to_have_text("")  # changing the answer clears the old feedback
        card.get_by_role("button", name="Check").click()
        expect(feedback).to_contain_text("Correct")
        expect(feedback).to_contain_text("argmax per row")  # the explanation follows a right answer
        expect(page.locator(".course-quiz-score")).to_contain_text(f"Score: 1/{scored} (0 on the first try)")

        card.get_by_role("button", name="Hint").click()
        expect(card.locator(".course-quiz-hint")).to_contain_text(item.hint[:30])


def test_a_saved_quiz_shows_static_with_answers_folded(jupyterlab):
    """A committed notebook opened before running: JupyterLab shows the static quiz (the notebook
    is not trusted and holds no widget state), and the answers open with a click."""
    from playwright.sync_api import expect

    quiz = _load_quiz(QUIZ)
    assert quiz.items[0].id == ITEM
    with _notebook_page(jupyterlab, "quiz_saved.ipynb") as page:
        static = page.locator("div.course-quiz-item", has_text="Question 1 of")  # the first item is ITEM
        expect(static).to_contain_text("predictions.argmax(dim=1)")
        answer = static.locator("details", has=page.locator("summary", has_text="Answer"))
        expect(answer.get_by_text("Answer:")).to_be_hidden()
        answer.locator("summary").click()
        expect(answer.get_by_text("Answer:")).to_be_visible()
        expect(answer).to_contain_text(quiz.item(ITEM).common_mistakes[0])
