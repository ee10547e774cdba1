"""The walkthrough notebook runs top to bottom (its code cells, in order, in one namespace)."""
import json
import os
from pathlib import Path

import matplotlib
import pytest

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_runs_top_to_bottom(pose_model, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(NOTEBOOK.parent)
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 6
    namespace: dict = {}
    for i, cell in enumerate(cells):
        exec(compile("".join(cell["source"]), f"{NOTEBOOK.name}[cell {i}]", "exec"), namespace)
    assert set(namespace["analysis"].sides) == {"left", "right"}
    assert os.path.samefile(namespace["clip"].parent, NOTEBOOK.parent.parent / "sample_videos")
