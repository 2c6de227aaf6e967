"""The course kit: README figures come from `make figures`, figures are deterministic (the site has
its own tests in test_site.py)."""

import re
from pathlib import Path

from mbp_teach.course import figures
from mbp_teach.notebook import save_figure
from mbp_teach.plotting import new_figure

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_figure_the_readme_shows_exists_and_is_made_by_make_figures():
    shown = re.findall(r"\((figures/[^)\s]+\.png)\)", README)
    made = figures.notebook_figures()
    assert shown, "the README should show figures"
    for rel in shown:
        path = ROOT / rel
        assert path.exists(), f"README shows {rel}, which does not exist"
        if rel.startswith("figures/screenshots/"):
            continue  # written by `make e2e` (browser screenshots), see tests/e2e
        assert path.name in made or path.name in figures.MEASURED, \
            f"README shows {rel}, which neither a notebook nor a measured command makes (make figures would not remake it)"


def test_every_figure_file_is_made_by_a_notebook_or_a_named_measurement():
    made = figures.notebook_figures()
    for name, (cmd, source) in figures.MEASURED.items():
        stem = name.rsplit(".", 1)[0]
        text = (ROOT / source).read_text()
        # names may be assembled (f"{name}_training"): the head and the last word must both appear
        head, last = "_".join(stem.split("_")[:2]), stem.split("_")[-1]
        assert head in text and last in text, f"{source} does not draw {name}"
        assert cmd[0] == "-m" and (ROOT / (cmd[1].replace(".", "/"))).exists(), cmd
    assert figures.TIMED <= set(made), "TIMED lists notebook figures only"
    orphans = [p.name for p in (ROOT / "figures").glob("*.png") if p.name not in made and p.name not in figures.MEASURED]
    assert not orphans, f"figures nobody regenerates: {orphans}"


def test_saved_figures_are_byte_identical_when_redrawn(tmp_path, monkeypatch):
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    sizes = []
    for _ in range(2):
        fig, ax = new_figure()
        ax.plot([0, 1, 2], [1, 0, 2], label="x")
        ax.set_xlabel("step")
        ax.legend()
        sizes.append(save_figure(fig, "same").read_bytes())
    assert sizes[0] == sizes[1]


def test_show_saves_unless_a_check_run_asks_it_not_to(tmp_path, monkeypatch):
    from mbp_teach.notebook import show

    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    fig, ax = new_figure()
    ax.plot([0, 1])
    monkeypatch.setenv("MBP_TEACH_NO_SAVE", "1")
    show(fig, save="checked")
    assert not (tmp_path / "checked.png").exists()
    monkeypatch.delenv("MBP_TEACH_NO_SAVE")
    show(fig, save="made")
    assert (tmp_path / "made.png").exists()


# ---- slides (mbp_teach.course.slides) ----------------------------------------------------------------

def test_slides_start_at_sections_show_text_and_figures_and_skip_other_code():
    import nbformat

    from mbp_teach.course import slides

    nb = nbformat.read(ROOT / "notebooks" / "04_momentum_lab.ipynb", as_version=4)
    deck = slides.slide_notebook(nb, "04")
    kinds = [c.metadata["slideshow"]["slide_type"] for c in deck.cells]
    sections = [c for c in nb.cells if c.cell_type == "markdown" and re.match(r"\s*#{1,2}\s", c.source)]
    assert kinds.count("slide") == len(sections) >= 5
    for cell, kind in zip(deck.cells, kinds, strict=True):
        if cell.cell_type == "code":
            assert kind == "subslide" and cell.outputs
            assert all(any(k in o["data"] for k in slides.FIGURE_TYPES) for o in cell.outputs)
        elif re.match(r"\s*#{1,2}\s", cell.source):
            assert kind == "slide"
    figures = sum(slides.makes_figure(c) for c in nb.cells)
    assert sum(c.cell_type == "code" for c in deck.cells) == figures > 0
    # every derivation is there, no solution is
    assert sum(c.cell_type == "markdown" for c in deck.cells) == sum(c.cell_type == "markdown" for c in nb.cells)
    assert not any("BEGIN SOLUTION" in c.source for c in deck.cells)
    assert "Exercise 2 (implement)" in "".join(c.source for c in deck.cells)


def test_a_built_deck_loads_nothing_from_the_network(tmp_path):
    from mbp_teach.course import slides

    if not (slides.REVEAL_PACKAGE / "dist" / "reveal.js").is_file():
        import pytest

        pytest.skip("reveal.js not installed: `make slides` installs it (npm)")
    deck, live = slides.build(tmp_path, [ROOT / "notebooks" / "04_momentum_lab.ipynb"])
    assert live == tmp_path / "rise" / "04_momentum_lab.ipynb" and live.is_file()
    text = deck.read_text()
    assert "No description has been provided" not in text  # every figure has its alt text
    loaded = re.findall(r"""<(?:script|link|img)[^>]*?(?:src|href)=["']([^"']+)""", text)
    assert loaded and not [u for u in loaded if re.match(r"(https?:)?//", u)], loaded
    for url in loaded:
        if not url.startswith("data:"):
            assert (tmp_path / url.split("?")[0]).is_file(), url
    assert text.count("<section") >= 10 and "MathJax.js" in text


def test_live_rise_copy_keeps_every_cell_with_slide_metadata_and_no_solution():
    import nbformat

    from mbp_teach.course import slides, student

    nb = nbformat.read(ROOT / "notebooks" / "04_momentum_lab.ipynb", as_version=4)
    live = slides.live_notebook(nb)
    assert len(live.cells) == len(student.student_edition(nb).cells)  # every cell stays: the talk runs them
    kinds = [c.metadata["slideshow"]["slide_type"] for c in live.cells]
    first_section = next(i for i, c in enumerate(live.cells) if c.cell_type == "markdown" and slides.SECTION.match(c.source))
    assert all(k == "skip" for c, k in zip(live.cells[:first_section], kinds, strict=False) if c.cell_type == "code")
    assert {k for c, k in zip(live.cells[first_section:], kinds[first_section:], strict=True) if c.cell_type == "code"} == {"-"}
    assert kinds.count("slide") >= 5
    assert not any("BEGIN SOLUTION" in c.source for c in live.cells)
