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
folds, which follow the thighs, so there the Euclidean fit is kept, on the band above the hip joints'
line only: below it the groin folds and the thighs flex and extend with each step, the two legs
against each other (a running thigh by ±30°), and a rigid fit over them reads part of their motion
as the pelvis' (on the bench's anterior run the whole band read 0.58 of the truth's obliquity, the
part above the hip joints 0.78; every anterior clip's frame-to-frame residual fell or held). Facing
comes from the landmarks: from behind the person's right hip and shoulder are on the image right.

The chain's first keyframe is placed by one frame's landmarks, and where they put the band decides which body
region the whole chain reads: their error (a pixel or a few, ±0.02 T, changing with the gait phase and with the way
the picture is mirrored) moves that region, and with it the rotation's size (on the bench's anterior run, the first
keyframe placed 3 px, 0.02 T, lower reads 13 % more for the whole clip, 3 px higher 9 % less; mirrored, MediaPipe
puts it 3 px aside and the clip reads 15 % more). So the first keyframe is settled: over its first strides each
frame's band is found relative to where that frame's landmarks put it; the median of those shifts is, down, the
keyframe's own placement error against the landmarks' placement over the strides and, across, taken against the
body's mirror axis found in the same frame (gaitlab.measure.symmetry: from the pixels, so MediaPipe's handedness
drops out). The keyframe is cut again there and those frames measured again from it (take_revisions).

The keyframe is replaced only when
the subject's image size has changed a lot (walking toward / away from the camera), by a frame that
still matches it well; the new keyframe inherits its measured rotation, so the absolute rotation
chain is kept across keyframes.

Landmark indices and pixel conventions are those of gaitlab.core.track; the band's geometry is
gaitlab.measure.geometry's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from gaitlab.core.uncertainty import OUTLIER_SIGMAS
from gaitlab.core.view import facing_filter_frames
from gaitlab.measure.geometry import BandShape, PelvisBand

# ECC stops after this many Gauss-Newton iterations or once the correlation gains less than this:
# started from the previous frame's warp it converges in a few (tested: 10 give the same rotations).
_ECC_ITERATIONS = 30
_ECC_EPS = 1e-5
# The trimmed affine refit is repeated (it is iteratively reweighted least squares with 0/1 weights)
# until the rotation moves less than this, a quarter of the per-frame noise (~0.2°), or
# at most this many times.
_REFIT_TOLERANCE_RAD = np.deg2rad(0.05)
_MAX_REFITS = 3
# Fewer valid pixels than this fraction of the band region read (from in front, the part above the hip joints) leave
# too little to register.
_MIN_VALID_FRACTION = 0.25
# The time over which the chain's first keyframe is settled (module docstring), seconds: two strides of walking at
# an ordinary cadence (~110 steps a minute), three of running, so that the landmarks' error (their bob within a
# stride) is pooled over every phase of the gait; the tracker does not know the stride, and over two or three the
# part of a stride left over weighs less than over one (1.1 s is 1.6 running strides).
KEYFRAME_SETTLE_S = 2.2


@dataclass(frozen=True, eq=False)
class _Buffered:
    """A frame measured while the keyframe settles, kept to be measured again (see PelvisBandTracker.update)."""

    frame: int | None
    wide: np.ndarray
    wide_mask: np.ndarray
    texture_q: float


@dataclass(eq=False)
class _Settling:
    """A chain's first keyframe while it settles (see PelvisBandTracker.update): its own sample with the search
    margin (grey band, arm mask), the frames measured since, and where its band was found in each, relative to that
    frame's landmarks (patch pixels: across, down, and across from the body's mirror axis)."""

    wide: np.ndarray
    arm_mask: np.ndarray
    frames: list[_Buffered] = field(default_factory=list)
    shifts: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Keyframe:
    """The band that rotations are measured from.

    Attributes
    ----------
    patch : np.ndarray
        (h, w) float32 grey band, as PelvisBand.sample gives it.
    mask : np.ndarray
        (h, w) uint8, 255 = valid.
    torso_px : float
        T in image pixels in the keyframe's frame.
    rotation : float
        Its rotation relative to the tracker's reference, radians, positive = counter-clockwise on screen.
    behind : bool
        Filmed from behind (read with the affine registration).
    """

    patch: np.ndarray
    mask: np.ndarray
    torso_px: float
    rotation: float
    behind: bool


