"""The plotted report: one self-contained report.html (plots as inline SVG, stills as inline JPEG; responsive
and print CSS) and report.pdf (A4) printed from the same HTML by outputs/pdf (WeasyPrint).

The HTML is templates/report.html.j2 (with report.css inlined), rendered by outputs/templating, which escapes
every value: the file name, warnings and labels come from the user or the clip.
"""
from __future__ import annotations

import base64
import math
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure

from gaitlab import __version__
from gaitlab.core.result import (
    DEFAULT_THRESHOLD_DEG,
    MIN_STEPS_PER_SIDE,
    SIDES,
    SMALLEST_DETECTABLE_DIFFERENCE_DEG,
    Analysis,
)
from gaitlab.core.verdict import above_threshold
from gaitlab.outputs.exports import NO_RECORD, SessionRecord, side_or_empty
from gaitlab.outputs.palette import hex_color
from gaitlab.outputs.pdf import write_pdf
from gaitlab.outputs.templating import TEMPLATES, render, svg_data_uri
from gaitlab.outputs.wording import (
    DEFINITIONS,
    VERDICT_CLASS_WORDS,
    camera_pose_text,
    difference_of,
    fmt_deg,
    fmt_interval,
    side_difference,
    side_verdict,
    trunk_lean_words,
    warning_texts,
)

CSS_PATH = TEMPLATES / "report.css"
VIEW_WORDS = {"posterior": "from behind (posterior)", "anterior": "from the front (anterior)",
              "sagittal": "from the side (sagittal)", "oblique": "at an angle (oblique)"}
ACTIVITY_WORDS = {"walk": "walking", "run": "running", "unknown": "not determined"}
# A clip longer than this shows the obliquity over this window (about 17 strides of walking at a readable scale)
# around its largest drop, and every step's drop over the whole clip; the whole trace is in frames.csv.
OBLIQUITY_WINDOW_S = 20.0
# The drop-over-time lines average each side's steps within this window (~25 steps per side when walking),
# long enough to steady a mean (7 steps at least), short enough to follow fatigue over minutes.
TREND_WINDOW_S = 30.0
# verdict class -> (card css class, badge); "above"/"not above" get the threshold appended
CARD_CLASSES = {"above": ("over", "above"), "not_above": ("ok", "not above"), "cannot_tell": ("unsure", "cannot tell")}
# Cadence: the median of at least this many step-to-step intervals. A step takes its single-leg stance plus a
# double support (walking) or a flight (running), well under twice the stance; two steps take more than twice.
MIN_CADENCE_INTERVALS = 3
CADENCE_GAP_FACTOR = 2.2
# The obliquity plot's shapes: a wide one for screens and paper, a narrower, taller one for phones (the same time
# range, its legend in two columns) so its text stays readable at a phone's width.
WIDE_FIGSIZE_IN, WIDE_LEGEND_COLUMNS = (9.5, 3.8), 3
PHONE_FIGSIZE_IN, PHONE_LEGEND_COLUMNS = (5.4, 4.6), 2


# ---- plots -------------------------------------------------------------------------------------------

def obliquity_window(analysis: Analysis) -> tuple[float, float] | None:
    """The OBLIQUITY_WINDOW_S of a longer clip that "Pelvis over time" shows, centred on the step with the
    largest drop (the clip's start without steps); None when the clip is not longer (all of it is shown)."""
    t = analysis.frames.time_s
    if not len(t) or t[-1] - t[0] <= OBLIQUITY_WINDOW_S:
        return None
    measured = [s for s in analysis.steps if math.isfinite(s.peak_drop_deg)]
    centre = max(measured, key=lambda s: s.peak_drop_deg).peak_time_s if measured else float(t[0])
    start = min(max(centre - OBLIQUITY_WINDOW_S / 2, float(t[0])), float(t[-1]) - OBLIQUITY_WINDOW_S)
    return start, start + OBLIQUITY_WINDOW_S


