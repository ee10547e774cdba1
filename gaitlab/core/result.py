"""What an analysis produces: small typed objects the report, exports and app read.

Sign conventions and units (stated once; the report repeats them):
- sides are anatomical: "left"/"right" = the person's left/right, whichever way they face the camera;
- pelvic obliquity (degrees): frontal-plane angle of the line through the hip-joint centres from
  horizontal, positive = the right hip higher, corrected for camera roll;
- contralateral pelvic drop of a step with stance side S (degrees): how far the opposite (swing-side)
  hip falls below the stance-side hip at its peak during S's single-leg stance; positive = it falls
  (the Trendelenburg direction): +obliquity for right stance, -obliquity for left stance;
- trunk lean (degrees): the shoulder-midpoint-to-hip-midpoint line from vertical, positive = toward the
  stance side at that step's peak (in FrameSeries: positive = toward the person's right);
- camera roll (degrees): positive = the camera turned counter-clockwise as seen from behind it;
- times in seconds from the start of the clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from gaitlab.core.camera import CameraPose
from gaitlab.core.clip import VideoInfo, covered_s
from gaitlab.core.track import PoseTrack

SIDES = ("left", "right")
DEFAULT_THRESHOLD_DEG = 5.0
# Thresholds a user may set, degrees: below 1 is well inside the measurement error (SDD 2.7), above 20 beyond any
# pelvic drop seen in walking or running (about 12 even with marked abductor weakness).
THRESHOLD_RANGE_DEG = (1.0, 20.0)
MIN_STEPS_PER_SIDE = 7  # Dingenen et al. 2018: at least 7 steps per side for a stable mean
# A side's verdict rests on the 95% interval of its mean drop, which one step cannot give (it has no spread): with
# fewer steps than this the side has no verdict, and its one step is shown among the steps only.
MIN_STEPS_FOR_VERDICT = 2
SMALLEST_DETECTABLE_DIFFERENCE_DEG = 2.7  # Dingenen et al. 2018, contralateral pelvic drop from 2D video


@dataclass(frozen=True)
class StepDrop:
    """One counted step: a single-leg stance of `stance_side` and the contralateral pelvic drop at its peak.

    Drops, lean and knee angle in degrees, signed as in this module's docstring; start_s and end_s are the
    times of the stance's first and last frame, seconds."""

    stance_side: str
    start_s: float
    end_s: float
    peak_drop_deg: float  # the measure gaitlab reports (pixels + landmarks)
    peak_time_s: float
    baseline_peak_drop_deg: float  # the hip-landmark line alone, shown for comparison
    trunk_lean_deg: float  # toward the stance side at the peak (NaN if not measured)
    knee_flexion_deg: float  # stance knee at the peak, from 2D landmarks (NaN if not visible, or filmed from the
    # front or behind: a sagittal angle, not measurable in that view)
    flagged: bool = False  # peak_drop_deg above the threshold: judged by gaitlab.core.verdict.judge_steps
    # one SD, degrees, of the errors every step sharing this step's pelvis level has in common (gaitlab.core.
    # uncertainty): the level for this part of the clip, and the camera roll estimate (0 where the level is not
    # read in the image, so the roll cancels); 0 = not assessed
    level_sd_deg: float = 0.0
    camera_sd_deg: float = 0.0
    # the level's uncertainty is a stated one that a longer film does not shrink: it came from flight phases or the
    # clip's mean, not the symmetry, or from a symmetry the clothing or the pixels could not carry (PELVIS_UNRELIABLE,
    # PELVIS_TOO_SMALL)
    level_fallback: bool = False
    level_small_band: bool = False  # that symmetry's band was too few pixels tall (PELVIS_TOO_SMALL)


@dataclass(frozen=True)
class DropInterval:
    """The 95% interval of a side's mean drop, degrees, and its parts, each a 95% half-width, combined in
    quadrature (gaitlab.core.uncertainty, docs/uncertainty.md); NaN bounds with fewer than 2 steps."""

    low_deg: float
    high_deg: float
    steps_deg: float  # t(0.975, n - 1) * SD / sqrt(n): the step-to-step spread (NaN with fewer than 2 steps)
    level_deg: float  # the pelvis' level for this clip, shared by all the side's steps
    camera_deg: float  # the camera roll estimate, shared (0 where the level was not read in the image)
    method_deg: float  # the method's residual error as validated on the bench, shared
    level_fallback: bool = False  # the level's part is stated, not steadied by more steps (a fallback level, or
    # one from a symmetry the clothing or the pixels could not carry: StepDrop.level_fallback)
    level_small_band: bool = False  # ... the pixels: the band too few pixels tall (StepDrop.level_small_band)

    @property
    def half_width_deg(self) -> float:
        """Half the interval's width, degrees (NaN when its bounds are)."""
        return (self.high_deg - self.low_deg) / 2


