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

MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}")
REPO_URL = "https://github.com/mbp-teach/mbp_teach"
# The first cell of every notebook: does nothing outside Colab, so it prints nothing under nbval.
COLAB_CELL = f"""# On Google Colab only (skipped everywhere else): install the suite and turn on Colab's widget support.
import sys
if "google.colab" in sys.modules:
    %pip install -q ipympl "mbp_teach @ git+{REPO_URL}"
    from google.colab import output
    output.enable_custom_widget_manager()"""


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
    co.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    status = 0
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
