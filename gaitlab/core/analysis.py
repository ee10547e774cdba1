"""The analysis core: a pose track in, an Analysis out (pure: no video, no files)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gaitlab.core.camera import BODY_AXIS_LEAN_SD_DEG, CameraPose, conversion_sd_deg, estimate_camera_pose, intrinsics
from gaitlab.core.clean import clean_track
from gaitlab.core.clip import VideoInfo
from gaitlab.core.events import GaitEvents, detect_gait_events, window_frames
from gaitlab.core.level import MIN_LEVEL_BAND_PX, MIN_TEXTURE_TO_NOISE_RATIO, LevelEstimate, split_chain_breaks
from gaitlab.core.obliquity import (
    baseline_obliquity_deg,
    body_axis_tilt_deg,
    body_length,
    estimate_camera_roll_deg,
    hip_midpoint_px,
    knee_bend_2d_deg,
    refined_obliquity_deg,
    step_peak,
    trunk_lean_right_deg,
    view_sign,
)
from gaitlab.core.result import (
    DEFAULT_THRESHOLD_DEG,
    SIDES,
    Analysis,
    AnalysisWarning,
    FootEvents,
    FrameSeries,
    StepDrop,
    WarningCode,
)
from gaitlab.core.scene import horizontal_lines, roll_changes_deg, room_lines, vanishing_point
from gaitlab.core.track import LEFT_FOOT_INDEX, LEFT_HEEL, LEFT_HIP, RIGHT_FOOT_INDEX, RIGHT_HEEL, RIGHT_HIP, PoseTrack
from gaitlab.core.uncertainty import FALLBACK_LEVEL_SD_DEG, METHOD_RESIDUAL_DEG, Z95, stride_median_sd_deg, stride_s
from gaitlab.core.verdict import judge_steps, side_verdicts, step_count_warnings
from gaitlab.core.view import ViewEstimate, estimate_view, facing_stretches, to_anatomical

MAX_ROLL_DEG = 10.0  # beyond this the roll correction itself becomes the largest error
SIDEWAYS_ROLL_DEG = 45.0  # the body axis nearer horizontal than vertical: the video is turned on its side
# Pelvic drop in gait, even with marked abductor weakness, stays within about ±12°: beyond ±15° the
# movement is not walking or running (a leg swing, a stumble) or the pelvis was mismeasured.
MAX_PLAUSIBLE_DROP_DEG = 15.0
MIN_PERSON_HEIGHT_FRACTION = 0.2  # a person shorter than a fifth of the frame: pelvis ~ few dozen px
MIN_HIP_VISIBILITY = 0.5
MIN_PIXEL_QUALITY = 0.3  # median band registration quality below which the pelvis is poorly measured
MAX_FEET_OUT_FRACTION = 0.2
# The camera yaw (pan) the frontal-plane conversion was validated on: the bench's clips reach 11° (docs/accuracy.md);
# beyond it the perspective correction (and the assumed focal length behind it) is extrapolated.
VALIDATED_CAMERA_YAW_DEG = 11.0
# The camera pitch likewise: the bench's most pitched camera (g, 1.3 m high, 3.2 m away) looks down 8.9° by what its
# truth implies, read 10.1 ± 0.7° with the assumed lens; a phone on a shelf or a high tripod looks down further, and
# the pelvis is then seen from above, its sagittal and transverse turns mixed into its image (docs/accuracy.md).
VALIDATED_CAMERA_PITCH_DEG = 10.0


def _stance_phase(events: GaitEvents, steps: list[StepDrop]) -> np.ndarray:
    """Per-frame phase: "left"/"right" over exactly the frames of the counted steps of that stance side,
    "double"/"flight" where both feet's contact is decided, "" elsewhere (undecided, or a single-leg stance
    not counted as a step).

    Derived from the steps, so frames.csv, the stills and the annotated video show the stances steps.csv
    counts: the feet's contact alone misses a window at a clip's edge, which needs one foot's events only
    (the gait's definition supplies the other foot's state, left undecided there), and it would show
    stances that were left out (pelvis measured too little, implausible drop)."""
    left, right, valid = events.left_contact, events.right_contact, events.valid
    phase = np.full(len(left), "", dtype=object)
    phase[valid & left & right] = "double"
    phase[valid & ~left & ~right] = "flight"
    for step in steps:
        phase[window_frames(events.time_s, step.start_s, step.end_s)] = step.stance_side
    return phase.astype(str)


def ends_early_warnings(video: VideoInfo) -> list[AnalysisWarning]:
    """The warning for a clip whose decodable frames stop before the container's end (see clip.as_read); none
    for a whole clip."""
    if video.claimed_duration_s is None:
        return []
    return [AnalysisWarning(WarningCode.ENDS_EARLY,
                            {"read_s": video.duration_s, "claimed_s": video.claimed_duration_s})]


def _quality_warnings(track: PoseTrack, people: np.ndarray | None) -> list[AnalysisWarning]:
    """What in the footage limits the measure: the person missed, small or crowded; hips, feet or texture
    hard to see. people: persons detected per frame (negative = not counted), None if unknown."""
    out = []
    det = track.detected
    if det.mean() < 0.9:
        out.append(AnalysisWarning(WarningCode.PERSON_MISSED, {"found_percent": float(100 * det.mean())}))
    if not det.any():
        return out
    im = track.image_xyz[det]
    height = np.nanmax(im[:, :, 1], axis=1) - np.nanmin(im[:, :, 1], axis=1)
    if np.nanmedian(height) < MIN_PERSON_HEIGHT_FRACTION * track.height:
        out.append(AnalysisWarning(WarningCode.PERSON_SMALL))
    hip_vis = track.visibility[det][:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    if np.median(hip_vis) < MIN_HIP_VISIBILITY:
        out.append(AnalysisWarning(WarningCode.HIPS_HIDDEN))
    feet = im[:, [LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX], :2]
    out_of_frame = ((feet[..., 0] < 0) | (feet[..., 0] > track.width) | (feet[..., 1] < 0)
                    | (feet[..., 1] > track.height)).any(axis=1)
    if out_of_frame.mean() > MAX_FEET_OUT_FRACTION:
        out.append(AnalysisWarning(WarningCode.FEET_OUT, {"out_percent": float(100 * out_of_frame.mean())}))
    quality = track.pelvis_pixel_quality[det]
    if np.median(quality) < MIN_PIXEL_QUALITY:
        out.append(AnalysisWarning(WarningCode.LITTLE_TEXTURE))
    counted = people[people >= 0] if people is not None else np.array([])
    if counted.size and (counted > 1).mean() > 0.1:
        out.append(AnalysisWarning(WarningCode.SEVERAL_PEOPLE))
    return out


@dataclass
class _Stretch:
    """The measurement of one stretch of frames filmed from one side."""

    track: PoseTrack  # anatomical labels
    obliquity: np.ndarray
    image_obliquity: np.ndarray
    baseline: np.ndarray
    lean_right: np.ndarray
    phase: np.ndarray
    activity: str
    level_method: str
    level_from_symmetry: bool
    unreliable_texture_snr: float | None  # the band's texture over noise where it could not carry the level
    too_small_band_px: float | None  # the symmetry band's height (pixels) where it was too small to carry the level
    cue_disagreement_deg: float | None  # running: symmetry and flight phases' levels apart beyond their noise
    swapped: int
    steps: list[StepDrop]
    skipped: int  # too little of the stance measured
    implausible: int  # drops beyond what gait produces
    events: GaitEvents  # the stretch's gait events, anatomical sides, clip times (a slice keeps them)


def _shared_errors(level: LevelEstimate, reference: int, roll_sd_deg: float) -> dict:
    """The StepDrop fields of the errors a step shares with the others on its pelvis level (one SD, degrees):
    that level's, and the camera roll estimate's as far as the level was read in the image (LevelEstimate.
    camera_weight: a level found in the world - flight phases, the clip's mean - has the roll added and removed
    again: it cancels)."""
    how = level.method_by_reference.get(reference, "mean")
    return {"level_sd_deg": level.level_sd_deg.get(reference, FALLBACK_LEVEL_SD_DEG["mean"]),
            "camera_sd_deg": level.camera_weight.get(reference, 0.0) * roll_sd_deg,
            "level_fallback": how not in ("symmetry", "symmetry+flight") or level.unreliable(reference),
            "level_small_band": level.band_too_small.get(reference, False)}


def _measure(track: PoseTrack, estimate: ViewEstimate, roll: float, roll_series: tuple[np.ndarray, np.ndarray],
             camera: CameraPose | None = None) -> _Stretch:
    """roll_series: the body axis' tilt per frame (degrees) whose median is the camera roll, and its times (seconds),
    for the roll's uncertainty (gaitlab.core.uncertainty.stride_median_sd_deg) where the room's lines did not give it;
    camera: the camera's pose, to take the pelvis line into the frontal plane (None: the roll is removed, nothing
    more)."""
    track, swapped = to_anatomical(track, estimate)
    clean = clean_track(track)
    view = estimate.view if estimate.measurable else ("posterior" if estimate.facing == "away" else "anterior")
    events = detect_gait_events(clean, view=view)
    clean = replace(clean, pelvis_pixel_reference=split_chain_breaks(
        clean.time_s, clean.pelvis_pixel_rotation_deg, clean.pelvis_symmetry_tilt_deg, clean.pelvis_pixel_reference,
        stride_s(events.cadence_steps_per_min)))
    roll_sd = (camera.roll_sd_deg if camera is not None and camera.room_lines else
               np.nan_to_num(stride_median_sd_deg(*roll_series, stride_s(events.cadence_steps_per_min))))
    obliquity, level, image_obliquity = refined_obliquity_deg(clean, roll, view, events, camera=camera,
                                                              roll_sd_deg=float(roll_sd))
    baseline = baseline_obliquity_deg(clean, roll, view, camera)
    lean_right = trunk_lean_right_deg(clean, roll, view)
    # knee flexion is a sagittal-plane angle: from the front or behind it cannot be measured (NaN)
    frontal = estimate.view in ("posterior", "anterior")
    knee = {side: np.full(len(clean), np.nan) if frontal else knee_bend_2d_deg(clean, side)
            for side in ("left", "right")}
    if camera is not None:  # the perspective conversion's own uncertainty (focal length, pitch), shared alike
        mid = np.median(hip_midpoint_px(clean), axis=0)
        tilt = body_axis_tilt_deg(clean)
        typical = float(np.nanmedian(image_obliquity)) if np.isfinite(image_obliquity).any() else float("nan")
        conv = conversion_sd_deg(camera, tuple(mid), view_sign(view) * typical, clean.width, clean.height,
                                 float(np.nanmedian(tilt)) if np.isfinite(tilt).any() else 0.0)
        roll_sd = float(np.hypot(roll_sd, np.nan_to_num(conv)))
    steps: list[StepDrop] = []
    skipped = implausible = 0
    for window in events.single_stances:
        peak = step_peak(clean.time_s, obliquity, window)
        if peak is None:
            skipped += 1
            continue
        if abs(peak.peak_drop_deg) > MAX_PLAUSIBLE_DROP_DEG:
            implausible += 1
            continue
        base = step_peak(clean.time_s, baseline, window)
        # the same rule for the landmark line: its line through two mislabelled or overlapping hips (a person seen
        # turned, from above) is taken into the frontal plane at any angle
        base_drop = base.peak_drop_deg if base and abs(base.peak_drop_deg) <= MAX_PLAUSIBLE_DROP_DEG else float("nan")
        lean = lean_right[peak.peak_index] * (1 if window.side == "right" else -1)
        steps.append(StepDrop(
            stance_side=window.side, start_s=window.start_s, end_s=window.end_s,
            peak_drop_deg=peak.peak_drop_deg, peak_time_s=peak.peak_time_s,
            baseline_peak_drop_deg=base_drop,
            trunk_lean_deg=float(lean), knee_flexion_deg=float(knee[window.side][peak.peak_index]),
            **_shared_errors(level, int(clean.pelvis_pixel_reference[peak.peak_index]), float(roll_sd)),
        ))
    phase = _stance_phase(events, steps)
    return _Stretch(track, obliquity, image_obliquity, baseline, lean_right, phase, events.activity, level.method,
                    level.from_symmetry, level.unreliable_texture_snr(), level.too_small_band_px(),
                    level.cue_disagreement_deg(), swapped, steps,
                    skipped, implausible, events)


def analyze_track(track: PoseTrack, video: VideoInfo, *, threshold_deg: float = DEFAULT_THRESHOLD_DEG,
                  view: str = "auto", people: np.ndarray | None = None) -> Analysis:
    """Measure a pose track: the view, camera roll, each step's contralateral pelvic drop and each side's verdict.

    Pure (no video, no files). A person who turns during the clip (walks toward the camera, then away) is
    measured stretch by stretch, each with its own view; the frames while turning are left out.

    Parameters
    ----------
    track : PoseTrack
        The pose track as extracted (gaitlab.core.track: pixels, metres, seconds), with MediaPipe's left/right
        labels: they are made anatomical here (gaitlab.core.view.to_anatomical).
    video : VideoInfo
        The clip as read (gaitlab.core.clip.as_read); one that ends early gets a warning.
    threshold_deg : float
        Contralateral drop, degrees, above which a step or a side's mean is flagged (strictly above:
        gaitlab.core.verdict.above_threshold).
    view : str
        "auto", or "posterior"/"anterior": the user's word on which way the person faces. It overrides the
        facing, not the obliqueness (a side view still gets no verdict), and keeps the clip in one stretch.
    people : numpy.ndarray or None
        Persons found per frame (negative = not counted), None if unknown: for the several-people warning.

    Returns
    -------
    Analysis
        Angles in degrees, times in seconds, signed as in gaitlab.core.result; its warnings as codes (in words:
        gaitlab.outputs.wording); its track with anatomical labels.
    """
    forced = None if view == "auto" else view
    estimate = estimate_view(track, forced)
    warnings = ends_early_warnings(video)  # first: it bounds what every other line covers
    if estimate.frontal_warning:
        warnings.append(estimate.frontal_warning)
    warnings += _quality_warnings(track, people)
    cleaned = clean_track(track)
    roll = estimate_camera_roll_deg(cleaned)  # from midpoints: left/right labels do not matter
    roll_series = (body_axis_tilt_deg(cleaned), cleaned.time_s)
    hips = hip_midpoint_px(cleaned)
    camera = estimate_camera_pose(hips, roll_series[0], track.width, track.height, room_lines=room_lines(cleaned),
                                  horizon_point=vanishing_point(*horizontal_lines(cleaned)),
                                  body_length=body_length(cleaned))
    if camera.room_lines:  # the vertical at the hips as the room's lines and the body's axis see it together
        roll = camera.vertical_tilt_deg(np.median(hips, axis=0), track.width, track.height)
    turning = roll_changes_deg(cleaned, intrinsics(track.width, track.height, camera.focal_px),
                               (camera.pitch_deg, camera.pitch_sd_deg))
    measurable, camera_warnings = _camera_warnings(roll, camera, estimate, turning)
    warnings += camera_warnings

    # A person who walks toward the camera and then away is measured in each stretch with that
    # stretch's view; frames while turning are left out.
    stretches = facing_stretches(track) if measurable and forced is None else []
    if len(stretches) <= 1:
        stretches = [(0, len(track), estimate.facing)]
    else:
        turned = len(track) - sum(b - a for a, b, _ in stretches)
        warnings.append(AnalysisWarning(WarningCode.TURNED_DURING_CLIP,
                                        {"facings": tuple(f for _, _, f in stretches), "frames": turned}))
    n = len(track)
    obliquity, baseline, lean_right = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    image_obliquity = np.full(n, np.nan)
    phase = np.full(n, "", dtype=object)
    anatomical = track
    steps: list[StepDrop] = []
    skipped = swapped = implausible = atypical = 0
    activities, methods, fallbacks, weak, small, apart = [], [], [], [], [], []
    stretch_events: list[GaitEvents] = []
    for a, b, facing in stretches:
        part = track.slice(a, b)
        part_estimate = estimate if (a, b) == (0, n) else estimate_view(part, "posterior" if facing == "away" else "anterior")
        m = _measure(part, part_estimate, roll, roll_series, camera if measurable else None)
        obliquity[a:b], baseline[a:b], lean_right[a:b], phase[a:b] = m.obliquity, m.baseline, m.lean_right, m.phase
        image_obliquity[a:b] = m.image_obliquity
        anatomical = m.track if (a, b) == (0, n) else _splice(anatomical, m.track, a)
        steps += m.steps
        skipped += m.skipped
        implausible += m.implausible
        atypical += m.events.atypical_stances
        swapped += m.swapped
        activities.append(m.activity)
        stretch_events.append(m.events)
        methods.append(m.level_method)
        if not m.level_from_symmetry:
            fallbacks.append(m.level_method)
        if m.unreliable_texture_snr is not None:
            weak.append(m.unreliable_texture_snr)
        if m.too_small_band_px is not None:
            small.append(m.too_small_band_px)
        if m.cue_disagreement_deg is not None:
            apart.append(m.cue_disagreement_deg)
    steps.sort(key=lambda s: s.start_s)
    if swapped:
        warnings.append(AnalysisWarning(WarningCode.SIDES_SWAPPED, {"frames": swapped}))
    if measurable:
        warnings += _level_warnings(fallbacks, weak, small, apart)
    if skipped:
        warnings.append(AnalysisWarning(WarningCode.STEPS_UNMEASURED, {"steps": skipped}))
    if implausible:
        warnings.append(AnalysisWarning(WarningCode.STEPS_IMPLAUSIBLE,
                                        {"steps": implausible, "limit_deg": MAX_PLAUSIBLE_DROP_DEG}))
    if atypical:
        warnings.append(AnalysisWarning(WarningCode.STANCES_ATYPICAL, {"steps": atypical}))
    steps = judge_steps(steps, threshold_deg)
    verdicts = side_verdicts(steps, threshold_deg, measurable, roll)
    warnings += step_count_warnings(verdicts, measurable)
    frames = FrameSeries(
        time_s=track.time_s, obliquity_deg=obliquity, baseline_obliquity_deg=baseline,
        trunk_lean_deg=lean_right, stance_phase=phase.astype(str),
        hip_visibility=track.visibility[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1), image_obliquity_deg=image_obliquity,
    )
    # from the side the feet's motion in depth is across the image: the frontal event reading does not apply there
    activity = max(set(activities), key=activities.count) if estimate.view != "sagittal" else "unknown"
    # the body's mean axis leaning from the room's vertical beyond what upright walking explains (in gait only: a
    # person balancing or swinging a leg has no upright mean axis)
    if measurable and activity != "unknown" and abs(camera.body_lean_deg) > Z95 * BODY_AXIS_LEAN_SD_DEG:
        toward_right = camera.body_lean_deg * (1 if estimate.facing == "away" else -1)  # image right = their right
        warnings.append(AnalysisWarning(WarningCode.BODY_LEANS, {"lean_deg": float(abs(camera.body_lean_deg)),
                                                                 "side": "right" if toward_right > 0 else "left"}))
    return Analysis(video=video, view=estimate.view, activity=activity, camera_roll_deg=roll,
                    threshold_deg=threshold_deg, frames=frames, steps=steps, sides=verdicts,
                    warnings=warnings, track=anatomical, pelvis_level_method="; ".join(dict.fromkeys(methods)),
                    foot_events=_foot_events(stretch_events), camera=camera if measurable else None)


def _camera_warnings(roll: float, camera: CameraPose, estimate: ViewEstimate, turning: float | None
                     ) -> tuple[bool, list[AnalysisWarning]]:
    """Whether the clip stays measurable with this camera, and what to say of the camera: on its side, tilted,
    turning during the clip, turned or pitched beyond the validated yaw or pitch, or its lens not a phone's main
    camera's. roll: the vertical's tilt at the hips; turning: how much the camera's roll changes
    (gaitlab.core.scene.roll_changes_deg)."""
    measurable, warnings = estimate.measurable, []
    # a camera whose roll changes by more than the method's own error puts its turns into every drop: no verdict
    if turning is not None and turning > METHOD_RESIDUAL_DEG:
        measurable = False
        warnings.append(AnalysisWarning(WarningCode.CAMERA_MOVED, {"roll_change_deg": float(turning)}))
    if abs(roll) > SIDEWAYS_ROLL_DEG:
        measurable = False
        warnings.append(AnalysisWarning(WarningCode.VIDEO_SIDEWAYS, {"turn_deg": float(abs(roll))}))
    elif abs(roll) > MAX_ROLL_DEG:
        warnings.append(AnalysisWarning(WarningCode.CAMERA_TILTED, {"roll_deg": float(roll)}))
    # beyond the validated yaw by more than the estimate's own 95% uncertainty: the bench's 11° clip is not beyond it
    if measurable and abs(camera.yaw_deg) - Z95 * np.nan_to_num(camera.yaw_sd_deg) > VALIDATED_CAMERA_YAW_DEG:
        warnings.append(AnalysisWarning(WarningCode.CAMERA_YAWED, {"yaw_deg": float(abs(camera.yaw_deg)),
                                                                  "limit_deg": VALIDATED_CAMERA_YAW_DEG}))
    # a pitch only assumed (the prior's 10° SD) is never beyond it
    if measurable and abs(camera.pitch_deg) - Z95 * np.nan_to_num(camera.pitch_sd_deg) > VALIDATED_CAMERA_PITCH_DEG:
        warnings.append(AnalysisWarning(WarningCode.CAMERA_PITCHED, {
            "pitch_deg": float(camera.pitch_deg), "limit_deg": VALIDATED_CAMERA_PITCH_DEG,
            "height_above_hips_m": float(camera.height_above_hips_m)}))
    if measurable and camera.horizon_left_out:
        warnings.append(AnalysisWarning(WarningCode.CAMERA_ZOOMED, {"apart_sd": float(camera.horizon_apart_sd)}))
    return measurable, warnings


def _level_warnings(fallbacks: list[str], weak: list[float], small: list[float], apart: list[float]
                    ) -> list[AnalysisWarning]:
    """What limits the pelvis' level, over the clip's stretches: a fallback's method, the weakest texture over noise
    of a symmetry that could not carry it, the smallest band too few pixels tall to carry it, the largest
    disagreement of its two cues in running."""
    out = []
    if fallbacks:
        out.append(AnalysisWarning(WarningCode.LEVEL_FALLBACK, {"level_method": fallbacks[0]}))
    if weak:
        out.append(AnalysisWarning(WarningCode.PELVIS_UNRELIABLE, {"texture_snr": float(min(weak)),
                                                                  "limit": MIN_TEXTURE_TO_NOISE_RATIO}))
    if small:
        out.append(AnalysisWarning(WarningCode.PELVIS_TOO_SMALL, {"band_px": float(min(small)),
                                                                 "limit_px": MIN_LEVEL_BAND_PX}))
    if apart:
        out.append(AnalysisWarning(WarningCode.LEVEL_CUES_DISAGREE, {"difference_deg": float(max(apart))}))
    return out


def _foot_events(events: list[GaitEvents]) -> FootEvents:
    """The stretches' events joined, per side sorted by time: a stretch's track keeps the clip's frame times, so
    its events are already seconds of the clip."""
    def joined(per_stretch: list[dict[str, np.ndarray]], side: str) -> np.ndarray:
        times = [np.asarray(d.get(side, ()), float) for d in per_stretch]
        return np.sort(np.concatenate(times)) if times else np.zeros(0)

    return FootEvents(initial_contacts_s={s: joined([e.initial_contacts_s for e in events], s) for s in SIDES},
                      toe_offs_s={s: joined([e.toe_offs_s for e in events], s) for s in SIDES})


def _splice(track: PoseTrack, part: PoseTrack, start: int) -> PoseTrack:
    """`track` with frames [start, start + len(part)) replaced by `part`'s (relabelled) landmarks."""
    stop = start + len(part)
    arrays = {}
    for name in ("image_xyz", "world_xyz", "visibility", "presence"):
        whole = getattr(track, name).copy()
        whole[start:stop] = getattr(part, name)
        arrays[name] = whole
    return replace(track, **arrays)
