"""Clips made with PyAV inside the tests (no binary fixtures needed)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np

TIME_BASE = Fraction(1, 90000)


def encode(path: Path, frames: Iterable[tuple[float, np.ndarray]], rotation_deg: int = 0,
           pix_fmt: str = "yuv420p") -> Path:
    """H.264 clip of (time in seconds, RGB frame) pairs at exactly those presentation times (variable
    frame rate allowed); rotation_deg adds a display-rotation tag like a phone's; pix_fmt e.g. "yuvj420p"
    (full range) or "yuv444p" (odd sizes allowed)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.pix_fmt = pix_fmt
        stream.time_base = stream.codec_context.time_base = TIME_BASE
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        for i, (t, rgb) in enumerate(frames):
            if i == 0:
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = int(round(t / TIME_BASE))
            frame.time_base = TIME_BASE
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """A frame whose left tenth is white and whose brightness encodes the frame number."""
    a = np.full((height, width, 3), (i * 10) % 200, np.uint8)
    a[:, : max(width // 10, 1)] = 255
    return a


def write_clip(path: Path, times_s: list[float], width: int = 64, height: int = 48,
               rotation_deg: int = 0, frame_fn=pattern, pix_fmt: str = "yuv420p") -> Path:
    return encode(path, ((t, frame_fn(i, width, height)) for i, t in enumerate(times_s)), rotation_deg, pix_fmt)


def write_audio_only(path: Path, seconds: float = 0.5) -> Path:
    rate = 16000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = (np.sin(np.arange(int(rate * seconds)) / 10) * 0.2).astype(np.float32)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[start:start + 1024][None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def derive_clip(src: Path, dst: Path, seconds: float, *, rotation_deg: int = 0, turn_pixels: int = 0,
                scale: float = 1.0, keep=None, second_person: bool = False) -> Path:
    """Re-encode the first `seconds` of a clip: optionally store it turned with a rotation tag
    (rotation_deg, what a phone does), turn the pixels without a tag (turn_pixels quarter turns),
    resize by `scale`, keep only frames i for which keep(i) is true (a variable frame rate), or put a
    smaller copy of the scene, 0.4 s behind, to the right (a second person walking)."""
    import cv2

    from gaitlab.tracking.video import iter_frames

    frames = list(iter_frames(src, end_s=seconds))

    def made():
        for i, f in enumerate(frames):
            if keep is not None and not keep(i):
                continue
            rgb = f.rgb
            if second_person:
                other = cv2.resize(frames[max(i - 12, 0)].rgb, None, fx=0.7, fy=0.7)
                pad = np.zeros((rgb.shape[0], other.shape[1], 3), np.uint8)
                pad[rgb.shape[0] - other.shape[0]:] = other
                rgb = np.hstack([rgb, pad])
            if scale != 1.0:
                size = (int(round(rgb.shape[1] * scale / 2)) * 2, int(round(rgb.shape[0] * scale / 2)) * 2)
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
            # A tag of +90 (counter-clockwise) means the stored picture is the upright one turned clockwise.
            turns = turn_pixels - rotation_deg // 90
            yield f.time_s, (np.rot90(rgb, k=turns) if turns else rgb)

    return encode(dst, made(), rotation_deg)


def concat_clips(sources: list[Path], dst: Path) -> Path:
    """One clip made of several same-size clips played one after another (e.g. toward, then away)."""
    from gaitlab.tracking.video import iter_frames

    def made():
        offset = 0.0
        for src in sources:
            last = 0.0
            for f in iter_frames(src):
                last = f.time_s
                yield offset + f.time_s, f.rgb
            offset += last + 1 / 30

    return encode(dst, made())
