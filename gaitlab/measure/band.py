"""In-plane rotation of the pelvis measured from the pixels of the pelvis band.

MediaPipe's hip landmarks follow the pelvic obliquity with a small gain, so the rotation is read
from the image instead: each frame, a band around the hips (iliac crests down to the gluteal fold,
about the hip breadth wide) is resampled into a small patch whose centre and scale come from the
landmarks (hip midpoint, hip-to-shoulder distance) but whose axes stay those of the image. Only
rotation plus a small residual shift (and the soft tissue's deformation) is then left between
patches, and it is estimated by ECC registration of the patch to a keyframe patch.

Which rotation: the band is not one rigid body. With the trunk kept upright over a dropping pelvis the
lumbar spine bends sideways, and the soft tissue of the waist takes part of that bend; the band's
transverse (horizontal) features, above all the waistband / hem edge, lie there. From behind they
tilt ~15 % less than the hip line on rendered walks and lag it by 1-2 frames, and a Euclidean fit,
which they dominate (the band is wide and short, and the waistband is its strongest edge), reads the
same under-size (a robust refit that drops large residuals does not change that: the deformation is
smooth, not an outlying minority). The band's vertical features from behind are the midline over the
sacrum (intergluteal cleft, back seam), which belongs to the pelvic ring. So, filmed from behind, the
registration is affine and the rotation read is the tilt of the band's vertical lines (d u / d y),
free of the waist's vertical strain and of shear; from in front the vertical features are the groin
folds, which follow the thighs, so there the Euclidean fit is kept. Facing comes from the landmarks:
from behind the person's right hip and shoulder are on the image right.

The keyframe is replaced only when
the subject's image size has changed a lot (walking toward / away from the camera), by a frame that
still matches it well; the new keyframe inherits its measured rotation, so the absolute rotation
chain is kept across keyframes.

Landmark indices and pixel conventions are those of gaitlab.core.track.
"""
from __future__ import annotations

import cv2
import numpy as np

