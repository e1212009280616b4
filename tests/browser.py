"""Real-browser test helpers: a throwaway JupyterLab server and Debian's chromium.

The server runs headless on a free loopback port with a random token, in its own process
group, with tmp settings (widget state saved into notebooks, no news or update checks), tmp
runtime/config/workspaces dirs, and a ``python3`` kernelspec that is this venv's python.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM_HINT = (
    "Debian's chromium is needed for the browser tests: run `apt-get install chromium` "
    "(Playwright's own browser downloads are not used)."
)

#: JupyterLab user settings, by plugin: save widget state into notebooks, no popups, no
#: network, every cell rendered (no windowing) so that the widgets are in the DOM, and no
#: blank space after the last cell (screenshots show the notebook, nothing more).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "scrollPastEnd": False},
}


def chromium_path() -> str:
    """The chromium executable, or a test failure that says how to install it."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(f"chromium not found on PATH. {CHROMIUM_HINT}", pytrace=False)
    return path


class Chromium:
    """Debian's chromium driven by Playwright, launched on first use (so that a missing
    chromium fails the test that needs it, rather than erroring in a fixture)."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def browser(self) -> Browser:
        if self._browser is None:
            executable = chromium_path()
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"], headless=True)
        return self._browser

    def close(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")


def write_notebook(path: Path, sources: list[str]) -> Path:
    """A notebook of code cells (no outputs) on the ``python3`` kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, str(path))
    return path


class JupyterLab:
    """A JupyterLab server serving ``root`` (``base`` holds its private dirs)."""

    def __init__(self, base: Path, root: Path, *, start_timeout: float = 90.0) -> None:
        self.base = base
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self._proc: subprocess.Popen | None = None
        self._start(start_timeout)

    # -- lifecycle ------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        settings = self.base / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            _write_json(settings / f"{plugin}.jupyterlab-settings", values)
        # a python3 kernelspec that is this interpreter, found before any other python3
        jupyter_path = self.base / "jupyter-path"
        _write_json(jupyter_path / "kernels" / "python3" / "kernel.json", {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": False},
        })
        env = dict(os.environ)
        env.update({
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "lab-workspaces"),
            "JUPYTER_PATH": str(jupyter_path),
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("JUPYTER_TOKEN", None)
        return env

    def _command(self) -> list[str]:
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={self.base / 'lab-settings'}",
            f"--LabApp.workspaces_dir={self.base / 'lab-workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.news_url=None",
        ]
        if hasattr(os, "getuid") and os.getuid() == 0:
            command.append("--allow-root")
        return command

    def _start(self, timeout: float) -> None:
        env = self._environment()
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                self._command(), cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server and everything it started (kernels run in their own sessions)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernels down
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(children, timeout=10)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    # -- REST API -------------------------------------------------------------------------

    def api(self, method: str, path: str, *, timeout: float = 30) -> Any:
        """Call the server's REST API with the token; the decoded JSON body (or None)."""
        request = urllib.request.Request(
            self.url + path, method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> list[str]:
        """Shut every running kernel down (they release the files they hold); their ids."""
        ids = [kernel["id"] for kernel in self.api("GET", "/api/kernels")]
        for kernel_id in ids:
            self.api("DELETE", f"/api/kernels/{kernel_id}", timeout=60)
        return ids

    def lab_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"
