"""Drawing on video frames: face blur, the pelvis overlay, report stills and the annotated MP4.

Image coordinates follow gaitlab.track (pixels of the upright frame, x right, y down); frames are RGB uint8.
Colours are shared with the report's plots so a side looks the same everywhere.
"""
from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from . import track as lm
from .result import SIDES, Analysis
from .track import PoseTrack
from .video import iter_frames

# RGB; the report uses the same colours (tab10: blue/orange for sides, green/red for the threshold)
PALETTE = {"left": (31, 119, 180), "right": (255, 127, 14), "ok": (44, 160, 44), "over": (214, 39, 40),
           "neutral": (190, 190, 190), "trunk": (235, 235, 235)}

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
    _blur_faces_into(out, image_xyz, visibility)
    return out


def _blur_faces_into(out: np.ndarray, image_xyz: np.ndarray, visibility: np.ndarray) -> None:
    """blur_faces drawing into `out` itself (the video writer owns its decoded frames: no copy)."""
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
    h, w = out.shape[:2]
    x0, x1 = int(max(cx - size / 2, 0)), int(min(cx + size / 2, w))
    y0, y1 = int(max(cy - size / 2, 0)), int(min(cy + size / 2, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    region = out[y0:y1, x0:x1]
    # pixelate to ~6 blocks across the head (destroys identity), then blur the block edges
    small = cv2.resize(region, (max((x1 - x0) * 6 // int(size), 1), max((y1 - y0) * 6 // int(size), 1)),
                       interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    k = int(size / 6) | 1
    out[y0:y1, x0:x1] = cv2.GaussianBlur(blocky, (k, k), 0)


def _pt(p) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def _dashed(img, p0, p1, color, thickness, dash: float) -> None:
    length = float(np.hypot(*(p1 - p0)))
    for s in np.arange(0, length, 2 * dash):
        a, b = p0 + (p1 - p0) * s / length, p0 + (p1 - p0) * min(s + dash, length) / length
        cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA)


def _text_panel(img, lines: list[tuple[str, tuple[int, int, int]]], scale: float) -> None:
    """Lines of text on a dark translucent panel in the top-left corner (readable on any background)."""
    font, th = cv2.FONT_HERSHEY_SIMPLEX, max(1, int(round(2 * scale)))
    sizes = [cv2.getTextSize(t, font, scale, th)[0] for t, _ in lines]
    pad, gap = int(12 * scale), int(14 * scale)
    w = max(s[0] for s in sizes) + 2 * pad
    h = sum(s[1] for s in sizes) + gap * (len(lines) - 1) + 2 * pad
    x0 = y0 = int(10 * scale)
    roi = img[y0:y0 + h, x0:x0 + w]
    roi[:] = (roi * 0.35).astype(np.uint8)
    y = y0 + pad
    for (text, color), (_, th_px) in zip(lines, sizes):
        y += th_px
        cv2.putText(img, text, (x0 + pad, y), font, scale, color, th, cv2.LINE_AA)
        y += gap


def draw_overlay(rgb: np.ndarray, image_xyz: np.ndarray, obliquity_deg: float, stance_label: str,
                 threshold_deg: float, flagged: bool, camera_roll_deg: float = 0.0) -> np.ndarray:
    """Return a copy with the skeleton, the pelvis line and a text panel drawn on.

    stance_label: the frame's stance phase ("left", "right", "double", "flight" or "").
    flagged: the stance side's verdict is flagged (marked in the label).
    The pelvis line is green while the live contralateral drop is at or below the threshold, red above it,
    grey outside single-leg stance (where no drop is measured); it is drawn through the hip midpoint at the
    measured obliquity, against a dashed line showing level as the camera sees it (tilted by the camera roll).
    """
    out = rgb.copy()
    _draw_overlay_into(out, image_xyz, obliquity_deg, stance_label, threshold_deg, flagged, camera_roll_deg)
    return out


def _draw_overlay_into(out: np.ndarray, image_xyz: np.ndarray, obliquity_deg: float, stance_label: str,
                       threshold_deg: float, flagged: bool, camera_roll_deg: float = 0.0) -> None:
    """draw_overlay drawing into `out` itself."""
    h, w = out.shape[:2]
    scale = max(h, w) / 1280
    th = max(2, int(round(3 * scale)))
    for group, pairs in _LIMBS.items():
        color = PALETTE[group] if group in SIDES else PALETTE["trunk"]
        for a, b in pairs:
            if _finite(image_xyz[[a, b], :2]):
                cv2.line(out, _pt(image_xyz[a]), _pt(image_xyz[b]), color, th, cv2.LINE_AA)

    drop = float("nan")
    if stance_label in SIDES and math.isfinite(obliquity_deg):
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
        _dashed(out, mid - level, mid + level, PALETTE["trunk"], max(1, th // 2), dash=6 * scale)
        color = PALETTE["neutral"] if math.isnan(drop) else PALETTE["over" if drop > threshold_deg else "ok"]
        cv2.line(out, _pt(mid - pelvis), _pt(mid + pelvis), color, 2 * th, cv2.LINE_AA)
        for p in (mid - pelvis, mid + pelvis):
            cv2.circle(out, _pt(p), 2 * th, color, -1, cv2.LINE_AA)

    if stance_label in SIDES:
        stance = (f"{stance_label.upper()}-LEG STANCE" + (" (flagged side)" if flagged else ""),
                  PALETTE[stance_label])
    else:
        stance = ({"double": "double support", "flight": "flight"}.get(stance_label, "no single-leg stance"),
                  PALETTE["neutral"])
    lines = [stance]
    if math.isfinite(obliquity_deg):
        higher = "level" if abs(obliquity_deg) < 0.05 else f"{'right' if obliquity_deg > 0 else 'left'} hip higher"
        lines.append((f"pelvic obliquity {obliquity_deg:+.1f} deg ({higher})", PALETTE["trunk"]))
    if math.isfinite(drop):
        over = drop > threshold_deg
        lines.append((f"contralateral drop {drop:.1f} deg ({'above' if over else 'within'} {threshold_deg:g} deg)",
                      PALETTE["over" if over else "ok"]))
    _text_panel(out, lines, 0.7 * min(h, w) / 720)


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


def _blur_bystanders_into(out: np.ndarray, track: PoseTrack, time_s: float, sightings: np.ndarray,
                          zoom: float = 1.0) -> None:
    """Blur the faces of people seen beside the subject within BYSTANDER_HOLD_S of this frame (they are
    looked for about once a second, and move little in that time). sightings: bystander_sightings(track)."""
    lo, hi = np.searchsorted(sightings, [time_s - BYSTANDER_HOLD_S, time_s + BYSTANDER_HOLD_S])
    for xyz in track.bystander_image_xyz[lo:hi]:
        _blur_faces_into(out, xyz * zoom, np.ones(len(xyz)))


def _annotate(rgb: np.ndarray, time_s: float, analysis: Analysis, blur: bool, crop: bool = False,
              in_place: bool = False, tolerances: tuple[float, float] | None = None,
              sightings: np.ndarray | None = None) -> np.ndarray:
    """Blur and overlay one decoded frame using the analysis sample at its time (untouched if none).
    in_place: draw into `rgb` itself (the caller owns it); tolerances: (_tolerance of the track's times,
    of the analysis frames' times) and sightings: bystander_sightings(track), precomputed by callers
    annotating every frame."""
    track = analysis.track
    tol_track, tol_frames = tolerances or (None, None)
    k = _nearest(track.time_s, time_s, tol_track) if track is not None else None
    if k is None:
        return rgb
    xyz, vis = track.image_xyz[k], track.visibility[k]
    zoom = rgb.shape[1] / track.width if track.width else 1.0  # frames decoded smaller than the track's
    if zoom != 1.0:
        xyz = xyz * zoom
    if blur:
        if not in_place:
            rgb = rgb.copy()
            in_place = True
        _blur_bystanders_into(rgb, track, time_s, bystander_sightings(track) if sightings is None else sightings,
                              zoom)
    source = rgb
    if crop:
        rgb, xyz = _person_crop(rgb, xyz)
    if rgb is source and not in_place:
        rgb = rgb.copy()
    if blur:
        _blur_faces_into(rgb, xyz, vis)
    f = analysis.frames
    j = _nearest(f.time_s, time_s, tol_frames)
    obliquity = float(f.obliquity_deg[j]) if j is not None else float("nan")
    stance = str(f.stance_phase[j]) if j is not None else ""
    verdict = analysis.sides.get(stance)
    _draw_overlay_into(rgb, xyz, obliquity, stance, analysis.threshold_deg, bool(verdict and verdict.flagged),
                       analysis.camera_roll_deg)
    return rgb


def render_still(video_path: str | Path, analysis: Analysis, time_s: float, blur: bool = True) -> np.ndarray:
    """The annotated frame nearest `time_s` (blurred by default), cropped to the person, for the report."""
    best = None
    for frame in iter_frames(video_path, start_s=max(time_s - 0.25, 0.0), end_s=time_s + 0.25):
        if best is None or abs(frame.time_s - time_s) < abs(best.time_s - time_s):
            best = frame
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
    """Re-encode the clip with the overlay: H.264/yuv420p MP4 (faststart), one output frame per input frame,
    the input's timestamps, at most VIDEO_MAX_SIDE pixels on the long side. Frames are streamed, so memory
    stays flat whatever the clip length.

    Speed: decoding runs in its own thread, frames are drawn on in place, converted to YUV 4:2:0 by OpenCV
    (several times faster than the encoder's own RGB conversion) and encoded with x264's VIDEO_PRESET. These
    two threads fill two cores, so the decoder and the encoder get no threads of their own (measured on a
    1080p clip: ~10% less CPU time, same wall time)."""
    from .pipeline import prefetch

    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    fps = Fraction(analysis.video.fps or 30).limit_denominator(1001)
    track = analysis.track
    tolerances = (_tolerance(track.time_s) if track is not None else None, _tolerance(analysis.frames.time_s))
    sightings = bystander_sightings(track) if track is not None else None
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = None
            for frame in prefetch(iter_frames(video_path, thread_decode=False, max_side=VIDEO_MAX_SIDE)):
                rgb = _annotate(frame.rgb, frame.time_s, analysis, blur, in_place=True, tolerances=tolerances,
                                sightings=sightings)
                if stream is None:
                    stream = out.add_stream("libx264", rate=fps, options={"crf": str(VIDEO_CRF),
                                                                          "preset": VIDEO_PRESET})
                    # yuv420p needs even sizes: drop a last odd row/column rather than rescale
                    stream.height, stream.width = rgb.shape[0] & ~1, rgb.shape[1] & ~1
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = stream.codec_context.time_base = _TIME_BASE
                    stream.codec_context.thread_count = 1
                yuv = cv2.cvtColor(rgb[:stream.height, :stream.width], cv2.COLOR_RGB2YUV_I420)
                vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                vf.pts, vf.time_base = int(round(frame.time_s / _TIME_BASE)), _TIME_BASE
                out.mux(stream.encode(vf))
            if stream is not None:
                out.mux(stream.encode())
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
