"""The clip as analysed: its metadata (VideoInfo) and what of it was read. Pure: no decoding here.

Times in seconds from the start of the stream; a clip that could not be read to its end (damaged or cut off)
keeps the container's own claims beside what was read.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# How far before the container's stated end the decodable frames may stop, seconds, for the clip to count as
# read to its end: the stated duration may include a last frame held a little longer or a slightly longer
# audio track (milliseconds to a few frames), while a cut-off file loses much more.
END_TOLERANCE_S = 0.25


@dataclass(frozen=True)
class VideoInfo:
    """A clip's metadata, from its container (gaitlab.tracking.video.probe); sizes in pixels, times in seconds."""

    name: str  # basename only: never a full path in anything we export
    fps: float  # average frame rate from the container
    frames: int  # from the container, or estimated from duration x fps (see claimed_frames)
    duration_s: float
    width: int  # upright (after rotation)
    height: int
    rotation_deg: int  # counter-clockwise turn applied to stored frames to show them upright
    codec: str
    # Set (by as_read) only when the decodable frames stop before the container's end (a damaged or cut-off
    # file): what the container claims, while frames and duration_s above are then what could be read.
    claimed_frames: int | None = None
    claimed_duration_s: float | None = None


def covered_s(time_s: np.ndarray, fps: float) -> float:
    """Seconds that frames shown at time_s (seconds, increasing) cover: from the first frame to the end of the
    last, which lasts one frame interval at the average rate fps, less any hole longer than END_TOLERANCE_S
    between two frames (a damaged stretch skipped); 0 without frames."""
    if not len(time_s):
        return 0.0
    frame_s = 1.0 / fps if fps > 0 else 0.0
    gaps = np.diff(np.asarray(time_s, float))
    holes = float((gaps[gaps > END_TOLERANCE_S] - frame_s).sum())  # the frame before a hole still lasts frame_s
    return float(time_s[-1] - time_s[0]) - holes + frame_s


def as_read(info: VideoInfo, time_s: np.ndarray, end_s: float | None = None) -> VideoInfo:
    """`info` as the frames decoded up to end_s (the whole clip when None), at time_s seconds, show it: when they
    cover more than END_TOLERANCE_S less than the container states (a file cut off, or damaged in the middle: a
    clip tracked in spans decodes past a damaged stretch), frames and duration_s become what was read and the
    container's values are kept as claimed_frames and claimed_duration_s."""
    wanted = info.duration_s if end_s is None else min(end_s, info.duration_s)
    if not len(time_s):  # nothing decoded in the part asked for: nothing known about where the clip ends
        return info
    start = float(time_s[0])
    read = covered_s(time_s, info.fps)
    if start + read >= wanted - END_TOLERANCE_S:
        return info
    before = int(round(start * info.fps))  # frames before the first one decoded (a --start)
    return replace(info, frames=before + len(time_s), duration_s=start + read, claimed_frames=info.frames,
                   claimed_duration_s=info.duration_s)

