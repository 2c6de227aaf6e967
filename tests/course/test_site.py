"""The course site (`make site`): two editions, a page per notebook with navigation, launch and
download links, a math renderer bundled in the site (nothing loaded from the network), and a
student edition that shows none of the solutions the instructor edition shows."""

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from mbp_teach.course import site, student

ROOT = Path(__file__).resolve().parents[2]
# Three parts of the course (start, momentum, Hessian-free): enough for the nav, prev/next and
# solutions in code and text, at a third of the full build's time.
PICK = ("00_start_here", "04_momentum_lab", "06_hessian_free")
NOTEBOOKS = [ROOT / "notebooks" / f"{stem}.ipynb" for stem in PICK]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    written = site.build(out, NOTEBOOKS, slug="someone/course-fork", branch="spring")
    return out, written


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def words(text: str) -> str:
    """Text reduced to its letters and digits: rendering Markdown or highlighting code keeps these."""
    return re.sub(r"\W+", "", text)


def test_build_writes_both_editions_a_page_per_notebook_and_the_notebooks(built):
    out, written = built
    assert out / "index.html" in written
    root = soup(out / "index.html")
    assert {a["href"] for a in root.find_all("a")} >= {"student/index.html", "instructor/index.html"}
    for edition in ("student", "instructor"):
        for stem in PICK:
            assert (out / edition / f"{stem}.html").is_file()
            nb = nbformat.read(out / edition / f"{stem}.ipynb", as_version=4)  # the download link's target
            solutions = student.count_solutions(nb)
            assert (solutions == 0) if edition == "student" else (solutions > 0 or stem.startswith("00"))
        index = soup(out / edition / "index.html")
        hrefs = {a["href"] for a in index.find_all("a")}
        assert {f"{stem}.html" for stem in PICK} <= hrefs and {f"{stem}.ipynb" for stem in PICK} <= hrefs


def test_each_page_has_the_nav_across_parts_prev_next_and_launch_links(built):
    out, _ = built
    for edition in ("student", "instructor"):
        for i, stem in enumerate(PICK):
            page = soup(out / edition / f"{stem}.html")
            nav = page.find("nav", class_="mbp-nav")
            parts = [s.get_text(" ", strip=True) for s in nav.find_all(class_="mbp-part")]
            assert parts == ["Start 00", "Momentum 04", "Hessian-free 06"]
            assert [a["href"] for a in nav.find_all("a", attrs={"aria-current": "page"})] == [f"{stem}.html"]
            other = "instructor" if edition == "student" else "student"
            assert nav.find("a", href=f"../{other}/{stem}.html")
            prev, nxt = page.find("a", rel="prev"), page.find("a", rel="next")
            assert (prev["href"] if prev else None) == (f"{PICK[i - 1]}.html" if i > 0 else None)
            assert (nxt["href"] if nxt else None) == (f"{PICK[i + 1]}.html" if i + 1 < len(PICK) else None)
            hrefs = [a["href"] for a in page.find(class_="mbp-launch").find_all("a")]
            assert hrefs == [
                f"https://mybinder.org/v2/gh/someone/course-fork/spring?labpath=notebooks%2F{stem}.ipynb",
                f"https://colab.research.google.com/github/someone/course-fork/blob/spring/notebooks/{stem}.ipynb",
                f"{stem}.ipynb",
            ]


def test_pages_load_nothing_from_the_network_and_the_math_renderer_is_bundled(built):
    out, _ = built
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 1 + 2 * (len(PICK) + 2)   # root index; per edition: index, course syllabus, pages
    for edition in ("student", "instructor"):
        static = out / edition / site.STATIC
        assert (static / "site.css").is_file()
        assert (static / "mathjax" / "MathJax.js").is_file()
        assert (static / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
        assert list((static / "mathjax" / "fonts" / "HTML-CSS" / "STIX-Web").rglob("*.woff"))
    for path in pages:
        page = soup(path)
        refs = [s["src"] for s in page.find_all("script", src=True)]
        refs += [link["href"] for link in page.find_all("link", href=True)]
        assert any(r.endswith("site.css") for r in refs), path
        for ref in refs:
            assert not re.match(r"(https?:)?//", ref), f"{path.name} loads {ref} from the network"
            assert (path.parent / ref.split("?")[0]).is_file(), f"{path.name}: {ref} is not in the site"
        inline = " ".join(s.get_text() for s in page.find_all("script"))
        assert not re.search(r"""(import|from)\s*\(?\s*["']https?://""", inline), path
        if path.parent != out:
            assert any("MathJax.js" in r for r in refs), f"{path.name} has no math renderer"
        for img in page.find_all("img"):
            assert img.get("alt", "").strip() not in ("", "Figure"), f"{path.name}: an image without alt text"


def test_index_is_clean_text_and_lists_the_parts(built):
    out, _ = built
    index = soup(out / "student" / "index.html")
    text = index.get_text(" ")
    assert "**" not in text and "mbp_teach" in index.find("h1").get_text()
    assert [h.get_text() for h in index.find_all("h2")] == [site.PARTS[0][1], site.PARTS[2][1], site.PARTS[3][1]]


def test_student_pages_show_none_of_the_solutions_the_instructor_pages_show(built):
    out, _ = built
    checked = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        rest = words(" ".join(c.source for c in student.student_edition(nb).cells))
        lines = set()
        for cell in nb.cells:
            pattern = student.CODE_SOLUTION if cell.cell_type == "code" else student.TEXT_SOLUTION
            for m in pattern.finditer(cell.source):
                lines.update(ln for ln in m.group(0).splitlines()
                             if len(words(ln)) >= 20 and "SOLUTION" not in ln and words(ln) not in rest)
        shown = words(soup(out / "instructor" / f"{path.stem}.html").get_text())
        hidden = words(soup(out / "student" / f"{path.stem}.html").get_text())
        for line in lines:
            assert words(line) in shown, f"{path.stem}: the instructor page lacks {line!r}"
            assert words(line) not in hidden, f"{path.stem}: the student page shows {line!r}"
            checked += 1
    assert checked >= 10
    for stem in PICK[1:]:
        assert soup(out / "instructor" / f"{stem}.html").find(class_=["celltag_solution", "mbp-solution"])
        assert soup(out / "student" / f"{stem}.html").find(class_="celltag_your-turn")
        assert not soup(out / "student" / f"{stem}.html").find(class_=["celltag_solution", "mbp-solution"])


def test_widgets_become_pictures_or_a_note_and_every_picture_has_alt_text():
    path = ROOT / "notebooks" / "04_momentum_lab.ipynb"
    nb = nbformat.read(path, as_version=4)
    static = site.static_outputs(nb, "04")
    outs = [o for c in static.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outs and not any(site.WIDGET in o.get("data", {}) for o in outs)
    widget_outs = sum(site.WIDGET in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    replaced = sum(("image/png" in o.get("data", {})) or (o.get("data", {}).get("text/html") == site.NOTE) for o in outs)
    assert replaced >= widget_outs > 0
    alts = [o["metadata"]["image/png"]["alt"] for o in outs if "image/png" in o.get("data", {})]
    assert alts and all(a.startswith(("Figure in “", "Still picture of the interactive panel in “")) for a in alts)
    assert any(a.startswith("Still picture") for a in alts) and not any("$" in a or "\\" in a for a in alts)
    assert "Static page" in static.cells[0].source and "**" in static.cells[0].source


def test_editions_reject_an_unknown_name():
    nb = nbformat.v4.new_notebook()
    with pytest.raises(ValueError, match="edition"):
        site.edition(nb, "teacher")
