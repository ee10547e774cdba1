"""The pose track: what pose extraction hands to the analysis core.

Units and conventions, stated once:
- time in seconds from the container's presentation timestamps;
- image coordinates in pixels of the upright (rotation-corrected) frame, x to the right, y down;
  z is MediaPipe's relative depth scaled like x (pixels), smaller = nearer the camera;
- world coordinates in metres, hip-centred (MediaPipe's world landmarks);
- landmark indices are MediaPipe's 33-point pose model, with MediaPipe's own left/right labels
  (which can be mirrored: gaitlab.core.view decides the anatomical sides);
- frames where nobody was detected hold NaN coordinates and zero visibility.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
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
SAVE_FORMAT = 1  # layout of a saved track (arrays, format number, checksum): bump when it changes


def frame_rate_hz(time_s: np.ndarray) -> float:
    """Frames a second of increasing frame times (seconds): frames over the span they cover; NaN with fewer than two
    frames or no span."""
    t = np.asarray(time_s, float)
    return float((len(t) - 1) / (t[-1] - t[0])) if len(t) > 1 and t[-1] > t[0] else float("nan")


class DamagedTrackFile(ValueError):
    """A saved track that is not whole, not of this format, or not what was written."""


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.data)
    return digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (it is an entry of the folder, written with it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    # Pelvis rotation measured from the pixels of the pelvis band (gaitlab.measure.band), degrees,
    # relative to the band's reference frame, positive = counter-clockwise on screen
    # (the person's image-right side rising when filmed from behind); NaN where not measured.
    pelvis_pixel_rotation_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    pelvis_pixel_quality: np.ndarray = field(default=None)  # type: ignore[assignment]  # (N,) 0..1
    # Which rotation reference each frame's rotation is relative to (-1: not measured); rotations under
    # different references differ by an unknown constant.
    pelvis_pixel_reference: np.ndarray = field(default=None)  # type: ignore[assignment]
    # Absolute tilt of the pelvis band's left-right mirror-symmetry axis (gaitlab.measure.symmetry), same
    # screen convention, noisy per frame; its quality 0..1.
    pelvis_symmetry_tilt_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    pelvis_symmetry_quality: np.ndarray = field(default=None)  # type: ignore[assignment]
    # The band interior's texture over its noise as the symmetry measure saw it (PelvisSymmetry.texture_snr),
    # dimensionless; NaN where not measured.
    pelvis_symmetry_texture_snr: np.ndarray = field(default=None)  # type: ignore[assignment]
    # Other people seen beside the subject (looked for about once a second), kept only so that exports can
    # blur their faces as well: sighting k is a person in frame bystander_frame[k] (M,), at
    # bystander_image_xyz[k] (M, 33, 3) pixels; frames in increasing order.
    bystander_frame: np.ndarray = field(default=None)  # type: ignore[assignment]
    bystander_image_xyz: np.ndarray = field(default=None)  # type: ignore[assignment]
    # The room's long line segments clear of the person (gaitlab.measure.scene; gaitlab.core.scene sorts them into
    # verticals and horizontals), looked for about once a second: segment k was seen in frame scene_segment_frame[k]
    # (K,), from its top end to its bottom end scene_segments_px[k] (K, 4: x1, y1, x2, y2 pixels); frames in
    # increasing order.
    scene_segment_frame: np.ndarray = field(default=None)  # type: ignore[assignment]
    scene_segments_px: np.ndarray = field(default=None)  # type: ignore[assignment]

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
        if self.pelvis_symmetry_texture_snr is None:
            self.pelvis_symmetry_texture_snr = np.full(n, np.nan)
        if self.bystander_frame is None:
            self.bystander_frame = np.zeros(0, int)
        if self.bystander_image_xyz is None:
            self.bystander_image_xyz = np.zeros((0, NUM_LANDMARKS, 3))
        if self.scene_segment_frame is None:
            self.scene_segment_frame = np.zeros(0, int)
        if self.scene_segments_px is None:
            self.scene_segments_px = np.zeros((0, 4))
        m = len(self.bystander_frame)
        for name, shape in (("image_xyz", (n, NUM_LANDMARKS, 3)), ("world_xyz", (n, NUM_LANDMARKS, 3)),
                            ("visibility", (n, NUM_LANDMARKS)), ("presence", (n, NUM_LANDMARKS)),
                            ("pelvis_pixel_rotation_deg", (n,)), ("pelvis_pixel_quality", (n,)),
                            ("pelvis_pixel_reference", (n,)), ("pelvis_symmetry_tilt_deg", (n,)),
                            ("pelvis_symmetry_quality", (n,)), ("pelvis_symmetry_texture_snr", (n,)),
                            ("bystander_image_xyz", (m, NUM_LANDMARKS, 3)),
                            ("scene_segments_px", (len(self.scene_segment_frame), 4))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} must have shape {shape}, not {np.shape(getattr(self, name))}")
        if np.any(np.diff(self.time_s) <= 0):  # the analysis differentiates over time (and MediaPipe needed it)
            raise ValueError("time_s must be strictly increasing")

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
        lines = (self.scene_segment_frame >= start) & (self.scene_segment_frame < stop)
        per_frame = {k: v[start:stop] for k, v in self._fields().items()
                     if k not in ("width", "height", "bystander_frame", "bystander_image_xyz", "scene_segment_frame",
                                  "scene_segments_px")}
        return PoseTrack(**per_frame, width=self.width, height=self.height,
                         bystander_frame=self.bystander_frame[sightings] - start,
                         bystander_image_xyz=self.bystander_image_xyz[sightings],
                         scene_segment_frame=self.scene_segment_frame[lines] - start,
                         scene_segments_px=self.scene_segments_px[lines])

    def save(self, path: Path, **extra: np.ndarray) -> None:
        """Compressed .npz with its format number and a checksum of its arrays; extra arrays are stored beside
        the track's. Written to a file of its own, synced, then renamed over `path` and the rename synced: a
        reader finds the old file or the whole new one, also after a power cut (never a file of zeros)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.asarray(v) for k, v in {**self._fields(), **extra}.items()}
        # a name of its own: two processes tracking the same clip do not write into one file
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays, _format=np.array(SAVE_FORMAT),
                                    _sha256=np.array(_checksum(arrays)))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _sync_folder(path.parent)

    @classmethod
    def load(cls, path: Path) -> tuple["PoseTrack", dict[str, np.ndarray]]:
        """The track and any extra arrays saved with it. Raises DamagedTrackFile for a file of another format or
        whose arrays do not match their checksum, ValueError for arrays whose shapes do not fit together, and
        whatever reading a file that is not a whole .npz raises (OSError, EOFError, zipfile.BadZipFile, ...)."""
        with np.load(path, allow_pickle=False) as d:
            arrays = {k: d[k] for k in d.files}
        version, checksum = arrays.pop("_format", None), arrays.pop("_sha256", None)
        if version is None or version.shape or int(version) != SAVE_FORMAT:
            raise DamagedTrackFile(f"written by another gaitlab version (format {version}, not {SAVE_FORMAT})")
        if checksum is None or str(checksum) != _checksum(arrays):
            raise DamagedTrackFile("its arrays do not match their checksum")
        names = set(cls.__dataclass_fields__)
        # a field added since (pelvis_symmetry_texture_snr, the scene's segments) is missing from older files: its
        # default then
        track = cls(**{k: (int(arrays[k]) if k in ("width", "height") else arrays[k]) for k in names if k in arrays})
        return track, {k: v for k, v in arrays.items() if k not in names}
