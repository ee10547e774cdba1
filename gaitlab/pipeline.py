"""From a video file to a pose track: decode -> pose -> pelvis pixels, streamed, with the track cache."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .model import ModelInfo, cache_dir
from .pose import (PoseExtractor, PoseSettings, TrackBuilder, cache_key, file_digest, iter_poses,
                   load_track, save_track)
from .track import PoseTrack
from .video import VideoInfo, iter_frames, probe


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int  # estimate from the container (0 when unknown)
    fps: float  # processing speed
    eta_s: float


@dataclass
class TrackedVideo:
    info: VideoInfo
    track: PoseTrack
    people: np.ndarray  # (N,) poses found per frame
    from_cache: bool


def track_video(path: str | Path, model: ModelInfo, *, settings: PoseSettings = PoseSettings(),
                start_s: float | None = None, end_s: float | None = None, use_cache: bool = True,
                progress: Callable[[Progress], None] | None = None) -> TrackedVideo:
    path = Path(path)
    info = probe(path)
    key = cache_key(file_digest(path), model.sha256, settings, start_s, end_s, pelvis_key="none")
    cached = cache_dir() / "tracks" / f"{key}.npz"
    if use_cache and cached.is_file():
        track, people = load_track(cached)
        return TrackedVideo(info, track, people, True)

    expected = info.frames
    if start_s is not None or end_s is not None:
        span = (end_s if end_s is not None else info.duration_s) - (start_s or 0.0)
        expected = max(int(round(span * info.fps)), 0)
    builder = TrackBuilder()
    t0 = time.perf_counter()
    with PoseExtractor(model.path, settings) as extractor:
        for frame, pose in iter_poses(extractor, iter_frames(path, start_s, end_s)):
            builder.add(pose, frame.rgb.shape)
            if progress:
                done = frame.index + 1
                elapsed = time.perf_counter() - t0
                fps = done / elapsed if elapsed > 0 else 0.0
                eta = max(expected - done, 0) / fps if fps > 0 else 0.0
                progress(Progress(done, expected, fps, eta))
    track, people = builder.build()
    if use_cache and len(track):
        save_track(cached, track, people)
    return TrackedVideo(info, track, people, False)
