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

import numpy as np

from gaitlab.core.clip import VideoInfo, covered_s
from gaitlab.core.track import PoseTrack

SIDES = ("left", "right")
DEFAULT_THRESHOLD_DEG = 5.0
# Thresholds a user may set, degrees: below 1 is well inside the measurement error (SDD 2.7), above 20 beyond any
# pelvic drop seen in walking or running (about 12 even with marked abductor weakness).
THRESHOLD_RANGE_DEG = (1.0, 20.0)
MIN_STEPS_PER_SIDE = 7  # Dingenen et al. 2018: at least 7 steps per side for a stable mean
SMALLEST_DETECTABLE_DIFFERENCE_DEG = 2.7  # Dingenen et al. 2018, contralateral pelvic drop from 2D video


@dataclass(frozen=True)
class StepDrop:
    stance_side: str
    start_s: float
    end_s: float
    peak_drop_deg: float  # the measure gaitlab reports (pixels + landmarks)
    peak_time_s: float
    baseline_peak_drop_deg: float  # the hip-landmark line alone, shown for comparison
    trunk_lean_deg: float  # toward the stance side at the peak (NaN if not measured)
    knee_flexion_deg: float  # stance knee at the peak, from 2D landmarks (NaN if not visible)
    flagged: bool  # peak_drop_deg > threshold


@dataclass(frozen=True)
class SideVerdict:
    side: str  # the stance leg: the side whose hip abductors are tested
    steps: int
    mean_drop_deg: float
    sd_drop_deg: float
    max_drop_deg: float
    steps_over_threshold: int
    flagged: bool  # mean > threshold and the side was measurable
    measurable: bool  # False: no verdict (e.g. sagittal view or no steps)
    baseline_mean_drop_deg: float


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


@dataclass
class Analysis:
    video: VideoInfo
    view: str  # "posterior" | "anterior" | "sagittal" | "oblique"
    activity: str  # "walk" | "run" | "unknown"
    camera_roll_deg: float
    threshold_deg: float
    frames: FrameSeries
    steps: list[StepDrop]
    sides: dict[str, SideVerdict]
    warnings: list[str] = field(default_factory=list)
    track: PoseTrack | None = None
    pelvis_level_method: str = ""  # how the level pelvis was found, in words

    @property
    def analysed_frames(self) -> int:
        """Frames measured: those decoded in the part of the clip asked for."""
        return len(self.frames.time_s)

    @property
    def analysed_s(self) -> float:
        """Seconds those frames cover (from the first to the end of the last)."""
        return covered_s(self.frames.time_s, self.video.fps)
