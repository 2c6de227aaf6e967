"""Notebook 01's Kabsch exercise: an own implementation passes, the library's kabsch (under any name) does
not, and each registered mistake gets its own diagnosis."""

import torch

from mbp_teach.course import exercises
from mbp_teach.solvers import exercises as sx

exercises.load_all()


def _own(P, Q, w):
    M = (w[:, None, None] * Q[:, :, None] * P[:, None, :]).sum(0)
    U, _, Vh = torch.linalg.svd(M)
    d = torch.sign(torch.linalg.det(U @ Vh))
    return U @ torch.diag(torch.stack([torch.ones_like(d), torch.ones_like(d), d])) @ Vh


def test_an_own_implementation_passes():
    result = exercises.run("01.kabsch", _own)
    assert result.passed, result.message


def test_calling_the_library_is_refused_under_any_name():
    from mbp_teach import solvers as S
    from mbp_teach.solvers import rotation
    from mbp_teach.solvers.rotation import kabsch as renamed

    callers = [lambda P, Q, w: S.kabsch(P, Q, w), lambda P, Q, w: renamed(P, Q, w),
               lambda P, Q, w: rotation.rigid_transform(P, Q, w)[0], lambda P, Q, w: rotation._kabsch_forward(P, Q, w)]
    for fn in callers:
        result = exercises.run("01.kabsch", fn)
        assert not result.passed and "calls the library" in result.message, result.message


def test_each_mistake_gets_its_own_diagnosis():
    messages = {}
    for fn, fragment in exercises.get("01.kabsch").wrong:
        message = exercises.run("01.kabsch", fn).message
        assert fragment in message, (fragment, message)
        messages[fragment] = message
    # no two mistakes share a hint, and only the column flip is told about columns
    assert len(set(messages.values())) == len(messages)
    assert [f for f, m in messages.items() if "column" in m] == ["column"]


def test_the_hook_is_removed_after_a_check():
    import sys

    before = sys.getprofile()
    exercises.run("01.kabsch", sx._kabsch_wrong_library)
    assert sys.getprofile() is before
