"""Reading a clip with PyAV: upright RGB frames with the container's own timestamps.

Times are presentation timestamps in seconds from the start of the stream, so variable-frame-rate phone
clips keep their real timing; rotation side data (portrait phone clips) is applied to every frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from gaitlab.core.clip import VideoInfo
from gaitlab.errors import VideoError

# The longest interval between two consecutive frames of a real clip, seconds. Cameras record several frames a
# second (time-lapse modes too store theirs at a normal playback rate), and a step lasts about half a second, so
# a longer gap means broken timestamps (e.g. a clip of frames an hour apart claiming millions of frames), not a
# slow camera: nothing could be timed across it.
MAX_FRAME_INTERVAL_S = 2.0
# The highest frame rate a clip may claim, frames a second: phones film slow motion at up to 240 (a few at 960
# for a fraction of a second, stored for playback at 30). A browser's recording with no rate in its header is
# read as its 1 ms timestamp clock, 1000 fps: the rate then comes from its frames and duration.
MAX_CAMERA_FPS = 480.0


def camera_rate_hz(claimed_hz: float, frames: int = 0, duration_s: float = 0.0) -> float | None:
    """The frame rate a clip was filmed at, frames a second: the container's claim where a camera films at it
    (0 < rate <= MAX_CAMERA_FPS), else its frames over its duration where both are known (no rate, or the
    timestamps' clock taken for one: a browser's 1000 fps), else None."""
    if 0 < claimed_hz <= MAX_CAMERA_FPS:
        return claimed_hz
    return frames / duration_s if frames and duration_s else None


@dataclass(frozen=True)
class Frame:
    """One decoded frame, upright (rotation side data applied; downscaled when iter_frames is asked to), and its
    presentation time in seconds from the start of the stream."""

    index: int  # 0-based among the frames yielded
    time_s: float  # strictly increasing
    rgb: np.ndarray  # (H, W, 3) uint8, C-contiguous, upright


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"no such file: {path.name}")
    if path.is_dir():
        raise VideoError(f"{path.name} is a folder, not a video")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise VideoError(f"{path.name} cannot be read as a video: it is damaged, incomplete (cut off while "
                         "recording or copying) or not a video") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name} has no video stream (audio only?)")
    return container


def _quarter_turns(rotation: float) -> int:
    return int(round(rotation / 90.0)) % 4


def shown_name(path: Path) -> str:
    """The file's name as text every output can hold: bytes that are not UTF-8 (a name from another system's
    encoding) become U+FFFD instead of failing the export at the end of the analysis."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def probe(path: str | Path) -> VideoInfo:
    """Read the container's metadata and decode the first frame to prove the file is a video."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        timed = _timed(path, container, stream)
        first = next(timed, (0.0, None))[1]
        if first is None:
            raise VideoError(f"{path.name} has a video stream but no decodable frame")
        next(timed, None)  # the second frame: an implausible first interval is refused here, before tracking
        turns = _quarter_turns(first.rotation or 0)
        width, height = (first.height, first.width) if turns % 2 else (first.width, first.height)
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        frames = int(stream.frames or (round(duration * fps) if fps else 0))
        if not duration or not frames:
            # Written as a live stream (a browser's MediaRecorder WebM): no duration in the header, so
            # count the packets and read their timestamps (demuxing only, no decoding).
            frames, duration = _count_packets(path)
        return VideoInfo(
            name=shown_name(path), fps=camera_rate_hz(fps, frames, duration) or fps, frames=frames,
            duration_s=duration, width=width, height=height, rotation_deg=turns * 90, codec=stream.codec_context.name,
        )
    finally:
        container.close()


# A recording time before this is the zero of a camera's or muxer's clock (QuickTime's 1904, Unix's 1970), not
# when the clip was filmed.
EARLIEST_RECORDING = date(1990, 1, 1)


def recorded_on(path: str | Path) -> date | None:
    """The day the clip was filmed, from its container's creation_time (in this computer's time zone), or None:
    no such metadata, unreadable, or implausible (before EARLIEST_RECORDING or after tomorrow)."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            text = container.metadata.get("creation_time") or (streams[0].metadata.get("creation_time")
                                                                if streams else None)
    except (OSError, av.error.FFmpegError, UnicodeDecodeError, ValueError):
        return None
    try:
        stamp = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    if stamp is None:
        return None
    day = (stamp.astimezone() if stamp.tzinfo else stamp).date()
    return day if EARLIEST_RECORDING <= day <= date.today() + timedelta(days=1) else None


