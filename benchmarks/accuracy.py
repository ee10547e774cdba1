"""Accuracy against ground truth: `gaitlab validate` on the rendered bench (or any folder given).

    python benchmarks/accuracy.py [DIR]      (default: ../shared/bench beside the checkout)

Prints per clip and overall: stance-window F1, per-step peak-drop MAE, per-side mean-drop error and
verdict agreement, for gaitlab's measure and for the hip-landmark-line baseline.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gaitlab.cli import main  # noqa: E402

if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "bench")
    sys.exit(main(["validate", folder]))
