"""Per-side verdicts from per-step drops, and the warnings that say when a clip cannot support one."""
from __future__ import annotations

import numpy as np

from gaitlab.core.result import MIN_STEPS_PER_SIDE, SIDES, SideVerdict, StepDrop


def side_verdicts(steps: list[StepDrop], threshold_deg: float, measurable: bool) -> dict[str, SideVerdict]:
    out = {}
    for side in SIDES:
        drops = np.array([s.peak_drop_deg for s in steps if s.stance_side == side], dtype=float)
        base = np.array([s.baseline_peak_drop_deg for s in steps if s.stance_side == side], dtype=float)
        n = len(drops)
        mean = float(drops.mean()) if n else float("nan")
        out[side] = SideVerdict(
            side=side,
            steps=n,
            mean_drop_deg=mean,
            sd_drop_deg=float(drops.std(ddof=1)) if n > 1 else float("nan"),
            max_drop_deg=float(drops.max()) if n else float("nan"),
            steps_over_threshold=int((drops > threshold_deg).sum()),
            flagged=bool(measurable and n > 0 and mean > threshold_deg),
            measurable=bool(measurable and n > 0),
            baseline_mean_drop_deg=float(np.nanmean(base)) if n and np.isfinite(base).any() else float("nan"),
        )
    return out


def step_count_warnings(verdicts: dict[str, SideVerdict], view_measurable: bool) -> list[str]:
    out = []
    for side, v in verdicts.items():
        if view_measurable and v.steps == 0:
            out.append(f"No complete {side}-leg single-leg stance was found, so that side has no verdict: "
                       f"film at least {MIN_STEPS_PER_SIDE} steps per side with the feet in view.")
        elif v.measurable and v.steps < MIN_STEPS_PER_SIDE:
            out.append(f"Only {v.steps} {side}-leg stance step{'s' if v.steps != 1 else ''} measured: at least "
                       f"{MIN_STEPS_PER_SIDE} per side are needed for a stable mean (film a longer walk).")
    return out
