"""Command line: `gaitlab model`, `gaitlab track`, ... Errors are one line; --debug shows tracebacks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import GaitlabError

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_videos"
DEMO_CLIP = SAMPLE_DIR / "sample_walk_post_short.mp4"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ProgressBar:
    """One self-overwriting line on stderr: frames, fps, ETA."""

    def __init__(self, label: str):
        self.label = label
        self._shown = False

    def __call__(self, p) -> None:
        if p.frames_done % 5 and p.frames_done != p.frames_total:
            return
        total = f"/{p.frames_total}" if p.frames_total else ""
        pct = f" {100 * p.frames_done / p.frames_total:3.0f}%" if p.frames_total else ""
        sys.stderr.write(f"\r{self.label}:{pct} {p.frames_done}{total} frames, {p.fps:5.1f} fps, "
                         f"ETA {p.eta_s:4.0f} s ")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            self._shown = False


def cmd_model(args) -> int:
    from .model import resolve_model

    info = resolve_model(args.model, fetch=args.fetch, progress=_say)
    print(f"pose model: {info.path}\nsource: {info.source}\nsha256: {info.sha256} (verified)")
    return 0


def cmd_track(args) -> int:
    from .model import resolve_model
    from .pipeline import track_video

    model = resolve_model(args.model)
    for video in args.videos:
        bar = ProgressBar(Path(video).name)
        try:
            tv = track_video(video, model, start_s=args.start, end_s=args.end, use_cache=not args.no_cache,
                             progress=bar)
        finally:
            bar.done()
        det = float(tv.track.detected.mean()) if len(tv.track) else 0.0
        print(f"{tv.info.name}: {len(tv.track)} frames, {tv.info.width}x{tv.info.height} @ "
              f"{tv.info.fps:.2f} fps, person found in {100 * det:.1f}% of frames"
              f"{' (cached)' if tv.from_cache else ''}")
    return 0


def cmd_validate(args) -> int:
    from .analysis import analyze_track
    from .model import resolve_model
    from .pipeline import track_video
    from .validate import format_table, load_truth, score_clip, truth_clips

    folder = Path(args.folder)
    clips = truth_clips(folder)
    if not clips:
        raise GaitlabError(f"no NAME.mp4 with NAME.truth.json in {folder.name or folder}")
    model = resolve_model(args.model)
    scores = []
    for clip, truth_path in clips:
        truth = load_truth(truth_path)
        bar = ProgressBar(clip.name)
        try:
            tv = track_video(clip, model, progress=bar)
        finally:
            bar.done()
        analysis = analyze_track(tv.track, tv.info, threshold_deg=truth.get("threshold_deg", 5.0),
                                 people=tv.people)
        scores.append(score_clip(analysis, truth))
    print(format_table(scores))
    return 0


def cmd_demo(args) -> int:
    args.videos = [str(DEMO_CLIP)]
    args.start = args.end = None
    args.no_cache = False
    args.model = None
    return cmd_track(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gaitlab", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gaitlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("model", help="show, fetch and verify the pose model")
    p.add_argument("--model", help="path to pose_landmarker_full.task")
    p.add_argument("--fetch", action="store_true", help="fetch into the user cache if missing")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("track", help="run pose extraction only and report detection")
    p.add_argument("videos", nargs="+")
    p.add_argument("--model")
    p.add_argument("--start", type=float, help="start time, seconds")
    p.add_argument("--end", type=float, help="end time, seconds")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write the track cache")
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("validate", help="compare with ground truth: a folder of NAME.mp4 + NAME.truth.json")
    p.add_argument("folder")
    p.add_argument("--model")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("demo", help="run on the bundled sample clip")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GaitlabError as exc:
        if args.debug:
            raise
        _say(f"gaitlab: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("gaitlab: interrupted")
        return 130
    except Exception as exc:  # an internal error: one line unless --debug
        if args.debug:
            raise
        _say(f"gaitlab: internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
