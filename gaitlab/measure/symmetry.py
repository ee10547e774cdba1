"""Absolute level of the pelvis in the image from the left-right mirror symmetry of the pelvis band.

PelvisBandTracker measures the band's rotation r(t) only relative to its first keyframe: the image
obliquity is io(t) = sign * (r(t) - r_level), sign = +1 from behind, -1 from in front, with r_level
(the tracker's rotation when the hip line is level in the image) unknown. This module measures it.

Seen from behind or in front, the pelvis region (waistband, buttocks or groin, the two hip outlines)
is mirror-symmetric about the body's midline. If a patch is symmetric about an axis tilted by phi
from the image vertical, its horizontal mirror image is the patch rotated by 2 * phi (plus a shift
when the axis is off the patch centre). So each frame the band patch is registered to its own mirror
image (ECC, Euclidean motion) and half the rotation is the tilt of the pelvis's transverse axis, an
ABSOLUTE orientation, noisy per frame but with no chain offset. Over a clip,
r_level = robust centre of r(t) - tilt(t).

Illumination is not mirror-symmetric (light comes from one side, so one buttock is brighter): on raw
grey levels the smooth shading dominates the mirror match and biases the tilt by degrees. The patch is
therefore local-contrast normalised first (grey level minus its local mean, over the local standard
deviation, both over a few centimetres), which removes shading that varies smoothly over the body's
curvature and keeps the edges (waistband, gluteal folds, outlines) and the cloth texture.

That normalisation does not remove all of it: on the curved flanks shading changes over the same few
centimetres as the edges, and from in front under one-sided light the grey-level match still reads the
axis ~1° turned. Shading (and a power-law gamma) scales the three colour channels alike, so the
log-chromaticity log(R/G), log(B/G) does not change with it, while the colour edges between garments,
skin and background stay. So when the band has colour texture well above the noise of chroma, the
mirror match is made on chroma: the band's principal chroma direction (the one along which its
log-chromaticity varies most at the scale of the edges), contrast-normalised as above. A grey, white or
black outfit has no chroma texture and is matched on grey levels as before.

Per-frame tilts also carry pose asymmetries (one thigh forward, stance hip adducted), which change
sign from one stance side to the other and mostly cancel in the clip-wide centre; what remains is the
bias of real asymmetries (clothing, hands, lighting edges) and is not removable from one clip.

Whether the band can carry the level at all: the mirror match is trustworthy when the body's own interior
(between the hip joints, away from the hip outlines) has texture - cloth grain, a waistband, a hem, seams - well
above the noise. On dark, plain clothing the interior is nearly flat and the match is carried by the strong edges
(hip outlines, the gluteal cleft, shading over the buttocks), which are mirror-symmetric only as far as the pose,
drape and light are: the level then depends on the outfit, the compression and the light, not only on the pelvis
(rendered bench, near-black plain top and trousers: the level 2.2° off; suppressing the weak texture moved it
further, re-encoding at CRF 33 by 4°). So each frame also gives texture_snr: the robust standard deviation of the
interior's grey levels about their local mean (the contrast normalisation's numerator) over the noise, the noise
estimated on the band itself (a robust Laplacian residual) and never taken below contrast_floor_grey, the noise
the normalisation assumes (sensor noise and the detail compression removes, which a residual of the decoded
frame cannot see). gaitlab.core.level turns a clip's texture_snr into the level's reliability.

Screen convention: tilt positive = counter-clockwise on screen (image-right end rising), the same as
PelvisBandTracker's rotation.
"""
from __future__ import annotations

import cv2
import numpy as np

from gaitlab.core.level import SYMMETRY_BAND_HALF_WIDTH_T
from gaitlab.core.uncertainty import OUTLIER_SIGMAS, robust_sd
from gaitlab.measure.geometry import BandShape, PelvisBand