def _count_packets(path: Path) -> tuple[int, float]:
    """(frames, duration_s) from the video packets' presentation timestamps."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
        if not pts or stream.time_base is None:
            return len(pts), 0.0
        step = (max(pts) - min(pts)) / (len(pts) - 1) if len(pts) > 1 else 0
        return len(pts), float((max(pts) - min(pts) + step) * stream.time_base)


def _decode(container, stream) -> Iterator[av.VideoFrame]:
    """Decode frames, stopping (not crashing) at corrupt data at the end of a truncated file."""
    try:
        for frame in container.decode(stream):
            yield frame
    except (av.error.InvalidDataError, av.error.EOFError):
        return


_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG: full-range luma 0-255


def _limited_i420(frame: av.VideoFrame) -> bool:
    """Limited-range 4:2:0, what cameras and phones record."""
    return frame.format.name == "yuv420p" and frame.color_range != _JPEG_RANGE


def _to_rgb(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    """The frame as RGB, at most max_side pixels on its long side (linear resampling). Limited-range 4:2:0
    is converted by OpenCV (within a few grey levels of libswscale), after scaling its planes when it is to be
    made smaller (a third of the pixels to convert at 1080p -> 720p); other formats by libswscale. At full size
    OpenCV is no cheaper than libswscale with PyAV 18, but the bench's accuracy was measured with it (with
    libswscale there: step MAE 0.40 against 0.38 deg, 9 of 12 steps found on one walk against 10)."""
    size = None
    if max_side and max(frame.width, frame.height) > max_side:
        scale = max_side / max(frame.width, frame.height)
        size = (max(int(round(frame.width * scale)), 1), max(int(round(frame.height * scale)), 1))
    if _limited_i420(frame) and not (frame.width | frame.height) & 1:
        yuv = frame.to_ndarray(format="yuv420p")
        if size is not None and not (size[0] | size[1]) & 1:
            yuv = _scale_i420(yuv, frame.width, frame.height, size)
            size = None
        rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    else:
        rgb = frame.to_ndarray(format="rgb24")
    if size is not None:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    return rgb


def _stacked_planes(yuv: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """Views of the Y, U, V planes of an I420 image stacked as OpenCV and PyAV lay them out (even size). Taken
    from the flat buffer: a chroma plane need not start on a row of the stack."""
    flat, n = yuv.reshape(-1), width * height
    return [yuv[:height], *(flat[n + k * n // 4:n + (k + 1) * n // 4].reshape(height // 2, width // 2)
                            for k in (0, 1))]


def _scale_i420(yuv: np.ndarray, width: int, height: int, size: tuple[int, int]) -> np.ndarray:
    """An I420 image (planes stacked) scaled to `size` (even), plane by plane."""
    out = np.empty((size[1] * 3 // 2, size[0]), np.uint8)
    for src, dst in zip(_stacked_planes(yuv, width, height), _stacked_planes(out, *size)):
        cv2.resize(src, dst.shape[::-1], dst=dst, interpolation=cv2.INTER_LINEAR)
    return out


def i420_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Writable views (no copy) of a yuv420p frame's Y, U and V planes, without their rows' padding."""
    return [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width] for p in frame.planes]


_CV_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}  # np.rot90's k


def _fill_i420(frame: av.VideoFrame, out: av.VideoFrame) -> None:
    """Write `frame` upright into `out`'s planes (yuv420p, even size), scaled to out's size, or cropped by
    an odd last row or column. Limited-range 4:2:0 is read from its planes as it is; other formats go
    through RGB."""
    if _limited_i420(frame):
        planes = i420_planes(frame)
    else:
        rgb = _to_rgb(frame, None)
        h, w = rgb.shape[0] & ~1, rgb.shape[1] & ~1
        planes = _stacked_planes(cv2.cvtColor(np.ascontiguousarray(rgb[:h, :w]), cv2.COLOR_RGB2YUV_I420), w, h)
    turns = _quarter_turns(frame.rotation or 0)
    for src, dst in zip(planes, i420_planes(out)):
        if turns:
            src = cv2.rotate(src, _CV_ROTATE[turns])
        if 0 <= src.shape[0] - dst.shape[0] <= 1 and 0 <= src.shape[1] - dst.shape[1] <= 1:
            dst[:] = src[:dst.shape[0], :dst.shape[1]]
        else:
            cv2.resize(src, dst.shape[::-1], dst=dst, interpolation=cv2.INTER_LINEAR)


def _even_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    scale = min(max_side / max(width, height), 1.0) if max_side else 1.0
    return tuple(max(int(round(d * scale)) & ~1, 2) for d in (width, height))


_TIME_TOLERANCE_S = 1e-6  # timestamps from pts x time base and cut times from arithmetic agree to rounding only


def _clock(stream) -> tuple[int, float]:
    """(the stream's first timestamp, seconds per timestamp unit; 0 when unknown)."""
    return (stream.start_time if stream.start_time is not None else 0,
            float(stream.time_base) if stream.time_base else 0.0)


