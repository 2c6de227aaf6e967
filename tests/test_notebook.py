"""The notebook helpers every notebook calls: checked claims and bounds, where figures are saved."""

import math

import pytest

from mbp_teach import notebook as nbk


def test_claim_prints_only_the_bound_and_asserts(capsys):
    nbk.claim("err", 3.2e-13, 1e-6, show_value=False)
    nbk.claim("far", 0.3, 1e-4, below=False, show_value=False)
    assert capsys.readouterr().out == "err: < 1e-06\nfar: > 1e-04\n"
    with pytest.raises(AssertionError, match="err"):
        nbk.claim("err", 1e-3, 1e-6, show_value=False)
    with pytest.raises(AssertionError):
        nbk.claim("err", math.nan, 1e-6, show_value=False)
    with pytest.raises(AssertionError):
        nbk.claim("far", math.nan, 1e-4, below=False, show_value=False)


def test_as_bound_text_does_not_depend_on_the_value():
    assert {nbk.as_bound(v, 1e-9) for v in (0.0, 9.9e-16, 1.0e-15, 3e-10, 1e-9)} == {"< 1e-09"}
    with pytest.raises(AssertionError):
        nbk.as_bound(1.01e-9, 1e-9)


def test_claim_with_value_prints_value_and_bound(capsys):
    nbk.claim("rate", 0.8181, 0.82)
    assert capsys.readouterr().out == "rate: 0.818  (claim: <= 0.82)  OK\n"
    with pytest.raises(AssertionError, match="rate"):
        nbk.claim("rate", 0.9, 0.82)


def test_figures_go_to_the_checkout_or_the_users_folder_never_site_packages(tmp_path, monkeypatch):
    monkeypatch.delenv("MBP_TEACH_FIGURES", raising=False)
    assert nbk.figures_dir() == nbk.Path(nbk.__file__).resolve().parents[1] / "figures"  # this checkout
    monkeypatch.setenv("MBP_TEACH_FIGURES", str(tmp_path / "mine"))
    assert nbk.figures_dir() == tmp_path / "mine"
    monkeypatch.delenv("MBP_TEACH_FIGURES")
    fake = tmp_path / "site-packages" / "mbp_teach" / "notebook.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.setattr(nbk, "__file__", str(fake))
    monkeypatch.chdir(tmp_path)
    assert nbk.figures_dir() == tmp_path / "figures"
