"""Tiny clips made with PyAV inside the tests (no binary fixtures needed)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """A frame whose left tenth is white and whose brightness encodes the frame number."""
    a = np.full((height, width, 3), (i * 10) % 200, np.uint8)
    a[:, : max(width // 10, 1)] = 255
    return a


def write_clip(path: Path, times_s: list[float], width: int = 64, height: int = 48,
               rotation_deg: int = 0, frame_fn=pattern, codec: str = "libx264") -> Path:
    """Write frames at exactly the given presentation times (variable frame rate allowed)."""
    time_base = Fraction(1, 90000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        for i, t in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(frame_fn(i, width, height), format="rgb24")
            frame.pts = int(round(t / time_base))
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: Path, seconds: float = 0.5) -> Path:
    rate = 16000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = (np.sin(np.arange(int(rate * seconds)) / 10) * 0.2).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = samples[start:start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
