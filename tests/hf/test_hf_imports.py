"""The model code of Hessian-free runs without the notebook stack: only ``hf.panels`` may pull in ipywidgets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import sys
import mbp_teach.hf, mbp_teach.hf.compare, mbp_teach.hf.plots
print("ipywidgets" in sys.modules, "mbp_teach.panels" in sys.modules)
import mbp_teach.hf.panels
print("ipywidgets" in sys.modules)
"""


def test_model_and_figure_code_do_not_import_ipywidgets():
    # a fresh interpreter: in this one another test may already have imported ipywidgets
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    without_panels, with_panels = out.stdout.split("\n")[:2]
    assert without_panels == "False False"  # neither ipywidgets nor the panel machinery
    assert with_panels == "True"  # the check can see an import: the panels do need ipywidgets
