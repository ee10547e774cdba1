"""Exports for biomechanics tools: landmarks.c3d (C3D, through ezc3d) and landmarks.trc (OpenSim's marker file).

Both hold MediaPipe's 33 world landmarks of the person analysed, in metres, labelled with MediaPipe's names
(gaitlab.outputs.exports.LANDMARK_NAMES) on anatomical sides (the analysis' track: left/right are the person's,
whichever way they face). Axes, the same in both files (right-handed, origin between the hips, as MediaPipe's
world landmarks): X = MediaPipe's x, Y = up (MediaPipe's y points down), Z = toward the camera (MediaPipe's z
grows away from it). Frames where the person was not
found are missing (C3D: residual -1; TRC: empty cells).

Both are at a constant rate, the clip's frame rate: frame k is at clip time t0 + k / rate (t0: the first frame
analysed), each taking the frame decoded nearest that time (within half a frame; none: missing). For a clip of
constant frame rate that is every frame as it is.

The C3D also holds two analog channels at the point rate, degrees, signed as in gaitlab.core.result:
`pelvic_obliquity` (positive = right hip higher) and `contralateral_drop` (positive = the swing-side hip falls;
defined only within a counted single-leg stance, NaN elsewhere); and gait events per side, the analysis' own
(Analysis.foot_events, gaitlab.core.events): "Foot Strike" at each initial contact and "Foot Off" at each toe-off
of that foot, context "Left"/"Right" (anatomical). Every event the analysis found, also those not bounding a
counted step; none where it found none (frames left out, a side view too short to track) - none are invented.
Event times are seconds of the clip (as in steps.csv); TRIAL:ACTUAL_START_FIELD names the clip frame of the
C3D's first frame.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gaitlab.core.result import Analysis
from gaitlab.outputs.exports import LANDMARK_NAMES

C3D_NAME = "landmarks.c3d"
TRC_NAME = "landmarks.trc"
ANALOG_CHANNELS = ("pelvic_obliquity", "contralateral_drop")
_AXES = np.array([1.0, -1.0, -1.0])  # MediaPipe's world axes (y down, z away) -> X, Y up, Z toward the camera
_CONTEXT = {"left": "Left", "right": "Right"}


def uniform_frames(time_s: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip times of a constant-rate grid from the first to the last frame (rate_hz), and for each the index of
    the frame nearest it (-1: none within half a frame)."""
    if len(time_s) == 0:
        return np.zeros(0), np.zeros(0, int)
    t0 = float(time_s[0])
    n = int(round((float(time_s[-1]) - t0) * rate_hz)) + 1
    grid = t0 + np.arange(n) / rate_hz
    right = np.clip(np.searchsorted(time_s, grid), 1, len(time_s) - 1) if len(time_s) > 1 else np.zeros(n, int)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(time_s[left] - grid) <= np.abs(time_s[right] - grid), left, right)
    nearest = np.where(np.abs(time_s[nearest] - grid) <= 0.5 / rate_hz + 1e-9, nearest, -1)
    return grid, nearest


def _rate(analysis: Analysis) -> float:
    fps = float(analysis.video.fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"the clip has no usable frame rate ({fps})")
    return fps


