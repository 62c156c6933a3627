"""JupyterLab as a person starts it: ``jupyter lab`` on loopback, checked through its REST API.

The server gets a random free port, a token and throwaway Jupyter runtime/config/data folders;
it is stopped (terminate, then kill) whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import websocket  # websocket-client, a dependency of jupyter_server

import hubspoke

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
NOTEBOOKS = {
    "service_report.ipynb",
    "cross_site.ipynb",
    "realist_synthesis.ipynb",
    "coding_quality.ipynb",
    "local_context.ipynb",
}
STARTUP_SECONDS = 60
KERNEL_SECONDS = 180
POLL_SECONDS = 5


def free_port() -> int:
    """A port nothing listens on now (bind to port 0 on loopback and let the OS choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Lab:
    """A running ``jupyter lab`` and a tiny client for its REST API."""

    def __init__(self, process: subprocess.Popen, port: int, token: str, log: Path) -> None:
        self.process = process
        self.base = f"http://{HOST}:{port}"
        self.port = port
        self.token = token
        self.log = log

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)

    def wait_until_ready(self, seconds: float) -> dict:
        deadline = time.monotonic() + seconds
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log_text()}"
                )
            try:
                status, body = self.request("GET", "/api/status", timeout=2)
                if status == 200:
                    return body
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last_error = exc
            time.sleep(0.25)
        pytest.fail(f"jupyter lab did not answer in {seconds}s ({last_error}):\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def stop(process: subprocess.Popen) -> None:
    """Terminate, then kill if it will not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture
def lab(tmp_path: Path, synthetic_raw: Path, synthetic_processed: Path):
    """``jupyter lab`` on 127.0.0.1 with a random port and token, stopped whatever happens."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
        HUBSPOKE_RAW_DIR=str(synthetic_raw),
        HUBSPOKE_PROCESSED_DIR=str(synthetic_processed),
        HUBSPOKE_FIGURES_DIR=str(tmp_path / "figures"),
    )
    log = tmp_path / "jupyter-lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "jupyter"),
                "lab",
                "--no-browser",
                f"--ServerApp.ip={HOST}",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={REPO}",
                "--ServerApp.open_browser=False",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                # CI and this machine run as root; jupyter refuses root without this.
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Lab(process, port, token, log)
    finally:
        stop(process)


def message(msg_type: str, content: dict) -> tuple[str, str]:
    """A kernel message for the websocket channel, as JSON, with its new msg_id."""
    msg_id = uuid.uuid4().hex
    body = {
        "header": {
            "msg_id": msg_id,
            "username": "test",
            "session": uuid.uuid4().hex,
            "msg_type": msg_type,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(body)


def next_message(ws: websocket.WebSocket, deadline: float) -> dict | None:
    """The next kernel message, or None when none came before ``deadline`` or within a poll.

    Frames are read one at a time so the deadline holds: the server pings every 30 s, and
    ``ws.recv()`` answers pings itself and waits on, so a socket timeout alone never fires.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    ws.settimeout(min(remaining, POLL_SECONDS))
    try:
        opcode, frame = ws.recv_data_frame(True)
    except websocket.WebSocketTimeoutException:
        return None
    if opcode != websocket.ABNF.OPCODE_TEXT:
        return None
    return json.loads(frame.data)


def kernel_answers(ws: websocket.WebSocket, deadline: float) -> bool:
    """Ask for kernel_info until the kernel answers, as Jupyter's own clients do on connect."""
    while time.monotonic() < deadline:
        msg_id, request = message("kernel_info_request", {})
        ws.send(request)
        ask_again = min(time.monotonic() + POLL_SECONDS * 2, deadline)
        while time.monotonic() < ask_again:
            reply = next_message(ws, ask_again)
            if reply is not None and reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True
    return False


def execute(lab: Lab, kernel_id: str, code: str, seconds: float) -> tuple[str, dict]:
    """Run ``code`` on a kernel through its websocket channel; returns (stdout, execute_reply content).

    Every wait is bounded by ``seconds`` in all: a kernel that never answers fails the test
    with the server's log instead of hanging it.
    """
    deadline = time.monotonic() + seconds
    ws = websocket.create_connection(
        f"ws://{HOST}:{lab.port}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {lab.token}"],
        timeout=seconds,
    )
    try:
        if not kernel_answers(ws, deadline):
            pytest.fail(f"the kernel did not answer kernel_info in {seconds}s:\n{lab.log_text()}")
        msg_id, request = message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        ws.send(request)
        stdout: list[str] = []
        reply: dict | None = None
        idle = False
        # The reply may come before the last stream message: read until the kernel is idle.
        while not (reply is not None and idle) and time.monotonic() < deadline:
            received = next_message(ws, deadline)
            if received is None or received.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = received["msg_type"], received["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                stdout.append("\n".join(content["traceback"]))
            elif kind == "execute_reply":
                reply = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        if reply is None:
            pytest.fail(f"no execute_reply in {seconds}s:\n{lab.log_text()}")
        return "".join(stdout), reply
    finally:
        ws.close()


@pytest.mark.slow
def test_jupyterlab_lists_the_notebooks_and_runs_hubspoke_in_a_kernel(lab: Lab):
    status = lab.wait_until_ready(STARTUP_SECONDS)
    assert "started" in status

    # The lab front end itself is served.
    code, _ = lab.request("GET", "/lab/api/settings")
    assert code == 200

    # The notebooks folder lists all five notebooks.
    code, listing = lab.request("GET", "/api/contents/notebooks")
    assert code == 200
    names = {item["name"] for item in listing["content"] if item["type"] == "notebook"}
    assert names >= NOTEBOOKS, names

    # Without the token the API refuses.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{lab.base}/api/contents/notebooks", timeout=5)
    assert refused.value.code == 403

    # A kernel starts, imports hubspoke and prints its version.
    code, kernel = lab.request("POST", "/api/kernels", {"name": "python3"}, timeout=30)
    assert code == 201
    try:
        output, reply = execute(
            lab, kernel["id"], "import hubspoke; print(hubspoke.__version__)", KERNEL_SECONDS
        )
        assert reply["status"] == "ok", output
        assert output.strip() == hubspoke.__version__
    finally:
        code, _ = lab.request("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
    assert code == 204
    _, kernels = lab.request("GET", "/api/kernels")
    assert kernels == []

    # Shut the server down through its API and see it go.
    code, _ = lab.request("POST", "/api/shutdown")
    assert code in (200, 202, 204)
    try:
        lab.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("jupyter lab did not stop after /api/shutdown")
