"""Pose extraction: MediaPipe PoseLandmarker (Tasks API, VIDEO mode) over a stream of frames.

Follows one main subject when several people are found, and caches finished tracks as compressed .npz
keyed by the video's, the model's and the settings' hashes, so re-analysis skips the model.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .track import LEFT_HIP, LEFT_SHOULDER, NUM_LANDMARKS, RIGHT_HIP, RIGHT_SHOULDER, PoseTrack
from .video import Frame

TRACK_FORMAT = 1  # bump when the cached track's content or meaning changes


@contextlib.contextmanager
def quiet_native_stderr():
    """Hide the C++ runtime's start-up and shut-down log lines (they go straight to fd 2)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass(frozen=True)
class PoseSettings:
    num_poses: int = 1  # more poses make MediaPipe run its detector on every frame (~40% slower)
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def key(self) -> str:
        return (f"n{self.num_poses}-d{self.min_detection_confidence}-p{self.min_presence_confidence}"
                f"-t{self.min_tracking_confidence}")


@dataclass(frozen=True)
class FramePose:
    """The main subject's landmarks in one frame (NaN / zeros when nobody was found)."""

    time_s: float
    image_xyz: np.ndarray  # (33, 3) pixels
    world_xyz: np.ndarray  # (33, 3) metres
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    people: int  # how many poses MediaPipe returned

    @property
    def detected(self) -> bool:
        return bool(np.isfinite(self.image_xyz[LEFT_HIP, 0]))


def _empty_pose(time_s: float, people: int = 0) -> FramePose:
    nan = np.full((NUM_LANDMARKS, 3), np.nan)
    return FramePose(time_s, nan, nan.copy(), np.zeros(NUM_LANDMARKS), np.zeros(NUM_LANDMARKS), people)


def _subject_score(xy: np.ndarray, width: int, height: int, previous_centre: np.ndarray | None) -> float:
    """Higher = more likely the main subject: large, central, and where the subject was a frame ago."""
    span = np.nanmax(xy[:, 1]) - np.nanmin(xy[:, 1])
    centre = np.nanmean(xy[[LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER]], axis=0)
    off_centre = abs(centre[0] - width / 2) / width
    score = span / height - off_centre
    if previous_centre is not None:
        score -= 2.0 * float(np.hypot(*(centre - previous_centre))) / max(width, height)
    return score


class PoseExtractor:
    """Wraps a PoseLandmarker in VIDEO mode; use as a context manager so it is always closed."""

    def __init__(self, model_path: str | Path, settings: PoseSettings = PoseSettings()):
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=settings.num_poses,
            min_pose_detection_confidence=settings.min_detection_confidence,
            min_pose_presence_confidence=settings.min_presence_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
        )
        with quiet_native_stderr():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._last_ms = -1
        self._previous_centre: np.ndarray | None = None
        self._first_call = True

    def __enter__(self) -> "PoseExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            with quiet_native_stderr():
                self._landmarker.close()
            self._landmarker = None

    def detect(self, frame: Frame) -> FramePose:
        import mediapipe as mp

        height, width = frame.rgb.shape[:2]
        # VIDEO mode wants strictly increasing integer milliseconds.
        ms = max(int(round(frame.time_s * 1000)), self._last_ms + 1)
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.rgb))
        if self._first_call:
            with quiet_native_stderr():
                result = self._landmarker.detect_for_video(image, ms)
            self._first_call = False
        else:
            result = self._landmarker.detect_for_video(image, ms)
        if not result.pose_landmarks:
            return _empty_pose(frame.time_s)
        poses = [np.array([[p.x * width, p.y * height, p.z * width] for p in lm]) for lm in result.pose_landmarks]
        scores = [_subject_score(p[:, :2], width, height, self._previous_centre) for p in poses]
        best = int(np.argmax(scores))
        chosen = poses[best]
        self._previous_centre = np.nanmean(chosen[[LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER], :2], axis=0)
        marks = result.pose_landmarks[best]
        world = result.pose_world_landmarks[best]
        return FramePose(
            time_s=frame.time_s,
            image_xyz=chosen,
            world_xyz=np.array([[p.x, p.y, p.z] for p in world]),
            visibility=np.array([p.visibility or 0.0 for p in marks]),
            presence=np.array([p.presence or 0.0 for p in marks]),
            people=len(poses),
        )


class TrackBuilder:
    """Collects per-frame results into a PoseTrack (only landmarks are kept, never frames)."""

    def __init__(self) -> None:
        self._poses: list[FramePose] = []
        self._pelvis: list[tuple[float, float]] = []
        self.width = 0
        self.height = 0

    def add(self, pose: FramePose, frame_shape: tuple[int, ...],
            pelvis_rotation: tuple[float, float] = (np.nan, 0.0)) -> None:
        self.height, self.width = frame_shape[:2]
        self._poses.append(pose)
        self._pelvis.append(pelvis_rotation)

    def build(self) -> tuple[PoseTrack, np.ndarray]:
        """Return the track and the per-frame count of people found."""
        p = self._poses
        pelvis = np.array(self._pelvis, dtype=float).reshape(-1, 2)
        n = len(p)
        track = PoseTrack(
            time_s=np.array([x.time_s for x in p], dtype=float),
            image_xyz=np.array([x.image_xyz for x in p], dtype=float).reshape(n, NUM_LANDMARKS, 3),
            world_xyz=np.array([x.world_xyz for x in p], dtype=float).reshape(n, NUM_LANDMARKS, 3),
            visibility=np.array([x.visibility for x in p], dtype=float).reshape(n, NUM_LANDMARKS),
            presence=np.array([x.presence for x in p], dtype=float).reshape(n, NUM_LANDMARKS),
            width=self.width, height=self.height,
            pelvis_pixel_rotation_deg=pelvis[:, 0], pelvis_pixel_quality=pelvis[:, 1],
        )
        return track, np.array([x.people for x in p], dtype=int)


# ---- cache -------------------------------------------------------------------------------------------

def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(video_sha: str, model_sha: str, settings: PoseSettings, start_s: float | None,
              end_s: float | None, pelvis_key: str) -> str:
    text = f"{TRACK_FORMAT}|{video_sha}|{model_sha}|{settings.key()}|{start_s}|{end_s}|{pelvis_key}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def save_track(path: Path, track: PoseTrack, people: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(
        tmp, time_s=track.time_s, image_xyz=track.image_xyz, world_xyz=track.world_xyz,
        visibility=track.visibility, presence=track.presence, width=track.width, height=track.height,
        pelvis_pixel_rotation_deg=track.pelvis_pixel_rotation_deg,
        pelvis_pixel_quality=track.pelvis_pixel_quality, people=people,
    )
    os.replace(tmp, path)


def load_track(path: Path) -> tuple[PoseTrack, np.ndarray]:
    with np.load(path) as d:
        track = PoseTrack(
            time_s=d["time_s"], image_xyz=d["image_xyz"], world_xyz=d["world_xyz"],
            visibility=d["visibility"], presence=d["presence"], width=int(d["width"]),
            height=int(d["height"]), pelvis_pixel_rotation_deg=d["pelvis_pixel_rotation_deg"],
            pelvis_pixel_quality=d["pelvis_pixel_quality"],
        )
        return track, d["people"]


def iter_poses(extractor: PoseExtractor, frames: Iterator[Frame]) -> Iterator[tuple[Frame, FramePose]]:
    for frame in frames:
        yield frame, extractor.detect(frame)
