"""The course site: ``python -m mbp_teach.course.site [OUT]`` (``make site``) builds two editions of it.

``OUT/student/`` shows each exercise's solution replaced by a stub (the student edition of
``mbp_teach.course.student``); ``OUT/instructor/`` shows the solutions, marked. ``OUT/index.html`` points to
both. Each edition has an index of the course's parts, one page per notebook (navigation bar across
the parts, previous/next links, Binder and Colab launch links, the ``.ipynb`` to download) and a
``_static/`` folder with the one stylesheet and the math renderer (MathJax 2, copied from the
``jupyter-server-mathjax`` package): pages load nothing from the network and typeset formulas
offline. An edition folder is self-contained, so a course can publish the student one alone.

Pages are rendered offline by nbconvert from the committed, executed notebooks; no kernel runs.
Live widgets are shown by the still picture they store, or by a note saying where they run live.

``python -m mbp_teach.course.site screenshots [SITE]`` photographs the student index and one notebook page
in headless Chromium with networking disabled (``figures/screenshots/site_*.png``).
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from mbp_teach.course import student
from mbp_teach.course.paths import REPO as ROOT

FILES = Path(__file__).resolve().parent / "site_files"
TEMPLATES = FILES / "templates"
WIDGET = "application/vnd.jupyter.widget-view+json"
STILL = ("image/png", "image/svg+xml")
NOTE = ("<p style='padding:.4em .8em;border-left:3px solid #888;color:#555'>Interactive control: "
        "it runs live in JupyterLab (<code>make lab</code>), on Binder or on Colab.</p>")
BANNER = ("> **Static page.** Sliders and live figures appear as pictures taken when the notebook was "
          "executed. To move them, open the notebook live (Binder or Colab, links above) or run "
          "`make lab` in a clone of the repository.")
SITE_TITLE = "mbp_teach"
SITE_LEAD = "Numerical optimisation for deep learning, built and played with."
STATIC = "_static"
MATHJAX_DIR = f"{STATIC}/mathjax"

# The course's parts: (short name for the nav bar, heading on the index, notebook number prefixes).
PARTS = (
    ("Start", "Start here", ("00",)),
    ("MinBackProp", "Part 1 · Backpropagating through minimal solvers (MinBackProp)", ("01", "02", "03")),
    ("Momentum", "Part 2 · Momentum and skip connections", ("04", "05")),
    ("Hessian-free", "Part 3 · Hessian-free optimisation", ("06", "07")),
)
EDITIONS = {
    "student": ("Student edition", "Exercises come with a stub where the solution goes: work them out "
                "yourself, and the checkers in each notebook tell you whether your function is right."),
    "instructor": ("Instructor edition", "The same pages with every exercise's solution shown, "
                   "marked in green."),
}

# MathJax 2 as bundled by jupyter-server-mathjax: its combined config ships the HTML-CSS output with
# the STIX-Web fonts only (as Jupyter's classic notebook configures it).
MATHJAX_CONFIG = r"""<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$','$'], ['\\(','\\)']], displayMath: [['$$','$$'], ['\\[','\\]']],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  displayAlign: "center", messageStyle: "none", showMathMenu: false
});
</script>"""


def mathjax_source() -> Path:
    """The MathJax tree shipped by the ``jupyter-server-mathjax`` package (pinned in requirements.txt)."""
    import jupyter_server_mathjax

    path = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
    if not (path / "MathJax.js").is_file():
        raise FileNotFoundError(f"no MathJax.js in {path}: reinstall jupyter-server-mathjax")
    return path


def mathjax_tags(static: str) -> str:
    return (MATHJAX_CONFIG + f'\n<script src="{static}/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe">'
            "</script>")


# ---- the notebooks as pages ------------------------------------------------------------------

@dataclass
class Page:
    path: Path          # the committed notebook
    title: str          # its '# ' heading
    part: int           # index into PARTS (len(PARTS) for notebooks outside them)

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def html_name(self) -> str:
        return f"{self.stem}.html"

    @property
    def number(self) -> str:
        return self.stem.split("_", 1)[0]

    @property
    def short_title(self) -> str:
        return self.title.split(":", 1)[0].strip()


def title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def summary(nb) -> str:
    """The first paragraph under the notebook's title, as Markdown (shown on the index)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"^#\s+.+\n?", "", cell.source, count=1, flags=re.M).strip()
        para = re.split(r"\n\s*\n|\n\s*(?:\d+\.|[-*>])\s", text, maxsplit=1)[0].strip()  # up to a list or quote
        sentences = re.split(r"(?<=[a-z0-9)$*][.!?])\s+(?=[A-Z*])", para)[:2]
        if len(sentences) > 1 and not re.search(r"[.!?)]$", sentences[-1].rstrip()):
            sentences = sentences[:-1]  # "... four ways to get it:" or a sentence cut by a list
        if para:
            return " ".join(sentences)
    return ""