class PelvisBandTracker:
    """Streaming estimator of the pelvis band's in-plane rotation (see module docstring)."""

    def __init__(
        self,
        shape: BandShape | None = None,
        min_keyframe_ecc: float = 0.80,
        max_keyframe_scale_ratio: float = 1.25,
        min_texture_grey: float = 2.0,
        max_rotation_deg: float = 25.0,
        max_strain: float = 0.3,
        outlier_sigmas: float = OUTLIER_SIGMAS,
        search_margin_torso: float = 0.10,
        frame_rate_hz: float = 30.0,
        settle_s: float = KEYFRAME_SETTLE_S,
    ) -> None:
        """
        Parameters
        ----------
        shape : BandShape or None
            The band's extent, arm masks and patch scale, in units of T (None: BandShape()).
        min_keyframe_ecc : float
            ECC correlation with the keyframe a frame needs to become the next keyframe.
        max_keyframe_scale_ratio : float
            Subject image-size change (either way) after which the keyframe is replaced, so that
            keyframe and frame are sampled at similar source resolution.
        min_texture_grey : float
            Grey-level standard deviation of the band (8-bit) at which the quality reaches 1/2; sensor
            noise alone is ~1-2 levels.
        max_rotation_deg : float
            Rotation beyond which an estimate is rejected as a failed registration, degrees (pelvic
            obliquity in gait stays within ~±15°, plus camera roll).
        max_strain : float
            Largest principal stretch (either way, as a fraction) of an affine fit before it is
            rejected as a failed registration. The patch is already scaled by the landmarks' torso
            length: what is left is landmark scale jitter (a few %), pelvic yaw foreshortening
            (1 - cos 15° ~ 3 %) and soft-tissue strain (~10 %); 0.3 leaves a wide margin.
        outlier_sigmas : float
            After an affine fit, keyframe pixels whose residual exceeds this many robust standard
            deviations (1.4826 MAD) are dropped and the fit is repeated, as in gaitlab.measure.symmetry:
            with scale and shear free, the affine bends toward an edge foreign to the band (a hand
            reaching past its mask strip), which a Euclidean fit cannot. 2.5 is the usual robust cut,
            ~1 % of Gaussian residuals.
        search_margin_torso : float
            The current frame is sampled this much (in T) beyond the band on every side, so that the
            keyframe's band, placed by the landmarks of the keyframe, is found whole in it: the rotation
            is then always read from the same body region, not from a band that slides over the body
            with the landmarks' placement error (the hip landmarks bob ~0.05 T against the hip joints
            within a running stance, and the band is only ~0.36 T tall).
        frame_rate_hz : float
            The clip's frame rate, frames a second: with settle_s, the frames over which the first keyframe is
            settled.
        settle_s : float
            The time over which the chain's first keyframe is settled, seconds (KEYFRAME_SETTLE_S).
        """
        self.shape = BandShape() if shape is None else shape
        self.min_keyframe_ecc = min_keyframe_ecc
        self.max_scale_ratio = max_keyframe_scale_ratio
        self.min_texture = min_texture_grey
        self.max_rot = np.deg2rad(max_rotation_deg)
        self.max_strain = max_strain
        self.outlier_sigmas = outlier_sigmas
        self.margin = int(round(search_margin_torso * self.shape.px_per_t))  # patch px around the band, current frame
        self._key: Keyframe | None = None
        # Frames in a row the person must be seen facing the other way before the chain restarts for it (a facing read
        # from the landmarks): as many as the analysis' facing filter keeps (gaitlab.core.view), so the band and the
        # analysis call the same thing a turn. A person turning round takes a step or two (half a second and more),
        # while MediaPipe swaps its left and right labels for a few frames (3 in a row on a far walk at 25 fps).
        self.facing_frames = facing_filter_frames(frame_rate_hz) // 2 + 1
        self._other_facing = 0  # frames in a row seen facing the other way from the keyframe
        # Counts rotation references: rotations measured under different references are not comparable.
        self.reference_id = 0
        self._warp = self._initial_warp()  # last warp keyframe patch -> current (extended) patch
        self.settle_frames = max(int(round(settle_s * frame_rate_hz)), 1)
        self._settling: _Settling | None = None  # while the chain's first keyframe settles
        self._revisions: list[tuple[int | None, float, float, int]] = []
        self._criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ECC_ITERATIONS, _ECC_EPS)

    def reset(self) -> None:
        """Forget the keyframe: the next measurable frame becomes the reference."""
        self.finish()
        if self._key is not None:
            self.reference_id += 1
        self._key = None
        self._other_facing = 0  # counted against the keyframe just dropped
        self._warp = self._initial_warp()

    def finish(self) -> None:
        """Settle a keyframe still settling with the frames seen so far (at the end of the clip or of a chain)."""
        if self._settling is not None:
            self._settle()

    def take_revisions(self) -> list[tuple[int | None, float, float, int]]:
        """Frames measured again since the last call, once the keyframe they were measured from settled:
        (frame as given to update, rotation_deg, quality, reference id), in frame order."""
        revisions, self._revisions = self._revisions, []
        return revisions

    @property
    def settled(self) -> bool:
        """Whether there is a keyframe and its placement has been checked over its first strides (module docstring),
        or it was adopted from a tracker where it had been, or made later in the chain: it may be handed on."""
        return self._key is not None and self._settling is None

    @property
    def keyframe(self) -> Keyframe | None:
        """The keyframe rotations are measured from (None before the first measurable frame)."""
        return self._key

    def adopt(self, keyframe: Keyframe, image_xyz: np.ndarray) -> bool:
        """Measure from another tracker's keyframe (that of a concurrent tracker on an earlier span of the
        clip), so that both trackers' rotations share its reference; only when the subject's image size
        here is within max_keyframe_scale_ratio of the keyframe's (else False, nothing changed)."""
        band = PelvisBand.locate(self.shape, image_xyz)
        if band is None or abs(np.log(band.torso_px / keyframe.torso_px)) > np.log(self.max_scale_ratio):
            return False
        self._settling = None  # a keyframe of its own still settling is replaced
        self._set_key(keyframe)
        return True

    def source_box(self, image_xyz: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The pixels (x0, y0, x1, y1) of a width x height frame that update() reads for these landmarks
        (None: none), so that a caller can keep just that region of a frame."""
        band = PelvisBand.locate(self.shape, image_xyz)
        return None if band is None else band.source_box(width, height, extra=self.margin)

    def update(self, image: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray, frame: int | None = None,
               midline_px: float = float("nan")) -> tuple[float, float]:
        """image: (H,W) uint8 grey or (H,W,3) uint8 RGB upright frame; image_xyz (33,3) pixels (NaN if no
        person); visibility (33,); frame: the caller's name for this frame, given back with its revision;
        midline_px: where the band's mirror axis lies at the hips' row in this frame, right of the hip landmarks'
        midpoint, patch pixels (gaitlab.measure.symmetry.PelvisSymmetry.axis_offset_px; NaN: not known).
        Returns (rotation_deg, quality): the pelvis band's in-plane rotation relative to the tracker's
        reference, degrees, positive = counter-clockwise ON SCREEN (the image-right end rising);
        quality 0..1 (0 / NaN rotation when it cannot measure).

        The first measurable frame defines the reference (rotation 0). Landmarks are used whenever
        finite, whatever their visibility: a hand hidden behind the pelvis is masked anyway, at little
        cost. A frame whose registration fails is not measured, and the next is registered to the same
        keyframe; only when the subject's image size has outgrown the keyframe (past the square of
        max_keyframe_scale_ratio) does the chain restart, the next measurable frame a new reference (its
        offset to the old one is unknown). So does a change of facing held for facing_frames frames (the
        subject turning round): the band then shows another side of the body, read another way.

        A chain's first keyframe settles over its first settle_frames frames (module docstring): those frames'
        rotations are then measured again, and take_revisions gives them."""
        band = PelvisBand.locate(self.shape, image_xyz)
        if band is None:
            return float("nan"), 0.0
        wide, arm_mask = band.sample(image, extra=self.margin), band.mask(extra=self.margin)
        behind = self._facing(band.from_behind)
        wide_mask = self._read_rows(arm_mask.copy(), behind, self.margin)
        patch, mask = self._inner(wide), self._inner(wide_mask)
        texture_q = self._texture_quality(patch, mask)
        if self._key is not None and self._key.behind != behind:
            self.reset()
        if self._key is None:
            if not _enough(mask, self._region_px(behind)):  # forearms across the band: nothing to register against
                return float("nan"), 0.0
            self._set_key(Keyframe(patch, mask, band.torso_px, 0.0, behind))
            self._settling = _Settling(wide, arm_mask)
            return 0.0, texture_q
        settling = self._settling
        if settling is not None and (len(settling.frames) + 1 >= self.settle_frames or self._drift(band.torso_px) > 1):
            self._settle()
            settling = None
        rho, rot = self._register(self._key, wide, wide_mask, mask)
        if settling is not None:
            settling.frames.append(_Buffered(frame, wide, wide_mask, texture_q))
            if np.isfinite(rot):
                shift = self._band_shift()
                settling.shifts.append(np.array([shift[0], shift[1], shift[0] - midline_px]))
        if not np.isfinite(rot):
            # This frame could not be registered (a hand across the band, blur): the keyframe still holds for the next
            # ones, so the chain goes on from it; only a keyframe the subject's image size has outgrown is dropped.
            if self._drift(band.torso_px) > 2:
                self.reset()
            return float("nan"), 0.0
        rotation = self._key.rotation + rot
        if self._reanchor_here(band.torso_px, rho):
            self._set_key(Keyframe(patch, mask, band.torso_px, rotation, behind))
        return _reading(rotation, rho, texture_q)

    def _settle(self) -> None:
        """Cut the settling keyframe again where its band lies against the landmarks' placement over the frames
        seen (the median of its shifts), and measure those frames again from it (module docstring)."""
        key, settling = self._key, self._settling
        self._settling = None
        # The body region the landmarks put at the band's place on average lies -shift from it in the keyframe;
        # across, the band is centred on the body's mirror axis where it was found (MediaPipe's landmarks are not
        # mirror-symmetric: mirrored, the hip midpoint moves by pixels).
        if not settling.shifts:
            return  # as placed: the chain's warp goes on
        shifts = np.array(settling.shifts)
        across = shifts[:, 2][np.isfinite(shifts[:, 2])]
        offset = np.array([np.median(across) if len(across) else np.median(shifts[:, 0]), np.median(shifts[:, 1])])
        # to a fraction of a pixel: rounded, a clip re-encoded or mirrored could settle a whole pixel away
        dx, dy = np.clip(-offset, -self.margin, self.margin)
        cut = np.float32([[1, 0, self.margin + dx], [0, 1, self.margin + dy]])
        size = (self.shape.width_px, self.shape.height_px)
        patch = cv2.warpAffine(settling.wide, cut, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        mask = cv2.warpAffine(settling.arm_mask, cut, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
        self._set_key(replace(key, patch=patch, mask=self._read_rows(mask, key.behind, 0)))
        for b in settling.frames:
            rho, rot = self._register(self._key, b.wide, b.wide_mask, self._inner(b.wide_mask))
            measured = _reading(key.rotation + rot, rho, b.texture_q) if np.isfinite(rot) else (float("nan"), 0.0)
            self._revisions.append((b.frame, *measured, self.reference_id))

    def _read_rows(self, mask: np.ndarray, behind: bool, margin: int) -> np.ndarray:
        """A band mask (with `margin` pixels around the band) cut, in place, to the rows read: all from behind, those
        above the hip joints from in front (module docstring)."""
        if not behind:
            mask[margin + self._front_rows:] = 0
        return mask

    def _facing(self, behind: bool) -> bool:
        """Whether to read this frame as seen from behind: as the landmarks say, but for fewer than facing_frames in
        a row against the keyframe's facing (a left-right label swap, not a turn), which keep the keyframe's."""
        if self._key is None or self._key.behind == behind:
            self._other_facing = 0
            return behind
        self._other_facing += 1
        return behind if self._other_facing >= self.facing_frames else self._key.behind

    def _initial_warp(self) -> np.ndarray:
        """Keyframe band -> current extended patch with nothing moved: a shift by the margin."""
        warp = np.eye(2, 3, dtype=np.float32)
        warp[:, 2] = self.margin
        return warp

    def _set_key(self, key: Keyframe) -> None:
        self._key = key
        self._warp = self._initial_warp()

    def _inner(self, wide: np.ndarray) -> np.ndarray:
        """The band itself (a copy) out of a patch sampled with the search margin."""
        m = self.margin
        return wide[m:m + self.shape.height_px, m:m + self.shape.width_px].copy()

    def _texture_quality(self, patch: np.ndarray, mask: np.ndarray) -> float:
        """0..1 from the grey-level standard deviation of the band's valid pixels (see min_texture_grey)."""
        texture = float(patch[mask > 0].std()) if mask.any() else 0.0
        return texture / (texture + self.min_texture)

    def _reanchor_here(self, torso_px: float, rho: float) -> bool:
        """Whether this frame (T of torso_px image pixels, ECC correlation rho with the keyframe) becomes the
        next keyframe.

        Re-anchor once the subject's image size has drifted (keyframe and frame would be sampled at
        different source resolutions), but only on a frame that matches the keyframe well, since the new
        keyframe inherits this frame's rotation error for good; past the square of the ratio, re-anchor
        anyway rather than keep a keyframe that no longer resembles the frames. The new keyframe is this
        frame's band as the landmarks place it, and it inherits the rotation read from wherever the old
        keyframe's band was found in this frame: so re-anchor only on a frame where the two agree (within
        half the search margin, i.e. the hip landmarks' typical bob), not at the extreme of a step's
        landmark bob, where the new band would be another body region (from in front, e.g. lower, taking
        in the gap between the thighs) and the chain would read that region from then on."""
        drift = self._drift(torso_px)
        aligned = np.abs(self._band_shift()).max() <= 0.5 * self.margin
        return (drift > 1 and rho >= self.min_keyframe_ecc and aligned) or drift > 2

    def _drift(self, torso_px: float) -> float:
        """The subject's image-size change since the keyframe (T of torso_px image pixels now), in units of
        log(max_keyframe_scale_ratio): past 1 the keyframe is due for replacement, past 2 it no longer resembles
        the frames."""
        return float(abs(np.log(torso_px / self._key.torso_px)) / np.log(self.max_scale_ratio))

    def _band_shift(self) -> np.ndarray:
        """Where the last registration found the keyframe band's centre in the current extended patch,
        relative to where the current landmarks put it (patch pixels, x and y)."""
        c = np.array(self.shape.hip_px)
        return self._warp[:, :2].astype(np.float64) @ c + self._warp[:, 2] - c - self.margin

    def _register(self, key: Keyframe, patch: np.ndarray, mask: np.ndarray, band_mask: np.ndarray
                  ) -> tuple[float, float]:
        """ECC registration keyframe -> extended patch (mask: its valid pixels; band_mask: those of the band inside
        it), affine from behind and Euclidean from in front (see the module docstring); returns (correlation, rotation
        in radians, positive = counter-clockwise on screen), the rotation NaN when the registration failed or is
        implausible."""
        region = self._region_px(key.behind)
        if not (_enough(key.mask, region) and _enough(band_mask, region)):
            return 0.0, float("nan")
        fit = self._ecc(key.patch, key.mask, patch, mask, self._warp,
                        cv2.MOTION_AFFINE if key.behind else cv2.MOTION_EUCLIDEAN)
        if fit is None:
            return 0.0, float("nan")
        rho, warp = self._refit_until_steady(key, patch, mask, *fit) if key.behind else fit
        rot = _vertical_tilt(warp)
        if (key.behind and self._overstrained(warp)) or abs(rot) > self.max_rot:
            return 0.0, float("nan")
        self._warp = warp
        return float(rho), rot

    def _ecc(self, key_patch: np.ndarray, key_mask: np.ndarray, patch: np.ndarray, mask: np.ndarray,
             warp: np.ndarray, motion: int) -> tuple[float, np.ndarray] | None:
        """ECC fit keyframe -> patch started from `warp`: (correlation, warp), or None when it fails."""
        try:
            return cv2.findTransformECCWithMask(key_patch, patch, key_mask, mask, warp.copy(), motion,
                                                self._criteria, 5)
        except cv2.error:
            return None

    def _refit_until_steady(self, key: Keyframe, patch: np.ndarray, mask: np.ndarray, rho: float,
                            warp: np.ndarray) -> tuple[float, np.ndarray]:
        """Repeat the trimmed affine refit until its rotation settles (see _REFIT_TOLERANCE_RAD)."""
        for _ in range(_MAX_REFITS):
            previous = warp
            rho, warp = self._refit_inliers(key, patch, mask, rho, warp)
            if abs(_vertical_tilt(warp) - _vertical_tilt(previous)) < _REFIT_TOLERANCE_RAD:
                break
        return rho, warp

    def _refit_inliers(self, key: Keyframe, patch: np.ndarray, mask: np.ndarray, rho: float,
                       warp: np.ndarray) -> tuple[float, np.ndarray]:
        """Repeat the affine fit without the keyframe pixels that it leaves with outlying residuals (the
        fit given back unchanged when too few pixels would be left, or when ECC fails)."""
        h, w = key.patch.shape
        inverse = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        back = cv2.warpAffine(patch, warp, (w, h), flags=inverse, borderMode=cv2.BORDER_REPLICATE)
        back_mask = cv2.warpAffine(mask, warp, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                   borderValue=0)
        valid = (key.mask > 0) & (back_mask > 0)
        region = self._region_px(key.behind)
        if not _enough(valid, region):
            return rho, warp
        a, b = key.patch[valid], back[valid]
        res = (b - b.mean()) / (b.std() + 1e-6) - (a - a.mean()) / (a.std() + 1e-6)
        res -= np.median(res)
        scale = 1.4826 * np.median(np.abs(res))
        inliers = np.zeros_like(key.mask)
        inliers[valid] = np.where(np.abs(res) <= self.outlier_sigmas * scale, 255, 0)
        if not _enough(inliers, region):
            return rho, warp
        return self._ecc(key.patch, inliers, patch, mask, warp, cv2.MOTION_AFFINE) or (rho, warp)

    def _region_px(self, behind: bool) -> int:
        """Pixels of the band region read: the whole band from behind, the part above the hip joints from in front."""
        rows = self.shape.height_px if behind else self._front_rows
        return rows * self.shape.width_px

    @property
    def _front_rows(self) -> int:
        """Rows of the band read from in front: those above the hip joints' line."""
        return int(round(self.shape.hip_px[1]))

    def _overstrained(self, warp: np.ndarray) -> bool:
        """Whether an affine warp stretches or shrinks some direction by more than max_strain."""
        stretches = np.linalg.svd(warp[:, :2], compute_uv=False)
        return bool(stretches.max() > 1 + self.max_strain or stretches.min() < 1 / (1 + self.max_strain))


def _reading(rotation_rad: float, rho: float, texture_q: float) -> tuple[float, float]:
    """A registered frame's (rotation_deg, quality) as update gives them: quality the ECC correlation (clipped to
    0..1) times the band's texture quality."""
    return float(np.rad2deg(rotation_rad)), float(np.clip(rho, 0.0, 1.0) * texture_q)


def _enough(mask: np.ndarray, region_px: int) -> bool:
    """Whether at least _MIN_VALID_FRACTION of the band region read (region_px pixels) is valid (non-zero) in mask."""
    return bool((mask > 0).sum() >= _MIN_VALID_FRACTION * region_px)


def _vertical_tilt(warp: np.ndarray) -> float:
    """Tilt of vertical lines under a keyframe -> frame warp (y down), radians, positive = counter-clockwise
    on screen.

    warp maps keyframe coords to current coords. A CCW-on-screen rotation of the content by a gives
    warp[:, :2] = [[cos a, sin a], [-sin a, cos a]]: vertical lines tilt by atan2(warp[0,1], warp[1,1])
    (for a Euclidean warp this is the rotation itself)."""
    return float(np.arctan2(warp[0, 1], warp[1, 1]))