@dataclass(frozen=True)
class SideVerdict:
    """The verdict on one stance side, from its steps' peak drops (degrees; gaitlab.core.verdict.side_verdicts).

    Means, SD and maximum are NaN without steps (the SD also with one); `flagged` only where `measurable`."""

    side: str  # the stance leg: the side whose hip abductors are tested
    steps: int
    mean_drop_deg: float
    sd_drop_deg: float
    max_drop_deg: float
    steps_over_threshold: int
    flagged: bool  # the whole 95% interval of the mean above the threshold (verdict_class "above")
    measurable: bool  # False: no verdict (e.g. sagittal view or no steps)
    baseline_mean_drop_deg: float
    interval: DropInterval | None = None  # the mean's 95% interval; None without a verdict
    verdict_class: str = ""  # "above" | "not_above" | "cannot_tell" (the interval spans the threshold); "" no verdict
    settle: tuple[str, ...] = ()  # cannot_tell: what would settle it (gaitlab.core.uncertainty.SETTLE_HINTS)
    more_steps: int | None = None  # with settle "more_steps": about how many more steps of this side


class WarningCode(str, Enum):
    """What limits a clip's analysis; gaitlab.outputs.wording renders each as a sentence from its values."""

    ENDS_EARLY = "ends_early"  # read_s, claimed_s: seconds decoded, seconds the container claims
    SIDE_VIEW = "side_view"  # view ("sagittal"/"oblique"), yaw_deg: shoulder line out of the image plane
    TURNED_VIEW = "turned_view"  # yaw_deg: frontal, but turned enough to cost accuracy
    PERSON_MISSED = "person_missed"  # found_percent: frames with the person found, %
    PERSON_SMALL = "person_small"
    HIPS_HIDDEN = "hips_hidden"
    FEET_OUT = "feet_out"  # out_percent: frames with a foot out of the frame, %
    LITTLE_TEXTURE = "little_texture"
    SEVERAL_PEOPLE = "several_people"
    VIDEO_SIDEWAYS = "video_sideways"  # turn_deg: how far the person appears turned (|camera roll|)
    CAMERA_TILTED = "camera_tilted"  # roll_deg: camera roll, signed as in the module docstring
    # roll_change_deg: how much the camera's roll, read from the room's lines about once a second, changes over the
    # clip (a robust SD, degrees): a camera held in the hand or turned to follow the person; no verdict
    CAMERA_MOVED = "camera_moved"
    CAMERA_YAWED = "camera_yawed"  # yaw_deg (unsigned), limit_deg: camera turned from the line of travel beyond the
    # yaw the frontal-plane conversion was validated on (gaitlab.core.analysis.VALIDATED_CAMERA_YAW_DEG)
    # pitch_deg (down positive), limit_deg, height_above_hips_m (NaN: not measured): the camera looks down (or up) at
    # the person beyond the pitch the conversion was validated on (gaitlab.core.analysis.VALIDATED_CAMERA_PITCH_DEG)
    CAMERA_PITCHED = "camera_pitched"
    # apart_sd: the room's horizon and its verticals agree at no focal length a phone's main camera has
    # (gaitlab.core.camera.horizon_apart_sd, in SDs, + a longer lens): a zoomed or wide-angle clip, or level lines that
    # are not; the horizon was left out (the verticals read the pitch the more precisely)
    CAMERA_ZOOMED = "camera_zoomed"
    # lean_deg (unsigned), side: the body's mean axis leans toward the person's side from the room's vertical lines
    # (gaitlab.core.camera.CameraPose.body_lean_deg) beyond what upright walking explains; the room's lines set the roll
    BODY_LEANS = "body_leans"
    TURNED_DURING_CLIP = "turned_during_clip"  # facings: "away"/"toward" per stretch, frames: frames left out
    SIDES_SWAPPED = "sides_swapped"  # frames: frames whose left/right labels were swapped
    LEVEL_FALLBACK = "level_fallback"  # level_method: how the level pelvis was found instead
    # texture_snr, limit: the pelvis band's interior texture over noise (gaitlab.core.level.texture_reliable) below
    # the least with which its symmetry carries the level (dark, plain clothing): the level's uncertainty was widened
    PELVIS_UNRELIABLE = "pelvis_unreliable"
    # band_px, limit_px: the pelvis band the symmetry is read on is under limit_px pixels tall in the picture
    # (gaitlab.core.level.MIN_LEVEL_BAND_PX: a pixel's offset over it tilts the level by more than the smallest
    # detectable difference): the level's uncertainty was widened
    PELVIS_TOO_SMALL = "pelvis_too_small"
    # difference_deg: in running, the level read from the pelvis' symmetry and from its flight phases differ beyond
    # their noise (gaitlab.core.level): a constant pelvic tilt or clothing; the symmetry is used
    LEVEL_CUES_DISAGREE = "level_cues_disagree"
    STEPS_UNMEASURED = "steps_unmeasured"  # steps: stances left out, pelvis measured too little
    STEPS_IMPLAUSIBLE = "steps_implausible"  # steps, limit_deg: stances left out, drop beyond ±limit_deg
    # steps: stances left out, their duration unlike the same leg's others (gaitlab.core.events.typical_stances)
    STANCES_ATYPICAL = "stances_atypical"
    NO_STANCE = "no_stance"  # side, min_steps: a measurable view without one step of that stance side
    FEW_STEPS = "few_steps"  # side, steps, min_steps: fewer steps than a stable mean needs


