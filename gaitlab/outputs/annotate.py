"""Drawing on video frames: face blur, the pelvis overlay, report stills and the annotated MP4.

Image coordinates follow gaitlab.core.track (pixels of the upright frame, x right, y down); frames are RGB uint8.
Colours are shared with the report's plots so a side looks the same everywhere.
"""
from __future__ import annotations

import functools
import math
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from gaitlab.core import track as lm
from gaitlab.core.result import SIDES, Analysis
from gaitlab.core.track import PoseTrack
from gaitlab.core.verdict import above_threshold
from gaitlab.outputs.palette import PALETTE
from gaitlab.tracking.video import i420_planes, iter_i420_frames, nearest_frame

FACE = range(0, 11)  # MediaPipe face landmarks: nose, eyes, ears, mouth
BYSTANDER_HOLD_S = 1.0  # another person's face stays blurred this long around each sighting
_LIMBS = {
    "left": ((11, 13), (13, 15), (23, 25), (25, 27), (27, 29), (29, 31), (27, 31)),
    "right": ((12, 14), (14, 16), (24, 26), (26, 28), (28, 30), (30, 32), (28, 32)),
    "trunk": ((11, 12), (11, 23), (12, 24)),
}
_TIME_BASE = Fraction(1, 90000)
# x264 speed/size trade-off of the annotated video (a review copy, so speed wins): at 1080p "ultrafast" at
# CRF 26 encodes in ~1/3 of the CPU time of "veryfast" at CRF 23, for a file ~3x larger
VIDEO_PRESET = "ultrafast"
VIDEO_CRF = 26
# Long side of the annotated video, pixels: 720p for a 16:9 clip plays everywhere and takes about half
# the CPU time of 1080p to draw and encode; clips already smaller keep their size
VIDEO_MAX_SIDE = 1280


def _finite(p: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(p)))


def _span(xyz: np.ndarray, a: int, b: int) -> float:
    d = xyz[a, :2] - xyz[b, :2]
    return float(np.hypot(*d)) if _finite(d) else 0.0