def _take(values: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """values[nearest] along the first axis, NaN where nearest is -1."""
    out = values[np.maximum(nearest, 0)].astype(float)
    out[nearest < 0] = np.nan
    return out


def world_points(analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Clip times (F,) and the world landmarks (F, 33, 3) in metres on the export axes (module docstring), NaN
    where the person was not found."""
    track = analysis.track
    if track is None:
        raise ValueError("the analysis holds no pose track")
    grid, nearest = uniform_frames(np.asarray(track.time_s, float), _rate(analysis))
    xyz = _take(np.asarray(track.world_xyz, float), nearest) * _AXES
    xyz[~np.isfinite(xyz).all(axis=2)] = np.nan
    return grid, xyz


def contralateral_drop(analysis: Analysis) -> np.ndarray:
    """Per frame of analysis.frames, the contralateral drop, degrees: -obliquity within a counted left stance,
    +obliquity within a right one, NaN elsewhere (gaitlab.core.result's signs)."""
    f = analysis.frames
    phase = np.asarray(f.stance_phase).astype(str)
    obliquity = np.asarray(f.obliquity_deg, float)
    return np.where(phase == "right", obliquity, np.where(phase == "left", -obliquity, np.nan))


def gait_events(analysis: Analysis) -> list[tuple[float, str, str]]:
    """(clip time in seconds, side, "Foot Strike" | "Foot Off"): each foot's initial contacts and toe-offs as the
    analysis found them (Analysis.foot_events), sorted by time."""
    fe = analysis.foot_events
    events = [(float(t), side, label)
              for label, per_side in (("Foot Strike", fe.initial_contacts_s), ("Foot Off", fe.toe_offs_s))
              for side in _CONTEXT for t in np.asarray(per_side.get(side, ()), float) if math.isfinite(t)]
    return sorted(events)


def write_c3d(analysis: Analysis, path: str | Path) -> Path:
    """Write the C3D (module docstring): 33 points in metres, 2 analog channels in degrees at the point rate,
    and Foot Strike / Foot Off events per side."""
    import ezc3d

    rate = _rate(analysis)
    grid, xyz = world_points(analysis)
    _, nearest = uniform_frames(np.asarray(analysis.frames.time_s, float), rate)
    analogs = np.stack([_take(np.asarray(analysis.frames.obliquity_deg, float), nearest),
                        _take(contralateral_drop(analysis), nearest)])
    n = len(grid)
    c3d = ezc3d.c3d()
    points = c3d["parameters"]["POINT"]
    points["RATE"]["value"] = [rate]
    points["LABELS"]["value"] = list(LANDMARK_NAMES)
    points["DESCRIPTIONS"]["value"] = [f"MediaPipe pose landmark {i}" for i in range(len(LANDMARK_NAMES))]
    points["UNITS"]["value"] = ["m"]
    analog = c3d["parameters"]["ANALOG"]
    analog["RATE"]["value"] = [rate]
    analog["LABELS"]["value"] = list(ANALOG_CHANNELS)
    analog["DESCRIPTIONS"]["value"] = ["pelvic obliquity, + = right hip higher",
                                       "contralateral pelvic drop in single-leg stance, + = swing hip falls"]
    analog["UNITS"]["value"] = ["deg", "deg"]
    data = np.ones((4, len(LANDMARK_NAMES), n))
    data[:3] = np.transpose(xyz, (2, 1, 0))
    c3d["data"]["points"] = data
    c3d["data"]["meta_points"]["residuals"] = np.where(np.isnan(xyz[:, :, 0]).T, -1.0, 0.0)[None]
    c3d["data"]["analogs"] = analogs[None]
    for t, side, label in gait_events(analysis):
        c3d.add_event([0, t], context=_CONTEXT[side], label=label, subject="",
                      description="initial contact" if label == "Foot Strike" else "toe-off")
    start = int(round(grid[0] * rate)) + 1 if n else 1
    c3d.add_parameter("TRIAL", "ACTUAL_START_FIELD", [start, 0])
    c3d.add_parameter("TRIAL", "CAMERA_RATE", [rate])
    path = Path(path)
    c3d.write(str(path))
    return path


def _cell(x: float) -> str:
    return f"{x:.5f}" if math.isfinite(x) else ""


def write_trc(analysis: Analysis, path: str | Path) -> Path:
    """Write OpenSim's .trc (tab-separated: a 5-line header with rate, frame count, marker count and units m,
    then Frame#, Time and X/Y/Z per marker; missing coordinates are empty cells)."""
    rate = _rate(analysis)
    grid, xyz = world_points(analysis)
    path = Path(path)
    n, markers = len(grid), len(LANDMARK_NAMES)
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:g}\t{rate:g}\t{n}\t{markers}\tm\t{rate:g}\t1\t{n}",
        "\t".join(["Frame#", "Time"] + [f"{name}\t\t" for name in LANDMARK_NAMES]).rstrip("\t"),
        "\t".join(["", ""] + [f"X{i}\tY{i}\tZ{i}" for i in range(1, markers + 1)]),
        "",
    ]
    for k in range(n):
        lines.append("\t".join([str(k + 1), f"{grid[k]:.5f}", *(_cell(v) for v in xyz[k].ravel())]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_biomech(analysis: Analysis, outdir: str | Path) -> list[Path]:
    """landmarks.c3d and landmarks.trc in outdir, when the analysis holds its track (none otherwise)."""
    if analysis.track is None or len(analysis.track) == 0:
        return []
    outdir = Path(outdir)
    return [write_c3d(analysis, outdir / C3D_NAME), write_trc(analysis, outdir / TRC_NAME)]

