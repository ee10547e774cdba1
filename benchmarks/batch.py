"""Throughput of a batch on a Dask cluster: clips per minute with 1 and 2 workers, and what a clip costs.

    python benchmarks/batch.py [--clips 4] [--seconds 6] [--video]

Makes --clips distinct 1920x1080 @ 30 fps clips (the bundled posterior walk, upscaled, cut to slightly different
lengths so that no two share a cached pose track) in a temporary folder, then, for 1 and for 2 workers, starts a
LocalCluster on 127.0.0.1 (one thread per worker, an empty track cache) and runs `gaitlab analyze FOLDER
--scheduler ADDRESS` (--no-video unless --video) into a fresh batch folder. Prints per run the wall time, clips
per minute, the ratio of the two, and the CPU seconds spent per second of 1080p video (getrusage of each worker
and of the processes it started, so the second process of a clip with --video is counted), which is the cost
model for sizing a cluster: clips x seconds x that figure / cores = the wall time at best.

Speeds on a shared machine are noisy: compare the ratios printed by one run, not absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gaitlab.cli import main  # noqa: E402
from tests.clips import derive_clip  # noqa: E402

SOURCE = ROOT / "sample_videos" / "sample_walk_post_short.mp4"  # 1280x720: x1.5 is 1080p


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def make_clips(folder: Path, n: int, seconds: float) -> float:
    """n distinct 1080p clips; returns their total duration in seconds."""
    from gaitlab.tracking.video import probe

    total = 0.0
    for i in range(n):
        clip = derive_clip(SOURCE, folder / f"walk_{i:02d}.mp4", seconds - 0.1 * i, scale=1.5)
        info = probe(clip)
        assert (info.width, info.height) == (1920, 1080), (info.width, info.height)
        total += info.duration_s
    return total


def run(workers: int, clips: Path, work: Path, video: bool) -> dict:
    """One batch on a fresh LocalCluster of `workers` workers: wall seconds and the workers' CPU seconds."""
    from distributed import Client, LocalCluster

    os.environ["XDG_CACHE_HOME"] = str(work / f"cache{workers}")  # an empty track cache, inherited by workers
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        client.run(lambda: __import__("gaitlab.run.job"))  # imports before the clock starts, as a warm cluster
        before = sum(client.run(cpu_seconds).values())
        start = time.monotonic()
        code = main(["analyze", str(clips), "-o", str(work / f"batch{workers}"), "--scheduler",
                     cluster.scheduler_address, *([] if video else ["--no-video"])])
        wall = time.monotonic() - start
        cpu = sum(client.run(cpu_seconds).values()) - before
    assert code == 0, f"the batch failed (exit {code})"
    return {"wall": wall, "cpu": cpu}


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--video", action="store_true", help="also write the annotated video")
    args = parser.parse_args()
    from gaitlab.tracking.model import resolve_model

    os.environ.setdefault("GAITLAB_POSE_MODEL", str(resolve_model().path))  # before XDG_CACHE_HOME moves
    with tempfile.TemporaryDirectory(prefix="gaitlab-batch-bench-") as tmp:
        work = Path(tmp)
        clips = work / "clips"
        clips.mkdir()
        video_s = make_clips(clips, args.clips, args.seconds)
        print(f"{args.clips} clips, 1920x1080 @ 30 fps, {video_s:.1f} s of video in all, "
              f"{'with' if args.video else 'without'} the annotated video; {os.cpu_count()} cores")
        results = {}
        for workers in (1, 2):
            r = results[workers] = run(workers, clips, work, args.video)
            print(f"{workers} worker{'s' if workers > 1 else ''}: {r['wall']:.1f} s, "
                  f"{60 * args.clips / r['wall']:.2f} clips/min, {r['cpu'] / video_s:.2f} CPU-s per s of 1080p, "
                  f"real-time factor {video_s / r['wall']:.2f}x")
        print(f"clips/min ratio, 2 workers / 1: {results[1]['wall'] / results[2]['wall']:.2f}")


if __name__ == "__main__":
    main_bench()
