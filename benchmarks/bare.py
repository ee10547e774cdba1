"""The bare MediaPipe loop the speed benchmarks compare gaitlab with (shared by pose_speed.py and speed.py).

PyAV decode + to_ndarray + PoseLandmarker.detect_for_video per frame, default options, one thread: what a
script written straight from MediaPipe's documentation does. Timed from creating the landmarker to the last
frame (Python start-up and imports are not counted).
"""
from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np


def bare_loop(clip: Path, model_path: Path) -> tuple[int, float]:
    """Run the loop over the whole clip; returns (frames, seconds)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from gaitlab.runtime import quiet_native_stderr

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                           running_mode=vision.RunningMode.VIDEO)
    t0 = time.perf_counter()
    n = 0
    with quiet_native_stderr(), vision.PoseLandmarker.create_from_options(options) as landmarker, \
            av.open(str(clip)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            landmarker.detect_for_video(image, int(round(float(frame.pts * stream.time_base) * 1000)))
            n += 1
    return n, time.perf_counter() - t0
