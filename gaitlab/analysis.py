"""The analysis core: a pose track in, an Analysis out (pure: no video, no files)."""
from __future__ import annotations

import numpy as np

from .clean import clean_track
from .events import detect_gait_events
from .pelvis import (baseline_obliquity_deg, estimate_camera_roll_deg,
                     knee_bend_2d_deg, refined_obliquity_deg, step_peak, trunk_lean_right_deg)
from .result import DEFAULT_THRESHOLD_DEG, Analysis, FrameSeries, StepDrop
from .track import (LEFT_FOOT_INDEX, LEFT_HEEL, LEFT_HIP, RIGHT_FOOT_INDEX, RIGHT_HEEL, RIGHT_HIP,
                    PoseTrack)
from .verdict import side_verdicts, step_count_warnings
from .video import VideoInfo
from .view import estimate_view, to_anatomical

MAX_ROLL_DEG = 10.0  # beyond this the roll correction itself becomes the largest error
SIDEWAYS_ROLL_DEG = 45.0  # the body axis nearer horizontal than vertical: the video is turned on its side
MIN_PERSON_HEIGHT_FRACTION = 0.2  # a person shorter than a fifth of the frame: pelvis ~ few dozen px
MIN_HIP_VISIBILITY = 0.5
MIN_PIXEL_QUALITY = 0.3  # median band registration quality below which the pelvis is poorly measured
MAX_FEET_OUT_FRACTION = 0.2


def _stance_phase(left: np.ndarray, right: np.ndarray, valid: np.ndarray) -> np.ndarray:
    phase = np.full(len(left), "", dtype=object)
    phase[valid & left & ~right] = "left"
    phase[valid & right & ~left] = "right"
    phase[valid & left & right] = "double"
    phase[valid & ~left & ~right] = "flight"
    return phase.astype(str)


def _quality_warnings(track: PoseTrack, people: np.ndarray | None) -> list[str]:
    out = []
    det = track.detected
    if det.mean() < 0.9:
        out.append(f"The person was found in only {100 * det.mean():.0f}% of frames.")
    if not det.any():
        return out
    im = track.image_xyz[det]
    height = np.nanmax(im[:, :, 1], axis=1) - np.nanmin(im[:, :, 1], axis=1)
    if np.nanmedian(height) < MIN_PERSON_HEIGHT_FRACTION * track.height:
        out.append("The person is small in the frame (under a fifth of its height): the pelvis spans few "
                   "pixels, so its angle is measured less precisely. Film closer or zoom in.")
    hip_vis = track.visibility[det][:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    if np.median(hip_vis) < MIN_HIP_VISIBILITY:
        out.append("The hips are often hidden or unclear (low landmark visibility).")
    feet = im[:, [LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX], :2]
    out_of_frame = ((feet[..., 0] < 0) | (feet[..., 0] > track.width) | (feet[..., 1] < 0)
                    | (feet[..., 1] > track.height)).any(axis=1)
    if out_of_frame.mean() > MAX_FEET_OUT_FRACTION:
        out.append(f"The feet are out of the frame in {100 * out_of_frame.mean():.0f}% of frames: steps "
                   "cannot be timed there. Keep the whole body in view.")
    quality = track.pelvis_pixel_quality[det]
    if np.median(quality) < MIN_PIXEL_QUALITY:
        out.append("The pelvis region has little texture or contrast, so its tilt is measured poorly "
                   "(plain, dark or loose clothing; patterned, fitted shorts or leggings help).")
    counted = people[people >= 0] if people is not None else np.array([])
    if counted.size and (counted > 1).mean() > 0.1:
        out.append("More than one person is in view: gaitlab follows the largest, most central one "
                   "(check in the annotated video that it is the right person).")
    return out


def analyze_track(track: PoseTrack, video: VideoInfo, *, threshold_deg: float = DEFAULT_THRESHOLD_DEG,
                  view: str = "auto", people: np.ndarray | None = None) -> Analysis:
    estimate = estimate_view(track, None if view == "auto" else view)
    track, swapped = to_anatomical(track, estimate)
    warnings = []
    if estimate.frontal_warning:
        warnings.append(estimate.frontal_warning)
    if swapped:
        warnings.append(f"MediaPipe mixed up left and right in {swapped} frames; they were corrected "
                        "from the direction the person faces.")
    warnings += _quality_warnings(track, people)
    clean = clean_track(track)
    measure_view = estimate.view if estimate.measurable else ("posterior" if estimate.facing == "away" else "anterior")
    roll = estimate_camera_roll_deg(clean)
    measurable = estimate.measurable
    if abs(roll) > SIDEWAYS_ROLL_DEG:
        measurable = False
        warnings.append(f"The person appears turned by about {abs(roll):.0f}° (the video is on its side and "
                        "has no rotation tag): no verdict. Re-export the clip upright.")
    elif abs(roll) > MAX_ROLL_DEG:
        warnings.append(f"The camera is tilted by {roll:.0f}°: level the phone for a reliable measure.")
    events = detect_gait_events(clean, view=measure_view)
    obliquity, level = refined_obliquity_deg(clean, roll, measure_view, events)
    baseline = baseline_obliquity_deg(clean, roll, measure_view)
    lean_right = trunk_lean_right_deg(clean, roll, measure_view)
    knee = {side: knee_bend_2d_deg(clean, side) for side in ("left", "right")}
    if not level.from_symmetry:
        warnings.append(f"The pelvis' level could not be read from its symmetry in enough frames; gaitlab used "
                        f"{level.method.removeprefix('level from ')}, which may shift both sides' drops by a "
                        "degree or more in opposite directions.")

    steps: list[StepDrop] = []
    skipped = 0
    for window in events.single_stances:
        peak = step_peak(clean.time_s, obliquity, window)
        if peak is None:
            skipped += 1
            continue
        base = step_peak(clean.time_s, baseline, window)
        lean = lean_right[peak.peak_index] * (1 if window.side == "right" else -1)
        steps.append(StepDrop(
            stance_side=window.side, start_s=window.start_s, end_s=window.end_s,
            peak_drop_deg=peak.peak_drop_deg, peak_time_s=peak.peak_time_s,
            baseline_peak_drop_deg=base.peak_drop_deg if base else float("nan"),
            trunk_lean_deg=float(lean), knee_flexion_deg=float(knee[window.side][peak.peak_index]),
            flagged=peak.peak_drop_deg > threshold_deg,
        ))
    if skipped:
        warnings.append(f"{skipped} step{'s' if skipped != 1 else ''} left out: the pelvis was not measured "
                        "through enough of the stance.")
    verdicts = side_verdicts(steps, threshold_deg, measurable)
    warnings += step_count_warnings(verdicts, measurable)
    hip_vis = track.visibility[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    frames = FrameSeries(
        time_s=track.time_s, obliquity_deg=obliquity, baseline_obliquity_deg=baseline,
        trunk_lean_deg=lean_right,
        stance_phase=_stance_phase(events.left_contact, events.right_contact, events.valid),
        hip_visibility=hip_vis,
    )
    return Analysis(video=video, view=estimate.view, activity=events.activity, camera_roll_deg=roll,
                    threshold_deg=threshold_deg, frames=frames, steps=steps, sides=verdicts,
                    warnings=warnings, track=track, pelvis_level_method=level.method)
