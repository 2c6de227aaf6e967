"""The faster five_point stages (issue 18) equal the straightforward reference formulas to round-off.

The references below are the plain versions of the stages (einsum polynomial products, batched 3x3
matrix products, exact SVD degeneracy tests on every problem); the package computes the same with the
batch as the last dimension and screens the exact tests. Same inputs, same results.
"""

import torch

from mbp_teach import data
from mbp_teach.gradients import problems as gp
from mbp_teach.solvers import essential as es


def reference_constraint_matrix(basis: torch.Tensor) -> torch.Tensor:
    ll, ql = es._LIN_LIN, es._QUAD_LIN
    E = basis.movedim(-3, -1)
    EEt = torch.einsum("...ika,...jkb,abm->...ijm", E, E, ll)
    tr = EEt[..., 0, 0, :] + EEt[..., 1, 1, :] + EEt[..., 2, 2, :]
    trace = 2.0 * torch.einsum("...ikm,...kjc,mcn->...ijn", EEt, E, ql) - torch.einsum("...m,...ijc,mcn->...ijn", tr, E, ql)
    r1, r2 = E[..., 1, :, :], E[..., 2, :, :]
    j1, j2 = [1, 2, 0], [2, 0, 1]
    cof = (torch.einsum("...a,...b,abm->...m", r1[..., j1, :], r2[..., j2, :], ll)
           - torch.einsum("...a,...b,abm->...m", r1[..., j2, :], r2[..., j1, :], ll))
    det = torch.einsum("...jm,...jc,mcn->...n", cof, E[..., 0, :, :], ql)
    return torch.cat([det.unsqueeze(-2), trace.flatten(-3, -2)], dim=-2)


def reference_essential_constraints(E: torch.Tensor) -> torch.Tensor:
    EEt = E @ E.transpose(-1, -2)
    tr = EEt.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    trace = 2.0 * EEt @ E - tr * E
    return torch.cat([torch.linalg.det(E).unsqueeze(-1), trace.flatten(-2)], dim=-1)


def reference_action_matrix(G: torch.Tensor) -> torch.Tensor:
    rows = []
    for m in es._X_TIMES_BASIS:
        if m < 10:
            rows.append(-G[..., m, :])
        else:
            rows.append(torch.nn.functional.one_hot(torch.tensor(m - 10), 10).to(G).expand(G.shape[:-2] + (10,)))
    return torch.stack(rows, dim=-2)


