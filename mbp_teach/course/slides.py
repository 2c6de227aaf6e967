"""Slides: ``python -m mbp_teach.course.slides [OUT]`` (``make slides``) writes a reveal.js deck per notebook.

Slide metadata is derived at build time (the notebooks are rewritten often, so nothing is stored in
them): the title and each ``##`` section start a new slide; the other text cells (the derivations)
and the figures follow as vertical sub-slides; code cells are left out unless they draw a figure, and
then only the figure is shown (live panels as the still picture they store). Exercise statements stay,
their solutions do not (the student edition of ``mbp_teach.course.student``).

Decks are rendered by nbconvert (``--to slides``, template ``mbp_slides``) and load nothing from the
network: reveal.js is copied from the npm package pinned in ``reveal/package.json`` (``make slides``
installs it into ``build/reveal/``), MathJax 2 from ``jupyter-server-mathjax``, as on the site.

For presenting live in JupyterLab (jupyterlab-rise), the build also writes ``rise/NN_name.ipynb``: the
student edition with every cell kept (so it runs) and slide metadata on each: sections start slides,
other text cells are sub-slides, code stays under the text it belongs to, and the set-up cells are skipped.

``python -m mbp_teach.course.slides screenshot`` photographs one slide in headless Chromium with no network.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

from mbp_teach.course import site, student
from mbp_teach.course.paths import REPO as ROOT

REVEAL_PACKAGE = ROOT / "build" / "reveal" / "node_modules" / "reveal.js"
STATIC = "_static"
FIGURE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
SECTION = re.compile(r"^\s*#{1,2}\s+\S")


def makes_figure(cell) -> bool:
    return cell.cell_type == "code" and any(k in out.get("data", {}) for out in cell.get("outputs", [])
                                            for k in FIGURE_TYPES)


def slide_notebook(nb, title: str = ""):
    """A copy of ``nb`` cut into slides: the cells a deck shows, each with ``metadata.slideshow``."""
    shown = site.static_outputs(student.student_edition(nb), title)
    shown.cells = shown.cells[1:]  # static_outputs' banner about static pages: not for a talk
    cells = []
    for cell in shown.cells:
        if cell.cell_type == "markdown":
            kind = "slide" if SECTION.match(cell.source) or not cells else "subslide"
        elif makes_figure(cell):
            cell = copy.deepcopy(cell)
            cell.outputs = [o for o in cell.outputs if any(k in o.get("data", {}) for k in FIGURE_TYPES)]
            cell.metadata.setdefault("tags", []).append("figure")
            kind = "subslide"
        else:
            continue
        cell.metadata["slideshow"] = {"slide_type": kind}
        cells.append(cell)
    shown.cells = cells
    return shown


def live_notebook(nb):
    """A copy of ``nb`` for a live RISE talk: every cell of the student edition, each with ``metadata.slideshow``.

    Sections (and the title) -> "slide", other text -> "subslide", code -> "-" (on the slide of the text
    above it, so the presenter runs it there); the code cells before the first section (Colab install,
    imports, set-up) -> "skip": run them with Run All before the talk."""
    live = student.student_edition(nb)
    started = False
    for cell in live.cells:
        if cell.cell_type == "markdown":
            section = bool(SECTION.match(cell.source))
            kind = "slide" if section or not started else "subslide"
            started = started or section
        else:
            kind = "-" if started else "skip"
        cell.metadata["slideshow"] = {"slide_type": kind}
    return live


def reveal_source(package: Path = REVEAL_PACKAGE) -> Path:
    if not (package / "dist" / "reveal.js").is_file():
        raise FileNotFoundError(f"no reveal.js in {package}: run `make slides` (it installs reveal/package.json "
                                "with npm into build/reveal/)")
    return package


def copy_static(out_dir: Path, package: Path = REVEAL_PACKAGE) -> None:
    static = out_dir / STATIC
    static.mkdir(parents=True, exist_ok=True)
    src = reveal_source(package)
    for part in ("dist", "plugin"):
        shutil.copytree(src / part, static / "reveal.js" / part, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
    shutil.copytree(site.mathjax_source(), static / "mathjax", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))


def exporter():
    from nbconvert import SlidesExporter

    return SlidesExporter(
        template_name="mbp_slides", extra_template_basedirs=[str(site.TEMPLATES)],
        reveal_url_prefix=f"{STATIC}/reveal.js", reveal_theme="white", reveal_scroll=True,
        mathjax_url=f"{STATIC}/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)


def build(out_dir: Path = ROOT / "build" / "slides", notebooks: list[Path] | None = None,
          package: Path = REVEAL_PACKAGE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_static(out_dir, package)
    export = exporter()
    written = []
    for path in notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        name = site.title(nb, path.stem)
        body, _ = export.from_notebook_node(slide_notebook(nb, name), resources={"metadata": {"name": name}})
        target = out_dir / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
        (out_dir / "rise").mkdir(exist_ok=True)
        nbformat.write(live_notebook(nb), out_dir / "rise" / path.name)
        written.append(out_dir / "rise" / path.name)
    return written


def screenshot(deck: Path, target: Path = ROOT / "figures" / "screenshots" / "slides_04.png", slide: str = "",
               chromium: str = "/usr/bin/chromium") -> Path:
    """One slide (``slide``: reveal's ``h/v`` index, e.g. ``"3/1"``) in headless Chromium, offline."""
    if not deck.is_file():
        raise FileNotFoundError(f"{deck} is missing: run `make slides` first")
    url = deck.resolve().as_uri() + (f"#/{slide}" if slide else "")
    return site.screenshot(url, target, chromium, size="1280,800")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["screenshot"]:
        parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.slides screenshot",
                                         description="One slide in headless Chromium, offline.")
        parser.add_argument("deck", nargs="?", default=str(ROOT / "build" / "slides" / "04_momentum_lab.slides.html"))
        parser.add_argument("--slide", default="2", help="reveal.js slide index, h or h/v (default: 2)")
        parser.add_argument("--out", default=str(ROOT / "figures" / "screenshots" / "slides_04.png"))
        parser.add_argument("--chromium", default=os.environ.get("MBP_TEACH_CHROMIUM", "/usr/bin/chromium"))
        args = parser.parse_args(argv[1:])
        print(screenshot(Path(args.deck), Path(args.out), args.slide, args.chromium))
        return 0
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.slides", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "slides"))
    parser.add_argument("--reveal", default=str(REVEAL_PACKAGE), help="the reveal.js npm package folder")
    args = parser.parse_args(argv)
    for path in build(Path(args.out), package=Path(args.reveal)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
