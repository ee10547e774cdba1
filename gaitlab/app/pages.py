"""What the pages show, computed from stored sessions: verdict words, the trend plot, a comparison."""
from __future__ import annotations

import math

from matplotlib.figure import Figure

from gaitlab.core.result import MIN_STEPS_PER_SIDE, SIDES
from gaitlab.core.result import SMALLEST_DETECTABLE_DIFFERENCE_DEG as SDD
from gaitlab.outputs.palette import hex_color
from gaitlab.outputs.templating import svg_data_uri
from gaitlab.outputs.wording import fmt_deg

MAX_DATE_LABELS = 12  # dates under a plot's axis: more would overlap, so only every n-th session is labelled


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


def _interval(side: dict) -> tuple[float, float] | None:
    """A side's 95% interval of its mean drop (degrees), or None without one (no verdict, under 2 steps, or a
    session stored before intervals)."""
    ci = side.get("mean_drop_ci95_deg") if side["measurable"] else None
    return (ci[0], ci[1]) if ci and None not in ci else None


def change_interval(before: dict, after: dict) -> tuple[float, float] | None:
    """The 95% interval of the change in a side's mean drop from one session to another (`before` and `after`:
    that side in each). The sessions are separate clips, so their errors are independent: each bound of the
    change combines, in quadrature, the half-widths of the two intervals on the side that bound moves toward."""
    a, b = _interval(before), _interval(after)
    if a is None or b is None:
        return None
    ma, mb = _mean(before), _mean(after)
    change = mb - ma
    return change - math.hypot(mb - b[0], a[1] - ma), change + math.hypot(b[1] - mb, ma - a[0])


def _with_interval(side: dict) -> str:
    ci = _interval(side)
    return fmt_deg(_mean(side)) + (f" ({ci[0]:.1f} to {ci[1]:.1f})" if ci else "")


def compare(a: dict, b: dict) -> list[dict]:
    """Per side: both means with their 95% intervals, the change from the earlier session `a` to `b` with its
    interval, and whether it is a real one: only when that interval excludes zero and the change exceeds the
    smallest detectable difference (as for a left-right difference within a session)."""
    rows = []
    for side in SIDES:
        before, after = a["sides"][side], b["sides"][side]
        change = _mean(after) - _mean(before)
        ci = change_interval(before, after) if math.isfinite(change) else None
        if not math.isfinite(change):
            words, cls = "cannot be compared: one of the sessions has no verdict for this side", "none"
        elif ci is None:
            words, cls = ("within the uncertainty: one of the sessions has no 95% interval on this side, so no "
                          "real change can be claimed"), "none"
        elif (ci[0] > 0 or ci[1] < 0) and abs(change) > SDD:
            words = (f"a real change: {'less' if change < 0 else 'more'} drop; its 95% interval excludes zero and "
                     f"it exceeds the smallest detectable difference ({SDD:g}°)")
            cls = "ok" if change < 0 else "over"
        else:
            why = "its 95% interval includes zero" if ci[0] <= 0 <= ci[1] else f"it is under {SDD:g}°"
            words, cls = f"within the uncertainty ({why}): no real change can be claimed", "none"
        provisional = any(s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in (a, b))
        rows.append({"side": side, "before": _with_interval(before), "after": _with_interval(after),
                     "change": fmt_deg(change, signed=True),
                     "change_ci": f"{ci[0]:+.1f} to {ci[1]:+.1f}" if ci else "", "words": words, "cls": cls,
                     "provisional": provisional})
    return rows


def drop_figure(sessions: list[dict], size_in: tuple[float, float]) -> Figure:
    """Mean drop per stance side over sessions (oldest first), with each mean's 95% interval as an error bar
    (group ids ci-left and ci-right in an SVG), and the threshold of the latest session; `size_in`: width and
    height in inches."""
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot()
    x = list(range(len(sessions)))
    threshold = sessions[-1]["threshold_deg"]
    for offset, side in zip((-0.06, 0.06), SIDES):  # the sides a little apart, so their bars do not overlap
        y = [_mean(s["sides"][side]) for s in sessions]
        cis = [_interval(s["sides"][side]) for s in sessions]
        colour = hex_color(side)
        xs = [i + offset for i in x]
        ax.plot(xs, y, "-", color=colour, lw=1.6, label=f"{side}-leg stance")
        err = [[y[i] - ci[0] if ci else 0 for i, ci in enumerate(cis)],
               [ci[1] - y[i] if ci else 0 for i, ci in enumerate(cis)]]
        bars = ax.errorbar(xs, y, yerr=err, fmt="none", ecolor=colour, elinewidth=1.3, capsize=4, capthick=1.3)
        bars.lines[2][0].set_gid(f"ci-{side}")
        few = [s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in sessions]
        ax.scatter([xs[i] for i in x if not few[i]], [y[i] for i in x if not few[i]], s=40, color=colour, zorder=3)
        ax.scatter([xs[i] for i in x if few[i]], [y[i] for i in x if few[i]], s=40, facecolors="white",
                   edgecolors=colour, linewidths=1.6, zorder=3)
    ax.axhline(threshold, color=hex_color("over"), lw=1.2, ls="--", label=f"threshold {threshold:g}°")
    ax.errorbar([], [], yerr=[], fmt="none", ecolor="0.3", capsize=4, label="95% interval")
    if any(s["sides"][side]["steps"] < MIN_STEPS_PER_SIDE for s in sessions for side in SIDES):
        ax.scatter([], [], s=40, facecolors="white", edgecolors="0.3", label=f"fewer than {MIN_STEPS_PER_SIDE} steps")
    every = math.ceil(len(x) / MAX_DATE_LABELS)  # the dates of every session would overlap
    ax.set_xticks(x[::every], [s["session_date"] for s in sessions][::every], rotation=30 if len(x) > 6 else 0,
                  fontsize=8.5)
    ax.set_xlim(-0.5, len(x) - 0.5)
    values = [v for s in sessions for side in SIDES if math.isfinite(v := _mean(s["sides"][side]))]
    values += [b for s in sessions for side in SIDES for b in (_interval(s["sides"][side]) or ())]
    ax.set_ylim(min(min(values, default=0), 0) - 0.5, max(max(values, default=0), threshold) + 1)
    ax.set_ylabel("mean contralateral drop (°)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=5, fontsize=8.5, frameon=False)
    return fig


def trend_plot(sessions: list[dict]) -> str:
    """The person page's plot (drop_figure) as an SVG data URI."""
    return svg_data_uri(drop_figure(sessions, (8.5, 3.6)))


def progress_rows(sessions: list[dict]) -> list[dict]:
    """The progress PDF's table, newest first: per session its date, each side's mean ± half-width of its 95%
    interval and its verdict class in words, and the session's note."""
    rows = []
    for s in reversed(sessions):
        cells = {}
        for side in SIDES:
            v = s["sides"][side]
            ci = _interval(v)
            mean = fmt_deg(_mean(v)) + (f" ± {(ci[1] - ci[0]) / 2:.1f}°" if ci else "")
            cls, words = badge(v, s["threshold_deg"])
            cells[side] = {"mean": mean, "cls": cls, "words": words, "few": v["steps"] < MIN_STEPS_PER_SIDE}
        rows.append({"date": s["session_date"], "threshold": s["threshold_deg"], "note": s.get("note", ""), **cells})
    return rows
