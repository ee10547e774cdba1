"""Pose extraction speed, measured in one run: a bare PoseLandmarker loop vs gaitlab's extraction.

    python benchmarks/pose_speed.py [CLIP]

(a) bare loop (benchmarks/bare.py): PyAV decode + PoseLandmarker.detect_for_video per frame;
(b) gaitlab.tracking.pipeline.track_video on the same clip (no cache).
Prints fps of each and the ratio (b)/(a). Ratios, not absolute times, are comparable on a shared machine.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bare import bare_loop  # noqa: E402
from gaitlab.tracking.model import resolve_model  # noqa: E402
from gaitlab.tracking.pipeline import track_video  # noqa: E402


def main() -> None:
    clip = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_videos" / "sample_walk_post_short.mp4"
    model = resolve_model()
    n_a, t_a = bare_loop(clip, model.path)
    t0 = time.perf_counter()
    tv = track_video(clip, model, use_cache=False)
    t_b = time.perf_counter() - t0
    fps_a, fps_b = n_a / t_a, len(tv.track) / t_b
    print(f"clip: {clip.name} ({tv.info.width}x{tv.info.height}, {n_a} frames, {tv.info.fps:.1f} fps)")
    print(f"(a) bare PoseLandmarker loop : {fps_a:6.1f} fps")
    print(f"(b) gaitlab pose extraction  : {fps_b:6.1f} fps, person found in {100 * tv.track.detected.mean():.1f}%")
    print(f"ratio (b)/(a)                : {fps_b / fps_a:.2f}")
    print(f"real-time factor of (b)      : {fps_b / tv.info.fps:.2f}x")


if __name__ == "__main__":
    main()