@dataclass(frozen=True)
class AnalysisWarning:
    """One thing that limits an analysis: its code and the numbers (or words: a side, a method) it is about."""

    code: WarningCode
    values: dict[str, float | int | str | tuple[str, ...]] = field(default_factory=dict)


@dataclass
class FrameSeries:
    """Per-frame signals (N frames), NaN where not measured."""

    time_s: np.ndarray
    obliquity_deg: np.ndarray
    baseline_obliquity_deg: np.ndarray  # from the hip-landmark line, roll-corrected
    trunk_lean_deg: np.ndarray  # positive = toward the person's right
    # str per frame: "left"/"right" exactly within a counted step (steps) of that stance side, "double",
    # "flight", or "" (contact not decided, or a single-leg stance not counted)
    stance_phase: np.ndarray
    hip_visibility: np.ndarray  # mean visibility of the two hip landmarks
    # the pelvis line's angle in the image (the pixel measure, levelled, + = right hip higher in the image), before
    # the camera's roll and perspective are taken out: obliquity_deg is it taken into the body's frontal plane
    image_obliquity_deg: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.image_obliquity_deg is None:
            self.image_obliquity_deg = np.full(len(self.time_s), np.nan)


def _no_events() -> dict[str, np.ndarray]:
    return {side: np.zeros(0) for side in SIDES}


@dataclass(frozen=True)
class FootEvents:
    """Each foot's gait events as gaitlab.core.events.detect_gait_events found them: its initial contacts (the
    foot lands) and toe-offs (it leaves the ground), seconds from the start of the clip, sorted, keyed by the
    anatomical side. Every event found, not only those bounding a counted step; none in frames left out (a turn,
    the person not tracked long enough)."""

    initial_contacts_s: dict[str, np.ndarray] = field(default_factory=_no_events)
    toe_offs_s: dict[str, np.ndarray] = field(default_factory=_no_events)


@dataclass
class Analysis:
    """Everything measured on one clip (by gaitlab.core.analysis.analyze_track), read by the report, exports, app.

    Angles in degrees and times in seconds, signed as in this module's docstring; `track` has anatomical
    left/right labels."""

    video: VideoInfo
    view: str  # "posterior" | "anterior" | "sagittal" | "oblique", or "unknown" (nobody found)
    activity: str  # "walk" | "run" | "unknown"
    camera_roll_deg: float
    threshold_deg: float
    frames: FrameSeries
    steps: list[StepDrop]
    sides: dict[str, SideVerdict]
    warnings: list[AnalysisWarning] = field(default_factory=list)  # in words: gaitlab.outputs.wording
    track: PoseTrack | None = None
    pelvis_level_method: str = ""  # how the level pelvis was found, in words
    foot_events: FootEvents = field(default_factory=FootEvents)  # each foot's contacts and toe-offs
    camera: CameraPose | None = None  # the camera's pose relative to the person (gaitlab.core.camera); None: none

    @property
    def analysed_frames(self) -> int:
        """Frames measured: those decoded in the part of the clip asked for."""
        return len(self.frames.time_s)

    @property
    def analysed_s(self) -> float:
        """Seconds those frames cover (from the first to the end of the last)."""
        return covered_s(self.frames.time_s, self.video.fps)