def _timed(path: Path, container, stream) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time_s, frame) decoded from where the container stands, times from the stream's start and strictly
    increasing; raises VideoError at a gap between two frames longer than MAX_FRAME_INTERVAL_S."""
    base, time_base = _clock(stream)
    fallback_step = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / 30
    last_t = -math.inf
    for frame in _decode(container, stream):
        if frame.pts is not None and time_base:
            t = (frame.pts - base) * time_base
        else:  # no timestamp: assume the nominal spacing after the previous frame
            t = (last_t + fallback_step) if last_t > -math.inf else 0.0
        if t <= last_t:  # duplicate or out-of-order timestamp: MediaPipe needs strictly increasing times
            continue
        if last_t > -math.inf and t - last_t > MAX_FRAME_INTERVAL_S:
            raise VideoError(f"{path.name} has implausible timestamps: {t - last_t:.0f} s between two frames, "
                             f"where a camera records at least one every {MAX_FRAME_INTERVAL_S:g} s: steps cannot "
                             "be timed in it")
        last_t = t
        yield t, frame


def _decoded(path: Path, start_s: float | None, end_s: float | None, thread_decode: bool
             ) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time_s, decoded frame) with strictly increasing container timestamps in [start_s, end_s)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        if thread_decode:
            stream.thread_type = "AUTO"
        base, time_base = _clock(stream)
        if start_s and start_s > 0 and time_base:
            container.seek(int(start_s / time_base) + base, stream=stream, backward=True)
        for t, frame in _timed(path, container, stream):
            # one tolerance for both ends: where a clip is tracked in spans, a frame at a cut (to rounding) belongs to
            # the later span only, never to both
            if start_s is not None and t < start_s - _TIME_TOLERANCE_S:
                continue
            if end_s is not None and t >= end_s - _TIME_TOLERANCE_S:
                break
            yield t, frame
    finally:
        container.close()


def iter_frames(path: str | Path, start_s: float | None = None, end_s: float | None = None,
                thread_decode: bool = True, max_side: int | None = None) -> Iterator[Frame]:
    """Yield upright RGB frames with strictly increasing container timestamps in [start_s, end_s),
    downscaled to at most max_side pixels on the long side when given."""
    for index, (t, frame) in enumerate(_decoded(Path(path), start_s, end_s, thread_decode)):
        yield Frame(index, t, _upright_rgb(frame, max_side))


def _upright_rgb(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    rgb = _to_rgb(frame, max_side)
    turns = _quarter_turns(frame.rotation or 0)
    if turns:
        rgb = np.rot90(rgb, k=turns)
    # PyAV pads rows and rot90 returns a view; MediaPipe ignores strides, so copy to contiguous.
    return np.ascontiguousarray(rgb)


def nearest_frame(path: str | Path, time_s: float, within_s: float = 0.25) -> Frame | None:
    """The upright RGB frame whose timestamp is nearest `time_s` (as iter_frames times and numbers them, the
    index counted from the first frame decoded) among those within `within_s` of it, None if there is none.
    Decoding stops at the first frame past `time_s`, and only the chosen frame is converted to RGB."""
    before = None  # (index, time, frame): the last frame at or before time_s
    for index, (t, frame) in enumerate(_decoded(Path(path), max(time_s - within_s, 0.0), time_s + within_s, True)):
        if t <= time_s:
            before = (index, t, frame)
            continue
        if before is None or t - time_s < time_s - before[1]:
            before = (index, t, frame)
        break
    if before is None:
        return None
    index, t, frame = before
    return Frame(index, t, _upright_rgb(frame, None))


def iter_i420_frames(path: str | Path, max_side: int | None = None, start_s: float | None = None,
                     end_s: float | None = None, thread_decode: bool = True) -> Iterator[tuple[float, av.VideoFrame]]:
    """Yield (time_s, frame) for the frames in [start_s, end_s), timed as iter_frames times them: upright, new yuv420p
    frames of even size (what H.264 4:2:0 needs: an odd last row or column is dropped), at most max_side
    pixels on the long side, ready to draw on (i420_planes) and encode. Camera 4:2:0 goes plane to plane,
    never through RGB (a few times cheaper: docs/performance.md)."""
    size = None
    for t, frame in _decoded(Path(path), start_s, end_s, thread_decode):
        if size is None:
            turned = _quarter_turns(frame.rotation or 0) % 2
            size = _even_size(*((frame.height, frame.width) if turned else (frame.width, frame.height)), max_side)
        out = av.VideoFrame(*size, "yuv420p")
        _fill_i420(frame, out)
        yield t, out
