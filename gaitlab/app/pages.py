"""What the pages show, computed from stored sessions: verdict words, the trend plot, a comparison."""
from __future__ import annotations

import base64
import io
import math

from matplotlib.figure import Figure

from gaitlab.core.result import MIN_STEPS_PER_SIDE, SIDES
from gaitlab.core.result import SMALLEST_DETECTABLE_DIFFERENCE_DEG as SDD
from gaitlab.outputs.palette import hex_color
from gaitlab.outputs.wording import fmt_deg


def badge(side: dict, threshold: float) -> tuple[str, str]:
    """(css class, short words) for one side of a session: its verdict class (sessions stored before it had one:
    whether it was flagged)."""
    if not side["measurable"]:
        return "none", "no verdict"
    if side.get("verdict_class") == "cannot_tell":
        return "unsure", f"cannot tell ({threshold:g}°)"
    if side["flagged"]:
        return "over", f"above {threshold:g}°: Trendelenburg sign"
    return "ok", f"not above {threshold:g}°"


def sentence(verdict: str) -> str:
    """summary.json's verdict without its 'Left-leg stance: ' lead, for a card already titled with the side."""
    text = verdict.split(": ", 1)[-1]
    return text[:1].upper() + text[1:]


def _mean(side: dict) -> float:
    value = side["mean_drop_deg"] if side["measurable"] else None
    return float("nan") if value is None else value


def compare(a: dict, b: dict) -> list[dict]:
    """Per side: both means, the change from the earlier session `a` to `b`, and whether it is a real one."""
    rows = []
    for side in SIDES:
        before, after = _mean(a["sides"][side]), _mean(b["sides"][side])
        change = after - before
        if not math.isfinite(change):
            words, cls = "cannot be compared: one of the sessions has no verdict for this side", "none"
        elif abs(change) > SDD:
            words = (f"a real change: {'less' if change < 0 else 'more'} drop, by more than the smallest "
                     f"detectable difference ({SDD:g}°)")
            cls = "ok" if change < 0 else "over"
        else:
            words, cls = f"within measurement error (under {SDD:g}°): no real change can be claimed", "none"
        provisional = any(s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in (a, b))
        rows.append({"side": side, "before": fmt_deg(before), "after": fmt_deg(after),
                     "change": fmt_deg(change, signed=True), "words": words, "cls": cls,
                     "provisional": provisional})
    return rows


def trend_plot(sessions: list[dict]) -> str:
    """Mean drop per stance side over sessions, as an SVG data URI; the threshold of the latest session and,
    once there is a change to judge, a band of ± the smallest detectable difference around each side's first
    measured value."""
    fig = Figure(figsize=(8.5, 3.6))
    ax = fig.add_subplot()
    x = list(range(len(sessions)))
    threshold = sessions[-1]["threshold_deg"]
    for side in SIDES:
        y = [_mean(s["sides"][side]) for s in sessions]
        colour = hex_color(side)
        first = next((v for v in y if math.isfinite(v)), None)
        if first is not None and len(sessions) > 1:
            ax.axhspan(first - SDD, first + SDD, color=colour, alpha=0.10, lw=0)
        ax.plot(x, y, "-", color=colour, lw=1.6, label=f"{side}-leg stance")
        few = [s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in sessions]
        ax.scatter([i for i in x if not few[i]], [y[i] for i in x if not few[i]], s=44, color=colour, zorder=3)
        ax.scatter([i for i in x if few[i]], [y[i] for i in x if few[i]], s=44, facecolors="white",
                   edgecolors=colour, linewidths=1.6, zorder=3)
    ax.axhline(threshold, color=hex_color("over"), lw=1.2, ls="--", label=f"threshold {threshold:g}°")
    if len(sessions) > 1:
        ax.fill_between([], [], color="0.5", alpha=0.2, label=f"first session ± {SDD:g}° (no real change inside)")
    if any(s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in sessions for side in SIDES):
        ax.scatter([], [], s=44, facecolors="white", edgecolors="0.3", label=f"fewer than {MIN_STEPS_PER_SIDE} steps")
    ax.set_xticks(x, [s["session_date"] for s in sessions], rotation=30 if len(x) > 6 else 0, fontsize=8.5)
    ax.set_xlim(-0.5, len(x) - 0.5)
    values = [v for s in sessions for side in SIDES if math.isfinite(v := _mean(s["sides"][side]))]
    ax.set_ylim(min(min(values, default=0) - SDD, 0) - 0.5, max(max(values, default=0) + SDD, threshold) + 1)
    ax.set_ylabel("mean contralateral drop (°)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8.5, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()