# ECC stopping rule, as PelvisBandTracker's: 30 iterations or a correlation gain below 1e-5 (tighter, 100 and
# 1e-6, moved per-frame tilts by at most 0.15° and clip medians by under 0.002°, at 1.2x the time).
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-5)
# The coarse tilt search runs on the patch shrunk by this factor: its 2° steps need no finer detail, and
# ECC refines from it at full resolution (per-frame tilts moved by < 0.03°, at a quarter of the cost).
_COARSE_SHRINK = 2
# Immerkaer's noise kernel: on white noise of SD sigma its output has SD 6 sigma (Immerkaer 1996, "Fast noise
# variance estimation"); taken robustly (1.4826 x median |.|), so texture and edges, a minority of the pixels,
# do not count as noise.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_NOISE_KERNEL_GAIN = 6.0
# Local means at the contrast scale (sigma ~12 patch px) are taken on the patch decimated by up to this
# factor (area averaging, Gaussian of the remaining width, bilinear back up): they vary over
# centimetres, so 1/16 of the pixels carry them (per-frame tilts moved by < 0.07°, a fifth of the cost).
_LOCAL_MEAN_SHRINK = 4


class PelvisSymmetry:
    """Per-frame tilt of the pelvis band's mirror-symmetry axis (see module docstring).

    Band geometry (vertical extent, hand masks, sampling scale) is BandShape's default, as for
    PelvisBandTracker, in units of the hip-to-shoulder distance T (~0.50 m), only wider so that both hip
    outlines are inside.
    """

    def __init__(
        self,
        band_half_width_torso: float = SYMMETRY_BAND_HALF_WIDTH_T,
        contrast_sigma_torso: float = 0.075,
        contrast_floor_grey: float = 2.0,
        min_texture_grey: float = 2.0,
        chroma_noise_grey: float = 2.0,
        min_chroma_snr: float = 0.0,
        max_tilt_deg: float = 20.0,
        search_step_deg: float = 2.0,
        search_shift_torso: float = 0.10,
        follow_window_deg: float = 6.0,
        full_search_every: int = 10,
        min_valid_fraction: float = 0.25,
        outlier_sigmas: float = OUTLIER_SIGMAS,
        interior_half_width_torso: float = 0.18,
    ) -> None:
        """
        band_half_width_torso: half the band width, in T. Hip breadth across the soft tissue is
            ~0.34-0.37 m, half ~0.17-0.19 m ~0.35-0.37 T; 0.40 T keeps both outlines (strong
            symmetric edges) inside the band even with the hip-midpoint landmark a few cm off the
            midline.
        contrast_sigma_torso: Gaussian scale of the local mean and local deviation of the contrast
            normalisation, in T (0.075 T ~ 4 cm): well below the curvature radius of hips and
            buttocks (~10-15 cm), over which shading varies, and well above the cloth grain.
        contrast_floor_grey: grey-level deviation added (in quadrature) to the local deviation so
            that flat regions are not amplified into noise; sensor noise is ~1-2 levels.
        min_texture_grey: band grey-level standard deviation at which the texture quality is 1/2
            (as in PelvisBandTracker).
        chroma_noise_grey: noise of each colour channel, in 8-bit levels (sensor and compression noise,
            ~1-2 levels, as contrast_floor_grey). The noise of log(R/G) at grey level I is then
            sqrt(2) * chroma_noise_grey / I; it is the floor of the chroma contrast normalisation,
            and the offset added to each channel before the log (no log of 0 in black pixels).
        min_chroma_snr: chroma texture (band standard deviation of the principal chroma component,
            noise removed in quadrature) over the chroma noise above which the mirror match is made
            on chroma rather than grey. 0 = whenever the band has any colour texture beyond its noise:
            the tilts feed a clip-wide median (the level), over which the noise of a weak chroma match
            averages out while the bias of a grey match under one-sided light does not (rendered
            bench, dark shorts at 480p with the right buttock ~3% darker: grey read the level 3-4°
            off, chroma 0.2°; with 1, i.e. colour texture >= sqrt(2) x noise, they were matched on
            grey in most frames).
        max_tilt_deg: tilts searched, and beyond which an estimate is a failed registration
            (obliquity in gait is within ~15°, camera roll a few degrees).
        search_step_deg: tilt step of the coarse search that initialises ECC. The mirror is rotated
            by twice the tilt, so ECC starts within 2° of mirror rotation, well inside its basin.
        follow_window_deg: after a measured frame the coarse search covers only the tilts this far either
            side of that frame's tilt: the pelvis turns by a few degrees at most between frames (obliquity
            changes at up to ~100°/s in running: ~4° a frame at 25 fps, ~2° at 60 fps), plus the per-frame
            noise of the tilt (~1-2°). The whole range is searched when nothing was measured just before,
            when the best tilt is at the window's edge (a faster turn), and on every full_search_every-th
            frame, so that a wrong tilt followed (a false match inside the window after a jump) ends there.
        full_search_every: see follow_window_deg (10 frames: a third of a second at 30 fps).
        search_shift_torso: horizontal slack of the coarse search, in T (~5 cm): twice the largest
            expected offset of the hip-landmark midpoint from the body's midline (the mirror image
            of an axis offset d is shifted by 2 d).
        outlier_sigmas: after a first registration, pixels whose mirror residual exceeds this many
            robust standard deviations (1.4826 MAD) are dropped and the registration is repeated: an
            object on one side only (phone, wallet, hand the landmarks missed) mismatches both at
            its place and at its mirror place. 2.5 is the usual cut of robust (Tukey/Huber-type)
            estimation, i.e. ~1 % of Gaussian residuals.
        interior_half_width_torso: half the width of the band's interior whose texture texture_snr reads, in T:
            the hip-joint centres lie ~0.08-0.10 m either side of the midline (~0.18 T), well inside the soft
            tissue's outline (~0.17-0.19 m, ~0.36 T), so between them there is body only, no outline.
        min_valid_fraction: fraction of band pixels that must be unmasked in both the patch and its
            mirror (hands cover the band edges when the arms hang), as the band tracker's least (a quarter
            of the band). The hands reach the band's outer parts at one phase of each stride, so a higher
            least loses frames at that phase only, and a median over the rest leans toward the other
            phases: at half the band, the rendered walk with a turned camera lost 6 frames a stride at
            one stance's peak in its mirrored copy (1-3 in the original, where the share hovered at
            0.50-0.54), and its mirrored level moved 0.8°.
        """
        # The contrast normalisation needs context around the band (else its windows are cut at the
        # band's edges): sample the band with a margin of two Gaussian scales, normalise, then crop.
        margin = 2.0 * contrast_sigma_torso
        self.shape = BandShape(half_width=band_half_width_torso).widened(margin)
        self.sigma_px = contrast_sigma_torso * self.shape.px_per_t
        self._m = int(round(margin * self.shape.px_per_t))
        self.floor = contrast_floor_grey
        self.min_texture = min_texture_grey
        self.chroma_noise = chroma_noise_grey
        self.min_chroma_snr = min_chroma_snr
        self.max_tilt = max_tilt_deg
        self.tilts = np.arange(-max_tilt_deg, max_tilt_deg + 1e-9, search_step_deg)
        self.follow_window = follow_window_deg
        self.full_search_every = full_search_every
        self._previous_tilt: float | None = None  # the last frame's tilt (None: not measured)
        self._followed = 0  # frames measured since the last search over the whole range
        self.slack_px = max(int(round(search_shift_torso * self.shape.px_per_t)), 1)
        self.min_valid = min_valid_fraction
        self.outlier_sigmas = outlier_sigmas
        self.interior_half_px = interior_half_width_torso * self.shape.px_per_t
        self.texture_snr = float("nan")  # the last measured frame's interior texture over noise (texture_snr)
        # The last measured frame's mirror axis at the hip landmarks' row: how far right of their midpoint it
        # lies, patch pixels (px_per_t a T); NaN when the frame was not measured.
        self.axis_offset_px = float("nan")

    def update(self, image: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray) -> tuple[float, float]:
        """image (H,W) uint8 grey or (H,W,3) uint8 RGB upright frame, image_xyz (33,3) pixels (NaN if no
        person), visibility (33,) (unused: landmarks are used whenever finite, as in PelvisBandTracker).
        Returns (tilt_deg, quality): tilt of the pelvis's transverse axis, degrees CCW on screen;
        quality 0..1 (NaN / 0 when it cannot measure)."""
        band = PelvisBand.locate(self.shape, image_xyz)
        if band is None:
            self._previous_tilt = None
            self.texture_snr = self.axis_offset_px = float("nan")
            return float("nan"), 0.0
        rgb = band.sample(image, colour=True) if np.ndim(image) == 3 else None
        self.texture_snr = self.interior_texture_snr(image, band)
        return self.measure(band.sample(image), band.mask(), rgb)

    def source_box(self, image_xyz: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
        """The pixels (x0, y0, x1, y1) of a width x height frame that update() reads for these landmarks
        (None: none)."""
        band = PelvisBand.locate(self.shape, image_xyz)
        return None if band is None else band.source_box(width, height)

    def measure(self, padded: np.ndarray, mask: np.ndarray, rgb: np.ndarray | None = None) -> tuple[float, float]:
        """Tilt (deg CCW on screen) and quality from a grey band sampled with the contrast margin (as
        PelvisBand.sample gives it for self.shape: hip midpoint at the horizontal centre) and, when the
        frame has colour, the same band in RGB (h, w, 3) (matched on chroma when it has chroma texture);
        mask uint8, 255 = valid. Consecutive calls are taken as consecutive frames (see follow_window_deg)."""
        tilt, quality, self.axis_offset_px = self._measure(padded, mask, rgb)
        self._previous_tilt = tilt if np.isfinite(tilt) else None
        return tilt, quality

    def interior_texture_snr(self, image: np.ndarray, band: PelvisBand) -> float:
        """The band interior's texture over its noise (dimensionless; NaN when too little of the interior is
        unmasked) in `image` ((H, W) uint8 grey or (H, W, 3) RGB), read on the frame's own pixels (resampling
        would smooth the noise and hide it from its estimate).

        Interior: within interior_half_width_torso of the hip midpoint across, the band's extent up and down
        (BandShape's top and bottom), without the arm masks. Texture: 1.4826 x the median absolute deviation of
        (grey - local mean at the contrast scale) over those pixels, grey levels: a robust SD, so the gluteal cleft
        (a thin line) does not count, and the smooth shading is taken out by the local mean as in the mirror
        match; the noise's own part is taken out in quadrature. Noise: the robust SD of Immerkaer's residual over
        the same pixels, grey levels, and at least contrast_floor_grey."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = band.source_box(w, h)
        roi = image[y0:y1, x0:x1]
        if roi.ndim == 3:
            roi = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
        roi = roi.astype(np.float32)
        if min(roi.shape) < 8:
            return float("nan")
        t = band.torso_px
        margin = self._m / self.shape.px_per_t  # the contrast margin, in T
        hx, hy = band.hip_mid[0] - x0, band.hip_mid[1] - y0
        yy, xx = np.mgrid[0 : roi.shape[0], 0 : roi.shape[1]].astype(np.float32)
        inside = ((np.abs(xx - hx) <= self.interior_half_px / self.shape.px_per_t * t)
                  & (yy >= hy - (self.shape.top - margin) * t) & (yy <= hy + (self.shape.bottom - margin) * t))
        # the arm masks, drawn in patch pixels: looked up at each source pixel's place in the patch
        mask = band.mask()
        cx, cy = band.shape.hip_px
        px = np.clip(np.rint((xx - hx) * band.scale + cx), 0, mask.shape[1] - 1).astype(int)
        py = np.clip(np.rint((yy - hy) * band.scale + cy), 0, mask.shape[0] - 1).astype(int)
        interior = inside & (mask[py, px] > 0)
        if interior.sum() < max(self.min_valid * inside.sum(), 16):
            return float("nan")
        sigma = self.sigma_px / band.scale
        dev = (roi - cv2.GaussianBlur(roi, (0, 0), sigma, borderType=cv2.BORDER_REFLECT))[interior]
        spread = robust_sd(dev)
        residual = cv2.filter2D(roi, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)[interior]
        noise = 1.4826 * float(np.median(np.abs(residual))) / _NOISE_KERNEL_GAIN
        texture = np.sqrt(max(spread**2 - noise**2, 0.0))  # the noise's own part taken out in quadrature
        return float(texture / max(noise, self.floor))

    def _measure(self, padded: np.ndarray, mask: np.ndarray, rgb: np.ndarray | None) -> tuple[float, float, float]:
        """(tilt, quality, axis offset) of one frame (see measure and axis_offset_px)."""
        nan = float("nan")
        prepared = self._prepare(padded, mask, rgb)
        if prepared is None:
            return nan, 0.0, nan
        norm, mask, texture_q = prepared
        fit = self._mirror_fit(norm, mask)
        if fit is None:
            return nan, 0.0, nan
        rho, warp = fit
        # warp maps mirror coords to patch coords (y down): content rotated CCW on screen by a gives
        # warp[1,0] = -sin(a); the mirror-to-patch rotation is twice the tilt of the symmetry axis.
        tilt = 0.5 * float(np.degrees(np.arctan2(-warp[1, 0], warp[0, 0])))
        if not np.isfinite(tilt) or abs(tilt) > self.max_tilt:
            return nan, 0.0, nan
        quality = float(np.clip(rho, 0.0, 1.0)) * texture_q
        return tilt, quality, self._axis_offset(warp, norm.shape[1])

    def _axis_offset(self, warp: np.ndarray, width: int) -> float:
        """Where the mirror axis crosses the hip landmarks' row, right of their midpoint, patch pixels: the point
        of that row that the reflection (column x to width - 1 - x) followed by the warp brings back onto itself."""
        hip_x, hip_y = (v - self._m for v in self.shape.hip_px)
        a, b, t = float(warp[0, 0]), float(warp[0, 1]), float(warp[0, 2])
        return (a * (width - 1) + b * hip_y + t) / (1.0 + a) - hip_x

    def _prepare(self, padded: np.ndarray, mask: np.ndarray, rgb: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(contrast-normalised band, its mask, texture quality 0..1), all cropped to the band inside the
        contrast margin, matched on chroma when it has chroma texture, else on grey levels; None when too
        few pixels are unmasked on both sides or the band is flat."""
        padded = np.asarray(padded, np.float32)
        m = self._m
        inner = (slice(m, padded.shape[0] - m), slice(m, padded.shape[1] - m))
        patch, mask = padded[inner], np.ascontiguousarray(mask[inner])
        valid = mask > 0
        both = valid & valid[:, ::-1]
        if both.mean() < self.min_valid:
            return None
        texture = float(patch[valid].std())
        if texture <= 0:
            return None
        chroma = None if rgb is None else self._chroma(np.asarray(rgb, np.float32), padded, inner, valid)
        if chroma is not None:
            return chroma[0], mask, chroma[1]
        norm = np.ascontiguousarray(self._contrast_normalise(padded, self.floor)[inner])
        return norm, mask, texture / (texture + self.min_texture)

    def _mirror_fit(self, norm: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray] | None:
        """ECC registration (Euclidean) of the band's mirror image to the band, from the coarse search and
        then once more without outlying pixels: (correlation, warp mirror -> band), None when ECC fails."""
        mirror, mirror_mask = np.ascontiguousarray(norm[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])
        try:
            rho, warp = cv2.findTransformECCWithMask(
                mirror, norm, mirror_mask, mask, self._coarse(mirror, norm), cv2.MOTION_EUCLIDEAN,
                _ECC_CRITERIA, 5,
            )
            keep = self._inliers(mirror, mirror_mask, norm, mask, warp)
            if keep is not None:
                rho, warp = cv2.findTransformECCWithMask(
                    mirror, norm, keep, mask, warp, cv2.MOTION_EUCLIDEAN, _ECC_CRITERIA, 5
                )
        except cv2.error:
            return None
        return rho, warp

    def _chroma(self, rgb: np.ndarray, grey: np.ndarray, inner: tuple[slice, slice], valid: np.ndarray
                ) -> tuple[np.ndarray, float] | None:
        """(contrast-normalised principal chroma component of the band, cropped to inner; texture
        quality 0..1), or None when the band's chroma texture is not above its noise (see
        min_chroma_snr)."""
        n = self.chroma_noise
        r, g, b = cv2.split(rgb)
        u = np.log((r + n) / (g + n))
        v = np.log((b + n) / (g + n))
        # noise of a log ratio of two channels, each with noise n, at the local grey level
        level = self._local_mean(grey)
        floor = (np.sqrt(2.0) * n / np.maximum(level, n)).astype(np.float32)
        du = (u - self._local_mean(u))[inner][valid]
        dv = (v - self._local_mean(v))[inner][valid]
        var, axes = np.linalg.eigh(np.cov(np.vstack([du, dv])))
        noise = float(np.median(floor[inner][valid]))
        texture = float(np.sqrt(max(var[1], 0.0)))
        if texture**2 - noise**2 < (self.min_chroma_snr * noise) ** 2:
            return None
        principal = (axes[0, 1] * u + axes[1, 1] * v).astype(np.float32)
        norm = np.ascontiguousarray(self._contrast_normalise(principal, floor)[inner])
        return norm, texture / (texture + noise)

    def _inliers(self, mirror, mirror_mask, norm, mask, warp) -> np.ndarray | None:
        """Mirror-frame mask without the pixels that do not match their mirror after registration
        (see outlier_sigmas); None if too few pixels would be left."""
        h, w = norm.shape
        inv = cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
        warped = cv2.warpAffine(norm, warp, (w, h), flags=inv)
        valid = (mirror_mask > 0) & (cv2.warpAffine(mask, warp, (w, h), flags=inv | cv2.INTER_NEAREST) > 0)
        if valid.sum() < 0.25 * valid.size:
            return None
        a, b = mirror[valid], warped[valid]
        res = np.zeros_like(mirror)
        res[valid] = (a - a.mean()) / (a.std() + 1e-6) - (b - b.mean()) / (b.std() + 1e-6)
        # smooth a little: an object is a connected region, single noisy pixels are not outliers
        res = cv2.GaussianBlur(res, (0, 0), 2.0)
        sigma = 1.4826 * np.median(np.abs(res[valid] - np.median(res[valid])))
        keep = valid & (np.abs(res - np.median(res[valid])) <= self.outlier_sigmas * sigma)
        if keep.sum() < self.min_valid * keep.size:
            return None
        return keep.astype(np.uint8) * 255

    def _coarse(self, mirror: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """ECC initial warp (mirror -> patch coords) from a grid search over tilt (within follow_window_deg of
        the previous frame's tilt when there is one), with the best horizontal shift per tilt by normalised
        cross-correlation (masks ignored at this stage), on the patch shrunk by _COARSE_SHRINK."""
        f = _COARSE_SHRINK
        small = [cv2.resize(a, None, fx=1 / f, fy=1 / f, interpolation=cv2.INTER_AREA) for a in (mirror, norm)]
        h, w = small[1].shape
        c = ((w - 1) / 2.0, (h - 1) / 2.0)
        k = max(self.slack_px // f, 1)
        scores: dict[float, tuple[float, float]] = {}  # tilt -> (best correlation, its shift)

        def best_of(tilts: np.ndarray) -> float:
            for t in tilts:
                if t not in scores:
                    warp = cv2.getRotationMatrix2D(c, 2.0 * t, 1.0)  # same layout as the ECC warp
                    warped = cv2.warpAffine(small[1], warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
                    # mirror[:, j + i] ~ warped[:, k + j]  <=>  mirror(x) ~ norm(warp(x + (k - i, 0)))
                    score = cv2.matchTemplate(small[0], warped[:, k : w - k], cv2.TM_CCOEFF_NORMED)[0]
                    i = int(np.argmax(score))
                    scores[t] = (float(score[i]), float(f * (k - i)))
            return max(tilts, key=lambda t: scores[t][0])

        tilt = None
        self._followed += 1
        if self._previous_tilt is not None and self._followed < self.full_search_every:
            window = self.tilts[np.abs(self.tilts - self._previous_tilt) <= self.follow_window]
            if len(window) > 2:
                tilt = best_of(window)
                if tilt in (window[0], window[-1]) and tilt not in (self.tilts[0], self.tilts[-1]):
                    tilt = None  # at the window's edge: the best may lie outside it
        if tilt is None:
            tilt = best_of(self.tilts)
            self._followed = 0
        shift = scores[tilt][1]
        h, w = norm.shape
        init = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 2.0 * tilt, 1.0)
        init[:, 2] += init[:, :2] @ np.array([shift, 0.0])
        return init.astype(np.float32)

    def _contrast_normalise(self, patch: np.ndarray, floor: float | np.ndarray) -> np.ndarray:
        """(p - local mean) / sqrt(local variance + floor^2), Gaussian windows of sigma_px."""
        dev = patch - self._local_mean(patch)
        var = self._local_mean(dev * dev)
        return (dev / np.sqrt(var + floor**2)).astype(np.float32)

    def _local_mean(self, image: np.ndarray) -> np.ndarray:
        """Gaussian local mean of sigma_px, computed on the image decimated by _LOCAL_MEAN_SHRINK (an
        f x f area average is a box of variance (f^2 - 1) / 12, taken off the Gaussian's)."""
        h, w = image.shape
        f = max(min(_LOCAL_MEAN_SHRINK, int(self.sigma_px // 3)), 1)
        small = cv2.resize(image, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA)
        sigma = np.sqrt(max(self.sigma_px**2 - (f * f - 1) / 12.0, 1.0)) / f
        small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
