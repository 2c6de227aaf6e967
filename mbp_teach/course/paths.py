"""Where the course tools read and write: the repository checkout they run in.

The course tools (site, slides, assignments, student edition, figure regeneration) work on a
clone of the repository, never on an installed copy, so they find it from this file's location.
"""

from __future__ import annotations

from pathlib import Path

#: The repository root (the folder with README.md, notebooks/ and figures/).
REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
FIGURES = REPO / "figures"