def part_of(stem: str) -> int:
    for i, (_, _, numbers) in enumerate(PARTS):
        if stem.split("_", 1)[0] in numbers:
            return i
    return len(PARTS)


def pages_of(notebooks: list[Path]) -> list[Page]:
    pages = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        pages.append(Page(path, title(nb, path.stem), part_of(path.stem)))
    return sorted(pages, key=lambda p: (p.part, p.stem))


TEX_WORDS = {"times": "×", "sqrt": "√", "kappa": "κ", "lambda": "λ", "alpha": "α", "beta": "β", "tau": "τ",
             "theta": "θ", "rho": "ρ", "partial": "∂", "nabla": "∇", "cdot": "·", "to": "→", "le": "≤", "ge": "≥"}


def plain(markdown: str) -> str:
    """A Markdown heading as plain text (for alt text): no emphasis, code ticks, dollars or TeX commands."""
    text = re.sub(r"\\([A-Za-z]+)\s*", lambda m: TEX_WORDS.get(m.group(1), m.group(1)), markdown)
    text = re.sub(r"[*_`${}\\]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def alt_text(cell, heading: str, notebook_title: str, panel: bool) -> str:
    where = f"“{plain(heading)}”" if heading else f"“{plain(notebook_title)}”"
    if panel:
        return (f"Still picture of the interactive panel in {where} (sliders and figure; it moves when the "
                "notebook runs live)")
    m = re.search(r"""save\s*=\s*["']([\w-]+)["']""", cell.source)
    name = f" ({m.group(1).replace('_', ' ')})" if m else ""
    return f"Figure in {where}{name}"


def static_outputs(nb, notebook_title: str = ""):
    """A copy of ``nb`` whose widget outputs are pictures or a note and whose pictures have alt text."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^#{1,4}\s+(.+)$", cell.source, re.M)
            heading = found[-1] if found else heading
            continue
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            widget = WIDGET in data
            panel = widget and ".widget()" in cell.source  # a Panel; other widget views are ipympl figures
            if widget:
                del data[WIDGET]
                if any(k in data for k in STILL):
                    data.pop("text/html", None)  # ipympl's html is a label around a static <img>: keep one picture
                    data.pop("text/plain", None)
                else:
                    for k in list(data):
                        del data[k]
                    data["text/html"] = NOTE
            if "image/png" in data:
                meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                meta["alt"] = alt_text(cell, heading, notebook_title, panel)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(BANNER))
    return nb


def edition(nb, name: str):
    """The notebook as the ``name`` edition shows it: solutions marked (instructor) or stubbed (student)."""
    if name == "student":
        out = student.student_edition(nb)
        for before, after in zip(nb.cells, out.cells, strict=True):
            if before.source != after.source and after.cell_type == "code":
                after.metadata.setdefault("tags", []).append("your-turn")
        return out
    if name != "instructor":
        raise ValueError(f"edition must be 'student' or 'instructor', got {name!r}")
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code" and student.strip_solutions(cell.source, "code")[1]:
            cell.metadata.setdefault("tags", []).append("solution")
        elif cell.cell_type == "markdown":
            cell.source = (cell.source.replace("<!-- BEGIN SOLUTION -->", '<div class="mbp-solution">\n')
                           .replace("<!-- END SOLUTION -->", "\n</div>"))
    return out


# ---- links and navigation ------------------------------------------------------------------------

def repo_slug() -> str:
    """``owner/name`` of the repository the launch links point at (the notebooks' Colab install source)."""
    from mbp_teach.course import nbtools

    url = os.environ.get("MBP_TEACH_REPO_URL") or getattr(nbtools, "REPO_URL", "")
    m = re.search(r"github\.com[/:]([^/]+/[^/.]+)", str(url))
    return m.group(1) if m else "mbp-teach/mbp_teach"


def launch_urls(stem: str, slug: str, branch: str = "main") -> dict[str, str]:
    return {
        "binder": f"https://mybinder.org/v2/gh/{slug}/{branch}?labpath=notebooks%2F{stem}.ipynb",
        "colab": f"https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{stem}.ipynb",
    }


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def nav_bar(pages: list[Page], current: Page | None, edition_name: str) -> str:
    parts = []
    for i, (short, _, _) in enumerate(PARTS + (("More", "More", ()),)):
        members = [p for p in pages if p.part == i]
        if not members:
            continue
        links = "".join(
            f'<a href="{esc(p.html_name)}" title="{esc(p.title)}"'
            + (' aria-current="page"' if current is not None and p.stem == current.stem else "")
            + f">{esc(p.number)}</a>" for p in members)
        parts.append(f'<span class="mbp-part"><span class="mbp-part-name">{esc(short)}</span>{links}</span>')
    other = "instructor" if edition_name == "student" else "student"
    target = current.html_name if current is not None else "index.html"
    return (
        '<nav class="mbp-nav" aria-label="Course"><div class="mbp-nav-inner">'
        f'<a class="mbp-home" href="index.html">{esc(SITE_TITLE)}</a>'
        + "".join(parts)
        + f'<span class="mbp-edition">{esc(EDITIONS[edition_name][0])} · '
        f'<a href="../{other}/{esc(target)}">{esc(EDITIONS[other][0].split()[0].lower())} edition</a></span>'
        "</div></nav>")


def launch_bar(page: Page, slug: str, branch: str, edition_name: str) -> str:
    urls = launch_urls(page.stem, slug, branch)
    part = PARTS[page.part][1] if page.part < len(PARTS) else "More"
    note = "the notebook with its solutions" if edition_name == "instructor" else "the notebook with exercise stubs"
    return (
        '<div class="mbp-launch">'
        f'<span class="mbp-part-label">{esc(part)}</span>'
        f'<a class="mbp-button mbp-primary" href="{esc(urls["binder"])}">Launch on Binder</a>'
        f'<a class="mbp-button" href="{esc(urls["colab"])}">Open in Colab</a>'
        f'<a class="mbp-button" href="{esc(page.stem)}.ipynb" title="{esc(note)}" download>Download .ipynb</a>'
        "</div>")


def pager(pages: list[Page], page: Page) -> str:
    i = [p.stem for p in pages].index(page.stem)
    prev = pages[i - 1] if i > 0 else None
    nxt = pages[i + 1] if i + 1 < len(pages) else None
    left = (f'<a class="mbp-prev" rel="prev" href="{esc(prev.html_name)}"><small>← Previous</small>'
            f"{esc(prev.short_title)}</a>" if prev else '<a class="mbp-prev" href="index.html"><small>← Contents</small>'
            "All notebooks</a>")
    right = (f'<a class="mbp-next" rel="next" href="{esc(nxt.html_name)}"><small>Next →</small>'
             f"{esc(nxt.short_title)}</a>" if nxt else '<a class="mbp-next" href="index.html"><small>Contents →</small>'
             "All notebooks</a>")
    return f'<nav class="mbp-pager" aria-label="Previous and next notebook">{left}{right}</nav>'


def head(page_title: str, static: str, math: bool = True) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{esc(page_title)}</title>\n"
            f'<link rel="stylesheet" href="{static}/site.css">\n'
            + (mathjax_tags(static) + "\n" if math else "") + "</head>\n")


def index_page(pages: list[Page], summaries: dict[str, str], edition_name: str, slug: str, branch: str) -> str:
    from nbconvert.filters import markdown2html

    label, blurb = EDITIONS[edition_name]
    sections = []
    for i, (_, heading, _) in enumerate(PARTS + (("More", "More", ()),)):
        members = [p for p in pages if p.part == i]
        if not members:
            continue
        items = []
        for p in members:
            urls = launch_urls(p.stem, slug, branch)
            items.append(
                f'<li><a class="mbp-title" href="{esc(p.html_name)}">{esc(p.title)}</a>'
                f"{markdown2html(summaries.get(p.stem, ''))}"
                f'<div class="mbp-links"><a href="{esc(urls["binder"])}">Binder</a>'
                f'<a href="{esc(urls["colab"])}">Colab</a>'
                f'<a href="{esc(p.stem)}.ipynb" download>.ipynb</a></div></li>')
        sections.append(f"<h2>{esc(heading)}</h2><ol>{''.join(items)}</ol>")
    return (
        head(f"{SITE_TITLE} · {label}", STATIC)
        + "<body>\n" + nav_bar(pages, None, edition_name)
        + '\n<div class="mbp-index">'
        f"<h1>{esc(SITE_TITLE)}: numerical optimisation for deep learning, built and played with</h1>"
        '<p class="mbp-lead">Three ideas from recent papers, each built from scratch in a small Python '
        "package and explored with sliders: backpropagating through minimal solvers, momentum on networks "
        "with skip connections, and Hessian-free optimisation.</p>"
        f'<p class="mbp-note"><strong>{esc(label)}.</strong> {esc(blurb)} These are static pages of the '
        "executed notebooks: sliders and live figures appear as the pictures taken when the notebook ran. "
        "To move them, launch a notebook on Binder or Colab, or run <code>make lab</code> in a clone of "
        "the repository. Read 01 → 02 → 03, 04 → 05 and 06 → 07 in order; the three parts are "
        "independent.</p>"
        '<p class="mbp-note"><strong>Teaching it?</strong> The <a href="course.html">course syllabus</a> '
        "plans seven 90-minute sessions: objectives, exercises to assign, time and grading.</p>"
        + "".join(sections) + "</div>\n</body>\n</html>\n")


def root_index() -> str:
    cards = "".join(
        f'<a href="{name}/index.html"><strong>{esc(label)}</strong><br>{esc(blurb)}</a>'
        for name, (label, blurb) in EDITIONS.items())
    return (head(SITE_TITLE, f"student/{STATIC}", math=False) + "<body>\n"
            '<nav class="mbp-nav" aria-label="Course"><div class="mbp-nav-inner">'
            f'<a class="mbp-home" href="index.html">{esc(SITE_TITLE)}</a></div></nav>\n'
            f'<div class="mbp-index"><h1>{esc(SITE_TITLE)}</h1><p class="mbp-lead">{esc(SITE_LEAD)}</p>'
            f'<div class="mbp-editions">{cards}</div></div>\n</body>\n</html>\n')


# ---- the build -----------------------------------------------------------------------------

def exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="mbp_site", extra_template_basedirs=[str(TEMPLATES)], theme="light")


