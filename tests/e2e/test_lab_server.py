"""The JupyterLab helper without a browser: clear failures, and nothing left running.

These run in ``make test`` (no e2e marker): they need neither Chromium nor Playwright, and they
use stand-in commands instead of JupyterLab, so they take a few seconds.
"""

from __future__ import annotations

import os
import socket
import sys
import time

import pytest
from lab_server import LabError, LabServer, _alive, free_port, not_enabled

PY = sys.executable


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_server_that_never_answers_times_out_with_a_clear_message(tmp_path):
    server = LabServer([], startup_timeout=2, command=[PY, "-c", "print('warming up', flush=True); import time; time.sleep(60)"])
    start = time.monotonic()
    with pytest.raises(LabError, match=r"did not answer on http://127\.0\.0\.1:\d+ within 2 s") as err:
        server.start()
    assert "warming up" in str(err.value)  # the end of its log is in the message
    assert time.monotonic() - start < 30
    assert server.proc is None and server.leftovers() == []


def test_server_that_exits_reports_its_exit_code_and_log():
    server = LabServer([], command=[PY, "-c", "print('bad option'); raise SystemExit(3)"])
    with pytest.raises(LabError, match="exited with code 3") as err:
        server.start()
    assert "bad option" in str(err.value)
    assert server.leftovers() == []


# A stand-in server: answers /api/status, and starts a child in a session of its own, as
# JupyterLab starts kernels; stop() must end that child too.
STAND_IN = r"""
import http.server, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
open("child.pid", "w").write(str(child.pid))
class Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path.startswith("/api/status") else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), Status).serve_forever()
"""


def test_stop_ends_the_server_and_children_in_their_own_sessions(tmp_path):
    nb = tmp_path / "x.ipynb"
    nb.write_text("{}")
    server = LabServer([nb], command=[PY, "-c", STAND_IN])
    server.start()
    try:
        child_pid = int((server.root / "child.pid").read_text())
        server_pid = server.proc.pid
        assert _alive(child_pid) and os.getpgid(child_pid) != os.getpgid(server_pid)
        assert (server.root / "x.ipynb").read_text() == "{}"  # a copy is served, not the original
    finally:
        server.stop()
    assert not _alive(child_pid) and not _alive(server_pid)
    assert server.leftovers() == []
    assert server.tmp is None  # scratch folder removed


def test_extension_listing_is_read_strictly():
    ok = ("JupyterLab v4.6.6\n/x/share/jupyter/labextensions\n"
          "        jupyter-matplotlib v0.12.0 \x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m\n"
          "        @jupyter-widgets/jupyterlab-manager v5.0.16 \x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m"
          " (python, jupyterlab_widgets)\n")
    assert not_enabled(ok) == []
    disabled = ok.replace("jupyter-matplotlib v0.12.0 \x1b[32menabled", "jupyter-matplotlib v0.12.0 \x1b[31mdisabled")
    assert not_enabled(disabled) == ["jupyter-matplotlib"]
    assert not_enabled("JupyterLab v4.6.6\n") == ["jupyter-matplotlib", "@jupyter-widgets/jupyterlab-manager"]


def test_a_frame_that_lost_its_background_is_caught():
    """make e2e fails when a move leaves only the moved artists (a blit onto an empty canvas)."""
    import io

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    from lab_page import ink, keeps_the_picture

    from mbp_teach.plotting import new_figure

    def png(fig) -> bytes:
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=72)
        return out.getvalue()

    fig, ax = new_figure(figsize=(4, 3))
    ax.contour(*np.mgrid[-2:2:40j, -2:2:40j], np.random.default_rng(0).random((40, 40)))
    ax.set_xlabel("x (units)")
    ax.set_title("a figure")
    (line,) = ax.plot([-1, 1], [-1, 1], lw=2)
    full = png(fig)
    line.set_data([-1, 1], [1, -1])  # the move
    moved = png(fig)
    for artist in [*ax.collections, ax.title, ax.xaxis, ax.yaxis, *ax.spines.values()]:
        artist.set_visible(False)  # what the browser showed: the moved line on an empty canvas
    lost = png(fig)
    assert keeps_the_picture(ink(full), ink(moved))
    assert not keeps_the_picture(ink(full), ink(lost))
