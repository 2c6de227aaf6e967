"""`python -m mbp_teach.bench stages`: five_point's forward and backwards, stage by stage (mbp_teach.bench.stages).

Timings are never asserted (they belong to the benchmark's report); the tests check which stages are measured,
how the derived rows are computed from the measured ones, and the operation counts, which do not depend on timing.
"""

import math

import pytest
import torch

from mbp_teach.bench import stages as st


def _fixed(values):
    """A stand-in for ``_medians``: stage k gets values[name] and checks that every stage is callable."""
    def medians(stages, repeats):
        for _, fn in stages:
            fn()
        return {name: values.get(name, 1.0) for name, _ in stages}
    return medians


def test_forward_stages_are_the_notebook_01_stages_in_order(monkeypatch):
    measured = {"3 eliminate": 10.0, "5a eigenvalues (LAPACK)": 16.0, "5 roots": 21.0}
    monkeypatch.setattr(st, "_medians", _fixed(measured))
    t = st.forward_stages(batch=4, repeats=1)
    assert list(t)[:len(st.FORWARD_STAGES)] == list(st.FORWARD_STAGES)
    assert "five_point() total" in t
    assert t["3 eliminate"] == 10.0
    assert t["5b back-substitution"] == 5.0  # the roots stage minus its eigenvalues


def test_backward_stages_add_up_to_the_whole_backward(monkeypatch):
    measured = {"5 x 5 inverses (LAPACK)": 0.5, "solve": 0.75}
    monkeypatch.setattr(st, "_medians", _fixed(measured))
    t = st.ift_backward_stages(batch=6, repeats=2)
    assert list(t)[:len(st.BACKWARD_STAGES)] == list(st.BACKWARD_STAGES)
    assert t["rest of the solve"] == 0.25
    assert math.isclose(sum(t[k] for k in st.BACKWARD_STAGES) + t["rest"], t["IFT backward total"])
    assert t["IFT backward total"] > 0 and t["autograd backward total"] > 0  # the real timings of the whole passes
    _, _, valid, _, _ = st._roots_and_gradient(6, 0)
    assert t["roots"] == int(valid.sum()) > 0


def test_the_ift_backward_runs_fewer_operations_than_autograd():
    ops = st.operation_counts(batch=8)
    assert 0 < ops["ift"] < ops["autograd"]
    names = [name for name, _ in ops["autograd top"]]
    assert "LinalgEigBackward" in names and ops["autograd nodes"] > len(names)
    assert 0 < sum(share for _, share in ops["autograd top"]) <= 1.0 + 1e-12


def test_the_command_prints_all_three_profiles(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    st.add_arguments(parser)
    assert st.run(parser.parse_args(["--batch", "8", "--backward-batch", "8", "--repeats", "1", "--scaling-batches", "2,4"])) == 0
    out = capsys.readouterr().out
    for text in ("5a eigenvalues (LAPACK)", "5 x 5 inverses (LAPACK)", "tensor operations per backward", "autograd / IFT",
                 "one tensor operation without arithmetic", "per-problem ratio"):
        assert text in out


@pytest.mark.parametrize("batch", [1, 7])
def test_gather_and_scatter_roots_are_inverse_bookkeeping(batch):
    from mbp_teach.gradients import essential_tangent as et

    E, G, valid, x1, x2 = st._roots_and_gradient(batch, 3)
    Ep, a, b, Gp, item = et.gather_roots(E, G, valid, x1, x2)
    problem, slot = torch.nonzero(valid, as_tuple=True)
    assert torch.equal(item, problem)
    assert torch.equal(Ep.permute(2, 0, 1), E[problem, slot]) and torch.equal(Gp.permute(2, 0, 1), G[problem, slot])
    assert torch.equal(a.permute(2, 1, 0), x1[problem]) and torch.equal(b.permute(2, 1, 0), x2[problem])
    out = et.scatter_roots(a, b, item, batch)  # each problem: its points times its number of roots
    count = valid.sum(-1).to(x1.dtype)[:, None, None]
    assert torch.allclose(out[:, 0], x1 * count) and torch.allclose(out[:, 1], x2 * count)


def test_fixed_cost_is_a_positive_number_of_microseconds():
    assert 0 < st.fixed_cost_us(calls=50) < 1e5


def test_batch_scaling_fits_a_fixed_part_and_a_part_per_problem(monkeypatch):
    from mbp_teach.bench import gradients as bg

    def fake(batch, repeats):  # exact lines: autograd 2 ms + 80 us per problem, IFT 1.5 ms + 10 us per problem
        return {"autograd": {"backward": 1e-3 * (2.0 + 0.08 * batch)}, "ift": {"backward": 1e-3 * (1.5 + 0.01 * batch)}}

    monkeypatch.setattr(bg, "compare_five_point", fake)
    r = st.batch_scaling((4, 16, 64), repeats=1)
    assert math.isclose(r["autograd"]["fixed ms"], 2.0, rel_tol=1e-9) and math.isclose(r["ift"]["fixed ms"], 1.5, rel_tol=1e-9)
    assert math.isclose(r["autograd"]["per problem us"], 80.0, rel_tol=1e-9)
    assert math.isclose(r["ift"]["per problem us"], 10.0, rel_tol=1e-9)
    assert r["ift"]["ms"] == {b: 1.5 + 0.01 * b for b in (4, 16, 64)}
