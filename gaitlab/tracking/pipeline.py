"""From a video file to a pose track: decode -> pose -> pelvis pixels, streamed, with the track cache.

Only landmarks and a few numbers per frame are kept, never the frames themselves. Long enough clips are
tracked as two halves at once, each with its own decoder, landmarker and pelvis measures (both cores busy).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from gaitlab.core.clip import VideoInfo, as_read
from gaitlab.core.track import NUM_LANDMARKS, DamagedTrackFile, PoseTrack
from gaitlab.measure.band import PelvisBandTracker
from gaitlab.measure.scene import room_segments
from gaitlab.measure.symmetry import PelvisSymmetry
from gaitlab.runtime import limit_heap_arenas, name_os_thread, prefetch, release_freed_memory
from gaitlab.tracking.model import ModelInfo, cache_dir, file_sha256
from gaitlab.tracking.pose import FramePose, ImageLandmarker, PoseExtractor, PoseSettings, cache_key
from gaitlab.tracking.video import camera_rate_hz, iter_frames, probe

PELVIS_METHOD = "band-ecc-15+symmetry-7+scene-5"  # part of the cache key: bump when the pixel measures change
PENDING_BAND_FRAMES = 8  # frames waiting for the pelvis band measurement
TRACK_SPANS = 2  # spans of the clip tracked concurrently (see span_cuts)
MIN_SPAN_S = 4.0  # a span starts with a fresh detection: keep a few strides in each
# a span waits at most this many of the previous span's frames for its keyframe, beyond the keyframe's settling
KEYFRAME_OFFER_FRAMES = 30
# The room's lines are looked for this often, seconds: the camera stands still, so a few frames show them all; more
# than one frame gives the lines a passing person hides in one of them
SCENE_SAMPLE_S = 1.0
log = logging.getLogger(__name__)  # unconfigured, its warnings are one line on stderr (logging's last resort)


@dataclass(frozen=True)
class Progress:
    """How far track_video has got, passed to its `progress` callback after every frame."""

    frames_done: int
    frames_total: int  # estimate from the container (0 when unknown)
    fps: float  # processing speed, frames tracked a second (not the clip's frame rate)
    eta_s: float  # seconds left at that speed


@dataclass
class TrackedVideo:
    """A clip's pose track (gaitlab.core.track: pixels, metres, seconds) with its metadata, from track_video."""

    info: VideoInfo  # frames and duration as decoded, when the clip ends early (gaitlab.core.clip.as_read)
    track: PoseTrack
    people: np.ndarray  # (N,) people found where counted (about once a second; 0: nobody), else -1 (FramePose)
    from_cache: bool


class _TrackBuffer:
    """Per-frame results appended into preallocated arrays (grown by half when full), so a long clip
    costs ~1.1 KB a frame and no Python objects per frame are kept. Landmarks are kept in float32, what
    MediaPipe gives; times and pelvis measures in float64. Other people's sightings (a few a second at
    most) are kept in lists."""

    def __init__(self, capacity: int):
        self.n = 0
        self._arrays: dict[str, np.ndarray] = {}
        self._capacity = max(int(capacity), 16)
        self._shapes = {"time_s": (), "image_xyz": (NUM_LANDMARKS, 3), "world_xyz": (NUM_LANDMARKS, 3),
                        "visibility": (NUM_LANDMARKS,), "presence": (NUM_LANDMARKS,), "people": (),
                        "pelvis": (6,)}
        self.bystander_frame: list[int] = []
        self.bystander_xyz: list[np.ndarray] = []
        self.scene_frame: list[int] = []
        self.scene_segments: list[np.ndarray] = []
        dtypes = {"time_s": float, "people": int, "pelvis": float}
        for name, shape in self._shapes.items():
            self._arrays[name] = np.empty((self._capacity, *shape), dtype=dtypes.get(name, np.float32))

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
        for person in pose.bystanders if pose.bystanders is not None else ():
            self.bystander_frame.append(i)
            self.bystander_xyz.append(person)
        self.n += 1
        return i

    def set_pelvis(self, i: int, values: tuple[float, float, int, float, float, float]) -> None:
        self._arrays["pelvis"][i] = values

    def revise_band(self, revisions: list[tuple[int, float, float, int]]) -> None:
        """Band rotations measured again (PelvisBandTracker.take_revisions): (row, rotation, quality, reference)."""
        for i, rotation, quality, reference in revisions:
            self._arrays["pelvis"][i, :3] = _band_values(rotation, quality, reference)

    def add_scene(self, i: int, segments: np.ndarray) -> None:
        """Frame i's scene segments (gaitlab.measure.scene), in frame order."""
        self.scene_frame += [i] * len(segments)
        self.scene_segments += list(segments)

    def rows(self) -> dict[str, np.ndarray]:
        return {name: arr[:self.n] for name, arr in self._arrays.items()}

    def pop(self, name: str) -> np.ndarray:
        """One field's rows, released from the buffer (so joining spans holds one field twice, not all)."""
        return self._arrays.pop(name)[:self.n]


