"""Keeping the committed notebooks honest: execute them in place, and check what is stored.

``python -m mbp_teach.course.nbtools execute notebooks/*.ipynb`` re-runs each notebook with the fixed
seed (``MBP_TEACH_SEED``) and stores its outputs without widget state (GitHub refuses to
render a ``metadata.widgets`` lacking ``state``). ``problems(path)`` lists what strict nbval
or a reader would trip over; the test suite asserts the list is empty for every notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from mbp_teach.course.paths import REPO

MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}")
DEFAULT_SOURCE = "https://github.com/mbp-teach/mbp_teach"
SOURCE_KEY = re.compile(r'^(source\s*=\s*)"[^"]*"', re.M)  # in pyproject.toml's [tool.mbp_teach] table


def install_source() -> str:
    """Where the suite is installed from on Colab and launched from on Binder: the one setting.

    ``[tool.mbp_teach] source`` in pyproject.toml; ``make colab-source`` fills it in from the checkout's
    ``origin`` remote, so that a course's fork points at itself.
    """
    pyproject = REPO / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_table(pyproject.read_text())
        found = SOURCE_KEY.search(table) if table else None
        if found:
            return found.group(0).split('"')[1]
    return DEFAULT_SOURCE


def _tool_table(text: str) -> str | None:
    """The text of pyproject's ``[tool.mbp_teach]`` table (up to the next table), or None."""
    start = text.find("[tool.mbp_teach]")
    if start < 0:
        return None
    end = text.find("\n[", start + 1)
    return text[start:] if end < 0 else text[start:end]


def source_from_remote(remote: str) -> str:
    """An https address for ``pip install git+...`` from a git remote (``git@host:o/r.git`` or https)."""
    remote = remote.strip()
    ssh = re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?", remote)
    if ssh:
        return f"https://{ssh.group(1)}/{ssh.group(2)}"
    if re.fullmatch(r"https://[^\s\"]+", remote):
        return re.sub(r"\.git/?$", "", remote)
    raise ValueError(f"remote {remote!r}: not an ssh or https git address that pip could install from")


def set_install_source(source: str) -> bool:
    """Write ``source`` into pyproject.toml's ``[tool.mbp_teach]``; True if it changed."""
    if not re.fullmatch(r"https://[^\s\"]+", source):
        raise ValueError(f"source {source!r}: need an https address")
    pyproject = REPO / "pyproject.toml"
    text = pyproject.read_text()
    table = _tool_table(text)
    if table is None or not SOURCE_KEY.search(table):
        raise ValueError("pyproject.toml has no [tool.mbp_teach] table with a source = \"...\" line")
    new = text.replace(table, SOURCE_KEY.sub(lambda m: f'{m.group(1)}"{source}"', table, count=1))
    pyproject.write_text(new)
    return new != text


def colab_cell(source: str | None = None) -> str:
    """The first code cell of every notebook. It does nothing outside Colab (so nbval sees no output);
    on Colab it installs the suite from ``source`` and says in one line if that failed."""
    source = source or install_source()
    return f"""# On Google Colab only (skipped everywhere else): install the suite from its source (`make colab-source` sets it).
import sys
if "google.colab" in sys.modules:
    import subprocess
    SOURCE = "{source}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"mbp_teach @ git+{{SOURCE}}"],
                         capture_output=True, text=True)
    if pip.returncode:
        print(f"Could not install mbp_teach from {{SOURCE}}: {{(pip.stderr.strip().splitlines() or ['pip failed'])[-1]}}")
    from google.colab import output
    output.enable_custom_widget_manager()"""


REPO_URL = install_source()
COLAB_CELL = colab_cell(REPO_URL)


def add_colab_cell(nb) -> bool:
    """Put ``COLAB_CELL`` first among the code cells (or refresh it); True if ``nb`` changed."""
    import nbformat

    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and code[0].source.startswith("# On Google Colab only"):
        if code[0].source == COLAB_CELL:
            return False
        code[0].source = COLAB_CELL
        return True
    at = nb.cells.index(code[0]) if code else len(nb.cells)
    nb.cells.insert(at, nbformat.v4.new_code_cell(COLAB_CELL))
    return True


#: The whole ``notebooks/`` folder stays under this many bytes (tests/course/test_notebook_hygiene.py):
#: a clone should be quick and a notebook quick to open.
NOTEBOOKS_BUDGET = 3_000_000


