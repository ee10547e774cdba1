"""From a video file to a pose track: decode -> pose -> pelvis pixels, streamed, with the track cache.

Only landmarks and a few numbers per frame are kept, never the frames themselves.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import cv2
import numpy as np

from .model import ModelInfo, cache_dir, file_sha256
from .pelvis_image import PelvisBandTracker
from .pelvis_level import PelvisSymmetry
from .pose import FramePose, PoseExtractor, PoseSettings, cache_key
from .track import NUM_LANDMARKS, PoseTrack
from .video import VideoInfo, iter_frames, probe

PELVIS_METHOD = "band-ecc-2+symmetry-1"  # part of the cache key: bump when the pixel measures change
PREFETCH_FRAMES = 4  # decoded frames waiting for the landmarker: enough to absorb jitter, little memory
PENDING_BAND_FRAMES = 8  # grey frames waiting for the pelvis band measurement
T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = PREFETCH_FRAMES) -> Iterator[T]:
    """Produce items in a background thread (decoding overlaps inference); errors re-raise here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, name="gaitlab-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


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


class _TrackBuffer:
    """Per-frame results appended into preallocated arrays (grown by half when full), so a long clip
    costs ~2 KB a frame and no Python objects per frame are kept."""

    def __init__(self, capacity: int):
        self.n = 0
        self._arrays: dict[str, np.ndarray] = {}
        self._capacity = max(int(capacity), 16)
        self._shapes = {"time_s": (), "image_xyz": (NUM_LANDMARKS, 3), "world_xyz": (NUM_LANDMARKS, 3),
                        "visibility": (NUM_LANDMARKS,), "presence": (NUM_LANDMARKS,), "people": (),
                        "bystander_image_xyz": (NUM_LANDMARKS, 3), "pelvis": (5,)}
        for name, shape in self._shapes.items():
            self._arrays[name] = np.empty((self._capacity, *shape), dtype=int if name == "people" else float)

    def _grow(self) -> None:
        self._capacity += self._capacity // 2 + 16
        for name, a in self._arrays.items():
            grown = np.empty((self._capacity, *a.shape[1:]), dtype=a.dtype)
            grown[:self.n] = a[:self.n]
            self._arrays[name] = grown

    def append(self, pose: FramePose) -> int:
        if self.n == self._capacity:
            self._grow()
        i, a = self.n, self._arrays
        a["time_s"][i] = pose.time_s
        a["image_xyz"][i] = pose.image_xyz
        a["world_xyz"][i] = pose.world_xyz
        a["visibility"][i] = pose.visibility
        a["presence"][i] = pose.presence
        a["people"][i] = pose.people
        a["bystander_image_xyz"][i] = np.nan if pose.bystander_xyz is None else pose.bystander_xyz
        self.n += 1
        return i

    def set_pelvis(self, i: int, values: tuple[float, float, int, float, float]) -> None:
        self._arrays["pelvis"][i] = values

    def build(self, width: int, height: int) -> tuple[PoseTrack, np.ndarray]:
        a = {name: arr[:self.n].copy() for name, arr in self._arrays.items()}  # copy: drop the spare rows
        p = a.pop("pelvis")
        people = a.pop("people")
        track = PoseTrack(
            **a, width=width, height=height,
            pelvis_pixel_rotation_deg=p[:, 0], pelvis_pixel_quality=p[:, 1],
            pelvis_pixel_reference=p[:, 2].astype(int),
            pelvis_symmetry_tilt_deg=p[:, 3], pelvis_symmetry_quality=p[:, 4],
        )
        return track, people


def track_video(path: str | Path, model: ModelInfo, *, settings: PoseSettings = PoseSettings(),
                start_s: float | None = None, end_s: float | None = None, use_cache: bool = True,
                progress: Callable[[Progress], None] | None = None) -> TrackedVideo:
    path = Path(path)
    info = probe(path)
    key = cache_key(file_sha256(path), model.sha256, settings, start_s, end_s, pelvis_key=PELVIS_METHOD)
    cached = cache_dir() / "tracks" / f"{key}.npz"
    if use_cache and cached.is_file():
        track, extra = PoseTrack.load(cached)
        return TrackedVideo(info, track, extra["people"], True)

    expected = info.frames
    if start_s is not None or end_s is not None:
        span = (end_s if end_s is not None else info.duration_s) - (start_s or 0.0)
        expected = max(int(round(span * info.fps)), 0)
    frames = _TrackBuffer(expected + 8)
    band = PelvisBandTracker()
    symmetry = PelvisSymmetry()

    def measure_band(gray: np.ndarray | None, pose: FramePose) -> tuple[float, float, int, float, float]:
        if gray is None:
            return (np.nan, 0.0, -1, np.nan, 0.0)
        rotation, quality = band.update(gray, pose.image_xyz, pose.visibility)
        tilt, tilt_quality = symmetry.update(gray, pose.image_xyz, pose.visibility)
        return (rotation, quality, band.reference_id if np.isfinite(rotation) else -1, tilt, tilt_quality)

    def decoded():
        for frame in iter_frames(path, start_s, end_s):
            yield frame, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)

    width = height = 0
    t0 = time.perf_counter()
    pending: deque[tuple[int, Future]] = deque()
    # Decoding, pose inference and the pelvis band run in three threads (OpenCV, PyAV and MediaPipe
    # release the GIL); the band keeps frame order because it has a single worker. Only the landmarks
    # and the band's numbers are kept (in preallocated arrays), never the frames.
    with PoseExtractor(model.path, settings) as extractor, ThreadPoolExecutor(1, "gaitlab-band") as pool:
        for frame, gray in prefetch(decoded()):
            height, width = frame.rgb.shape[:2]
            pose = extractor.detect(frame)
            i = frames.append(pose)
            pending.append((i, pool.submit(measure_band, gray if pose.detected else None, pose)))
            del frame, gray
            while len(pending) > PENDING_BAND_FRAMES:
                j, f = pending.popleft()
                frames.set_pelvis(j, f.result())
            if progress:
                done = i + 1
                elapsed = time.perf_counter() - t0
                fps = done / elapsed if elapsed > 0 else 0.0
                eta = max(expected - done, 0) / fps if fps > 0 else 0.0
                progress(Progress(done, expected, fps, eta))
        for j, f in pending:
            frames.set_pelvis(j, f.result())
    track, people = frames.build(width, height)
    if use_cache and len(track):
        track.save(cached, people=people)
    return TrackedVideo(info, track, people, False)
