"""The pelvis band's geometry: where the band lies in a frame, and how it is cut out and resampled.

The band is the region around the hips that both pelvis measures read (gaitlab.measure.band for its
rotation, gaitlab.measure.symmetry for its absolute tilt). Its extent is given in units of T, the
hip-to-shoulder distance (midpoint of the hip landmarks to the midpoint of the shoulder landmarks,
~0.50 m in adults), which is steadier in the image than the hip width (that shrinks with pelvic yaw).
Each frame the landmarks place it: centre at the hip midpoint, T in image pixels. It is resampled into
a patch with the image's axes (x to the right, y down, no rotation) at a fixed number of patch pixels
per T, so that only the body's own rotation and a small shift are left between patches.

Landmark indices and pixel conventions are those of gaitlab.core.track.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from gaitlab.core.track import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# Arm landmarks (elbow, wrist, then pinky, index, thumb knuckles): hands hang beside the hips and
# swing, so they are masked out of the band.
_ARMS = ((13, 15, (17, 19, 21)), (14, 16, (18, 20, 22)))
# Below this band width in source pixels there is no texture left to read.
_MIN_BAND_SOURCE_PX = 8
# Least margin around the band in a source box, in T: anti-aliasing and interpolation then touch few
# pixels outside the region a caller keeps.
_BOX_MARGIN_T = 0.25


@dataclass(frozen=True)
class BandShape:
    """Extent of the pelvis band around the hip-landmark midpoint, its arm masks and its patch scale.

    Attributes
    ----------
    top : float
        Band top above the hip midpoint, in T. The iliac crest lies ~0.10-0.12 m above the hip-joint
        centres (~0.22 T), so the waistband is inside and the lumbar trunk mostly outside.
    bottom : float
        Band bottom below the hip midpoint, in T: the gluteal fold lies ~0.06-0.08 m below the hip-joint
        centres (~0.14 T); lower, the thighs take over.
    half_width : float
        Half the band width, in T: the hip breadth across the soft tissue is ~0.34-0.37 m (half
        ~0.36 T), so the hip outline is just included.
    forearm_mask_width : float
        Width of the strip masked along each forearm and hand, in T (hand breadth ~0.09 m ~0.18 T,
        plus landmark error).
    hand_length : float
        Length masked from the wrist toward the knuckle landmarks, in T (wrist to fingertip ~0.19 m
        ~0.38 T; the knuckle landmarks stop short of the fingers).
    px_per_t : float
        Resampling scale of the patch, patch pixels per T (the hip joint width is then ~70 px).
    """

    top: float = 0.22
    bottom: float = 0.14
    half_width: float = 0.28
    forearm_mask_width: float = 0.22
    hand_length: float = 0.40
    px_per_t: float = 160.0

    @property
    def width_px(self) -> int:
        """Patch width, patch pixels."""
        return int(round(2 * self.half_width * self.px_per_t))

    @property
    def height_px(self) -> int:
        """Patch height, patch pixels."""
        return int(round((self.top + self.bottom) * self.px_per_t))

    @property
    def hip_px(self) -> tuple[float, float]:
        """Where the hip midpoint lies in the patch, (x, y) in patch pixels from its top-left corner."""
        return self.width_px / 2.0, self.top * self.px_per_t

    def widened(self, margin_t: float) -> BandShape:
        """This band with `margin_t` (in T) more on every side."""
        return replace(self, top=self.top + margin_t, bottom=self.bottom + margin_t,
                       half_width=self.half_width + margin_t)


@dataclass(frozen=True, eq=False)
class PelvisBand:
    """A band of a given shape placed on one frame by its landmarks (see PelvisBand.locate).

    Attributes
    ----------
    shape : BandShape
        The band's extent, masks and patch scale.
    xy : np.ndarray
        (33, 2) landmarks, image pixels (NaN where missing).
    hip_mid : np.ndarray
        (2,) midpoint of the hip landmarks, image pixels.
    torso_px : float
        T, the hip-midpoint to shoulder-midpoint distance, in image pixels.
    """

    shape: BandShape
    xy: np.ndarray
    hip_mid: np.ndarray
    torso_px: float

    @classmethod
    def locate(cls, shape: BandShape, image_xyz: np.ndarray) -> PelvisBand | None:
        """Place `shape` on a frame with landmarks image_xyz ((33, 3), pixels). None without both hips and
        both shoulders, or when the band would be under _MIN_BAND_SOURCE_PX source pixels wide."""
        xy = np.asarray(image_xyz, dtype=np.float64)[:, :2]
        hips = xy[[LEFT_HIP, RIGHT_HIP]]
        shoulders = xy[[LEFT_SHOULDER, RIGHT_SHOULDER]]
        if not (np.isfinite(hips).all() and np.isfinite(shoulders).all()):
            return None
        hip_mid = hips.mean(axis=0)
        torso_px = float(np.linalg.norm(shoulders.mean(axis=0) - hip_mid))
        if torso_px * 2 * shape.half_width < _MIN_BAND_SOURCE_PX:
            return None
        return cls(shape, xy, hip_mid, torso_px)

    @property
    def scale(self) -> float:
        """Patch pixels per image pixel."""
        return self.shape.px_per_t / self.torso_px

    @property
    def from_behind(self) -> bool:
        """Whether the person is filmed from behind (see facing_away)."""
        return facing_away(self.xy)

    def source_box(self, width: int, height: int, extra: int = 0) -> tuple[int, int, int, int]:
        """The pixels (x0, y0, x1, y1) of a width x height frame that sample(extra=extra) reads: the band,
        plus on every side a margin of at least _BOX_MARGIN_T that also holds the `extra` patch pixels,
        clipped to the frame (x1, y1 exclusive)."""
        s = self.shape
        margin = max(_BOX_MARGIN_T, extra / s.px_per_t) * self.torso_px
        x, y = self.hip_mid
        x0 = max(int(x - s.half_width * self.torso_px - margin), 0)
        y0 = max(int(y - s.top * self.torso_px - margin), 0)
        x1 = min(int(x + s.half_width * self.torso_px + margin) + 1, width)
        y1 = min(int(y + s.bottom * self.torso_px + margin) + 1, height)
        return x0, y0, x1, y1

    def sample(self, image: np.ndarray, colour: bool = False, extra: int = 0) -> np.ndarray:
        """The band resampled from `image` ((H, W) uint8 grey or (H, W, 3) uint8 RGB) into a float32 patch of
        (height_px + 2 extra, width_px + 2 extra) pixels, grey unless colour (then RGB, from an RGB image):
        image axes, px_per_t pixels per T, the hip midpoint at hip_px + (extra, extra)."""
        size = (self.shape.height_px + 2 * extra, self.shape.width_px + 2 * extra)
        x0, y0, x1, y1 = self.source_box(image.shape[1], image.shape[0], extra)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return np.zeros(size + image.shape[2:] if colour else size, np.float32)
        roi = image[y0:y1, x0:x1]
        if roi.ndim == 3 and not colour:  # RGB: grey only this region, not the whole frame
            roi = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
        roi = roi.astype(np.float32)
        s = self.scale
        if s < 1:  # downscaling: low-pass first to avoid aliasing (sigma ~ half the pixel ratio)
            roi = cv2.GaussianBlur(roi, (0, 0), 0.5 / s)
        cx, cy = self._hip_in_patch(extra)
        m = np.array([[s, 0, cx - s * (self.hip_mid[0] - x0)], [0, s, cy - s * (self.hip_mid[1] - y0)]])
        return cv2.warpAffine(roi, m, size[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def mask(self, extra: int = 0) -> np.ndarray:
        """Valid pixels of sample(extra=extra), uint8 (255 = valid, 0 = masked): all but strips along the
        forearms and hands."""
        s = self.shape
        mask = np.full((s.height_px + 2 * extra, s.width_px + 2 * extra), 255, np.uint8)
        p = (self.xy - self.hip_mid) * self.scale + self._hip_in_patch(extra)
        width = max(int(round(s.forearm_mask_width * s.px_per_t)), 1)
        for elbow, wrist, knuckles in _ARMS:
            w = p[wrist]
            if np.isfinite(w).all():
                for end in self._forearm_ends(p[elbow], w, p[list(knuckles)]):
                    cv2.line(mask, _pt(w), _pt(end), 0, width)
        return mask

    def _forearm_ends(self, elbow: np.ndarray, wrist: np.ndarray, knuckles: np.ndarray) -> list[np.ndarray]:
        """Ends of the strips masked from the wrist (patch pixels): the elbow, and hand_length toward the
        knuckles' mean, those that are known; the wrist itself (a dot) when neither is."""
        ends = [elbow] if np.isfinite(elbow).all() else []
        knuckles = knuckles[np.isfinite(knuckles).all(axis=1)]
        if len(knuckles):
            d = knuckles.mean(axis=0) - wrist
            ends.append(wrist + d / max(np.linalg.norm(d), 1e-6) * self.shape.hand_length * self.shape.px_per_t)
        return ends or [wrist]

    def _hip_in_patch(self, extra: int) -> tuple[float, float]:
        """The hip midpoint in a patch with `extra` pixels more on every side, patch pixels."""
        cx, cy = self.shape.hip_px
        return cx + extra, cy + extra


def facing_away(image_xyz: np.ndarray) -> bool:
    """True when the person is filmed from behind: their right hip and shoulder are on the image
    right (from in front, on the image left). Undecided (landmarks missing) counts as from behind."""
    x = np.asarray(image_xyz, dtype=np.float64)[:, 0]
    d = (x[RIGHT_HIP] - x[LEFT_HIP]) + (x[RIGHT_SHOULDER] - x[LEFT_SHOULDER])
    return not (d < 0)


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Pixel point for cv2 drawing, clipped far outside the patch to stay in int range."""
    return tuple(int(round(v)) for v in np.clip(p, -1e4, 1e4))
