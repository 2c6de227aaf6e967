"""`python -m mbp_teach.bench` and `python -m mbp_teach.experiments` share one command loader."""

from pathlib import Path

import pytest

import mbp_teach.bench as commands


def test_each_public_module_is_a_command_of_its_package():
    assert {"gradients", "hf", "solvers", "stages", "widgets"} <= set(commands.names())
    import mbp_teach.experiments

    modules = sorted(p.stem for p in Path(mbp_teach.experiments.__file__).parent.glob("[!_]*.py"))
    assert "relative_pose" in modules and commands.names("mbp_teach.experiments") == modules
    for name in modules:
        mod = commands.load(name, "mbp_teach.experiments")
        assert callable(mod.add_arguments) and callable(mod.run)


def test_an_unknown_command_names_the_ones_that_exist():
    with pytest.raises(ValueError, match="available: gradients, hf, solvers, stages, widgets"):
        commands.load("gradient")


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as stop:
        commands.main("mbp_teach.experiments", "experiments of mbp_teach", ["--help"])
    assert stop.value.code == 0
    assert "relative_pose" in capsys.readouterr().out
