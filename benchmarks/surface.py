"""Which parts of the pelvis band turn with the hip-joint line: a measurement of the clips, not of gaitlab.

    python benchmarks/surface.py [--only SUBSTRING ...] [--margin-t 0.12] [DIR]   (default: ../shared/bench)

gaitlab reads the pelvis' rotation from the pixels of a band around the hips (gaitlab.measure.band). Whether any
reading of those pixels can follow the truth depends on the surface: skin and clothing over the waist bend with the
lumbar spine, over the buttocks and groin with the thighs. This script asks the pixels directly, with the truth in
hand. Each frame's band (placed by its landmarks, smoothed over MEAN_FRAMES frames; widened by --margin-t T on every
side) is resampled as gaitlab resamples it, and its dense optical flow (OpenCV's DIS) from one reference frame is
read in cells of CELL_PX patch pixels:
- transverse features: for each row of cells and each pair of cells mirrored about the hip midpoint, the tilt of the
  line through them (what a rigid fit over horizontal edges reads, as from in front);
- vertical features: for each column of cells, the tilt of the column (d u / d y over the rows of gaitlab's band,
  what the affine fit from behind reads).
Each region's tilt is regressed on the truth's image obliquity over the frames of the true single-leg stances, with a
gain per stance side and one offset (gaitlab.validate.stance_gains' model). Printed per clip: the two grids of gains
(left / right stance) and the region whose worse stance gain is nearest 1 (picked with the truth from ~100 noisy
regions, so it flatters); then, per view, the one region that a fixed reading rule would take, the one whose worst
stance gain over every clip of that view is nearest 1, and what it reads on each clip.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gaitlab.core.result import SIDES  # noqa: E402
from gaitlab.measure.geometry import BandShape, PelvisBand, facing_away  # noqa: E402
from gaitlab.tracking.model import resolve_model  # noqa: E402
from gaitlab.tracking.pipeline import track_video  # noqa: E402
from gaitlab.tracking.video import iter_frames  # noqa: E402
from gaitlab.validate import load_truth, stance_gains, truth_clips  # noqa: E402

CELL_PX = 8  # patch pixels, T/20 (~2.5 cm): a few of the fabric texture's periods
MEAN_FRAMES = 5  # landmarks averaged over this many frames, so that the band's placement does not jitter
READ = BandShape()  # the band gaitlab reads: the columns' tilt is taken over its rows


def band_patches(clip: Path, margin_t: float) -> tuple[list[np.ndarray | None], BandShape, bool]:
    """Each frame's band, grey uint8 patches (None where the landmarks do not place it), its shape, and whether the
    clip is filmed from behind."""
    track = track_video(clip, resolve_model()).track
    xyz = np.asarray(track.image_xyz, float)
    seen = np.isfinite(xyz).all(axis=(1, 2))
    filled = xyz.copy()
    if seen.sum() >= 2:  # interpolated through gaps before averaging, so that a gap does not pull the mean to 0
        for j in range(xyz.shape[1]):
            for k in range(xyz.shape[2]):
                filled[:, j, k] = np.interp(np.arange(len(xyz)), np.flatnonzero(seen), xyz[seen, j, k])
    smooth = uniform_filter1d(filled, MEAN_FRAMES, axis=0)
    shape = BandShape().widened(margin_t)
    patches: list[np.ndarray | None] = []
    for frame in iter_frames(clip):
        i = frame.index
        if i >= len(xyz):
            break
        band = PelvisBand.locate(shape, smooth[i]) if seen[i] else None
        patches.append(None if band is None else np.clip(band.sample(frame.rgb), 0, 255).astype(np.uint8))
    return patches, shape, facing_away(np.nanmedian(xyz, axis=0))


def cell_layout(h: int, w: int) -> tuple[range, range, range]:
    """Top rows of the cells, half-distances of the mirrored pairs, left columns of the cells, patch pixels."""
    return (range(0, h - CELL_PX + 1, CELL_PX), range(CELL_PX, int(w / 2) - CELL_PX // 2, CELL_PX),
            range(0, w - CELL_PX + 1, CELL_PX))


def region_tilts(patches: list[np.ndarray | None], shape: BandShape, reference: int, from_behind: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, degrees (+ = the person's right side higher, the truth's image_obliquity_deg): the tilt of each
    mirrored cell pair ((N, rows, pairs)) and of each column of cells ((N, columns)), from the flow to that frame
    from `reference`; NaN where the frame has no patch."""
    h, w = patches[reference].shape
    cx, hip_row = w / 2, shape.hip_px[1]
    rows, half_distances, columns = cell_layout(h, w)
    r0, r1 = int(hip_row - READ.top * shape.px_per_t), int(hip_row + READ.bottom * shape.px_per_t)
    # image-right higher reads + from behind, where the person's right is on the image right; mirrored in front
    sign = 1.0 if from_behind else -1.0
    flow_of = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    pairs = np.full((len(patches), len(rows), len(half_distances)), np.nan)
    cols = np.full((len(patches), len(columns)), np.nan)
    for i, patch in enumerate(patches):
        if patch is None:
            continue
        flow = flow_of.calc(patches[reference], patch, None)
        cells_v = np.median(flow[:h // CELL_PX * CELL_PX, :w // CELL_PX * CELL_PX, 1]
                            .reshape(h // CELL_PX, CELL_PX, w // CELL_PX, CELL_PX), axis=(1, 3))
        for b, d in enumerate(half_distances):
            left = int(round((cx - d) / CELL_PX - 0.5))
            right = int(round((cx + d) / CELL_PX - 0.5))
            pairs[i, :, b] = sign * np.degrees(np.arctan((cells_v[:, left] - cells_v[:, right]) / (2 * d)))
        u = flow[r0:r1, :, 0]
        y = np.arange(r0, r1, dtype=float)
        for c, x0 in enumerate(columns):
            slope = np.polyfit(y, u[:, x0:x0 + CELL_PX].mean(axis=1), 1)[0]
            cols[i, c] = sign * np.degrees(np.arctan(slope))  # counter-clockwise on screen, as the pairs' tilt
    return pairs, cols


def region_gains(tilt: np.ndarray, time_s: np.ndarray, truth: dict) -> np.ndarray:
    """(..., 2) left and right stance gains of each region's tilt (first axis: frames at time_s, seconds) against the
    truth's image obliquity (a region of the picture turns with the pelvis as the picture shows it):
    gaitlab.validate.stance_gains."""
    frames = truth["frames_truth"]
    image_truth = {**truth, "frames_truth": {**frames, "obliquity_deg": frames["image_obliquity_deg"]}}
    flat = tilt.reshape(len(tilt), -1)
    gains = [stance_gains(time_s, flat[:, r], image_truth) for r in range(flat.shape[1])]
    return np.array([[g[s] for s in SIDES] for g in gains]).reshape(tilt.shape[1:] + (2,))


def region_name(region: int, shape: BandShape, size: tuple[int, int]) -> str:
    """Where region number `region` (report's order: the cell pairs row by row, then the columns) lies, in T."""
    rows, half_distances, columns = cell_layout(*size)
    px, (hip_x, hip_y) = shape.px_per_t, shape.hip_px
    if region < len(rows) * len(half_distances):
        top, d = rows[region // len(half_distances)], half_distances[region % len(half_distances)]
        down = (top + CELL_PX / 2 - hip_y) / px
        return f"cell pair {abs(down):.2f} T {'below' if down > 0 else 'above'} the hip midpoint, {d / px:.2f} T either side"
    x0 = columns[region - len(rows) * len(half_distances)]
    return f"column {(x0 + CELL_PX / 2 - hip_x) / px:+.2f} T right of the hip midpoint"


def report(clip: Path, margin_t: float) -> tuple[bool, np.ndarray]:
    """Print one clip's grids and best region; return whether it is filmed from behind and every region's (left,
    right) stance gains, (regions, 2): the cell pairs row by row, then the columns."""
    truth = load_truth(clip.with_name(clip.stem + ".truth.json"))
    patches, shape, from_behind = band_patches(clip, margin_t)
    frames = truth["frames_truth"]
    n = min(len(patches), len(frames["time_s"]))
    t = np.asarray(frames["time_s"], float)[:n]
    obliquity = np.asarray(frames["image_obliquity_deg"], float)[:n]
    # the reference: a frame of the middle third whose obliquity is nearest the clip's median (the pelvis near level)
    middle = np.arange(n // 3, 2 * n // 3)
    middle = middle[[patches[i] is not None for i in middle]]
    reference = int(middle[np.argmin(np.abs(obliquity[middle] - np.median(obliquity)))])
    pairs, cols = region_tilts(patches[:n], shape, reference, from_behind)
    g_pairs, g_cols = region_gains(pairs, t, truth), region_gains(cols, t, truth)
    px = shape.px_per_t
    print(f"\n{clip.stem} ({'from behind' if from_behind else 'from in front'}; band widened by {margin_t} T)")
    print("transverse: cell pairs, rows (T below the hip midpoint) x half-distance (T); gains left/right stance")
    rows, half_distances, columns = cell_layout(*patches[reference].shape)
    print("        " + " ".join(f"{d / px:9.2f}" for d in half_distances))
    for a, top in enumerate(rows):
        print(f"{(top + CELL_PX / 2 - shape.hip_px[1]) / px:+6.2f}  "
              + " ".join(f"{g[0]:4.2f}/{g[1]:4.2f}" for g in g_pairs[a]))
    print(f"vertical: columns (T right of the hip midpoint in the image), rows {-READ.top:+.2f} to "
          f"{READ.bottom:+.2f} T")
    print("  " + "  ".join(f"{(x0 + CELL_PX / 2 - shape.hip_px[0]) / px:+.2f} {g[0]:4.2f}/{g[1]:4.2f}"
                           for x0, g in zip(columns, g_cols)))
    every = np.concatenate([g_pairs.reshape(-1, 2), g_cols])
    worse = np.nanmax(np.abs(every - 1.0), axis=1)
    best = every[int(np.nanargmin(worse))]
    print(f"best single region (worse stance gain nearest 1): left {best[0]:.2f}, right {best[1]:.2f}")
    return from_behind, every


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--only", nargs="+", default=None, help="clips whose name holds one of these")
    parser.add_argument("--margin-t", type=float, default=0.12, help="the band widened by this, in T")
    args = parser.parse_args()
    clips = [c for c, _ in truth_clips(Path(args.folder)) if not args.only or any(o in c.name for o in args.only)]
    gains = {clip.stem: report(clip, args.margin_t) for clip in clips}
    shape = BandShape().widened(args.margin_t)
    # one region for every clip of a view, as a fixed reading rule would take: its worst stance over those clips
    for behind in (False, True):
        names = [name for name, (b, _) in gains.items() if b == behind]
        if not names:
            continue
        stacked = np.stack([gains[name][1] for name in names])  # (clips, regions, 2)
        worst = np.nanmax(np.abs(stacked - 1.0), axis=(0, 2))
        region = int(np.nanargmin(worst))
        print(f"\n{'from behind' if behind else 'from in front'}: the region whose worst stance gain over "
              f"{len(names)} clips is nearest 1, the "
              f"{region_name(region, shape, (shape.height_px, shape.width_px))}, reads")
        for name, g in zip(names, stacked[:, region]):
            print(f"  {name:34s} {g[0]:5.2f} / {g[1]:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