def obliquity_figure(analysis: Analysis, phone: bool = False) -> Figure:
    """Pelvic obliquity over time (over obliquity_window for a longer clip): counted single-leg stances shaded
    per side, each step's peak marked; `phone` lays the same plot out for a narrow screen."""
    f, thr = analysis.frames, analysis.threshold_deg
    window = obliquity_window(analysis)
    a, b = window or (f.time_s[0] if len(f.time_s) else 0.0, analysis.video.duration_s or None)
    shown = slice(None) if window is None else slice(*np.searchsorted(f.time_s, [a, b], side="right"))
    steps = [s for s in analysis.steps if window is None or (s.end_s > a and s.start_s < b)]
    fig = Figure(figsize=PHONE_FIGSIZE_IN if phone else WIDE_FIGSIZE_IN)
    ax = fig.add_subplot()
    for s in steps:
        ax.axvspan(s.start_s, s.end_s, color=hex_color(s.stance_side), alpha=0.13, lw=0)
    ax.plot(f.time_s[shown], f.baseline_obliquity_deg[shown], color="0.55", lw=0.9, alpha=0.6, ls="--",
            label="hip-landmark line (comparison)")
    ax.plot(f.time_s[shown], f.obliquity_deg[shown], color="0.1", lw=1.5, label="pelvic obliquity (reported)")
    ax.axhline(0, color="0.6", lw=0.6)
    # drop = +obliquity in right stance, -obliquity in left stance: one threshold line per side
    ax.axhline(thr, color=hex_color("right"), lw=1.1, ls=":", label=f"right-stance threshold (+{thr:g}°)")
    ax.axhline(-thr, color=hex_color("left"), lw=1.1, ls=":", label=f"left-stance threshold (−{thr:g}°)")
    for side in SIDES:
        sign = 1 if side == "right" else -1
        own = [s for s in steps if s.stance_side == side]
        if own:
            t = [s.peak_time_s for s in own]
            y = [sign * s.peak_drop_deg for s in own]
            edge = [hex_color("over") if s.flagged else "white" for s in own]
            ax.scatter(t, y, s=46, color=hex_color(side), edgecolors=edge, linewidths=1.6, zorder=3,
                       label=f"{side}-stance peak")
    ax.scatter([], [], s=46, color="white", edgecolors=hex_color("over"), linewidths=1.6, label="red ring: above threshold")
    lim = max(thr + 2, float(np.nanmax(np.abs(f.obliquity_deg[shown]), initial=0)) + 1.5)
    ax.set_ylim(-lim, lim)
    ax.set_xlim(a, b)
    ax.text(0.005, 0.98, "↑ right hip higher", transform=ax.transAxes, va="top", fontsize=9, color="0.35")
    ax.text(0.005, 0.02, "↓ left hip higher", transform=ax.transAxes, va="bottom", fontsize=9, color="0.35")
    return _time_axes(fig, ax, "pelvic obliquity (°)", PHONE_LEGEND_COLUMNS if phone else WIDE_LEGEND_COLUMNS)


