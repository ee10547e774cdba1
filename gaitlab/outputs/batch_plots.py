"""The batch index's plots (templates/batch_index.html.j2): how the clips' mean contralateral drops are spread, read
from each clip's summary.json, as inline SVG (data: URIs, as the report's plots).

- per stance side, every clip's mean drop (a dot per clip, left and right), with each side's median and the
  threshold;
- per clip, the left-stance against the right-stance mean (a dot per clip with both sides measured), with the
  identity line (equal drops) and the threshold on either axis: a clip above the line drops more in right-leg
  stance; a filled dot is a clip whose left-right difference is claimed (its 95% interval excludes zero and it
  exceeds the smallest detectable difference: summary.json's side_difference_deg.claimed).

Both are left out with fewer than MIN_CLIPS clips measured (the second with fewer than MIN_CLIPS measured on both
sides): one clip is no distribution, and its report plots it better.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from gaitlab.core.result import SIDES, SMALLEST_DETECTABLE_DIFFERENCE_DEG
from gaitlab.outputs.palette import hex_color
from gaitlab.outputs.templating import svg_data_uri

MIN_CLIPS = 2


def _mean(summary: dict, side: str) -> float | None:
    """A side's mean drop, degrees, where the summary has a verdict on it; None otherwise."""
    s = summary.get("sides", {}).get(side, {})
    mean = s.get("mean_drop_deg")
    ok = s.get("measurable") and isinstance(mean, (int, float)) and not isinstance(mean, bool)
    return float(mean) if ok and math.isfinite(mean) else None


def clip_means(summaries: list[dict | None]) -> list[dict]:
    """Per clip with at least one side measured: {"left": mean or None, "right": mean or None, "claimed": whether
    its left-right difference is claimed}, degrees; clips without a summary or a measured side are left out."""
    out = []
    for summary in summaries:
        if not summary:
            continue
        means = {side: _mean(summary, side) for side in SIDES}
        if any(v is not None for v in means.values()):
            difference = summary.get("side_difference_deg") or {}
            out.append({**means, "claimed": bool(difference.get("claimed"))})
    return out


def _spread(values: np.ndarray, width: float = 0.32) -> np.ndarray:
    """Horizontal offsets for a strip of dots: even, in the order of their values (neighbours apart), the same
    for the same values every time."""
    if len(values) < 2:
        return np.zeros(len(values))
    rank = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return ((rank * 0.618034) % 1.0 - 0.5) * width


def side_means_figure(means: list[dict], threshold_deg: float) -> Figure:
    """Each clip's mean drop per stance side (a dot per clip), each side's median (a bar, its value under the side's
    name) and the threshold."""
    fig = Figure(figsize=(4.6, 3.8))
    ax = fig.add_subplot()
    values, ticks = [], []
    for x, side in enumerate(SIDES):
        d = np.array([m[side] for m in means if m[side] is not None], float)
        values += list(d)
        ticks.append(f"{side}-leg stance\n{len(d)} clips")
        if not len(d):
            continue
        ax.scatter(x + _spread(d), d, s=34, color=hex_color(side), alpha=0.8 if len(d) > 30 else 1.0,
                   edgecolors="white", linewidths=0.8, zorder=3)
        median = float(np.median(d))
        ax.plot([x - 0.26, x + 0.26], [median, median], color="0.15", lw=2, zorder=4)
        ticks[-1] += f"\nmedian {median:.1f}°"
    ax.axhline(threshold_deg, color=hex_color("over"), lw=1.1, ls="--")
    # left of the left strip, clear of the dots
    ax.text(-0.97, threshold_deg, f"threshold {threshold_deg:g}°", color=hex_color("over"), va="bottom",
            fontsize=9)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xticks([0, 1], ticks)
    ax.set_xlim(-1.0, 1.45)
    ax.set_ylim(min(min(values, default=0), 0) - 1, max(max(values, default=0), threshold_deg) + 2)
    ax.set_ylabel("mean contralateral drop per clip (°)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def left_right_figure(means: list[dict], threshold_deg: float) -> Figure:
    """Per clip measured on both sides, the left-stance mean drop (x) against the right-stance one (y), degrees,
    with the identity line and the threshold on both axes; filled: the clip's left-right difference is claimed."""
    both = [m for m in means if m["left"] is not None and m["right"] is not None]
    left = np.array([m["left"] for m in both], float)
    right = np.array([m["right"] for m in both], float)
    claimed = np.array([m["claimed"] for m in both], bool)
    lo = min(float(np.min(left, initial=0)), float(np.min(right, initial=0)), 0.0) - 1
    hi = max(float(np.max(left, initial=0)), float(np.max(right, initial=0)), threshold_deg) + 2
    fig = Figure(figsize=(4.0, 4.0))
    ax = fig.add_subplot()
    ax.plot([lo, hi], [lo, hi], color="0.55", lw=1, ls=":", zorder=1)
    ax.text(hi, hi, "equal ", ha="right", va="bottom", fontsize=9, color="0.45", rotation=45,
            rotation_mode="anchor", transform_rotates_text=True)
    for line in (ax.axvline, ax.axhline):
        line(threshold_deg, color=hex_color("over"), lw=1.1, ls="--", zorder=1)
    ax.text(threshold_deg, hi, f" threshold {threshold_deg:g}°", color=hex_color("over"), va="top", fontsize=9)
    ax.scatter(left[~claimed], right[~claimed], s=34, facecolors="white", edgecolors="0.25", linewidths=1.2,
               zorder=3, label="difference not claimed")
    ax.scatter(left[claimed], right[claimed], s=34, color="0.25", edgecolors="white", linewidths=0.6, zorder=3,
               label=f"difference claimed (> {SMALLEST_DETECTABLE_DIFFERENCE_DEG:g}°, 95% interval excludes 0)")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("left-leg stance: mean drop (°)")
    ax.set_ylabel("right-leg stance: mean drop (°)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8.5, frameon=False)
    return fig


def index_plots(summaries: list[dict | None], threshold_deg: float) -> list[dict[str, str]]:
    """The index's plots, each {"uri", "alt", "caption"}: none with fewer than MIN_CLIPS clips measured, the
    left-right plot only with MIN_CLIPS measured on both sides (module docstring)."""
    means = clip_means(summaries)
    if len(means) < MIN_CLIPS:
        return []
    plots = [{"uri": svg_data_uri(side_means_figure(means, threshold_deg)),
              "alt": "mean contralateral drop of each clip, per stance side, with the threshold",
              "caption": f"Mean drop per clip and stance side ({len(means)} clips; bar: median). Dashed: the "
                         f"threshold, {threshold_deg:g}°."}]
    both = sum(m["left"] is not None and m["right"] is not None for m in means)
    if both >= MIN_CLIPS:
        plots.append({"uri": svg_data_uri(left_right_figure(means, threshold_deg)),
                      "alt": "left-leg against right-leg stance mean drop of each clip, with the equal line",
                      "caption": f"Left against right per clip ({both} clips with both sides measured). Above "
                                 "the dotted line: more drop in right-leg stance; below it: in left-leg stance."})
    return plots
