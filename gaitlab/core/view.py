"""Which way the person faces the camera, and anatomical sides.

The facing comes from MediaPipe's world depth of the nose relative to the ears (+z = away from the
camera): nose farther than the ears = the person faces away (posterior view). The view's obliqueness
comes from the shoulder line's yaw in world coordinates: a frontal view sees it nearly parallel to the
image plane. MediaPipe's left/right labels are checked against the facing: filmed from behind, the
person's left is on the image left.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gaitlab.core.result import AnalysisWarning, WarningCode
from gaitlab.core.track import (
    LEFT_EAR,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    NUM_LANDMARKS,
    RIGHT_EAR,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    PoseTrack,
    frame_rate_hz,
)

# Beyond this yaw the frontal-plane pelvis is foreshortened by cos(yaw) < 0.94 and the pelvis' forward
# tilt leaks into the image angle by sin(yaw) > 0.34 of it: measure, but warn.
FRONTAL_MAX_YAW_DEG = 20.0
# Beyond this, leakage exceeds half the forward tilt: no verdict.
OBLIQUE_MAX_YAW_DEG = 30.0
SAGITTAL_MIN_YAW_DEG = 60.0
FACING_SMOOTH_S = 0.5  # per-frame facing is median-filtered over this long (a turn takes >= ~1 s)
MIN_FACING_STRETCH_S = 2.0  # about two strides: shorter stretches hold too few steps to keep
# A view the user gave is contradicted when the person faces the other way in at least this share of frames
# (a clip with a turn in it, facing each way for a while, contradicts neither).
CONTRADICTION_MIN_SHARE = 0.8

# Left/right landmark pairs of MediaPipe's 33-point model (face, arms, legs).
_PAIRS = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20),
          (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32)]
_SWAP = np.arange(NUM_LANDMARKS)
for _a, _b in _PAIRS:
    _SWAP[_a], _SWAP[_b] = _b, _a


@dataclass(frozen=True)
class ViewEstimate:
    """Which way the person faces and how frontal the view is (estimate_view); yaw in degrees, 0 = frontal."""

    view: str  # "posterior" | "anterior" | "oblique" | "sagittal" | "unknown"
    facing: str  # "away" | "toward" | "unknown"
    shoulder_yaw_deg: float  # median yaw of the shoulder line out of the image plane
    measurable: bool  # frontal enough to measure frontal-plane pelvic obliquity
    facing_share: float = float("nan")  # share of frames (person found, facing known) facing as `facing` says

    @property
    def frontal_warning(self) -> AnalysisWarning | None:
        """A side view (no verdict), or a frontal one turned beyond FRONTAL_MAX_YAW_DEG (less accurate)."""
        if self.view in ("sagittal", "oblique"):
            return AnalysisWarning(WarningCode.SIDE_VIEW, {"view": self.view, "yaw_deg": self.shoulder_yaw_deg})
        if self.measurable and self.shoulder_yaw_deg > FRONTAL_MAX_YAW_DEG:
            return AnalysisWarning(WarningCode.TURNED_VIEW, {"yaw_deg": self.shoulder_yaw_deg})
        return None


def estimate_view(track: PoseTrack, forced: str | None = None) -> ViewEstimate:
    """The view of a clip, from the median over its frames with the person found (see the module docstring).

    Frontal (posterior or anterior) up to OBLIQUE_MAX_YAW_DEG of shoulder yaw, oblique beyond, sagittal from
    SAGITTAL_MIN_YAW_DEG; "unknown" when nobody was found. forced: "posterior" or "anterior" from the user
    (overrides the facing, not the obliqueness)."""
    det = track.detected
    if det.sum() == 0:
        return ViewEstimate("unknown", "unknown", float("nan"), False)
    w = track.world_xyz[det]
    nose_depth = w[:, NOSE, 2] - 0.5 * (w[:, LEFT_EAR, 2] + w[:, RIGHT_EAR, 2])
    facing = "away" if np.nanmedian(nose_depth) > 0 else "toward"
    if forced in ("posterior", "anterior"):
        facing = "away" if forced == "posterior" else "toward"
    known = nose_depth[np.isfinite(nose_depth)]
    share = float(np.mean((known > 0) == (facing == "away"))) if len(known) else float("nan")
    sh = w[:, RIGHT_SHOULDER] - w[:, LEFT_SHOULDER]
    yaw = float(np.nanmedian(np.degrees(np.arctan2(np.abs(sh[:, 2]), np.abs(sh[:, 0])))))
    if yaw >= SAGITTAL_MIN_YAW_DEG:
        view = "sagittal"
    elif yaw > OBLIQUE_MAX_YAW_DEG:
        view = "oblique"
    else:
        view = "posterior" if facing == "away" else "anterior"
    return ViewEstimate(view, facing, yaw, view in ("posterior", "anterior"), share)


def view_contradiction(estimate: ViewEstimate, given: str) -> str | None:
    """Why the view the user gave ("posterior"/"anterior") contradicts the detected one, or None if it does not.

    estimate: estimate_view of the track without a forced view. A contradiction is a frontal clip in which the
    person faces the other way than `given` says in at least CONTRADICTION_MIN_SHARE of the frames; "auto", a
    side or oblique view, and a clip facing both ways for long stretches contradict nothing."""
    if given not in ("posterior", "anterior") or estimate.view not in ("posterior", "anterior"):
        return None
    if estimate.view == given or not estimate.facing_share >= CONTRADICTION_MIN_SHARE:
        return None
    faces, filmed = (("away from", "from behind") if estimate.facing == "away" else ("toward", "from the front"))
    return (f"you said {given}, but the person faces {faces} the camera in {estimate.facing_share:.0%} of frames: "
            f"filmed {filmed}?")


def mirrored_frames(track: PoseTrack, estimate: ViewEstimate) -> np.ndarray:
    """(N,) bool: frames whose left/right labels disagree with the facing (hips clearly apart)."""
    if estimate.view not in ("posterior", "anterior"):
        return np.zeros(len(track), bool)
    # From behind the person's left hip is on the image left (smaller x); from in front, on the right.
    dx = track.image_xyz[:, LEFT_HIP, 0] - track.image_xyz[:, RIGHT_HIP, 0]
    hip_width = np.abs(dx)
    apart = hip_width > 0.25 * np.nanmedian(hip_width)  # nearly overlapping hips say nothing
    with np.errstate(invalid="ignore"):
        left_is_image_left = dx < 0
    return apart & (left_is_image_left != (estimate.facing == "away"))


def to_anatomical(track: PoseTrack, estimate: ViewEstimate) -> tuple[PoseTrack, int]:
    """Swap MediaPipe's left/right labels frame by frame where they disagree with the facing.

    Returns the corrected track and how many frames were swapped."""
    swap = mirrored_frames(track, estimate)
    if not swap.any():
        return track, 0

    def fix(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[swap] = a[swap][:, _SWAP]
        return a

    fixed = replace(track, image_xyz=fix(track.image_xyz), world_xyz=fix(track.world_xyz),
                    visibility=fix(track.visibility), presence=fix(track.presence))
    return fixed, int(swap.sum())


def facing_filter_frames(frame_rate_hz: float) -> int:
    """The length, frames (odd), of the median filter the per-frame facing is smoothed with: FACING_SMOOTH_S at this
    rate (1, no smoothing, where the rate is not known). A facing held for fewer than half of it, plus one, frames in
    a row does not survive the filter: a label swap, not a turn."""
    return max(1, int(round(FACING_SMOOTH_S * frame_rate_hz)) | 1) if np.isfinite(frame_rate_hz) else 1


def facing_stretches(track: PoseTrack) -> list[tuple[int, int, str]]:
    """Stretches [start, stop) of frames in which the person keeps facing one way ("away" or "toward")
    and stays frontal, lasting at least MIN_FACING_STRETCH_S; turns and side-on frames fall between."""
    from scipy.ndimage import median_filter

    w = track.world_xyz
    nose_depth = w[:, NOSE, 2] - 0.5 * (w[:, LEFT_EAR, 2] + w[:, RIGHT_EAR, 2])
    sh = w[:, RIGHT_SHOULDER] - w[:, LEFT_SHOULDER]
    with np.errstate(invalid="ignore"):
        yaw = np.degrees(np.arctan2(np.abs(sh[:, 2]), np.abs(sh[:, 0])))
        facing = np.where(np.isfinite(nose_depth) & (yaw <= OBLIQUE_MAX_YAW_DEG), np.sign(nose_depth), 0.0)
    t = track.time_s
    facing = median_filter(facing, size=facing_filter_frames(frame_rate_hz(t)), mode="nearest")
    out = []
    edges = np.flatnonzero(np.diff(facing)) + 1
    for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(facing)]])):
        if facing[a] != 0 and t[b - 1] - t[a] >= MIN_FACING_STRETCH_S:
            out.append((int(a), int(b), "away" if facing[a] > 0 else "toward"))
    return out
