"""In-plane rotation of the pelvis measured from the pixels of the pelvis band.

MediaPipe's hip landmarks follow the pelvic obliquity with a small gain, so the rotation is read
from the image instead: each frame, a band around the hips (iliac crests down to the gluteal fold,
about the hip breadth wide) is resampled into a small patch whose centre and scale come from the
landmarks (hip midpoint, hip-to-shoulder distance) but whose axes stay those of the image. Only
rotation plus a small residual shift is then left between patches, and it is estimated by ECC
registration (Euclidean motion) of the patch to a keyframe patch. The keyframe is replaced only when
the subject's image size has changed a lot (walking toward / away from the camera), by a frame that
still matches it well; the new keyframe inherits its measured rotation, so the absolute rotation
chain is kept across keyframes.

Landmark indices and pixel conventions are those of gaitlab.track.
"""
from __future__ import annotations

import cv2
import numpy as np

from gaitlab.track import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# Arm landmarks (elbow, wrist, then pinky, index, thumb knuckles): hands hang beside the hips and
# swing, so they are masked out of the band.
_ARMS = ((13, 15, (17, 19, 21)), (14, 16, (18, 20, 22)))
# Below this band width in source pixels there is no texture left to register.
_MIN_BAND_SOURCE_PX = 8


class PelvisBandTracker:
    """Streaming estimator of the pelvis band's in-plane rotation (see module docstring).

    Geometry is in units of the hip-to-shoulder distance T (midpoint of the hip landmarks to the
    midpoint of the shoulder landmarks, ~0.50 m in adults), which is steadier in the image than the
    hip width (that shrinks with pelvic yaw).
    """

    def __init__(
        self,
        band_top_torso: float = 0.22,
        band_bottom_torso: float = 0.14,
        band_half_width_torso: float = 0.28,
        forearm_mask_width_torso: float = 0.22,
        hand_length_torso: float = 0.40,
        patch_px_per_torso: float = 160.0,
        min_keyframe_ecc: float = 0.80,
        max_keyframe_scale_ratio: float = 1.25,
        min_texture_grey: float = 2.0,
        max_rotation_deg: float = 25.0,
    ) -> None:
        """
        band_top_torso: band top above the hip-landmark midpoint, in T. The iliac crest lies
            ~0.10-0.12 m above the hip-joint centres (~0.22 T), so the waistband is inside and the
            lumbar trunk mostly outside.
        band_bottom_torso: band bottom below the hip midpoint, in T: the gluteal fold lies
            ~0.06-0.08 m below the hip-joint centres (~0.14 T); lower, the thighs take over.
        band_half_width_torso: half the band width, in T: the hip breadth across the soft tissue is
            ~0.34-0.37 m (half ~0.36 T), so the hip outline is just included.
        forearm_mask_width_torso: width of the strip masked along each forearm and hand, in T (hand
            breadth ~0.09 m ~0.18 T, plus landmark error).
        hand_length_torso: length masked from the wrist toward the knuckle landmarks, in T (wrist to
            fingertip ~0.19 m ~0.38 T; the knuckle landmarks stop short of the fingers).
        patch_px_per_torso: resampling scale of the patch, pixels per T (hip joint width ~70 px).
        min_keyframe_ecc: ECC correlation with the keyframe a frame needs to become the next keyframe.
        max_keyframe_scale_ratio: subject image-size change (either way) after which the keyframe is
            replaced, so that keyframe and frame are sampled at similar source resolution.
        min_texture_grey: grey-level standard deviation of the band (8-bit) at which the quality
            reaches 1/2; sensor noise alone is ~1-2 levels.
        max_rotation_deg: rotation beyond which an estimate is rejected as a failed registration
            (pelvic obliquity in gait stays within ~±15°, plus camera roll).
        """
        self.top, self.bottom, self.half_w = band_top_torso, band_bottom_torso, band_half_width_torso
        self.forearm_w = forearm_mask_width_torso
        self.hand_len = hand_length_torso
        self.px_per_t = patch_px_per_torso
        self.min_keyframe_ecc = min_keyframe_ecc
        self.max_scale_ratio = max_keyframe_scale_ratio
        self.min_texture = min_texture_grey
        self.max_rot = np.deg2rad(max_rotation_deg)
        # Patch of size (h, w) with the hip midpoint at (cx, cy) in patch pixels.
        self.w = int(round(2 * self.half_w * self.px_per_t))
        self.h = int(round((self.top + self.bottom) * self.px_per_t))
        self.cx, self.cy = self.w / 2.0, self.top * self.px_per_t
        self._key: tuple[np.ndarray, np.ndarray, float, float] | None = None  # patch, mask, T px, rot
        # Counts rotation references: rotations measured under different references are not comparable.
        self.reference_id = 0
        self._warp = np.eye(2, 3, dtype=np.float32)  # last warp keyframe patch -> current patch
        self._criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)

    def reset(self) -> None:
        """Forget the keyframe: the next measurable frame becomes the reference."""
        if self._key is not None:
            self.reference_id += 1
        self._key = None
        self._warp = np.eye(2, 3, dtype=np.float32)

    def update(self, gray: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray) -> tuple[float, float]:
        """gray: (H,W) uint8 upright frame; image_xyz (33,3) pixels (NaN if no person); visibility (33,).
        Returns (rotation_deg, quality): the pelvis band's in-plane rotation relative to the tracker's
        reference, degrees, positive = counter-clockwise ON SCREEN (the image-right end rising);
        quality 0..1 (0 / NaN rotation when it cannot measure).

        The first measurable frame defines the reference (rotation 0). Landmarks are used whenever
        finite, whatever their visibility: a hand hidden behind the pelvis is masked anyway, at little
        cost. If registration fails outright the chain restarts, and the next measurable frame is a
        new reference (its offset to the old one is unknown)."""
        band = self.band(gray, image_xyz)
        if band is None:
            return float("nan"), 0.0
        patch, mask, torso_px = band
        texture = float(patch[mask > 0].std()) if mask.any() else 0.0
        texture_q = texture / (texture + self.min_texture)

        if self._key is None:
            return self._new_key(patch, mask, torso_px, 0.0, texture_q)
        key_patch, key_mask, key_t, key_rot = self._key
        rho, rot = self._register(key_patch, key_mask, patch, mask)
        if not np.isfinite(rot):
            # Registration failed outright: restart the chain here (the rotation reference is lost).
            self.reset()
            return float("nan"), 0.0
        rotation = key_rot + rot
        # Re-anchor once the subject's image size has drifted (keyframe and frame would be sampled at
        # different source resolutions), but only on a frame that matches the keyframe well, since
        # the new keyframe inherits this frame's rotation error for good; past the square of the
        # ratio, re-anchor anyway rather than keep a keyframe that no longer resembles the frames.
        drift = abs(np.log(torso_px / key_t)) / np.log(self.max_scale_ratio)
        if (drift > 1 and rho >= self.min_keyframe_ecc) or drift > 2:
            self._new_key(patch, mask, torso_px, rotation, texture_q)
        return float(np.rad2deg(rotation)), float(np.clip(rho, 0.0, 1.0) * texture_q)

    def band(self, gray: np.ndarray, image_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The band of this frame: (patch float32 (h, w), mask uint8 (255 = valid), T in image pixels),
        image axes, hip midpoint at (cx, cy) = (w/2, top * px_per_t); None without hips and shoulders
        or when the band is too small to hold texture."""
        xy = np.asarray(image_xyz, dtype=np.float64)[:, :2]
        hips = xy[[LEFT_HIP, RIGHT_HIP]]
        shoulders = xy[[LEFT_SHOULDER, RIGHT_SHOULDER]]
        if not (np.isfinite(hips).all() and np.isfinite(shoulders).all()):
            return None
        hip_mid = hips.mean(axis=0)
        torso_px = float(np.linalg.norm(shoulders.mean(axis=0) - hip_mid))
        if torso_px * 2 * self.half_w < _MIN_BAND_SOURCE_PX:
            return None
        return self._sample(gray, hip_mid, torso_px), self._mask(xy, hip_mid, torso_px), torso_px

    def _new_key(self, patch, mask, torso_px, rotation, texture_q) -> tuple[float, float]:
        self._key = (patch, mask, torso_px, rotation)
        self._warp = np.eye(2, 3, dtype=np.float32)
        return float(np.rad2deg(rotation)), texture_q

    def _sample(self, gray: np.ndarray, hip_mid: np.ndarray, torso_px: float) -> np.ndarray:
        """Band patch: image axes, hip midpoint at (cx, cy), T = px_per_t pixels."""
        s = self.px_per_t / torso_px  # patch pixels per image pixel
        # Crop a margin around the band first so that the anti-aliasing and warp touch few pixels.
        margin = 0.25 * torso_px
        x0 = max(int(hip_mid[0] - self.half_w * torso_px - margin), 0)
        y0 = max(int(hip_mid[1] - self.top * torso_px - margin), 0)
        x1 = min(int(hip_mid[0] + self.half_w * torso_px + margin) + 1, gray.shape[1])
        y1 = min(int(hip_mid[1] + self.bottom * torso_px + margin) + 1, gray.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return np.zeros((self.h, self.w), np.float32)
        roi = gray[y0:y1, x0:x1].astype(np.float32)
        if s < 1:  # downscaling: low-pass first to avoid aliasing (sigma ~ half the pixel ratio)
            roi = cv2.GaussianBlur(roi, (0, 0), 0.5 / s)
        m = np.array([[s, 0, self.cx - s * (hip_mid[0] - x0)], [0, s, self.cy - s * (hip_mid[1] - y0)]])
        return cv2.warpAffine(roi, m, (self.w, self.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _mask(self, xy: np.ndarray, hip_mid: np.ndarray, torso_px: float) -> np.ndarray:
        """Valid band pixels: everything except strips along the forearms and hands."""
        mask = np.full((self.h, self.w), 255, np.uint8)
        s = self.px_per_t / torso_px
        p = (xy - hip_mid) * s + (self.cx, self.cy)
        width = max(int(round(self.forearm_w * self.px_per_t)), 1)
        for elbow, wrist, knuckles in _ARMS:
            e, w, k = p[elbow], p[wrist], p[list(knuckles)]
            if not np.isfinite(w).all():
                continue
            ends = [e] if np.isfinite(e).all() else []
            k = k[np.isfinite(k).all(axis=1)]
            if len(k):
                d = k.mean(axis=0) - w
                ends.append(w + d / max(np.linalg.norm(d), 1e-6) * self.hand_len * self.px_per_t)
            for q in ends or [w]:
                cv2.line(mask, _pt(w), _pt(q), 0, width)
        return mask

    def _register(self, key_patch, key_mask, patch, mask) -> tuple[float, float]:
        """ECC Euclidean registration keyframe -> patch; returns (correlation, rotation rad CCW)."""
        if (key_mask > 0).sum() < 0.25 * key_mask.size or (mask > 0).sum() < 0.25 * mask.size:
            return 0.0, float("nan")
        try:
            rho, warp = cv2.findTransformECCWithMask(
                key_patch, patch, key_mask, mask, self._warp.copy(), cv2.MOTION_EUCLIDEAN, self._criteria, 5
            )
        except cv2.error:
            return 0.0, float("nan")
        # warp maps keyframe coords to current coords (y down): a CCW-on-screen rotation of the
        # content by a gives warp[1,0] = -sin(a).
        rot = float(np.arctan2(-warp[1, 0], warp[0, 0]))
        if abs(rot) > self.max_rot:
            return 0.0, float("nan")
        self._warp = warp
        return float(rho), rot


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Pixel point for cv2 drawing, clipped far outside the patch to stay in int range."""
    return tuple(int(round(v)) for v in np.clip(p, -1e4, 1e4))
