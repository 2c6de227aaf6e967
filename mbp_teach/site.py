"""A static HTML site of the executed notebooks: ``python -m mbp_teach.site [OUT]`` (``make site``).

Built offline with nbconvert from the committed, executed notebooks; it needs no kernel. Live
widgets have no meaning without one, so each widget output is shown by its still picture (panels
and ipympl figures store a PNG beside the widget view) or, where there is none, by a note saying
where the interactive version runs. Student editions are not published: solutions stay in.
"""

from __future__ import annotations

import argparse
import copy
import html
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
WIDGET = "application/vnd.jupyter.widget-view+json"
STILL = ("image/png", "image/svg+xml")
NOTE = ("<p style='padding:.4em .8em;border-left:3px solid #888;color:#555'>Interactive control: "
        "it runs live in JupyterLab (<code>make lab</code>), on Binder or on Colab.</p>")
BANNER = ("> **Static page.** Sliders and live figures appear as pictures taken when the notebook was "
          "executed. To move them, run the notebook: `make lab` in a clone of the repository, or Binder / "
          "Colab (see the README).")


def static_outputs(nb):
    """A copy of ``nb`` whose widget outputs are pictures or a note; nothing else changes."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET not in data:
                continue
            del data[WIDGET]
            if any(k in data for k in STILL):
                data.pop("text/html", None)  # ipympl's html is a label around a static <img>: keep one picture
                data.pop("text/plain", None)
            else:
                for k in list(data):
                    del data[k]
                data["text/html"] = NOTE
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(BANNER))
    return nb


def title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def build(out_dir: Path = ROOT / "build" / "site", notebooks: list[Path] | None = None) -> list[Path]:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    out_dir.mkdir(parents=True, exist_ok=True)
    pages, written = [], []
    for path in notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(static_outputs(nb), resources={"metadata": {"name": path.stem}})
        target = out_dir / f"{path.stem}.html"
        target.write_text(body, encoding="utf-8")
        pages.append((target.name, title(nb, path.stem)))
        written.append(target)
    items = "\n".join(f"<li><a href='{html.escape(f)}'>{html.escape(t)}</a></li>" for f, t in pages)
    index = out_dir / "index.html"
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>mbp_teach</title>"
        "<h1>mbp_teach: numerical optimisation for deep learning, built and played with</h1>"
        f"<p>Static pages of the executed notebooks. {html.escape(BANNER[16:])}</p><ol>{items}</ol>",
        encoding="utf-8")
    return [index] + written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.site", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "site"))
    args = parser.parse_args(argv)
    for path in build(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