from gaitlab.core.track import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# Arm landmarks (elbow, wrist, then pinky, index, thumb knuckles): hands hang beside the hips and
# swing, so they are masked out of the band.
_ARMS = ((13, 15, (17, 19, 21)), (14, 16, (18, 20, 22)))
# Below this band width in source pixels there is no texture left to register.
_MIN_BAND_SOURCE_PX = 8
# ECC stops after this many Gauss-Newton iterations or once the correlation gains less than this:
# started from the previous frame's warp it converges in a few (tested: 10 give the same rotations).
_ECC_ITERATIONS = 30
_ECC_EPS = 1e-5
# The trimmed affine refit is repeated (it is iteratively reweighted least squares with 0/1 weights)
# until the rotation moves less than this, a quarter of the per-frame noise (~0.2°), or
# at most this many times.
_REFIT_TOLERANCE_RAD = np.deg2rad(0.05)
_MAX_REFITS = 3


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
        max_strain: float = 0.3,
        outlier_sigmas: float = 2.5,
        search_margin_torso: float = 0.10,
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
        max_strain: largest principal stretch (either way, as a fraction) of an affine fit before it
            is rejected as a failed registration. The patch is already scaled by the landmarks'
            torso length: what is left is landmark scale jitter (a few %), pelvic yaw foreshortening
            (1 - cos 15° ~ 3 %) and soft-tissue strain (~10 %); 0.3 leaves a wide margin.
        outlier_sigmas: after an affine fit, keyframe pixels whose residual exceeds this many robust
            standard deviations (1.4826 MAD) are dropped and the fit is repeated, as in
            gaitlab.measure.symmetry: with scale and shear free, the affine bends toward an edge foreign
            to the band (a hand reaching past its mask strip), which a Euclidean fit cannot. 2.5 is
            the usual robust cut, ~1 % of Gaussian residuals.
        search_margin_torso: the current frame is sampled this much (in T) beyond the band on every side,
            so that the keyframe's band, placed by the landmarks of the keyframe, is found whole in it: the
            rotation is then always read from the same body region, not from a band that slides over
            the body with the landmarks' placement error (the hip landmarks bob ~0.05 T against the hip
            joints within a running stance, and the band is only ~0.36 T tall).
        """
        self.top, self.bottom, self.half_w = band_top_torso, band_bottom_torso, band_half_width_torso
        self.forearm_w = forearm_mask_width_torso
        self.hand_len = hand_length_torso
        self.px_per_t = patch_px_per_torso
        self.min_keyframe_ecc = min_keyframe_ecc
        self.max_scale_ratio = max_keyframe_scale_ratio
        self.min_texture = min_texture_grey
        self.max_rot = np.deg2rad(max_rotation_deg)
        self.max_strain = max_strain
        self.outlier_sigmas = outlier_sigmas
        # Patch of size (h, w) with the hip midpoint at (cx, cy) in patch pixels.
        self.w = int(round(2 * self.half_w * self.px_per_t))
        self.h = int(round((self.top + self.bottom) * self.px_per_t))
        self.cx, self.cy = self.w / 2.0, self.top * self.px_per_t
        self.margin = int(round(search_margin_torso * self.px_per_t))  # patch px around the band, current frame
        # Keyframe: patch, mask, T px, rotation, filmed from behind (the registration read for it).
        self._key: tuple[np.ndarray, np.ndarray, float, float, bool] | None = None
        # Counts rotation references: rotations measured under different references are not comparable.
        self.reference_id = 0
        self._warp = self._initial_warp()  # last warp keyframe patch -> current (extended) patch
        self._criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ECC_ITERATIONS, _ECC_EPS)

    def reset(self) -> None:
        """Forget the keyframe: the next measurable frame becomes the reference."""
        if self._key is not None:
            self.reference_id += 1
        self._key = None
        self._warp = self._initial_warp()

    @property
    def keyframe(self) -> tuple | None:
        """The keyframe rotations are measured from (opaque; None before the first measurable frame)."""
        return self._key

    def adopt(self, keyframe: tuple, image_xyz: np.ndarray) -> bool:
        """Measure from another tracker's keyframe (that of a concurrent tracker on an earlier span of the
        clip), so that both trackers' rotations share its reference; only when the subject's image size
        here is within max_keyframe_scale_ratio of the keyframe's (else False, nothing changed)."""
        place = self._place(image_xyz)
        if place is None or abs(np.log(place[2] / keyframe[2])) > np.log(self.max_scale_ratio):
            return False
        self._key = keyframe
        self._warp = self._initial_warp()
        return True

    def _initial_warp(self) -> np.ndarray:
        """Keyframe band -> current extended patch with nothing moved: a shift by the margin."""
        warp = np.eye(2, 3, dtype=np.float32)
        warp[:, 2] = self.margin
        return warp

    def update(self, image: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray) -> tuple[float, float]:
        """image: (H,W) uint8 grey or (H,W,3) uint8 RGB upright frame; image_xyz (33,3) pixels (NaN if no
        person); visibility (33,).
        Returns (rotation_deg, quality): the pelvis band's in-plane rotation relative to the tracker's
        reference, degrees, positive = counter-clockwise ON SCREEN (the image-right end rising);
        quality 0..1 (0 / NaN rotation when it cannot measure).

        The first measurable frame defines the reference (rotation 0). Landmarks are used whenever
        finite, whatever their visibility: a hand hidden behind the pelvis is masked anyway, at little
        cost. If registration fails outright the chain restarts, and the next measurable frame is a
        new reference (its offset to the old one is unknown). So is a change of facing (the subject
        turning round): the band then shows another side of the body, read another way."""
        place = self._place(image_xyz)
        if place is None:
            return float("nan"), 0.0
        xy, hip_mid, torso_px = place
        m = self.margin
        wide = self._sample(image, hip_mid, torso_px, extra=m)
        wide_mask = self._mask(xy, hip_mid, torso_px, extra=m)
        patch, mask = wide[m:m + self.h, m:m + self.w].copy(), wide_mask[m:m + self.h, m:m + self.w].copy()
        texture = float(patch[mask > 0].std()) if mask.any() else 0.0
        texture_q = texture / (texture + self.min_texture)
        behind = facing_away(image_xyz)

        if self._key is not None and self._key[4] != behind:
            self.reset()
        if self._key is None:
            return self._new_key(patch, mask, torso_px, 0.0, texture_q, behind)
        key_patch, key_mask, key_t, key_rot, _ = self._key
        rho, rot = self._register(key_patch, key_mask, wide, wide_mask, behind)
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
        # The new keyframe is this frame's band as the landmarks place it, and it inherits the rotation read
        # from wherever the old keyframe's band was found in this frame: so re-anchor only on a frame where
        # the two agree (within half the search margin, i.e. the hip landmarks' typical bob), not at the
        # extreme of a step's landmark bob, where the new band would be another body region (from in front,
        # e.g. lower, taking in the gap between the thighs) and the chain would read that region from then on.
        aligned = np.abs(self._band_shift()).max() <= 0.5 * m
        if (drift > 1 and rho >= self.min_keyframe_ecc and aligned) or drift > 2:
            self._new_key(patch, mask, torso_px, rotation, texture_q, behind)
        return float(np.rad2deg(rotation)), float(np.clip(rho, 0.0, 1.0) * texture_q)

    def _band_shift(self) -> np.ndarray:
        """Where the last registration found the keyframe band's centre in the current extended patch,
        relative to where the current landmarks put it (patch pixels, x and y)."""
        c = np.array([self.cx, self.cy])
        return self._warp[:, :2].astype(np.float64) @ c + self._warp[:, 2] - c - self.margin

    def band(self, image: np.ndarray, image_xyz: np.ndarray, colour: bool = False
             ) -> tuple[np.ndarray, np.ndarray, float] | tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
        """The band of this frame: (patch float32 (h, w) grey, mask uint8 (255 = valid), T in image pixels),
        image axes, hip midpoint at (cx, cy) = (w/2, top * px_per_t); with colour=True and an RGB image,
        the same band in RGB (h, w, 3) as a fourth item. None without hips and shoulders or when the band
        is too small to hold texture."""
        place = self._place(image_xyz)
        if place is None:
            return None
        xy, hip_mid, torso_px = place
        band = (self._sample(image, hip_mid, torso_px), self._mask(xy, hip_mid, torso_px), torso_px)
        if colour and np.ndim(image) == 3:
            return (*band, self._sample(image, hip_mid, torso_px, colour=True))
        return band

    def source_box(self, image_xyz: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The pixels (x0, y0, x1, y1) of a width x height frame that band() and update() read for these
        landmarks (None: none), so that a caller can keep just that region of a frame."""
        place = self._place(image_xyz)
        return None if place is None else self._box(place[1], place[2], width, height)

    def _place(self, image_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(landmarks xy, hip midpoint, T pixels), or None without hips and shoulders or for a tiny band."""
        xy = np.asarray(image_xyz, dtype=np.float64)[:, :2]
        hips = xy[[LEFT_HIP, RIGHT_HIP]]
        shoulders = xy[[LEFT_SHOULDER, RIGHT_SHOULDER]]
        if not (np.isfinite(hips).all() and np.isfinite(shoulders).all()):
            return None
        hip_mid = hips.mean(axis=0)
        torso_px = float(np.linalg.norm(shoulders.mean(axis=0) - hip_mid))
        if torso_px * 2 * self.half_w < _MIN_BAND_SOURCE_PX:
            return None
        return xy, hip_mid, torso_px

    def _new_key(self, patch, mask, torso_px, rotation, texture_q, behind) -> tuple[float, float]:
        self._key = (patch, mask, torso_px, rotation, behind)
        self._warp = self._initial_warp()
        return float(np.rad2deg(rotation)), texture_q

    def _box(self, hip_mid: np.ndarray, torso_px: float, width: int, height: int) -> tuple[int, int, int, int]:
        # a margin around the band, so that the anti-aliasing and warp touch few pixels, and that holds the
        # search margin update() samples the current frame with (else the caller's region would cut it off)
        margin = max(0.25, self.margin / self.px_per_t) * torso_px
        x0 = max(int(hip_mid[0] - self.half_w * torso_px - margin), 0)
        y0 = max(int(hip_mid[1] - self.top * torso_px - margin), 0)
        x1 = min(int(hip_mid[0] + self.half_w * torso_px + margin) + 1, width)
        y1 = min(int(hip_mid[1] + self.bottom * torso_px + margin) + 1, height)
        return x0, y0, x1, y1

    def _sample(self, image: np.ndarray, hip_mid: np.ndarray, torso_px: float, colour: bool = False,
                extra: int = 0) -> np.ndarray:
        """Band patch: image axes, hip midpoint at (cx, cy), T = px_per_t pixels; grey unless colour; with
        `extra` patch pixels more on every side (the hip midpoint then at (cx + extra, cy + extra))."""
        s = self.px_per_t / torso_px  # patch pixels per image pixel
        x0, y0, x1, y1 = self._box(hip_mid, torso_px, image.shape[1], image.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            size = (self.h + 2 * extra, self.w + 2 * extra)
            return np.zeros(size + image.shape[2:] if colour else size, np.float32)
        roi = image[y0:y1, x0:x1]
        if roi.ndim == 3 and not colour:  # RGB: grey only this region (converting whole 1080p frames cost ~3 ms each)
            roi = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
        roi = roi.astype(np.float32)
        if s < 1:  # downscaling: low-pass first to avoid aliasing (sigma ~ half the pixel ratio)
            roi = cv2.GaussianBlur(roi, (0, 0), 0.5 / s)
        cx, cy = self.cx + extra, self.cy + extra
        m = np.array([[s, 0, cx - s * (hip_mid[0] - x0)], [0, s, cy - s * (hip_mid[1] - y0)]])
        return cv2.warpAffine(roi, m, (self.w + 2 * extra, self.h + 2 * extra), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def _mask(self, xy: np.ndarray, hip_mid: np.ndarray, torso_px: float, extra: int = 0) -> np.ndarray:
        """Valid band pixels: everything except strips along the forearms and hands (`extra`: as _sample)."""
        mask = np.full((self.h + 2 * extra, self.w + 2 * extra), 255, np.uint8)
        s = self.px_per_t / torso_px
        p = (xy - hip_mid) * s + (self.cx + extra, self.cy + extra)
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

    def _register(self, key_patch, key_mask, patch, mask, behind: bool) -> tuple[float, float]:
        """ECC registration keyframe -> patch, affine from behind and Euclidean from in front (see the
        module docstring); returns (correlation, rotation rad CCW)."""
        if (key_mask > 0).sum() < 0.25 * key_mask.size or (mask > 0).sum() < 0.25 * mask.size:
            return 0.0, float("nan")
        motion = cv2.MOTION_AFFINE if behind else cv2.MOTION_EUCLIDEAN
        try:
            rho, warp = cv2.findTransformECCWithMask(
                key_patch, patch, key_mask, mask, self._warp.copy(), motion, self._criteria, 5
            )
        except cv2.error:
            return 0.0, float("nan")
        if behind:
            for _ in range(_MAX_REFITS):
                previous = warp
                rho, warp = self._refit_inliers(key_patch, key_mask, patch, mask, rho, warp)
                if abs(_vertical_tilt(warp) - _vertical_tilt(previous)) < _REFIT_TOLERANCE_RAD:
                    break
        # warp maps keyframe coords to current coords (y down). A CCW-on-screen rotation of the
        # content by a gives warp[:, :2] = [[cos a, sin a], [-sin a, cos a]]: vertical lines tilt by
        # atan2(warp[0,1], warp[1,1]) (for a Euclidean warp this is the rotation itself).
        rot = _vertical_tilt(warp)
        if behind:
            stretches = np.linalg.svd(warp[:, :2], compute_uv=False)
            if stretches.max() > 1 + self.max_strain or stretches.min() < 1 / (1 + self.max_strain):
                return 0.0, float("nan")
        if abs(rot) > self.max_rot:
            return 0.0, float("nan")
        self._warp = warp
        return float(rho), rot


    def _refit_inliers(self, key_patch, key_mask, patch, mask, rho, warp) -> tuple[float, np.ndarray]:
        """Repeat the affine fit without the keyframe pixels that it leaves with outlying residuals."""
        h, w = key_patch.shape
        inverse = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        back = cv2.warpAffine(patch, warp, (w, h), flags=inverse, borderMode=cv2.BORDER_REPLICATE)
        back_mask = cv2.warpAffine(mask, warp, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                   borderValue=0)
        valid = (key_mask > 0) & (back_mask > 0)
        if valid.sum() < 0.25 * valid.size:
            return rho, warp
        a, b = key_patch[valid], back[valid]
        res = (b - b.mean()) / (b.std() + 1e-6) - (a - a.mean()) / (a.std() + 1e-6)
        res -= np.median(res)
        scale = 1.4826 * np.median(np.abs(res))
        inliers = np.zeros_like(key_mask)
        inliers[valid] = np.where(np.abs(res) <= self.outlier_sigmas * scale, 255, 0)
        if (inliers > 0).sum() < 0.25 * inliers.size:
            return rho, warp
        try:
            return cv2.findTransformECCWithMask(key_patch, patch, inliers, mask, warp.copy(), cv2.MOTION_AFFINE,
                                                self._criteria, 5)
        except cv2.error:
            return rho, warp


def _vertical_tilt(warp: np.ndarray) -> float:
    """Tilt of vertical lines under a keyframe -> frame warp (y down), rad, CCW on screen."""
    return float(np.arctan2(warp[0, 1], warp[1, 1]))


def facing_away(image_xyz: np.ndarray) -> bool:
    """True when the person is filmed from behind: their right hip and shoulder are on the image
    right (from in front, on the image left). Undecided (landmarks missing) counts as from behind."""
    x = np.asarray(image_xyz, dtype=np.float64)[:, 0]
    d = (x[RIGHT_HIP] - x[LEFT_HIP]) + (x[RIGHT_SHOULDER] - x[LEFT_SHOULDER])
    return not (d < 0)


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Pixel point for cv2 drawing, clipped far outside the patch to stay in int range."""
    return tuple(int(round(v)) for v in np.clip(p, -1e4, 1e4))