def blur_faces(rgb: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """Return a copy with the head region pixelated and blurred beyond recognition.

    Every face landmark with a position counts, even at low visibility: a face half-turned away is still
    a face. The square is sized by the largest of several head-size cues, because each one collapses in
    some view (ear-to-ear seen from the side, shoulder width seen from the side, trunk length when bent).
    """
    out = rgb.copy()
    _blur_faces_into(_RgbCanvas(out), image_xyz, visibility)
    return out


def _blur_faces_into(canvas: "_RgbCanvas | _I420Canvas", image_xyz: np.ndarray, visibility: np.ndarray) -> None:
    """blur_faces drawing on `canvas` itself."""
    face = image_xyz[list(FACE), :2]
    face = face[np.isfinite(face).all(axis=1) & (visibility[list(FACE)] > 0)]
    if not len(face):
        return  # nobody detected in this frame
    shoulders = (image_xyz[lm.LEFT_SHOULDER, :2] + image_xyz[lm.RIGHT_SHOULDER, :2]) / 2
    hips = (image_xyz[lm.LEFT_HIP, :2] + image_xyz[lm.RIGHT_HIP, :2]) / 2
    trunk = float(np.hypot(*(shoulders - hips))) if _finite(shoulders - hips) else 0.0
    spread = float(np.ptp(face, axis=0).max())
    size = max(2.4 * _span(image_xyz, lm.LEFT_EAR, lm.RIGHT_EAR), 0.7 * _span(image_xyz, lm.LEFT_SHOULDER,
               lm.RIGHT_SHOULDER), 0.55 * trunk, 1.8 * spread, 12.0)
    cx, cy = face.mean(axis=0)
    cy -= 0.1 * size  # landmarks sit at eye/ear level; the skull extends further up than the chin down
    x0, x1 = int(max(cx - size / 2, 0)), int(min(cx + size / 2, canvas.width))
    y0, y1 = int(max(cy - size / 2, 0)), int(min(cy + size / 2, canvas.height))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    canvas.pixelate(x0, y0, x1, y1, size)


def _pixelate(region: np.ndarray, size: float) -> None:
    """Pixelate `region` in place to ~6 blocks across a head of `size` pixels (destroys identity), then
    blur the block edges."""
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(w * 6 // int(size), 1), max(h * 6 // int(size), 1)),
                       interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = int(size / 6) | 1
    region[:] = cv2.GaussianBlur(blocky, (k, k), 0)


_FONT = cv2.FONT_HERSHEY_SIMPLEX


class _RgbCanvas:
    """Drawing on an RGB uint8 image, in place."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.image = rgb
        self.height, self.width = rgb.shape[:2]

    def line(self, p0, p1, colour, thickness: int) -> None:
        cv2.line(self.image, _pt(p0), _pt(p1), colour, thickness, cv2.LINE_AA)

    def disc(self, centre, radius: int, colour) -> None:
        cv2.circle(self.image, _pt(centre), radius, colour, -1, cv2.LINE_AA)

    def text(self, text: str, origin: tuple[int, int], scale: float, colour, thickness: int) -> None:
        cv2.putText(self.image, text, origin, _FONT, scale, colour, thickness, cv2.LINE_AA)

    def darken(self, x0: int, y0: int, x1: int, y1: int, keep: float) -> None:
        roi = self.image[y0:y1, x0:x1]
        roi[:] = (roi * keep).astype(np.uint8)

    def pixelate(self, x0: int, y0: int, x1: int, y1: int, size: float) -> None:
        _pixelate(self.image[y0:y1, x0:x1], size)


_SUBPIXEL = 2  # OpenCV's drawing `shift`: chroma coordinates in quarter pixels


def _chroma_pt(p) -> tuple[int, int]:
    """A luma pixel position on the half-resolution chroma planes (sample centres at 2c + 0.5), in
    1/2**_SUBPIXEL pixels."""
    return round(2.0 * float(p[0]) - 1.0), round(2.0 * float(p[1]) - 1.0)


class _I420Canvas:
    """The same drawing on a yuv420p frame's planes, in place: luma at full resolution, chroma at half, so the
    annotated video is drawn without converting each frame to RGB and back. Colours are converted as OpenCV
    converts RGB to I420 (BT.601, limited range)."""

    def __init__(self, planes: list[np.ndarray]) -> None:
        self.y, self.u, self.v = planes
        self.height, self.width = self.y.shape

    def line(self, p0, p1, colour, thickness: int) -> None:
        y, u, v = _yuv_of(colour)
        cv2.line(self.y, _pt(p0), _pt(p1), y, thickness, cv2.LINE_AA)
        c0, c1, half = _chroma_pt(p0), _chroma_pt(p1), max(1, int(round(thickness / 2)))
        for plane, value in ((self.u, u), (self.v, v)):
            cv2.line(plane, c0, c1, value, half, cv2.LINE_AA, _SUBPIXEL)

    def disc(self, centre, radius: int, colour) -> None:
        y, u, v = _yuv_of(colour)
        cv2.circle(self.y, _pt(centre), radius, y, -1, cv2.LINE_AA)
        for plane, value in ((self.u, u), (self.v, v)):
            cv2.circle(plane, _chroma_pt(centre), 2 * radius, value, -1, cv2.LINE_AA, _SUBPIXEL)

    def text(self, text: str, origin: tuple[int, int], scale: float, colour, thickness: int) -> None:
        y, u, v = _yuv_of(colour)
        cv2.putText(self.y, text, origin, _FONT, scale, y, thickness, cv2.LINE_AA)
        # Glyphs drawn at half scale would not line up with the luma's: the chroma takes the luma's coverage,
        # averaged over each 2x2 block
        (w, h), below = cv2.getTextSize(text, _FONT, scale, thickness)
        x0, y0 = max(origin[0] - thickness, 0) & ~1, max(origin[1] - h - thickness, 0) & ~1
        x1 = min(origin[0] + w + thickness + 1, self.width) & ~1
        y1 = min(origin[1] + below + thickness + 1, self.height) & ~1
        if x1 <= x0 or y1 <= y0:
            return
        coverage = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.putText(coverage, text, (origin[0] - x0, origin[1] - y0), _FONT, scale, 255, thickness, cv2.LINE_AA)
        alpha = cv2.resize(coverage, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_AREA
                           ).astype(np.float32) / 255
        for plane, value in ((self.u, u), (self.v, v)):
            roi = plane[y0 // 2:y1 // 2, x0 // 2:x1 // 2]
            roi[:] = (roi + alpha * (value - roi.astype(np.float32)) + 0.5).astype(np.uint8)

    def darken(self, x0: int, y0: int, x1: int, y1: int, keep: float) -> None:
        # RGB scaled by `keep` is luma scaled toward black (16) and chroma toward neutral (128)
        for plane, (a, b, c, d), zero in ((self.y, (x0, y0, x1, y1), 16),
                                          (self.u, _half_box(x0, y0, x1, y1), 128),
                                          (self.v, _half_box(x0, y0, x1, y1), 128)):
            roi = plane[b:d, a:c]
            roi[:] = ((roi.astype(np.float32) - zero) * keep + zero).astype(np.uint8)

    def pixelate(self, x0: int, y0: int, x1: int, y1: int, size: float) -> None:
        _pixelate(self.y[y0:y1, x0:x1], size)
        a, b, c, d = _half_box(x0, y0, x1, y1)
        for plane in (self.u, self.v):
            _pixelate(plane[b:d, a:c], size / 2)


def _half_box(x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
    """The chroma samples covering the luma box [x0, x1) x [y0, y1)."""
    return x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2


@functools.lru_cache(maxsize=32)
def _yuv_of(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """(Y, U, V) of an RGB colour (a PALETTE tuple)."""
    i420 = cv2.cvtColor(np.full((2, 2, 3), rgb, np.uint8), cv2.COLOR_RGB2YUV_I420)  # Y 2x2, then U, V
    return int(i420[0, 0]), int(i420[2, 0]), int(i420[2, 1])


def _pt(p) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def _dashed(canvas, p0, p1, color, thickness, dash: float) -> None:
    length = float(np.hypot(*(p1 - p0)))
    for s in np.arange(0, length, 2 * dash):
        a, b = p0 + (p1 - p0) * s / length, p0 + (p1 - p0) * min(s + dash, length) / length
        canvas.line(a, b, color, thickness)


def _text_panel(canvas, lines: list[tuple[str, tuple[int, int, int]]], scale: float) -> None:
    """Lines of text on a dark translucent panel in the top-left corner (readable on any background)."""
    th = max(1, int(round(2 * scale)))
    sizes = [cv2.getTextSize(t, _FONT, scale, th)[0] for t, _ in lines]
    pad, gap = int(12 * scale), int(14 * scale)
    w = max(s[0] for s in sizes) + 2 * pad
    h = sum(s[1] for s in sizes) + gap * (len(lines) - 1) + 2 * pad
    x0 = y0 = int(10 * scale)
    canvas.darken(x0, y0, x0 + w, y0 + h, 0.35)
    y = y0 + pad
    for (text, color), (_, th_px) in zip(lines, sizes):
        y += th_px
        canvas.text(text, (x0 + pad, y), scale, color, th)
        y += gap


def draw_overlay(rgb: np.ndarray, image_xyz: np.ndarray, obliquity_deg: float, stance_label: str,
                 threshold_deg: float, flagged: bool, camera_roll_deg: float = 0.0, judged: bool = True) -> np.ndarray:
    """Return a copy with the skeleton, the pelvis line and a text panel drawn on.

    stance_label: the frame's stance phase ("left", "right", "double", "flight" or ""; see stance_at).
    flagged: the stance side's verdict is flagged (marked in the label).
    judged: the stance side has a verdict; without one (a view that cannot carry the drop, too few steps) the
    stance is named but no drop is shown and the line stays grey, as in the report.
    The pelvis line is green while the live contralateral drop is at or below the threshold, red above it,
    grey outside a counted step's single-leg stance (where no drop is measured); it is drawn through the hip
    midpoint at the measured obliquity, against a dashed line showing level as the camera sees it (tilted by
    the camera roll).
    """
    out = rgb.copy()
    _draw_overlay_into(_RgbCanvas(out), image_xyz, obliquity_deg, stance_label, threshold_deg, flagged,
                       camera_roll_deg, judged)
    return out


def _draw_overlay_into(canvas, image_xyz: np.ndarray, obliquity_deg: float, stance_label: str,
                       threshold_deg: float, flagged: bool, camera_roll_deg: float = 0.0, judged: bool = True) -> None:
    """draw_overlay drawing on `canvas` itself."""
    h, w = canvas.height, canvas.width
    scale = max(h, w) / 1280
    th = max(2, int(round(3 * scale)))
    for group, pairs in _LIMBS.items():
        color = PALETTE[group] if group in SIDES else PALETTE["trunk"]
        for a, b in pairs:
            if _finite(image_xyz[[a, b], :2]):
                canvas.line(image_xyz[a], image_xyz[b], color, th)

    drop = float("nan")
    if stance_label in SIDES and judged and math.isfinite(obliquity_deg):
        drop = obliquity_deg if stance_label == "right" else -obliquity_deg
    left_hip, right_hip = image_xyz[lm.LEFT_HIP, :2], image_xyz[lm.RIGHT_HIP, :2]
    if _finite(left_hip) and _finite(right_hip):
        mid, reach = (left_hip + right_hip) / 2, 0.9 * float(np.hypot(*(right_hip - left_hip)))
        roll = math.radians(camera_roll_deg)
        # level ground in the image is tilted by the camera roll; the pelvis line is drawn at the measured
        # obliquity from it (not along the hip landmarks, which under-read the tilt), raising the person's
        # right hip, on whichever side of the image that hip is
        facing = 1.0 if right_hip[0] >= left_hip[0] else -1.0
        tilt = roll - facing * math.radians(np.nan_to_num(obliquity_deg))
        level = np.array([math.cos(roll), math.sin(roll)]) * reach
        pelvis = np.array([math.cos(tilt), math.sin(tilt)]) * reach
        _dashed(canvas, mid - level, mid + level, PALETTE["trunk"], max(1, th // 2), dash=6 * scale)
        color = (PALETTE["neutral"] if math.isnan(drop)
                 else PALETTE["over" if above_threshold(drop, threshold_deg) else "ok"])
        canvas.line(mid - pelvis, mid + pelvis, color, 2 * th)
        for p in (mid - pelvis, mid + pelvis):
            canvas.disc(p, 2 * th, color)

    if stance_label in SIDES:
        note = " (flagged side)" if flagged else "" if judged else " (no verdict)"
        stance = (f"{stance_label.upper()}-LEG STANCE{note}", PALETTE[stance_label])
    else:
        stance = ({"double": "double support", "flight": "flight"}.get(stance_label, "no step counted"),
                  PALETTE["neutral"])
    lines = [stance]
    if math.isfinite(obliquity_deg):
        higher = "level" if abs(obliquity_deg) < 0.05 else f"{'right' if obliquity_deg > 0 else 'left'} hip higher"
        lines.append((f"pelvic obliquity {obliquity_deg:+.1f} deg ({higher})", PALETTE["trunk"]))
    if math.isfinite(drop):
        over = above_threshold(drop, threshold_deg)
        lines.append((f"contralateral drop {drop:.1f} deg ({'above' if over else 'within'} {threshold_deg:g} deg)",
                      PALETTE["over" if over else "ok"]))
    _text_panel(canvas, lines, 0.7 * min(h, w) / 720)


def _tolerance(times: np.ndarray) -> float:
    return 0.5 * float(np.median(np.diff(times))) if len(times) > 1 else 0.02


def _nearest(times: np.ndarray, t: float, tol: float | None = None) -> int | None:
    """Index of the sample at time t (within half a frame), or None. `tol`: _tolerance(times), when the
    caller looks up many times (it is a median over the whole clip)."""
    if not len(times):
        return None
    i = int(np.clip(np.searchsorted(times, t), 1, len(times) - 1)) if len(times) > 1 else 0
    if i > 0 and abs(times[i - 1] - t) <= abs(times[i] - t):
        i -= 1
    if tol is None:
        tol = _tolerance(times)
    return i if abs(times[i] - t) <= tol + 1e-6 else None


STILL_HEIGHT = 720  # report stills are scaled to one height so their text and lines match


def _person_crop(rgb: np.ndarray, image_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop to the person plus a margin, at least as wide as high (room for the text panel), scaled to
    STILL_HEIGHT; returns the crop and the landmarks moved into it."""
    pts = image_xyz[:, :2][np.isfinite(image_xyz[:, :2]).all(axis=1)]
    h, w = rgb.shape[:2]
    if not len(pts):
        return rgb, image_xyz
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    side = 1.3 * max(y1 - y0, x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ch = int(min(side, h))
    cw = int(min(max(side, ch), w))
    x0 = int(np.clip(cx - cw / 2, 0, w - cw))
    y0 = int(np.clip(cy - ch / 2, 0, h - ch))
    zoom = STILL_HEIGHT / ch
    crop = cv2.resize(rgb[y0:y0 + ch, x0:x0 + cw], (int(round(cw * zoom)), STILL_HEIGHT),
                      interpolation=cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR)
    xyz = image_xyz.copy()
    xyz[:, :2] = (xyz[:, :2] - [x0, y0]) * zoom
    return crop, xyz


def bystander_sightings(track: PoseTrack) -> np.ndarray:
    """Times (s, increasing) at which the track's other people (track.bystander_image_xyz) were seen."""
    return track.time_s[track.bystander_frame]


def _blur_bystanders_into(canvas, track: PoseTrack, time_s: float, sightings: np.ndarray,
                          zoom: float = 1.0) -> None:
    """Blur the faces of people seen beside the subject within BYSTANDER_HOLD_S of this frame (they are
    looked for about once a second, and move little in that time). sightings: bystander_sightings(track)."""
    lo, hi = np.searchsorted(sightings, [time_s - BYSTANDER_HOLD_S, time_s + BYSTANDER_HOLD_S])
    for xyz in track.bystander_image_xyz[lo:hi]:
        _blur_faces_into(canvas, xyz * zoom, np.ones(len(xyz)))


def _subject_at(analysis: Analysis, time_s: float, width: int, tol: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(landmarks in the pixels of a frame `width` px wide, visibility, that frame's zoom against the track's)
    of the track sample at time_s, or None. tol: _tolerance of the track's times (see _nearest)."""
    track = analysis.track
    k = _nearest(track.time_s, time_s, tol) if track is not None else None
    if k is None:
        return None
    zoom = width / track.width if track.width else 1.0  # frames decoded smaller than the track's
    return track.image_xyz[k] * zoom, track.visibility[k], zoom


def stance_at(analysis: Analysis, time_s: float, tol: float | None = None) -> str:
    """The stance phase the overlay shows at time_s (seconds): the analysis frame's, which is a side exactly
    within a counted step of that stance side; "" without an analysis frame within half a frame. tol:
    _tolerance of the analysis frames' times (see _nearest)."""
    j = _nearest(analysis.frames.time_s, time_s, tol)
    return str(analysis.frames.stance_phase[j]) if j is not None else ""


def _draw_subject(canvas, xyz: np.ndarray, visibility: np.ndarray, time_s: float, analysis: Analysis,
                  blur: bool, tol: float | None = None) -> None:
    """The subject's face blur and the overlay of the analysis sample at time_s. tol: _tolerance of the
    analysis frames' times."""
    if blur:
        _blur_faces_into(canvas, xyz, visibility)
    f = analysis.frames
    j = _nearest(f.time_s, time_s, tol)
    obliquity = float(f.obliquity_deg[j]) if j is not None else float("nan")
    stance = stance_at(analysis, time_s, tol)
    verdict = analysis.sides.get(stance)
    _draw_overlay_into(canvas, xyz, obliquity, stance, analysis.threshold_deg, bool(verdict and verdict.flagged),
                       analysis.camera_roll_deg, judged=verdict is None or verdict.measurable)


def _annotate(rgb: np.ndarray, time_s: float, analysis: Analysis, blur: bool, crop: bool = False) -> np.ndarray:
    """A blurred and overlaid copy of one decoded RGB frame, from the analysis sample at its time (the frame
    itself if there is none); crop: cropped to the person (report stills)."""
    subject = _subject_at(analysis, time_s, rgb.shape[1])
    if subject is None:
        return rgb
    xyz, visibility, zoom = subject
    rgb = rgb.copy()
    if blur:
        _blur_bystanders_into(_RgbCanvas(rgb), analysis.track, time_s, bystander_sightings(analysis.track), zoom)
    if crop:
        rgb, xyz = _person_crop(rgb, xyz)
    _draw_subject(_RgbCanvas(rgb), xyz, visibility, time_s, analysis, blur)
    return rgb


def render_still(video_path: str | Path, analysis: Analysis, time_s: float, blur: bool = True) -> np.ndarray:
    """The annotated frame nearest `time_s` (blurred by default), cropped to the person, for the report."""
    best = nearest_frame(video_path, time_s)
    if best is None:
        raise ValueError(f"no frame near {time_s:.2f} s in {Path(video_path).name}")
    return _annotate(best.rgb, best.time_s, analysis, blur, crop=True)


def worst_step_stills(video_path: str | Path, analysis: Analysis, blur: bool = True) -> dict[str, np.ndarray]:
    """side -> the annotated frame at the peak of that stance side's largest drop (sides without steps omitted)."""
    stills = {}
    for side in SIDES:
        own = [s for s in analysis.steps if s.stance_side == side and math.isfinite(s.peak_drop_deg)]
        if own:
            worst = max(own, key=lambda s: s.peak_drop_deg)
            stills[side] = render_still(video_path, analysis, worst.peak_time_s, blur)
    return stills


def write_annotated_video(video_path: str | Path, analysis: Analysis, out_path: str | Path,
                          blur: bool = True) -> None:
    """Re-encode the analysed part of the clip (the frames the pose track covers: outside it nobody's face is
    known, so none could be blurred) with the overlay: H.264/yuv420p MP4 (faststart), one output frame per
    input frame, the input's timestamps, at most VIDEO_MAX_SIDE pixels on the long side. Frames are streamed,
    so memory stays flat whatever the clip length.

    Speed: decoding and scaling run in their own thread; the frames stay in YUV 4:2:0 from the decoder to
    x264 (VIDEO_PRESET), drawn on plane by plane (_I420Canvas). These two threads fill two cores, so the
    decoder and the encoder get no threads of their own (docs/performance.md)."""
    from gaitlab.runtime import prefetch

    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    fps = Fraction(analysis.video.fps or 30).limit_denominator(1001)
    track = analysis.track
    tol_track = _tolerance(track.time_s) if track is not None else None
    tol_frames = _tolerance(analysis.frames.time_s)
    sightings = bystander_sightings(track) if track is not None else None
    start_s = end_s = None
    if track is not None and len(track):
        start_s, end_s = float(track.time_s[0]) - tol_track, float(track.time_s[-1]) + tol_track
    frames = iter_i420_frames(video_path, VIDEO_MAX_SIDE, start_s, end_s, thread_decode=False)
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = None
            for time_s, frame in prefetch(frames):
                subject = _subject_at(analysis, time_s, frame.width, tol_track)
                if subject is not None:
                    xyz, visibility, zoom = subject
                    canvas = _I420Canvas(i420_planes(frame))
                    if blur:
                        _blur_bystanders_into(canvas, track, time_s, sightings, zoom)
                    _draw_subject(canvas, xyz, visibility, time_s, analysis, blur, tol_frames)
                if stream is None:
                    stream = out.add_stream("libx264", rate=fps, options={"crf": str(VIDEO_CRF),
                                                                          "preset": VIDEO_PRESET})
                    stream.width, stream.height = frame.width, frame.height
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = stream.codec_context.time_base = _TIME_BASE
                    stream.codec_context.thread_count = 1
                frame.pts, frame.time_base = int(round(time_s / _TIME_BASE)), _TIME_BASE
                out.mux(stream.encode(frame))
            if stream is not None:
                out.mux(stream.encode())
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
