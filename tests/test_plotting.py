import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import to_hex, to_rgba  # noqa: E402

from mbp_teach.plotting import PALETTE, new_figure  # noqa: E402


def test_cycle_colours_are_the_okabe_ito_palette_in_matplotlibs_roles():
    fig, ax = new_figure()
    lines = [ax.plot([0, 1], [0, i])[0] for i in range(3)]
    assert [to_hex(line.get_color()).upper() for line in lines] == list(PALETTE[:3])
    assert to_hex("C3").upper() == "#D55E00"  # "C3" keeps meaning red (vermillion), as in matplotlib's default


def test_figures_are_opaque_white_even_under_a_transparent_style():
    with matplotlib.rc_context({"figure.facecolor": (1, 1, 1, 0)}):
        fig, _ = new_figure()
    assert to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