def copy_static(out_dir: Path) -> None:
    static = out_dir / STATIC
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FILES / "site.css", static / "site.css")
    shutil.copytree(mathjax_source(), static / "mathjax", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))


def build_edition(out_dir: Path, name: str, notebooks: list[Path], slug: str, branch: str = "main") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_static(out_dir)
    pages = pages_of(notebooks)
    export = exporter()
    written, summaries = [], {}
    for page in pages:
        nb = nbformat.read(page.path, as_version=4)
        summaries[page.stem] = summary(nb)
        shown = edition(nb, name)
        nbformat.write(shown, out_dir / f"{page.stem}.ipynb")
        resources = {"metadata": {"name": page.title}, "mbp": {
            "static": STATIC, "mathjax": mathjax_tags(STATIC), "nav": nav_bar(pages, page, name),
            "launch": launch_bar(page, slug, branch, name), "pager": pager(pages, page)}}
        body, _ = export.from_notebook_node(static_outputs(shown, page.title), resources=resources)
        target = out_dir / page.html_name
        target.write_text(body, encoding="utf-8")
        written.append(target)
    index = out_dir / "index.html"
    index.write_text(index_page(pages, summaries, name, slug, branch), encoding="utf-8")
    course = out_dir / "course.html"
    course.write_text(course_page(pages, name), encoding="utf-8")
    return [index, course] + written