def reference_degeneracy(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """The exact tests on every problem."""
    tol = 1e3 * torch.finfo(x1.dtype).eps
    a, b = x1.to(torch.float64), x2.to(torch.float64)
    rank = es._checks.rank_deficient(torch.linalg.svdvals(es.epipolar_rows(a, b)), 4, tol=tol)
    b1 = torch.nn.functional.normalize(torch.cat([a, torch.ones_like(a[..., :1])], -1), dim=-1)
    b2 = torch.nn.functional.normalize(torch.cat([b, torch.ones_like(b[..., :1])], -1), dim=-1)
    rotation = es._rotation_misfit(b1, b2) <= tol
    reason = torch.where(rotation, torch.tensor(es.ROTATION, dtype=torch.int8), torch.tensor(es.OK, dtype=torch.int8))
    return torch.where(rank, torch.tensor(es.RANK, dtype=torch.int8), reason)


def test_stages_equal_the_reference_formulas():
    scene = data.two_view(5, (3, 40), seed=11)
    basis = es.null_space_basis(scene.x1, scene.x2)
    C = es.constraint_matrix(basis)
    assert C.shape == (3, 40, 10, 20)
    assert torch.allclose(C, reference_constraint_matrix(basis), rtol=0, atol=1e-13 * float(C.abs().max()))
    G, ok = es.eliminate(C)
    assert torch.equal(es.action_matrix(G), reference_action_matrix(G))
    E = torch.randn(3, 40, 10, 3, 3, dtype=torch.float64)
    c = es.essential_constraints(E)
    assert c.shape == (3, 40, 10, 10)
    assert torch.allclose(c, reference_essential_constraints(E), rtol=0, atol=1e-12 * float(c.abs().max()))


def test_screened_degeneracy_flags_what_the_exact_tests_flag():
    for dtype in (torch.float64, torch.float32):
        scene = data.two_view(5, 200, seed=5, dtype=dtype)
        x1, x2 = scene.x1.clone(), scene.x2.clone()
        x2[:40] = x1[:40]  # x2 = x1: a rotation (R = I)
        x1[40:80, 1], x2[40:80, 1] = x1[40:80, 0], x2[40:80, 0]  # a repeated point: rank < 5
        R = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))).Q
        h = torch.cat([x1[80:120].double(), torch.ones(40, 5, 1, dtype=torch.float64)], -1) @ R.T
        x2[80:120] = (h[..., :2] / h[..., 2:]).to(dtype)  # a pure rotation, some points behind
        x2[120:130] = x1[120:130] + 1e-9  # nearly x2 = x1
        near = gp.inputs("five_point", 40, seed=5, gap=1e-4, dtype=dtype)
        for a, b in ((x1, x2), near, (scene.x1, scene.x2)):
            got, want = es.degeneracy(a, b), reference_degeneracy(a, b)
            assert torch.equal(got, want)
        flags = es.degeneracy(x1, x2)
        assert bool((flags[:40] == es.ROTATION).all()) and bool((flags[40:80] == es.RANK).all())
        assert bool((flags[130:] == es.OK).all())
    x = torch.rand(5, 2, dtype=torch.float64)
    assert int(es.degeneracy(x, x)) == es.ROTATION and int(es.degeneracy(x, x + 1)) == es.OK


def _same_solutions(E_a, valid_a, E_b, valid_b):
    """Per valid solution of a: distance (up to sign) to the nearest valid solution of b."""
    d = torch.minimum((E_a.unsqueeze(-3) - E_b.unsqueeze(-4)).flatten(-2).norm(dim=-1),
                      (E_a.unsqueeze(-3) + E_b.unsqueeze(-4)).flatten(-2).norm(dim=-1))
    return torch.where(valid_b.unsqueeze(-2), d, torch.full_like(d, float("inf"))).min(-1).values[valid_a]


def test_back_substitution_finds_the_solutions_of_the_eigenvectors():
    """Stage 5 of five_point (eigenvalues + Nister's 3x3 back-substitution) and the readable stage 5
    (eigenvectors of the action matrix) give the same set of solutions, to round-off for all but the
    worst-conditioned roots (the order of the solutions may differ)."""
    scene = data.two_view(5, 2000, seed=21)
    basis = es.null_space_basis(scene.x1, scene.x2)
    G, ok = es.eliminate(es.constraint_matrix(basis))
    A = es.action_matrix(G)
    xyz_b, v_b = es.roots_by_back_substitution(A, G, ok)
    xyz_e, v_e = es.roots_from_action(A, ok)
    assert torch.equal(v_b.sum(-1), v_e.sum(-1))  # as many real roots per problem
    E_b, E_e = es.compose_essential(basis, xyz_b, v_b), es.compose_essential(basis, xyz_e, v_e)
    d = torch.cat([_same_solutions(E_b, v_b, E_e, v_e), _same_solutions(E_e, v_e, E_b, v_b)])
    assert float(d.median()) < 1e-12 and float(torch.quantile(d, 0.99)) < 1e-8 and float(d.max()) < 1e-4
    # a singular P (rows x^3, x^2y, x^2z of G on y^2, yz, z^2) falls back to the eigenvectors
    G0 = G[:3].clone()
    G0[:, 0:3, 3:6] = 0.0
    xyz0, v0 = es.roots_by_back_substitution(es.action_matrix(G0), G0, ok[:3])
    xyz1, v1 = es.roots_from_action(es.action_matrix(G0), ok[:3])
    assert torch.equal(v0, v1) and torch.equal(xyz0[v0], xyz1[v1])