def drops_figure(analysis: Analysis) -> Figure:
    """Per-step contralateral drop, left vs right stance, with each side's mean and its 95% interval (error bar),
    the threshold and the right-minus-left difference with its interval against the SDD."""
    thr = analysis.threshold_deg
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.add_subplot()
    means, bounds = {}, []
    for x, side in enumerate(SIDES):
        d = np.array([s.peak_drop_deg for s in analysis.steps if s.stance_side == side], dtype=float)
        if not len(d):
            continue
        offsets = np.linspace(-0.16, 0.16, len(d)) if len(d) > 1 else np.zeros(1)
        edge = [hex_color("over") if above_threshold(v, thr) else "white" for v in d]
        ax.scatter(x + offsets, d, s=40, color=hex_color(side), edgecolors=edge, linewidths=1.4, zorder=3)
        sv = side_or_empty(analysis, side)
        if sv.measurable:
            means[x] = sv.mean_drop_deg
            half = sv.interval.half_width_deg if sv.interval else float("nan")
            colour = hex_color(CARD_CLASSES[sv.verdict_class][0]) if sv.verdict_class in CARD_CLASSES else "0.15"
            ax.errorbar(x + 0.3, sv.mean_drop_deg, yerr=half if math.isfinite(half) else None, fmt="D",
                        color=colour, mec="0.15", ms=6, capsize=5, elinewidth=1.8, zorder=4)
            if math.isfinite(half):
                bounds += [sv.mean_drop_deg - half, sv.mean_drop_deg + half]
    ax.axhline(thr, color=hex_color("over"), lw=1.1, ls="--")
    ax.text(-0.45, thr, f"threshold {thr:g}°", color=hex_color("over"), va="bottom", fontsize=8.5)
    ax.axhline(0, color="0.6", lw=0.6)
    d = difference_of(analysis)
    if len(means) == 2 and d is not None:
        ci = fmt_interval(d.low_deg, d.high_deg, signed=True)
        ax.text(0.02, 0.98, f"right − left: {fmt_deg(d.diff_deg, signed=True)}" + (f" (95%: {ci})" if ci != "–" else "")
                + f"\n(smallest detectable difference {SMALLEST_DETECTABLE_DIFFERENCE_DEG:g}°)",
                transform=ax.transAxes, va="top", fontsize=8.5, color="0.25")
    ax.set_xticks([0, 1], [f"{s}-leg stance\n({side_or_empty(analysis, s).steps} steps)" for s in SIDES])
    ax.set_xlim(-0.5, 1.6)
    vals = [s.peak_drop_deg for s in analysis.steps if math.isfinite(s.peak_drop_deg)] + bounds
    ax.set_ylim(min(min(vals, default=0), 0) - 1, max(max(vals, default=0), thr) + 3.5)
    ax.set_ylabel("contralateral drop per step (°)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def drop_trend_figure(analysis: Analysis) -> Figure:
    """Each step's contralateral drop at its time over the whole clip, per stance side, with the mean of that
    side's steps within TREND_WINDOW_S around each step: whether the drop grows along a long walk or run."""
    thr = analysis.threshold_deg
    fig = Figure(figsize=(9.5, 3.4))
    ax = fig.add_subplot()
    for side in SIDES:
        own = [s for s in analysis.steps if s.stance_side == side and math.isfinite(s.peak_drop_deg)]
        if not own:
            continue
        t = np.array([s.peak_time_s for s in own])
        d = np.array([s.peak_drop_deg for s in own])
        near = np.abs(t[:, None] - t[None, :]) <= TREND_WINDOW_S / 2
        ax.scatter(t, d, s=9, color=hex_color(side), alpha=0.45, lw=0)
        ax.plot(t, (near @ d) / near.sum(axis=1), color=hex_color(side), lw=2.2,
                label=f"{side}-leg stance, mean over {TREND_WINDOW_S:g} s")
    ax.axhline(thr, color=hex_color("over"), lw=1.1, ls="--", label=f"threshold {thr:g}°")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlim(0, analysis.video.duration_s or None)
    return _time_axes(fig, ax, "contralateral drop per step (°)")


def _time_axes(fig: Figure, ax, ylabel: str, legend_columns: int = WIDE_LEGEND_COLUMNS) -> Figure:
    """Finish a plot over the clip's time: axis labels, no top/right frame, the legend under the plot."""
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=legend_columns, fontsize=8.5, frameon=False)
    return fig


