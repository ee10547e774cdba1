"""A hand-built `Analysis` of a constructed walk, standing in for the analysis core in output tests.

The walk alternates right and left single-leg stances (about 9 of each over ~10 s at 30 fps); the right
stance drops the left hip ~7° (flagged), the left stance drops the right hip ~2.5°. The pose track is a
stick figure filmed from behind whose hip line follows the obliquity, so overlays have something to draw.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from gaitlab.core import track as lm
from gaitlab.core.clip import VideoInfo
from gaitlab.core.result import (
    DEFAULT_THRESHOLD_DEG,
    Analysis,
    AnalysisWarning,
    FootEvents,
    FrameSeries,
    StepDrop,
    WarningCode,
)
from gaitlab.core.track import NUM_LANDMARKS, PoseTrack
from gaitlab.core.verdict import side_verdicts

SINGLE_STANCE_S = 0.40
DOUBLE_SUPPORT_S = 0.12


def stick_figure_track(time_s: np.ndarray, obliquity_deg: np.ndarray, width: int, height: int,
                       camera_roll_deg: float = 0.0) -> PoseTrack:
    """A person seen from behind (their right = image right), hips tilted by the obliquity."""
    n = len(time_s)
    scale = height / 2.2  # pixels per metre: a 1.75 m person fills ~80% of the frame height
    cx = width / 2 + 0.03 * scale * np.sin(2 * np.pi * time_s)  # lateral sway
    hip_y = height * 0.52
    # image angle of the hip line = obliquity minus roll (seen from behind), positive = image-right higher
    a = np.radians(np.nan_to_num(obliquity_deg) - camera_roll_deg)
    half_hip = 0.17 * scale / 2
    xy = np.zeros((n, NUM_LANDMARKS, 2))

    def put(idx, x, y):
        xy[:, idx, 0], xy[:, idx, 1] = x, y

    put(lm.RIGHT_HIP, cx + half_hip * np.cos(a), hip_y - half_hip * np.sin(a))
    put(lm.LEFT_HIP, cx - half_hip * np.cos(a), hip_y + half_hip * np.sin(a))
    shoulder_y = hip_y - 0.50 * scale
    put(lm.RIGHT_SHOULDER, cx + 0.19 * scale, shoulder_y)
    put(lm.LEFT_SHOULDER, cx - 0.19 * scale, shoulder_y)
    for side, sign in (("RIGHT", 1), ("LEFT", -1)):
        hip = xy[:, getattr(lm, f"{side}_HIP")]
        knee = hip + [0, 0.45 * scale]
        ankle = knee + [0, 0.42 * scale]
        put(getattr(lm, f"{side}_KNEE"), knee[:, 0], knee[:, 1])
        put(getattr(lm, f"{side}_ANKLE"), ankle[:, 0], ankle[:, 1])
        put(getattr(lm, f"{side}_HEEL"), ankle[:, 0], ankle[:, 1] + 0.05 * scale)
        put(getattr(lm, f"{side}_FOOT_INDEX"), ankle[:, 0] + sign * 0.02 * scale, ankle[:, 1] + 0.07 * scale)
        shoulder = xy[:, getattr(lm, f"{side}_SHOULDER")]
        elbow_idx, wrist_idx = (14, 16) if side == "RIGHT" else (13, 15)
        put(elbow_idx, shoulder[:, 0] + sign * 0.03 * scale, shoulder[:, 1] + 0.28 * scale)
        put(wrist_idx, shoulder[:, 0] + sign * 0.04 * scale, shoulder[:, 1] + 0.52 * scale)
    head_y = shoulder_y - 0.22 * scale
    for idx, dx, dy in ((0, 0, 0.02), (1, -0.02, -0.01), (2, -0.03, -0.01), (3, -0.04, -0.01),
                        (4, 0.02, -0.01), (5, 0.03, -0.01), (6, 0.04, -0.01), (7, -0.075, 0.0),
                        (8, 0.075, 0.0), (9, -0.015, 0.05), (10, 0.015, 0.05)):
        put(idx, cx + dx * scale, head_y + dy * scale)
    for idx in (17, 19, 21):
        put(idx, xy[:, 15, 0], xy[:, 15, 1] + 0.05 * scale)
    for idx in (18, 20, 22):
        put(idx, xy[:, 16, 0], xy[:, 16, 1] + 0.05 * scale)

    image_xyz = np.concatenate([xy, np.zeros((n, NUM_LANDMARKS, 1))], axis=2)
    world_xyz = np.concatenate([(xy - [width / 2, hip_y]) / scale, np.zeros((n, NUM_LANDMARKS, 1))], axis=2)
    visibility = np.full((n, NUM_LANDMARKS), 0.95)
    visibility[:, :11] = 0.3  # the face is turned away
    return PoseTrack(time_s=time_s, image_xyz=image_xyz, world_xyz=world_xyz, visibility=visibility,
                     presence=visibility.copy(), width=width, height=height)


def make_analysis(name: str = "walk_fixture.mp4", *, time_s: np.ndarray | None = None, width: int = 640,
                  height: int = 480, right_drop_deg: float = 7.0, left_drop_deg: float = 2.5,
                  warnings: list[AnalysisWarning] | None = None, seed: int = 0) -> Analysis:
    """A constructed walk; pass `time_s` (e.g. a real clip's frame times) to match a video."""
    rng = np.random.default_rng(seed)
    if time_s is None:
        time_s = np.arange(312) / 30.0
    n = len(time_s)
    obliquity = rng.normal(0, 0.15, n)
    phase = np.full(n, "double", dtype=object)
    stride = 2 * (SINGLE_STANCE_S + DOUBLE_SUPPORT_S)
    windows: list[tuple[str, float, float, float]] = []
    start = 0.3
    while start + SINGLE_STANCE_S < time_s[-1]:
        side = "right" if len(windows) % 2 == 0 else "left"
        peak = rng.normal(right_drop_deg if side == "right" else left_drop_deg, 0.8 if side == "right" else 0.4)
        windows.append((side, start, start + SINGLE_STANCE_S, peak))
        start += stride / 2
    for side, s, e, peak in windows:
        inside = (time_s >= s) & (time_s <= e)
        bump = peak * np.sin(np.pi * (time_s[inside] - s) / SINGLE_STANCE_S)
        obliquity[inside] += bump if side == "right" else -bump
        phase[inside] = side
    phase[time_s < 0.3] = ""
    frames = FrameSeries(
        time_s=time_s, obliquity_deg=obliquity,
        baseline_obliquity_deg=0.8 * obliquity + rng.normal(0, 0.3, n),
        trunk_lean_deg=1.5 * np.sin(np.pi * time_s / (stride / 2)), stance_phase=phase.astype(str),
        hip_visibility=np.full(n, 0.9),
    )
    threshold = DEFAULT_THRESHOLD_DEG
    steps = []
    for side, s, e, _ in windows:
        inside = np.flatnonzero((time_s >= s) & (time_s <= e))
        sign = 1 if side == "right" else -1
        k = inside[np.argmax(sign * obliquity[inside])]
        drop = float(sign * obliquity[k])
        steps.append(StepDrop(
            stance_side=side, start_s=float(time_s[inside[0]]), end_s=float(time_s[inside[-1]]),
            peak_drop_deg=drop, peak_time_s=float(time_s[k]),
            baseline_peak_drop_deg=float(sign * frames.baseline_obliquity_deg[k]),
            trunk_lean_deg=float(sign * frames.trunk_lean_deg[k]),
            knee_flexion_deg=float("nan") if side == "left" else 18.0, flagged=drop > threshold,
        ))
    # the last window runs into the end of the clip: not a complete step
    steps = [s for s in steps if s.end_s < time_s[-1] - 0.05]
    # the core's own verdicts (mean, SD, 95% interval, verdict class), with a level known to 0.2° (one SD)
    steps = [replace(s, level_sd_deg=0.2, camera_sd_deg=0.05) for s in steps]
    sides = side_verdicts(steps, threshold, measurable=True)
    fps = float(1 / np.median(np.diff(time_s))) if n > 1 else 30.0
    video = VideoInfo(name=name, fps=fps, frames=n, duration_s=float(time_s[-1] + 1 / fps), width=width,
                      height=height, rotation_deg=0, codec="h264")
    if warnings is None:
        warnings = [AnalysisWarning(WarningCode.HIPS_HIDDEN)]
    return Analysis(video=video, view="posterior", activity="walk", camera_roll_deg=0.4, threshold_deg=threshold,
                    frames=frames, steps=steps, sides=sides, warnings=warnings,
                    track=stick_figure_track(time_s, obliquity, width, height, camera_roll_deg=0.4),
                    foot_events=_foot_events(time_s, windows))


def _foot_events(time_s: np.ndarray, windows: list[tuple[str, float, float, float]]) -> FootEvents:
    """Each single-leg stance of S is the other foot's swing: its toe-off at the window's first frame, its
    contact at the first frame after the window (none past the clip's end)."""
    contacts: dict[str, list[float]] = {"left": [], "right": []}
    toe_offs: dict[str, list[float]] = {"left": [], "right": []}
    for side, s, e, _ in windows:
        other = "left" if side == "right" else "right"
        inside = np.flatnonzero((time_s >= s) & (time_s <= e))
        if inside.size:
            toe_offs[other].append(float(time_s[inside[0]]))
            if inside[-1] + 1 < len(time_s):
                contacts[other].append(float(time_s[inside[-1] + 1]))
    return FootEvents(initial_contacts_s={k: np.array(v) for k, v in contacts.items()},
                      toe_offs_s={k: np.array(v) for k, v in toe_offs.items()})
