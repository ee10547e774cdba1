"""Pose extraction: MediaPipe PoseLandmarker (Tasks API, VIDEO mode) over a stream of frames.

Follows one main subject when several people are found, and caches finished tracks as compressed .npz
keyed by the video's, the model's and the settings' hashes, so re-analysis skips the model.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gaitlab.core.track import LEFT_HIP, LEFT_SHOULDER, NUM_LANDMARKS, RIGHT_HIP, RIGHT_SHOULDER
from gaitlab.runtime import mediapipe_vision, quiet_native_stderr
from gaitlab.tracking.video import Frame

TRACK_FORMAT = 7  # bump when the cached track's content or meaning changes


@dataclass(frozen=True)
class PoseSettings:
    """MediaPipe PoseLandmarker options: poses looked for per frame and its confidence thresholds (0..1)."""

    num_poses: int = 1  # more poses make MediaPipe run its detector on every frame (~40% slower)
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def key(self) -> str:
        """The settings as text, for the track cache key (cache_key)."""
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
    people: int  # people found where counted (about once a second; may count one twice in overlapping tiles), else -1
    bystanders: np.ndarray | None = None  # (K, 33, 3) pixels: other people found beside the subject

    @property
    def detected(self) -> bool:
        """Whether a person was found in the frame."""
        return bool(np.isfinite(self.image_xyz[LEFT_HIP, 0]))


def _empty_pose(time_s: float) -> FramePose:
    nan = np.full((NUM_LANDMARKS, 3), np.nan)
    return FramePose(time_s, nan, nan.copy(), np.zeros(NUM_LANDMARKS), np.zeros(NUM_LANDMARKS), 0)


def _subject_score(xy: np.ndarray, width: int, height: int, previous_centre: np.ndarray | None) -> float:
    """Higher = more likely the main subject: large, central, and where the subject was a frame ago."""
    span = np.nanmax(xy[:, 1]) - np.nanmin(xy[:, 1])
    centre = np.nanmean(xy[[LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER]], axis=0)
    off_centre = abs(centre[0] - width / 2) / width
    score = span / height - off_centre
    if previous_centre is not None:
        score -= 2.0 * float(np.hypot(*(centre - previous_centre))) / max(width, height)
    return score


# ---- crops: following a small or far subject ------------------------------------------------------
# MediaPipe letterboxes whatever image it gets into the pose detector's 224x224 input, so a person 100 px
# tall in a 1280-px-wide frame is ~17 px there and often not found (nor re-found once tracking drops).
# Giving the landmarker a crop around the person makes them large in its input; the landmarks are
# mapped back to full-frame pixels. A crop costs the same inference as the full frame.

CROP_SCALE = 2.2  # crop side in subject extents (room for the next frame's motion and limbs)
CROP_ENTER = 0.6  # follow the subject on a crop when its side would be below this fraction of the
CROP_EXIT = 0.75  # frame's long side (a gain of >= 1.67 in the model's input); back to the full frame above
CROP_RESIZE = 0.2  # keep the crop side until the wanted side differs by more than this fraction
MIN_CROP_SIDE = 96  # pixels
MIN_TILE_SIDE = 192  # pixels: smaller search tiles only add false detections
SEARCH_EVERY = 2  # while nobody is found: try one search tile on every SEARCH_EVERY-th frame
RECHECK_EVERY = 15  # while following on a crop: look at the whole frame for a more likely main subject
PEOPLE_CHECK_S = 1.0  # how often the frame beside the subject is searched for others (one inference)
# People looked for at once beside the subject: the detector returns the most prominent first, and a clinic often
# has a therapist and a relative or two in view (each one found costs one landmark inference, once a second)
CENSUS_POSES = 4
CENSUS_TILE_ASPECT = 1.5  # height / width of the regions the census looks at (see _others_beside)


@dataclass(frozen=True)
class Crop:
    """An axis-aligned window of the full frame, in integer pixels."""

    x0: int
    y0: int
    w: int
    h: int

    def take(self, rgb: np.ndarray) -> np.ndarray:
        """This window of a full (H, W, 3) frame, C-contiguous (as MediaPipe's image wants)."""
        return np.ascontiguousarray(rgb[self.y0:self.y0 + self.h, self.x0:self.x0 + self.w])

    def to_full(self, normalised: np.ndarray) -> np.ndarray:
        """MediaPipe's landmarks normalised to this crop (x by its width, y by its height, z like x)
        -> full-frame pixels (z in pixels, scaled like x)."""
        n = np.asarray(normalised, dtype=float)
        return np.column_stack([self.x0 + n[:, 0] * self.w, self.y0 + n[:, 1] * self.h, n[:, 2] * self.w])

    @property
    def side(self) -> int:
        """The window's longer side, pixels."""
        return max(self.w, self.h)


def subject_extent(xy: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """Centre of the landmarks' bounding box clipped to the frame, and the body's extent (larger side
    of the unclipped box, pixels: MediaPipe places landmarks outside the frame too, so a big person
    half out of the picture still counts as big)."""
    pts = np.asarray(xy, dtype=float)[:, :2]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    extent = float(np.max(pts.max(axis=0) - pts.min(axis=0)))
    inside = np.clip(pts, [0.0, 0.0], [width - 1.0, height - 1.0])
    return (inside.min(axis=0) + inside.max(axis=0)) / 2, extent


def square_crop(centre: np.ndarray, side: float, width: int, height: int) -> Crop:
    """A square of `side` pixels centred on `centre`, shifted to lie inside the frame; where the frame
    is narrower than the square, that dimension is the whole frame (the crop is then not square)."""
    side = int(round(max(side, MIN_CROP_SIDE)))
    w, h = min(side, width), min(side, height)
    x0 = int(round(centre[0] - w / 2))
    y0 = int(round(centre[1] - h / 2))
    x0 = min(max(x0, 0), width - w)
    y0 = min(max(y0, 0), height - h)
    return Crop(x0, y0, w, h)


def search_tiles(width: int, height: int) -> list[Crop]:
    """Overlapping square tiles for finding a far subject nobody has found yet: tiles of the frame's
    short side and of half of it (50% overlap), the most central first (the subject usually is)."""
    tiles: list[Crop] = []
    for side in (min(width, height), min(width, height) // 2):
        if side < MIN_TILE_SIDE or side > CROP_ENTER * max(width, height):
            continue  # too few pixels, or too little gain over the full frame
        step = side // 2
        xs = list(range(0, max(width - side, 0) + 1, step))
        ys = list(range(0, max(height - side, 0) + 1, step))
        if xs[-1] != width - side:
            xs.append(width - side)
        if ys[-1] != height - side:
            ys.append(height - side)
        tiles += [Crop(x, y, side, side) for y in ys for x in xs]
    tiles = [t for t in tiles if not (t.w == width and t.h == height)]  # the full frame was tried
    # Most central first; at equal distance the smaller tile (larger gain) first. Stable sort.
    return sorted(tiles, key=lambda t: (round(float(np.hypot(t.x0 + t.w / 2 - width / 2,
                                                              t.y0 + t.h / 2 - height / 2))), t.w))


def _create_landmarker(model_path: str | Path, settings: PoseSettings, mode):
    vision = mediapipe_vision()
    from mediapipe.tasks.python import BaseOptions

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=mode,
        num_poses=settings.num_poses,
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
    )
    with quiet_native_stderr():
        return vision.PoseLandmarker.create_from_options(options)


class ImageLandmarker:
    """An IMAGE-mode landmarker (a fresh detection on every image: searching tiles, re-checking a crop,
    looking beside the subject), created on first use and shareable by the extractors of one clip's spans:
    each landmarker holds tens of MB and these calls are rare (a lock takes them in turn). Close it when done.
    It returns up to CENSUS_POSES people (the callers that want one pick the most likely subject)."""

    def __init__(self, model_path: str | Path, settings: PoseSettings = PoseSettings()):
        self._model_path = model_path
        self._settings = replace(settings, num_poses=max(settings.num_poses, CENSUS_POSES))
        self._landmarker = None
        self._lock = threading.Lock()

    def __enter__(self) -> "ImageLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, image):
        """MediaPipe's PoseLandmarkerResult for one mp.Image: up to CENSUS_POSES people, landmarks normalised to
        the image (x by its width, y by its height; Crop.to_full maps them back to pixels)."""
        with self._lock:
            if self._landmarker is None:
                self._landmarker = _create_landmarker(self._model_path, self._settings,
                                                      mediapipe_vision().RunningMode.IMAGE)
            return self._landmarker.detect(image)

    def close(self) -> None:
        """Release the landmarker (a later detect creates a new one)."""
        with self._lock:
            if self._landmarker is not None:
                with quiet_native_stderr():
                    self._landmarker.close()
                self._landmarker = None


class PoseExtractor:
    """Wraps PoseLandmarkers in VIDEO mode; use as a context manager so they are always closed.

    The full-frame landmarker is used while the subject is large or not found. Once the subject is small
    (a crop of CROP_SCALE body extents is < CROP_ENTER of the frame's long side) a second landmarker
    follows them on that square crop around their last landmarks. When nobody is found, an IMAGE-mode
    landmarker looks at one search tile every SEARCH_EVERY frames (bounded extra cost), and a hit starts
    crop tracking.
    """

    def __init__(self, model_path: str | Path, settings: PoseSettings = PoseSettings(),
                 follow_small: bool = True, image_landmarker: ImageLandmarker | None = None):
        """image_landmarker: shared with other extractors (the caller closes it); by default one of its own."""
        vision = mediapipe_vision()
        self._model_path, self._settings = model_path, settings
        self._vision = vision
        self._landmarker = _create_landmarker(model_path, settings, vision.RunningMode.VIDEO)
        self._owns_image_landmarker = image_landmarker is None
        self._image_landmarker = image_landmarker or ImageLandmarker(model_path, settings)
        self._crop_landmarker = None  # created on first need
        self._follow_small = follow_small
        self._last_ms = -1
        self._previous_centre: np.ndarray | None = None
        self._first_call = True
        self._crop: Crop | None = None  # following the subject on this crop when set
        self._tiles: list[Crop] = []
        self._tile_index = 0
        self._misses = 0  # consecutive frames with nobody found
        self._crop_frames = 0  # consecutive frames followed on a crop
        self._last_census_s = -np.inf
        self._census_count = 0
        self.source = ""  # where the last detection came from: "full", "crop", "search" or ""

    def __enter__(self) -> "PoseExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the landmarkers, and the IMAGE-mode one unless it was shared by the caller; safe to repeat."""
        for name in ("_landmarker", "_crop_landmarker"):
            landmarker = getattr(self, name, None)
            if landmarker is not None:
                with quiet_native_stderr():
                    landmarker.close()
                setattr(self, name, None)
        if getattr(self, "_owns_image_landmarker", False):
            self._image_landmarker.close()

    def _others_beside(self, rgb: np.ndarray, subject_xyz: np.ndarray) -> np.ndarray:
        """Other people in the strip left or right of the subject (alternately): (K, 33, 3) landmarks in
        full-frame pixels (so exports can blur their faces too), K = 0 when nobody. Tracking one subject never
        notices the others, and MediaPipe's detector, given the whole frame, sees the most prominent people
        first; a strip without the subject shows the others larger. A strip much taller than wide (a phone
        filming upright) is looked at in overlapping tiles of at most CENSUS_TILE_ASPECT height/width: the
        detector squeezes whatever it gets into a square input, where a person in a tall strip is too small
        to be found (a visitor standing beside a treadmill in a Pose2Sim clip was found in tiles only)."""
        height, width = rgb.shape[:2]
        x = subject_xyz[:, 0][np.isfinite(subject_xyz[:, 0])]
        strips = []
        if x.size:
            margin = 0.1 * (np.nanmax(subject_xyz[:, 1]) - np.nanmin(subject_xyz[:, 1]))
            beside = [(0, int(x.min() - margin)), (int(x.max() + margin), width)]
            strips = [(max(a, 0), min(b, width)) for a, b in beside if min(b, width) - max(a, 0) >= MIN_TILE_SIDE]
        if not strips:
            return np.empty((0, NUM_LANDMARKS, 3))
        a, b = strips[self._census_count % len(strips)]
        self._census_count += 1
        side = min(height, int(CENSUS_TILE_ASPECT * (b - a)))
        count = int(np.ceil((height - side) / (side / 2))) + 1  # tiles overlapping by half
        found = []
        for y0 in np.linspace(0, height - side, count).astype(int):
            tile = Crop(a, int(y0), b - a, side)
            found += [tile.to_full(np.array([[p.x, p.y, p.z] for p in person]))
                      for person in self._run(self._image_landmarker, tile.take(rgb), None).pose_landmarks]
        return np.array(found).reshape(-1, NUM_LANDMARKS, 3)

    def _run(self, landmarker, rgb: np.ndarray, ms: int | None):
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._first_call:  # the first inference prints the runtime's start-up lines
            with quiet_native_stderr():
                result = landmarker.detect_for_video(image, ms) if ms is not None else landmarker.detect(image)
            self._first_call = False
            return result
        return landmarker.detect_for_video(image, ms) if ms is not None else landmarker.detect(image)

    def _choose(self, result, crop: Crop, time_s: float, width: int, height: int) -> FramePose | None:
        if not result.pose_landmarks:
            return None
        poses = [crop.to_full(np.array([[p.x, p.y, p.z] for p in lm])) for lm in result.pose_landmarks]
        scores = [_subject_score(p[:, :2], width, height, self._previous_centre) for p in poses]
        best = int(np.argmax(scores))
        chosen = poses[best]
        marks = result.pose_landmarks[best]
        world = result.pose_world_landmarks[best]
        return FramePose(
            time_s=time_s,
            image_xyz=chosen,
            world_xyz=np.array([[p.x, p.y, p.z] for p in world]),
            visibility=np.array([p.visibility or 0.0 for p in marks]),
            presence=np.array([p.presence or 0.0 for p in marks]),
            people=len(poses),
        )

    def detect(self, frame: Frame) -> FramePose:
        """The main subject's pose in the next frame of the clip (frames in time order), in full-frame pixels of
        the upright frame and world metres (gaitlab.core.track); NaN landmarks when nobody was found.

        Tries the crop the subject is followed on, then the full frame, then (with follow_small, while nobody
        is found: every SEARCH_EVERY-th frame) a search tile; about once every PEOPLE_CHECK_S it also looks
        beside the subject for other people (their faces are blurred in exports) and counts everyone found in
        `people` (-1 in the frames between, 0 when nobody is found). Sets `source`."""
        rgb = frame.rgb
        height, width = rgb.shape[:2]
        whole = Crop(0, 0, width, height)
        # VIDEO mode wants strictly increasing integer milliseconds (per landmarker).
        ms = max(int(round(frame.time_s * 1000)), self._last_ms + 1)
        self._last_ms = ms
        pose, source = None, ""
        if self._crop is not None:
            if self._crop_landmarker is None:
                self._crop_landmarker = _create_landmarker(self._model_path, self._settings,
                                                           self._vision.RunningMode.VIDEO)
            pose = self._choose(self._run(self._crop_landmarker, self._crop.take(rgb), ms),
                                self._crop, frame.time_s, width, height)
            source = "crop"
        if pose is None:
            pose = self._choose(self._run(self._landmarker, rgb, ms), whole, frame.time_s, width, height)
            source = "full"
        elif self._crop is not None:
            self._crop_frames += 1
            if self._crop_frames % RECHECK_EVERY == 0:
                checked = self._recheck(pose, rgb, frame.time_s, width, height)
                pose, source = checked, (source if checked is pose else "full")
        if pose is None and self._follow_small:
            pose = self._search(rgb, frame.time_s, width, height)
            source = "search"
        if pose is None:
            self._misses += 1
            self._crop = None
            self._crop_frames = 0
            self.source = ""
            return _empty_pose(frame.time_s)
        if frame.time_s - self._last_census_s >= PEOPLE_CHECK_S:
            self._last_census_s = frame.time_s
            others = self._others_beside(rgb, pose.image_xyz)
            pose = replace(pose, people=pose.people + len(others), bystanders=others if len(others) else None)
        else:
            pose = replace(pose, people=-1)
        self._misses = 0
        self.source = source
        self._previous_centre = np.nanmean(
            pose.image_xyz[[LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER], :2], axis=0)
        if self._follow_small:
            self._update_crop(pose.image_xyz, width, height)
        return pose

    def _update_crop(self, xyz: np.ndarray, width: int, height: int) -> None:
        centre, extent = subject_extent(xyz, width, height)
        side = CROP_SCALE * extent
        limit = CROP_EXIT if self._crop is not None else CROP_ENTER
        if side >= limit * max(width, height):
            self._crop = None
            return
        if self._crop is not None and abs(side / self._crop.side - 1) <= CROP_RESIZE:
            side = self._crop.side
        self._crop = square_crop(centre, side, width, height)

    def _recheck(self, followed: FramePose, rgb: np.ndarray, time_s: float, width: int,
                 height: int) -> FramePose:
        """A small subject followed on a crop may be a bystander or a reflection while the main subject
        walks in: look at the whole frame (IMAGE mode, fresh detection) and keep the more likely one."""
        other = self._choose(self._run(self._image_landmarker, rgb, None), Crop(0, 0, width, height),
                             time_s, width, height)
        if other is None:
            return followed
        score = lambda p: _subject_score(p.image_xyz[:, :2], width, height, None)  # noqa: E731
        if score(other) > score(followed) + 0.1:
            self._crop = None  # re-aimed below from the new subject's landmarks
            return other
        return followed

    def _search(self, rgb: np.ndarray, time_s: float, width: int, height: int) -> FramePose | None:
        if self._misses % SEARCH_EVERY:
            return None
        if not self._tiles or (self._tiles[0].x0 + self._tiles[0].w > width) or \
                (self._tiles[0].y0 + self._tiles[0].h > height):
            self._tiles = search_tiles(width, height)
            self._tile_index = 0
        if not self._tiles:
            return None
        tile = self._tiles[self._tile_index % len(self._tiles)]
        self._tile_index += 1
        return self._choose(self._run(self._image_landmarker, tile.take(rgb), None), tile, time_s, width, height)


# ---- cache -------------------------------------------------------------------------------------------

def cache_key(video_sha: str, model_sha: str, settings: PoseSettings, start_s: float | None,
              end_s: float | None, pelvis_key: str) -> str:
    """The track cache's name for a clip (sha256 of its file), a model (its sha256), settings, the part of the clip
    tracked (seconds, None = its start / end) and the pelvis measures' version: 32 hex digits, also changed
    by TRACK_FORMAT."""
    text = f"{TRACK_FORMAT}|{video_sha}|{model_sha}|{settings.key()}|{start_s}|{end_s}|{pelvis_key}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