def _jpeg_data_uri(rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("could not encode a still as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()


# ---- HTML --------------------------------------------------------------------------------------------

def _card(analysis: Analysis, side: str, threshold: str) -> dict[str, str]:
    """One stance side's verdict card: its css class, mean drop and its 95% interval, badge (the verdict class),
    verdict sentence, details line and the interval's parts (empty without a verdict). `threshold` is the
    threshold as shown, e.g. "5°"."""
    v = side_or_empty(analysis, side)
    cls, badge = CARD_CLASSES.get(v.verdict_class if v.measurable else "", ("none", "no verdict"))
    if v.verdict_class in ("above", "not_above"):
        badge = f"{VERDICT_CLASS_WORDS[v.verdict_class]} {threshold}"
    details, ci, parts = [], "", ""
    if v.measurable:
        leans = [s.trunk_lean_deg for s in analysis.steps if s.stance_side == side and math.isfinite(s.trunk_lean_deg)]
        details = [f"{v.steps_over_threshold} of {v.steps} steps above {threshold}",
                   f"step SD {fmt_deg(v.sd_drop_deg)}", f"largest {fmt_deg(v.max_drop_deg)}",
                   f"hip-landmark line alone {fmt_deg(v.baseline_mean_drop_deg)}"]
        if leans:
            details.append(trunk_lean_words(float(np.mean(leans))))
        iv = v.interval
        ci = f"95% interval {fmt_interval(iv.low_deg, iv.high_deg)}"
        parts = ("interval made of ± steps " + fmt_deg(iv.steps_deg) + ", pelvis level " + fmt_deg(iv.level_deg)
                 + (" (too few pixels)" if iv.level_small_band else " (fallback)" if iv.level_fallback else "")
                 + ", camera roll " + fmt_deg(iv.camera_deg)
                 + ", method " + fmt_deg(iv.method_deg) + " (in quadrature)")
    return {"side": side, "cls": cls, "badge": badge, "big": fmt_deg(v.mean_drop_deg) if v.measurable else "–",
            "ci": ci, "sentence": side_verdict(analysis, v, lead=False), "details": " · ".join(details),
            "parts": parts}


def _knee_shown(analysis: Analysis) -> bool:
    """Whether any step has a knee flexion (none has from the front or behind: gaitlab.core.analysis)."""
    return any(np.isfinite(s.knee_flexion_deg) for s in analysis.steps)


def _step_table(analysis: Analysis, threshold: str) -> tuple[list[dict], list[dict]]:
    """The step table: its columns (label, css class: "minor" ones give way on a phone, "seek" is the start time
    that plays the step in the annotated video) and its rows, the steps in time order, each as (column, text)
    pairs (times in s, angles in degrees) and whether flagged; the knee flexion only where _knee_shown."""
    knee = _knee_shown(analysis)
    columns = [("#", ""), ("stance leg", "leg"), ("start (s)", "seek"), ("end (s)", "minor"),
               ("peak at (s)", "minor"), ("drop", ""), ("hip-landmark line", "minor"),
               ("trunk lean (+ toward stance)", "")] + ([("stance knee flexion", "")] if knee else []) + \
        [(f"above {threshold}", "flag")]
    columns = [{"label": label, "cls": cls} for label, cls in columns]
    rows = []
    for i, s in enumerate(sorted(analysis.steps, key=lambda s: s.start_s), 1):
        texts = [str(i), s.stance_side, f"{s.start_s:.2f}", f"{s.end_s:.2f}", f"{s.peak_time_s:.2f}",
                 fmt_deg(s.peak_drop_deg), fmt_deg(s.baseline_peak_drop_deg), fmt_deg(s.trunk_lean_deg, signed=True)] \
            + ([fmt_deg(s.knee_flexion_deg)] if knee else []) + ["yes" if s.flagged else "no"]
        rows.append({"cells": list(zip(columns, texts)), "flagged": s.flagged})
    return columns, rows


def cadence_spm(analysis: Analysis) -> tuple[float, int] | None:
    """Steps per minute from the counted steps, and how many step-to-step intervals it is the median of: an
    interval counts when it joins a left and a right step and is under CADENCE_GAP_FACTOR median stances (a
    longer one has an uncounted step within it). None with fewer than MIN_CADENCE_INTERVALS such intervals."""
    steps = sorted(analysis.steps, key=lambda s: s.start_s)
    if len(steps) < 2:
        return None
    longest = CADENCE_GAP_FACTOR * float(np.median([s.end_s - s.start_s for s in steps]))
    gaps = [b.start_s - a.start_s for a, b in zip(steps, steps[1:])
            if a.stance_side != b.stance_side and b.start_s - a.start_s < longest]
    if len(gaps) < MIN_CADENCE_INTERVALS:
        return None
    return 60.0 / float(np.median(gaps)), len(gaps)


def _stills(analysis: Analysis, stills: dict[str, np.ndarray]) -> list[dict[str, str]]:
    """The stills given, left side first, each as a JPEG data URI and a caption naming its largest drop."""
    out = []
    for side in SIDES:
        if side not in stills:
            continue
        own = [s for s in analysis.steps if s.stance_side == side and math.isfinite(s.peak_drop_deg)]
        caption = f"{side.capitalize()}-leg stance"
        if own:
            worst = max(own, key=lambda s: s.peak_drop_deg)
            caption += f", largest drop: {fmt_deg(worst.peak_drop_deg)} at {worst.peak_time_s:.2f} s"
        out.append({"uri": _jpeg_data_uri(stills[side]), "caption": caption})
    return out


def session_words(record: SessionRecord) -> tuple[str, str]:
    """The person and the session date as the report states them: "not given" without a label; the date with
    where it came from when not given, "date not known" without one (never the time of the report)."""
    day = record.session_date
    when = "date not known" if day is None else day.isoformat() + (
        " (the clip's recording time)" if record.date_source == "clip" else "")
    return record.subject or "not given", when


def _meta(analysis: Analysis, generated: datetime, cadence: tuple[float, int] | None) -> dict[str, str]:
    """The header's facts about the clip and the run, label -> text ("report made": when this report was made,
    not when the clip was filmed); a run's cadence when known."""
    v = analysis.video
    activity = ACTIVITY_WORDS.get(analysis.activity, analysis.activity)
    return {
        "duration": f"{v.duration_s:.1f} s ({v.frames} frames, {v.fps:.0f} fps)",
        "analysed": f"{analysis.analysed_s:.1f} s ({analysis.analysed_frames} frames)",
        "view": VIEW_WORDS.get(analysis.view, analysis.view),
        "activity": activity if cadence is None else f"{activity}, {cadence[0]:.0f} steps/min",
        "camera roll": f"{fmt_deg(analysis.camera_roll_deg, signed=True)} (corrected)",
        "camera": camera_pose_text(analysis) or "not estimated",
        "pelvis level": analysis.pelvis_level_method.removeprefix("level from ") or "not measured",
        "threshold": f"{analysis.threshold_deg:g}° mean drop",
        "report made": generated.strftime("%Y-%m-%d %H:%M"),
        "gaitlab": __version__,
        "video size": f"{v.width} × {v.height}",
    }


def report_html(analysis: Analysis, stills: dict[str, np.ndarray], generated: datetime | None = None,
                record: SessionRecord = NO_RECORD, video: str | None = None) -> str:
    """report.html as text, from templates/report.html.j2; `stills` maps side -> annotated RGB image,
    `generated` is the time printed on it as "report made" (now by default), `record` whose clip and when,
    `video` the annotated video's file name beside the report (shown, and each step's start time plays it
    there), None without one."""
    generated = generated or datetime.now().astimezone()
    name = Path(analysis.video.name).name
    threshold = f"{analysis.threshold_deg:g}°"
    window = obliquity_window(analysis)
    shown = "" if window is None else (
        f"Seconds {window[0]:.0f}–{window[1]:.0f} of the clip's {analysis.video.duration_s:.0f}, around the largest "
        "drop (the whole trace is in frames.csv). ")
    trend = None if window is None else {"uri": svg_data_uri(drop_trend_figure(analysis)),
                                         "half_window": f"{TREND_WINDOW_S / 2:g} s"}
    cadence = cadence_spm(analysis) if analysis.activity == "run" else None
    step_columns, steps = _step_table(analysis, threshold)
    subject, session_date = session_words(record)
    return render(
        "report.html.j2", name=name, css=Markup(CSS_PATH.read_text(encoding="utf-8")),
        subject=subject, known_subject=bool(record.subject), session_date=session_date,
        known_date=record.session_date is not None, note=record.note,
        title=" – ".join(filter(None, (record.subject, record.session_date and record.session_date.isoformat(),
                                       name))),
        meta=_meta(analysis, generated, cadence), threshold=threshold, default_threshold=f"{DEFAULT_THRESHOLD_DEG:g}°",
        cards=[_card(analysis, side, threshold) for side in SIDES], difference=side_difference(analysis),
        warnings=warning_texts(analysis.warnings), flagged_sides=[s for s in SIDES if side_or_empty(analysis, s).flagged],
        min_steps=MIN_STEPS_PER_SIDE, sdd=f"{SMALLEST_DETECTABLE_DIFFERENCE_DEG:g}°",
        cadence=None if cadence is None else {"spm": f"{cadence[0]:.0f}", "intervals": cadence[1]},
        obliquity_uri=svg_data_uri(obliquity_figure(analysis)),
        obliquity_phone_uri=svg_data_uri(obliquity_figure(analysis, phone=True)), shown=shown,
        drops_uri=svg_data_uri(drops_figure(analysis)), trend=trend, stills=_stills(analysis, stills),
        video=video, step_columns=step_columns, steps=steps, knee_shown=_knee_shown(analysis),
        definitions=DEFINITIONS.values(), version=__version__, generated=generated.strftime("%Y-%m-%d %H:%M %Z"))


def write_report(analysis: Analysis, outdir: str | Path, stills: dict[str, np.ndarray],
                 record: SessionRecord = NO_RECORD, video: str | None = None) -> None:
    """Write report.html and report.pdf (A4, printed from the same HTML) into outdir; `stills` maps side ->
    annotated RGB image, `record` whose clip and when (in the header), `video` the annotated video's file name
    in outdir (None: there is none; see report_html)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    html = report_html(analysis, stills, record=record, video=video)
    (outdir / "report.html").write_text(html, encoding="utf-8")
    write_pdf(html, outdir / "report.pdf")