def course_page(pages: list[Page], edition_name: str) -> str:
    """COURSE.md (the syllabus) as a page of the edition, linked from its index."""
    from nbconvert.filters import markdown2html

    text = (ROOT / "COURSE.md").read_text(encoding="utf-8")
    return (head(f"{SITE_TITLE} · course syllabus", STATIC) + "<body>\n" + nav_bar(pages, None, edition_name)
            + f'\n<div class="mbp-index">{markdown2html(text)}</div>\n</body>\n</html>\n')


def build(out_dir: Path = ROOT / "build" / "site", notebooks: list[Path] | None = None,
          slug: str | None = None, branch: str = "main") -> list[Path]:
    """Both editions under ``out_dir/student`` and ``out_dir/instructor``, and ``out_dir/index.html``."""
    notebooks = notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    slug = slug or repo_slug()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in EDITIONS:
        written += build_edition(out_dir / name, name, notebooks, slug, branch)
    root = out_dir / "index.html"
    root.write_text(root_index(), encoding="utf-8")
    return [root] + written


# ---- screenshots ---------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  # no network at all: every host resolves nowhere, so a page that needed one would show it
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000")


def screenshot(url: str, target: Path, chromium: str = "/usr/bin/chromium", size: str = "1280,1600") -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={target}",
               f"--window-size={size}", url]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    if not target.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot for {url}")
    return target


