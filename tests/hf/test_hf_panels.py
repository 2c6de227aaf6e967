"""HF panels headless: callbacks redraw, messages say what happened, bad values are messages."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from hf_threads import one_thread  # noqa: E402,F401  (autouse fixture)

from mbp_teach.hf.compare import Run, curves_autoencoder_objective, run_hf  # noqa: E402
from mbp_teach.hf.curves import curve_images  # noqa: E402
from mbp_teach.hf.panels import RosenbrockHF  # noqa: E402


def test_rosenbrock_panel_damping_and_cg_iterations():
    lab = RosenbrockHF(steps=40)
    assert lab.update(damping=1e-4, max_cg=2)
    assert "reached (1, 1)" in lab.message.value
    short = float((lab.result[1] - lab.result[0]).norm())
    assert lab.update(damping=1e4, max_cg=2)
    assert float((lab.result[1] - lab.result[0]).norm()) < 0.1 * short  # heavy damping: a short gradient step
    assert lab.update(max_cg=1) and "still" in lab.message.value  # one CG iteration: not there in 40 steps
    x, y = lab.path.get_data()
    assert len(x) == len(lab.result)


def test_rosenbrock_panel_refuses_nonpositive_damping():
    lab = RosenbrockHF(steps=5)
    # the log slider clamps to its range, so a bad value can only come from a direct call
    with pytest.raises(ValueError, match="damping"):
        lab._update(damping=-1.0, max_cg=2)
    assert lab.update(damping=0.0) and lab.controls["damping"].value > 0  # clamped, still a valid redraw


def test_run_to_target_reads_first_hit():
    r = Run("x", loss=[3.0, 2.0, 1.0, 0.5], wall=[1, 2, 3, 4], passes=[10, 20, 30, 40], cg_iters=[1, 2, 3, 4])
    r.cpu = [0.5, 1, 1.5, 2]
    assert r.to_target(1.0) == dict(iterations=3, wall=3, cpu=1.5, passes=30, cg=6, cg_per_iter=2.0)
    assert r.to_target(0.1) is None


def test_sampling_run_uses_growing_samples_and_counts_fewer_passes():
    full = run_hf("HF", curves_autoencoder_objective(60), None, 3, max_cg=5)
    sampled = run_hf("s", curves_autoencoder_objective(60), None, 3, max_cg=5, sample_start=0.25, sample_growth=2.0)
    assert sampled.samples == [15, 30, 60]
    assert sampled.passes[1] < full.passes[1]


def test_curve_images_are_seeded_and_in_range():
    a, b = curve_images(5, seed=3), curve_images(5, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, curve_images(5, seed=4))
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and float(a.max()) > 0.9
    tiny = a[(a > 0) & (a < 1e-6)]
    assert tiny.numel() == 0  # no subnormal-range ink


def test_loss_curves_start_every_run_at_its_starting_loss_with_no_negative_ticks():
    from mbp_teach.hf.plots import loss_curves

    runs = [Run("a", loss=[2.0, 1.0], wall=[0.5, 1.0], passes=[3.0, 6.0], start_loss=4.0),
            Run("b", loss=[3.0, 0.5], wall=[2.0, 4.0], passes=[1.0, 2.0], start_loss=4.0)]
    fig = loss_curves(runs, target=1.0)
    for ax in fig.axes:
        starts = [line.get_data() for line in ax.get_lines() if line.get_label() in ("a", "b")]
        assert all(x[0] == 0.0 and y[0] == 4.0 for x, y in starts)
        assert ax.get_xlim()[0] == 0.0 and ax.get_xlabel()
    colours = {line.get_color() for line in fig.axes[0].get_lines() if line.get_label() in ("a", "b")}
    styles = {line.get_linestyle() for line in fig.axes[0].get_lines() if line.get_label() in ("a", "b")}
    assert len(colours) == 2 and len(styles) == 2
    assert curves_autoencoder_objective(10) and run_hf("c", curves_autoencoder_objective(10), None, 1, max_cg=2).start_loss > 0
