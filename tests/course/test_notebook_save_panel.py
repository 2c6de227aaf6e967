"""notebook.save_panel: a panel's figure is saved like show(fig, save=...), and not during check runs."""

import matplotlib

matplotlib.use("Agg")

from mbp_teach.course import figures  # noqa: E402
from mbp_teach.notebook import save_panel  # noqa: E402
from mbp_teach.plotting import new_figure  # noqa: E402


def test_save_panel_writes_unless_a_check_run_asks_it_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path))
    fig, ax = new_figure()
    ax.plot([0, 1])
    monkeypatch.setenv("MBP_TEACH_NO_SAVE", "1")
    assert save_panel(fig, save="checked") is None and not (tmp_path / "checked.png").exists()
    monkeypatch.delenv("MBP_TEACH_NO_SAVE")
    assert save_panel(fig, save="made") == tmp_path / "made.png" and (tmp_path / "made.png").exists()


def test_figure_index_sees_save_panel_calls():
    assert figures.SAVE.findall('nbk.save_panel(step.fig, save="02_fd_step")') == ["02_fd_step"]
