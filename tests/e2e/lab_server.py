"""Start JupyterLab for the browser tests, wait until it answers, and stop it with everything it started.

``LabServer`` runs ``jupyter lab`` from the project's own ``.venv`` on a free loopback port
with a random token, in a new process group, against a scratch copy of the notebooks (the
browser never writes to ``notebooks/``: the copies live in a temporary folder, and autosave is
off anyway). Kernels are started by the server in process groups of their own, so stopping the
server's group is not enough: every process the run started carries a marker in its
environment, and ``stop`` ends exactly those, by process id, after asking the server to shut
down its kernels. ``stop`` is also registered with ``atexit`` so an interrupted run leaves
nothing behind.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
MARKER = "MBP_TEACH_E2E_RUN"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))  # every lesson, found anew on each run

# Settings that make a scripted session deterministic: every cell attached to the DOM (so that
# outputs far down the notebook can be found), no autosave, no news/update toasts covering cells.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# Without these two JupyterLab extensions a widget is a line of text and a figure never appears.
REQUIRED_EXTENSIONS = ("jupyter-matplotlib", "@jupyter-widgets/jupyterlab-manager")


def missing_extensions(venv: Path = VENV) -> list[str]:
    """Required JupyterLab extensions that ``jupyter labextension list`` does not show enabled and OK."""
    out = subprocess.run([str(Path(venv) / "bin" / "jupyter"), "labextension", "list"],
                         capture_output=True, text=True, timeout=120)
    return not_enabled(out.stdout + out.stderr)


def not_enabled(listing: str, required: tuple[str, ...] = REQUIRED_EXTENSIONS) -> list[str]:
    """Names in ``required`` without an 'enabled ... OK' line in a ``jupyter labextension list`` output."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", listing).splitlines()  # without colour codes
    return [name for name in required
            if not any(line.split()[:1] == [name] and line.split()[2:4] == ["enabled", "OK"] for line in lines)]


class LabError(RuntimeError):
    """JupyterLab did not start (or exited); the message holds the end of its log."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM this process when the test process dies, even by SIGKILL.

    The server then shuts down its kernels itself (and a kernel whose server is gone exits: it
    polls its parent). Elsewhere this does nothing and ``stop``/``atexit`` are the only guard.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def processes_with_marker(value: str) -> list[int]:
    """Ids of the live processes whose environment holds ``MBP_TEACH_E2E_RUN=value``."""
    needle = f"{MARKER}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class LabServer:
    """One JupyterLab server serving copies of ``notebooks`` (a list of .ipynb paths).

    Use as a context manager or call ``start()``/``stop()``. ``command`` replaces the
    ``jupyter lab`` command line (tests of this module use it); ``{port}``, ``{token}`` and
    ``{root}`` in it are filled in.
    """

    def __init__(self, notebooks: list[Path], *, venv: Path = VENV, startup_timeout: float = 120.0,
                 command: list[str] | None = None) -> None:
        self.notebooks = [Path(p) for p in notebooks]
        self.venv = Path(venv)
        self.startup_timeout = startup_timeout
        self.command = command
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.run_id = secrets.token_hex(8)
        self.tmp: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- addresses -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        return f"{self.base_url}/lab/tree/{name}?token={self.token}&reset"

    @property
    def root(self) -> Path:
        assert self.tmp is not None, "server not started"
        return self.tmp / "notebooks"

    # -- life cycle ------------------------------------------------------------------
    def __enter__(self) -> LabServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        atexit.register(self.stop)
        self.tmp = Path(tempfile.mkdtemp(prefix="mbp_teach_e2e_"))
        self._prepare_root()
        settings = self.tmp / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update({
            MARKER: self.run_id,
            # User-level Jupyter folders in the scratch space: no personal config, workspace
            # or settings leaks in, nothing is left behind. Kernels and extensions come
            # from the venv's share/jupyter, which Jupyter searches in any case.
            "JUPYTER_CONFIG_DIR": str(self.tmp / "config"),
            "JUPYTER_DATA_DIR": str(self.tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
            "IPYTHONDIR": str(self.tmp / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "MPLBACKEND": "module://ipympl.backend_nbagg",
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        })
        cmd = self.command or [
            str(self.venv / "bin" / "jupyter"), "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", "--ServerApp.port={port}", "--ServerApp.port_retries=0",
            "--IdentityProvider.token={token}", "--ServerApp.root_dir={root}",
            "--LabApp.news_url=", f"--LabServerApp.user_settings_dir={settings}",
            f"--LabServerApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--ServerApp.allow_remote_access=False", "--ServerApp.terminals_enabled=False",
            # no look-ups of PyPI from the extension manager
            "--LabApp.extension_manager=readonly",
        ] + (["--allow-root"] if os.geteuid() == 0 else [])
        cmd = [c.format(port=self.port, token=self.token, root=self.root) for c in cmd]
        if not Path(cmd[0]).exists() and shutil.which(cmd[0]) is None:
            raise LabError(f"{cmd[0]} not found: run `make setup` first (JupyterLab comes from .venv)")
        self.log_path = self.tmp / "jupyterlab.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=self.root, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _prepare_root(self) -> None:
        """Copy the notebooks; link everything else in their folder, so relative paths still work."""
        self.root.mkdir()
        sources = {p.parent.resolve() for p in self.notebooks}
        for folder in sources:
            for item in folder.iterdir():
                if item.suffix != ".ipynb" and not item.name.startswith(".") and not (self.root / item.name).exists():
                    (self.root / item.name).symlink_to(item)
        for nb in self.notebooks:
            shutil.copy2(nb, self.root / nb.name)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/api/status?token={self.token}"
        while True:
            if self.proc.poll() is not None:
                raise LabError(f"JupyterLab exited with code {self.proc.returncode} before answering on "
                               f"{self.base_url}.\n--- end of its log ---\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LabError(f"JupyterLab did not answer on {self.base_url} within {self.startup_timeout:.0f} s "
                               f"(command: {' '.join(self.proc.args)}).\n--- end of its log ---\n{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (AttributeError, OSError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(f"{self.base_url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Ask the server to stop every kernel (a polite first step; ``stop`` does the rest)."""
        try:
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError, ValueError, TypeError):
            pass

    def stop(self, grace: float = 10.0) -> None:
        """End the server, its kernels and anything else this run started; idempotent."""
        atexit.unregister(self.stop)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.shutdown_kernels()
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(timeout=grace)
            self.proc = None
        self._kill_leftovers(grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _kill_leftovers(self, grace: float) -> None:
        """Kernels live in sessions of their own: end each process carrying this run's marker."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = processes_with_marker(self.run_id)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_alive(p) for p in pids):
                time.sleep(0.1)

    def leftovers(self) -> list[int]:
        """Processes of this run still alive (tests assert this is empty after ``stop``)."""
        return [p for p in processes_with_marker(self.run_id) if _alive(p)]