def screenshots(site: Path = ROOT / "build" / "site", out: Path = ROOT / "figures" / "screenshots",
                page: str = "04_momentum_lab", chromium: str = "/usr/bin/chromium") -> list[Path]:
    """The student index and one notebook page with formulas, as a learner's browser shows them offline."""
    pages = {"site_index.png": site / "student" / "index.html",
             "site_notebook.png": site / "student" / f"{page}.html"}
    for path in pages.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `make site` first")
    return [screenshot(path.resolve().as_uri(), out / name, chromium) for name, path in pages.items()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["screenshots"]:
        parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.site screenshots",
                                         description="Screenshots of the built site in headless Chromium, offline.")
        parser.add_argument("site", nargs="?", default=str(ROOT / "build" / "site"))
        parser.add_argument("--out", default=str(ROOT / "figures" / "screenshots"))
        parser.add_argument("--page", default="04_momentum_lab", help="notebook page to photograph")
        parser.add_argument("--chromium", default=os.environ.get("MBP_TEACH_CHROMIUM", "/usr/bin/chromium"))
        args = parser.parse_args(argv[1:])
        for path in screenshots(Path(args.site), Path(args.out), args.page, args.chromium):
            print(path)
        return 0
    parser = argparse.ArgumentParser(prog="python -m mbp_teach.course.site", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "build" / "site"))
    parser.add_argument("--repo", help="owner/name on GitHub for the launch links (default: the Colab install source)")
    parser.add_argument("--branch", default="main", help="branch the launch links open (default: main)")
    args = parser.parse_args(argv)
    for path in build(Path(args.out), slug=args.repo, branch=args.branch):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