def span_cuts(start_s: float, end_s: float) -> list[float]:
    """Where the clip [start_s, end_s) is cut into spans tracked concurrently: in halves when each half holds
    a few strides, else nowhere. Fixed by the clip, not by the machine's cores, so every machine gives the
    same track."""
    if end_s - start_s < TRACK_SPANS * MIN_SPAN_S:
        return []
    return [float(t) for t in np.linspace(start_s, end_s, TRACK_SPANS + 1)[1:-1]]


def pelvis_region(rgb: np.ndarray, image_xyz: np.ndarray, measures: Iterable[PelvisBandTracker | PelvisSymmetry]
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of the frame that the pelvis measures read (a copy, so that the whole frame is not kept
    while it waits for them), with the landmarks moved into it; None when they read nothing."""
    h, w = rgb.shape[:2]
    boxes = [b for b in (m.source_box(image_xyz, w, h) for m in measures) if b is not None]
    if not boxes:
        return None
    (x0, y0), (x1, y1) = np.min(boxes, axis=0)[:2], np.max(boxes, axis=0)[2:]
    return rgb[y0:y1, x0:x1].copy(), image_xyz - [x0, y0, 0]


def _band_values(rotation: float, quality: float, reference: int) -> tuple[float, float, int]:
    """A frame's band columns of the track: (rotation, quality, reference), the reference -1 where not measured."""
    return rotation, quality, reference if np.isfinite(rotation) else -1


class _KeyframeHandoff:
    """The first pelvis keyframe of one span, handed to the span after it, so that both measure rotations
    from the same reference (one level for the clip, as a single pass would): (keyframe, reference id in
    the giving span), or None when the giving span had no settled keyframe (gaitlab.measure.band) within
    KEYFRAME_OFFER_FRAMES frames beyond the keyframe's settling."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._value: tuple | None = None

    def offer(self, value: tuple | None) -> None:
        if not self._ready.is_set():
            self._value = value
            self._ready.set()

    def take(self) -> tuple | None:
        self._ready.wait()
        return self._value


@dataclass
class _Span:
    rows: _TrackBuffer
    width: int
    height: int
    adopted_reference: int | None  # the previous span's reference id whose keyframe this span started from


class _PelvisMeasures:
    """One span's pelvis measures (band rotation, mirror symmetry), run frame by frame on the pelvis worker: each
    frame's numbers, the band's rows measured again once its keyframe settled (gaitlab.measure.band), and the
    keyframe handed on to the next span once settled."""

    def __init__(self, frame_rate_hz: float, give: _KeyframeHandoff, receive: _KeyframeHandoff | None) -> None:
        # a rate the container does not give, or none a camera films at, is taken as 30 fps: it only sets how many
        # frames the band's first keyframe settles over (and keeps in memory meanwhile)
        self.band = PelvisBandTracker(frame_rate_hz=camera_rate_hz(frame_rate_hz) or 30.0)
        self.symmetry = PelvisSymmetry()
        self.adopted: int | None = None  # the previous span's reference id whose keyframe this span started from
        self._give, self._receive = give, receive
        self._seen = 0  # frames handed to the measures

    def measure(self, i: int, region: tuple[np.ndarray, np.ndarray] | None, visibility: np.ndarray
                ) -> tuple[tuple[float, float, int, float, float, float] | None, list]:
        """Frame i's (rotation, quality, reference, tilt, tilt quality, texture-to-noise) and the band's revisions."""
        band, symmetry = self.band, self.symmetry
        self._seen += 1
        measured = (np.nan, 0.0, -1, np.nan, 0.0, np.nan)
        if region is not None:
            image, xyz = region
            if self._receive is not None:  # blocks until the previous span's first keyframe (or its giving up)
                handed = self._receive.take()
                self._receive = None
                if handed is not None and band.adopt(handed[0], xyz):
                    self.adopted = handed[1]
            tilt, tilt_quality = symmetry.update(image, xyz, visibility)
            rotation, quality = band.update(image, xyz, visibility, i, symmetry.axis_offset_px)
            measured = (*_band_values(rotation, quality, band.reference_id), tilt, tilt_quality, symmetry.texture_snr)
        self._offer()
        return measured, band.take_revisions()

    def finish(self) -> tuple[None, list]:
        """After the span's last frame: the band's last revisions."""
        self.band.finish()
        self._offer()
        return None, self.band.take_revisions()

    def _offer(self) -> None:
        if self.band.settled:
            self._give.offer((self.band.keyframe, self.band.reference_id))
        elif self._seen >= KEYFRAME_OFFER_FRAMES + self.band.settle_frames:
            self._give.offer(None)


def _track_span(path: Path, model: ModelInfo, settings: PoseSettings, image_landmarker: ImageLandmarker,
                start_s: float | None, end_s: float | None, expected: int, frame_rate_hz: float,
                frame_done: Callable[[], None], stop: threading.Event, give: _KeyframeHandoff,
                receive: _KeyframeHandoff | None) -> _Span:
    """Track one span of the clip. Returns early once `stop` is set."""
    frames = _TrackBuffer(expected + 8)
    pelvis = _PelvisMeasures(frame_rate_hz, give, receive)

    def set_pelvis(j: int, measuring: Future) -> None:
        measured, revisions = measuring.result()
        if measured is not None:
            frames.set_pelvis(j, measured)
        frames.revise_band(revisions)  # earlier frames: their rows are set

    width = height = 0
    next_scene_s = -np.inf
    scenes: list[Future] = []
    pending: deque[tuple[int, Future]] = deque()
    # Decoding, pose inference and the pelvis band run in three threads (OpenCV, PyAV and MediaPipe
    # release the GIL); the band keeps frame order because it has a single worker. Only the landmarks
    # and the band's numbers are kept (in preallocated arrays), never the frames. With two spans these
    # threads fill both cores: the decoder gets no threads of its own (docs/performance.md).
    try:
        with PoseExtractor(model.path, settings, image_landmarker=image_landmarker) as extractor, \
                ThreadPoolExecutor(1, "gaitlab-band", initializer=name_os_thread, initargs=("gaitlab-pelvis",)) as pool:
            for frame in prefetch(iter_frames(path, start_s, end_s, thread_decode=False)):
                if stop.is_set():  # another span failed or the job was interrupted
                    break
                height, width = frame.rgb.shape[:2]
                pose = extractor.detect(frame)
                i = frames.append(pose)
                region = pelvis_region(frame.rgb, pose.image_xyz, (pelvis.band, pelvis.symmetry)) \
                    if pose.detected else None
                pending.append((i, pool.submit(pelvis.measure, i, region, pose.visibility)))
                if frame.time_s >= next_scene_s:  # on the pelvis worker: in frame order, off the decoder's thread
                    next_scene_s = frame.time_s + SCENE_SAMPLE_S
                    scenes.append(pool.submit(lambda i=i, rgb=frame.rgb, xyz=pose.image_xyz if pose.detected else None:
                                              frames.add_scene(i, room_segments(rgb, xyz))))
                del frame
                while len(pending) > PENDING_BAND_FRAMES:
                    set_pelvis(*pending.popleft())
                frame_done()
            pending.append((-1, pool.submit(pelvis.finish)))
            for j, f in pending:
                set_pelvis(j, f)
            for f in scenes:
                f.result()
    finally:
        give.offer(None)  # never leave the next span waiting
    return _Span(frames, width, height, pelvis.adopted)


def track_cache_key(path: Path, model: ModelInfo, settings: PoseSettings = PoseSettings(),
                    start_s: float | None = None, end_s: float | None = None) -> str:
    """The name under which track_video caches this clip's track with these settings (reads the whole clip)."""
    return cache_key(file_sha256(path), model.sha256, settings, start_s, end_s, pelvis_key=PELVIS_METHOD)


def cache_entry(key: str, tracks: Path | None = None) -> Path:
    """The cache file of a track key in the folder `tracks` (by default the user's cache, ~/.cache/gaitlab/tracks)."""
    return (tracks if tracks is not None else cache_dir() / "tracks") / f"{key}.npz"


def load_cached(path: Path) -> tuple[PoseTrack, np.ndarray] | None:
    """A cached track and its people counts, or None when there is no sound entry at `path`. An entry that cannot
    be read or fails its checks is deleted, with a one-line note (logged): the caller tracks the clip again. The
    cache only saves time, so nothing wrong with it is fatal, and nothing unchecked in it is trusted."""
    try:
        track, extra = PoseTrack.load(path)
        people = extra["people"]
        if people.shape != (len(track),):
            raise DamagedTrackFile(f"people counts of shape {people.shape} for {len(track)} frames")
        return track, people
    except FileNotFoundError:
        return None
    except Exception as exc:  # whatever is wrong with it: BadZipFile, EOFError, KeyError, a failed check, ...
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        # the first sentence only: numpy's messages go on with advice for programmers
        reason = " ".join(str(exc).split()).split(". ")[0] or "no details"
        log.warning("gaitlab note: a cached pose track could not be used (%s: %s), so the clip is tracked again",
                    type(exc).__name__, reason)
        return None


def track_video(path: str | Path, model: ModelInfo, *, settings: PoseSettings = PoseSettings(),
                start_s: float | None = None, end_s: float | None = None, use_cache: bool = True,
                tracks: Path | None = None, progress: Callable[[Progress], None] | None = None) -> TrackedVideo:
    """Track a clip: the main subject's pose and the pelvis' pixel measures in every frame, cached.

    Decoding, MediaPipe and the pelvis measures run streamed, long clips in two spans at once (span_cuts). A
    track cached for the same clip, model, settings and times is loaded instead; a new one is cached in the
    background.

    Parameters
    ----------
    path : str or Path
        The video file.
    model : ModelInfo
        The verified pose model (gaitlab.tracking.model.resolve_model).
    settings : PoseSettings
        MediaPipe's detection settings (part of the cache key).
    start_s, end_s : float or None
        The part of the clip to track, seconds from its start; None: from the start, to the end.
    use_cache : bool
        False: neither read nor write the track cache.
    tracks : Path or None
        The folder of the track cache (by default the user's cache, see cache_entry).
    progress : callable or None
        Called with a Progress after every frame (from the tracking threads, one call at a time).

    Returns
    -------
    TrackedVideo
        The track in pixels of the upright frame, metres and seconds (gaitlab.core.track), MediaPipe's
        left/right labels; `info` as read (a clip that ends early says so, gaitlab.core.clip.as_read).
    """
    path = Path(path)
    info = probe(path)
    cached = cache_entry(track_cache_key(path, model, settings, start_s, end_s), tracks)
    pending = _pending_saves.pop(cached, None)
    if pending is not None:  # this track is still being written by an earlier call
        pending.join()
    found = load_cached(cached) if use_cache else None
    if found is not None:
        track, people = found
        return TrackedVideo(as_read(info, track.time_s, end_s), track, people, True)

    first = start_s or 0.0
    last = end_s if end_s is not None else info.duration_s
    expected = info.frames
    if start_s is not None or end_s is not None:
        expected = max(int(round((last - first) * info.fps)), 0)
    cuts = span_cuts(first, last)
    starts, ends = [start_s, *cuts], [*cuts, end_s]
    handoffs = [_KeyframeHandoff() for _ in starts]

    lock = threading.Lock()
    done = 0
    t0 = time.perf_counter()

    def frame_done() -> None:
        nonlocal done
        with lock:
            done += 1
            if progress:
                elapsed = time.perf_counter() - t0
                fps = done / elapsed if elapsed > 0 else 0.0
                eta = max(expected - done, 0) / fps if fps > 0 else 0.0
                progress(Progress(done, expected, fps, eta))

    # The spans run concurrently: one MediaPipe landmarker each (inference is single-threaded and
    # releases the GIL, so two of them use both cores of a laptop).
    share = expected // len(starts) + 1
    stop = threading.Event()
    limit_heap_arenas()
    with ImageLandmarker(model.path, settings) as shared, ThreadPoolExecutor(len(starts), "gaitlab-span") as pool:
        futures = [pool.submit(_track_span, path, model, settings, shared, a, b, share, info.fps, frame_done, stop,
                               handoffs[k], handoffs[k - 1] if k else None)
                   for k, (a, b) in enumerate(zip(starts, ends))]
        try:
            parts = [f.result() for f in futures]
        finally:
            stop.set()  # on an error or interruption here, the other spans end too
    release_freed_memory()
    track, people = _join(parts)
    if use_cache and len(track):
        _save_in_background(track, people, cached)
    return TrackedVideo(as_read(info, track.time_s, end_s), track, people, False)  # what was read, not claimed


_pending_saves: dict[Path, threading.Thread] = {}


def _save_in_background(track: PoseTrack, people: np.ndarray, path: Path) -> None:
    """Write the track cache in a thread of its own, so that the caller goes on with the analysis meanwhile
    (compressing takes ~0.4 s a minute of video, on one core, while the other is idle). The interpreter waits
    for it at exit; a later track_video of the same clip waits for it too. The cache only saves time, so a
    failed write is not an error of the analysis."""
    def save() -> None:
        try:
            track.save(path, people=people)
        except OSError:
            pass
        finally:  # written: nothing left to wait for (unless a later save of this path took the entry)
            if _pending_saves.get(path) is threading.current_thread():
                del _pending_saves[path]

    thread = threading.Thread(target=save, name="gaitlab-cache")
    _pending_saves[path] = thread
    thread.start()


def _join(spans: list[_Span]) -> tuple[PoseTrack, np.ndarray]:
    """One track from the spans' rows, in time order (copied: the buffers' spare rows are dropped), with
    pelvis rotation reference ids unique over the clip except where a span adopted the previous one's."""
    width, height = next(((s.width, s.height) for s in spans if s.width), (0, 0))
    rows = [s.rows.rows() for s in spans]
    first_id = 0
    given: dict[int, int] = {}  # previous span's local reference id -> id in the joined track
    for span, r in zip(spans, rows):
        ref = r["pelvis"][:, 2]
        local = ref.copy()
        ref[local >= 0] += first_id
        if span.adopted_reference is not None and span.adopted_reference in given:
            ref[local == 0] = given[span.adopted_reference]  # its first chain is the adopted keyframe's
        given = {int(a): int(b) for a, b in zip(local[local >= 0], ref[local >= 0])}
        first_id = int(ref.max(initial=first_id - 1)) + 1
    a = {name: np.concatenate([s.rows.pop(name) for s in spans]).astype(int if name == "people" else float, copy=False)
         for name in list(rows[0])}
    del rows
    p = a.pop("pelvis")
    people = a.pop("people")
    first_frame = np.cumsum([0] + [s.rows.n for s in spans[:-1]])
    track = PoseTrack(
        **a, width=width, height=height,
        bystander_frame=np.array([f + k for s, k in zip(spans, first_frame) for f in s.rows.bystander_frame], int),
        bystander_image_xyz=np.array([x for s in spans for x in s.rows.bystander_xyz], float
                                     ).reshape(-1, NUM_LANDMARKS, 3),
        scene_segment_frame=np.array([f + k for s, k in zip(spans, first_frame) for f in s.rows.scene_frame], int),
        scene_segments_px=np.array([x for s in spans for x in s.rows.scene_segments], float).reshape(-1, 4),
        pelvis_pixel_rotation_deg=p[:, 0], pelvis_pixel_quality=p[:, 1],
        pelvis_pixel_reference=p[:, 2].astype(int),
        pelvis_symmetry_tilt_deg=p[:, 3], pelvis_symmetry_quality=p[:, 4], pelvis_symmetry_texture_snr=p[:, 5],
    )
    return track, people