def is_png_copy(data: dict) -> bool:
    """True for an ipympl ``text/html`` fallback: a label around the very PNG stored beside it."""
    html = data.get("text/html")
    html = "".join(html) if isinstance(html, list) else html
    png = data.get("image/png")
    return bool(html and png) and "data:image/png;base64," in html and png.strip()[:64] in html


def palette_png(png_b64: str) -> str:
    """An opaque PNG re-encoded with a 256-colour palette (base64 in, base64 out), else unchanged.

    Stored figures are previews (the live kernel redraws them), and a plot has few colours: the
    palette makes them about 3x smaller and leaves every line and label as it was. Figures with
    transparency are left alone.
    """
    import base64
    import io

    from PIL import Image

    raw = base64.b64decode(png_b64)
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except OSError:  # not a readable PNG: store it as it came
        return png_b64
    if image.mode == "P":
        return png_b64
    if image.mode == "RGBA":
        if image.getchannel("A").getextrema()[0] < 255:
            return png_b64
        image = image.convert("RGB")
    small = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(small, "PNG", optimize=True)
    return base64.b64encode(small.getvalue()).decode() + "\n" if len(small.getvalue()) < len(raw) else png_b64


def slim(nb) -> int:
    """Store each figure once and small: drop the ``text/html`` copy ipympl keeps of its own PNG,
    and give opaque PNGs a 256-colour palette (``palette_png``). Returns how many copies were dropped."""
    dropped = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if is_png_copy(data):
                del data["text/html"]
                dropped += 1
            if isinstance(data.get("image/png"), str):
                data["image/png"] = palette_png(data["image/png"])
    return dropped


def execute(path: str | Path, timeout: int = 900) -> float:
    """Execute ``path`` in place (kernel cwd = its folder); returns the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("MBP_TEACH_SEED", "0")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    slim(nb)
    nbformat.write(nb, path)
    return elapsed


def problems(path: str | Path) -> list[str]:
    """What is wrong with a committed notebook, as sentences (empty list: nothing)."""
    path = Path(path)
    data = json.loads(path.read_text())
    out: list[str] = []
    widgets = data.get("metadata", {}).get("widgets")
    if widgets is not None:
        state = widgets.get("application/vnd.jupyter.widget-state+json", {})
        if "state" not in state:
            out.append("metadata.widgets without a 'state' key (GitHub will not render it)")
    code_cells = [c for c in data.get("cells", []) if c.get("cell_type") == "code"]
    if code_cells and "".join(code_cells[0].get("source", "")) != COLAB_CELL:
        out.append("first code cell is not the Colab install cell (python -m mbp_teach.course.nbtools colab NB)")
    for i, cell in enumerate(data.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", ""))
        if src.strip() and cell.get("execution_count") is None:
            out.append(f"cell {i}: code cell not executed")
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: stored output is an error ({o.get('ename')})")
            text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
            if MEMORY_ADDRESS.search(text):
                out.append(f"cell {i}: output shows a memory address (end the line with ';')")
            if is_png_copy(o.get("data", {})):
                out.append(f"cell {i}: a figure stored twice (PNG and its text/html copy; nbtools execute drops the copy)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.nbtools")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("execute", help="re-run notebooks in place with the fixed seed")
    ex.add_argument("paths", nargs="+")
    ck = sub.add_parser("check", help="list problems of committed notebooks")
    ck.add_argument("paths", nargs="+")
    co = sub.add_parser("colab", help="add (or refresh) the Colab install cell; run `execute` afterwards")
    co.add_argument("--from-remote", action="store_true",
                    help="first set the install source from `git remote get-url origin` (make colab-source)")
    co.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    status = 0
    if args.cmd == "colab" and args.from_remote:
        import subprocess

        got = subprocess.run(["git", "remote", "get-url", "origin"], capture_output=True, text=True, cwd=REPO)
        if got.returncode:
            print(f"no git remote 'origin' here; keeping the install source {install_source()}")
        else:
            source = source_from_remote(got.stdout)
            print(f"install source: {source}" + (" (changed in pyproject.toml)" if set_install_source(source) else ""))
        global COLAB_CELL
        COLAB_CELL = colab_cell()
    for p in args.paths:
        if args.cmd == "colab":
            import nbformat

            nb = nbformat.read(p, as_version=4)
            if add_colab_cell(nb):
                nbformat.write(nb, p)
                print(f"{p}: Colab cell added; re-execute it")
            continue
        if args.cmd == "execute":
            print(f"{p}: executing ...", flush=True)
            print(f"{p}: {execute(p):.1f} s", flush=True)
        found = problems(p)
        for msg in found:
            print(f"{p}: {msg}")
        status |= bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main())
