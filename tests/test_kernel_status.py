"""While a cell shows the course's progress bar, the kernel reports itself busy (issue: "Idle" during training).

The course's bar is tqdm.auto's widget. This runs one in a real kernel and reads the kernel's
status messages: none says "idle" until the cell ends, so the bar is not what makes JupyterLab
show "Idle" mid-run. What does (a request on the control channel, such as the debugger's or
JupyterLab's reconnect "nudge", publishes busy/idle of its own: ipykernel #799,
jupyter_client #838) is shown too, so the README's troubleshooting note stays true.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.slow  # starts two kernels

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

BAR_CELL = """
import time
from course_utils.training import _progress_bar
bar = _progress_bar(total=20, enabled=True)
for step in range(20):
    time.sleep(0.1)
    bar.update(1)
bar.close()
"""


def statuses_while_running(send_control_request: bool) -> list[tuple[str, str]]:
    """(execution_state, parent message type) of every status message until the cell's own idle."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        msg_id = client.execute(BAR_CELL)
        started, sent, seen = time.monotonic(), False, []
        while time.monotonic() - started < 60:
            if send_control_request and not sent and time.monotonic() - started > 1.0:
                client.control_channel.send(client.session.msg("kernel_info_request"))
                sent = True
            try:
                message = client.get_iopub_msg(timeout=0.5)
            except Exception:  # queue.Empty: nothing published in this half second
                continue
            if message["msg_type"] == "error":
                pytest.fail(f"the progress-bar cell failed: {message['content']['evalue']}")
            if message["msg_type"] != "status":
                continue
            parent = message["parent_header"]
            seen.append((message["content"]["execution_state"], parent.get("msg_type")))
            if parent.get("msg_id") == msg_id and message["content"]["execution_state"] == "idle":
                return seen
        pytest.fail("the progress-bar cell did not finish within 60 s")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_progress_bar_never_reports_the_kernel_idle_mid_run():
    seen = statuses_while_running(send_control_request=False)
    assert seen[0] == ("busy", "execute_request")
    assert ("idle", "execute_request") == seen[-1]
    assert [state for state, _ in seen[:-1]].count("idle") == 0, seen


def test_a_control_request_mid_run_is_what_publishes_idle():
    seen = statuses_while_running(send_control_request=True)
    assert ("idle", "kernel_info_request") in seen[:-1], seen
