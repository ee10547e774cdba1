"""The pose track: what pose extraction hands to the analysis core.

Units and conventions, stated once:
- time in seconds from the container's presentation timestamps;
- image coordinates in pixels of the upright (rotation-corrected) frame, x to the right, y down;
  z is MediaPipe's relative depth scaled like x (pixels), smaller = nearer the camera;
- world coordinates in metres, hip-centred (MediaPipe's world landmarks);
- landmark indices are MediaPipe's 33-point pose model, with MediaPipe's own left/right labels
  (which can be mirrored: gaitlab.view decides the anatomical sides);
- frames where nobody was detected hold NaN coordinates and zero visibility.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

# MediaPipe pose landmark indices used by gaitlab.
NOSE = 0
LEFT_EYE, RIGHT_EYE = 2, 5
LEFT_EAR, RIGHT_EAR = 7, 8
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 31, 32
NUM_LANDMARKS = 33


@dataclass
class PoseTrack:
    """Per-frame pose of the main subject over a clip (N frames)."""

    time_s: np.ndarray  # (N,) strictly increasing
    image_xyz: np.ndarray  # (N, 33, 3) pixels
    world_xyz: np.ndarray  # (N, 33, 3) metres
    visibility: np.ndarray  # (N, 33) 0..1
    presence: np.ndarray  # (N, 33) 0..1
    width: int  # upright frame size, pixels
    height: int
    # Pelvis rotation measured from the pixels of the pelvis band (gaitlab.pelvis_image), degrees,
    # relative to the band's reference frame, positive = counter-clockwise on screen
    # (the person's image-right side rising when filmed from behind); NaN where not measured.
    pelvis_pixel_rotation_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    pelvis_pixel_quality: np.ndarray = field(default=None)  # type: ignore[assignment]  # (N,) 0..1
    # Which rotation reference each frame's rotation is relative to (-1: not measured); rotations under
    # different references differ by an unknown constant.
    pelvis_pixel_reference: np.ndarray = field(default=None)  # type: ignore[assignment]
    # Absolute tilt of the pelvis band's left-right mirror-symmetry axis (gaitlab.pelvis_level), same
    # screen convention, noisy per frame; its quality 0..1.
    pelvis_symmetry_tilt_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    pelvis_symmetry_quality: np.ndarray = field(default=None)  # type: ignore[assignment]
    # Other people seen beside the subject (looked for about once a second), kept only so that exports can
    # blur their faces as well: sighting k is a person in frame bystander_frame[k] (M,), at
    # bystander_image_xyz[k] (M, 33, 3) pixels; frames in increasing order.
    bystander_frame: np.ndarray = field(default=None)  # type: ignore[assignment]
    bystander_image_xyz: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.time_s)
        if self.pelvis_pixel_rotation_deg is None:
            self.pelvis_pixel_rotation_deg = np.full(n, np.nan)
        if self.pelvis_pixel_quality is None:
            self.pelvis_pixel_quality = np.zeros(n)
        if self.pelvis_pixel_reference is None:
            self.pelvis_pixel_reference = np.where(np.isfinite(self.pelvis_pixel_rotation_deg), 0, -1)
        if self.pelvis_symmetry_tilt_deg is None:
            self.pelvis_symmetry_tilt_deg = np.full(n, np.nan)
        if self.pelvis_symmetry_quality is None:
            self.pelvis_symmetry_quality = np.zeros(n)
        if self.bystander_frame is None:
            self.bystander_frame = np.zeros(0, int)
        if self.bystander_image_xyz is None:
            self.bystander_image_xyz = np.zeros((0, NUM_LANDMARKS, 3))
        for name in ("image_xyz", "world_xyz"):
            if getattr(self, name).shape != (n, NUM_LANDMARKS, 3):
                raise ValueError(f"{name} must have shape ({n}, 33, 3)")

    @property
    def detected(self) -> np.ndarray:
        """(N,) bool: a person was found in the frame."""
        return np.isfinite(self.image_xyz[:, LEFT_HIP, 0])

    def __len__(self) -> int:
        return len(self.time_s)

    def _fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def slice(self, start: int, stop: int) -> "PoseTrack":
        """Frames [start, stop) as a track of their own."""
        sightings = (self.bystander_frame >= start) & (self.bystander_frame < stop)
        per_frame = {k: v[start:stop] for k, v in self._fields().items()
                     if k not in ("width", "height", "bystander_frame", "bystander_image_xyz")}
        return PoseTrack(**per_frame, width=self.width, height=self.height,
                         bystander_frame=self.bystander_frame[sightings] - start,
                         bystander_image_xyz=self.bystander_image_xyz[sightings])

    def save(self, path: Path, **extra: np.ndarray) -> None:
        """Compressed .npz, written atomically; extra arrays are stored beside the track's."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez_compressed(tmp, **self._fields(), **extra)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> tuple["PoseTrack", dict[str, np.ndarray]]:
        """The track and any extra arrays saved with it."""
        names = set(cls.__dataclass_fields__)
        with np.load(path) as d:
            track = cls(**{k: (int(d[k]) if k in ("width", "height") else d[k]) for k in names})
            return track, {k: d[k] for k in d.files if k not in names}
