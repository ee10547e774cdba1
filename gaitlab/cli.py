"""Command line: `gaitlab model`, `gaitlab track`, ... Errors are one line; --debug shows tracebacks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gaitlab import __version__
from gaitlab.core.result import DEFAULT_THRESHOLD_DEG, SIDES
from gaitlab.errors import NO_SPACE, GaitlabError
from gaitlab.outputs.wording import fmt_deg, plural, warning_texts

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_videos"
DEMO_CLIP = SAMPLE_DIR / "sample_walk_post_short.mp4"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ProgressBar:
    """One self-overwriting line on stderr: frames, fps, ETA."""

    def __init__(self, label: str):
        self.label = label
        self._shown = False
        self._enabled = sys.stderr.isatty()  # logs and pipes get only the final lines

    def __call__(self, p) -> None:
        """Show a tracking Progress (every 5th frame and the last; only on a terminal)."""
        if not self._enabled or (p.frames_done % 5 and p.frames_done != p.frames_total):
            return
        total = f"/{p.frames_total}" if p.frames_total else ""
        pct = f" {100 * p.frames_done / p.frames_total:3.0f}%" if p.frames_total else ""
        sys.stderr.write(f"\r{self.label}:{pct} {p.frames_done}{total} frames, {p.fps:5.1f} fps, "
                         f"ETA {p.eta_s:4.0f} s ")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        """End the line, if one was shown, so that what follows starts on a line of its own."""
        if self._shown:
            sys.stderr.write("\n")
            self._shown = False


def cmd_model(args) -> int:
    """`gaitlab model`: find (or with --fetch, fetch) the pose model, verify it and print where it is."""
    from gaitlab.tracking.model import resolve_model

    info = resolve_model(args.model, fetch=args.fetch, progress=_say)
    print(f"pose model: {info.path}\nsource: {info.source}\nsha256: {info.sha256} (verified)")
    return 0


def cmd_track(args) -> int:
    """`gaitlab track`: pose extraction only (cached); per clip, frames and seconds tracked, the share of frames
    with the person found, and a warning when the clip ends early."""
    from gaitlab.core.analysis import ends_early_warnings
    from gaitlab.core.clip import covered_s
    from gaitlab.tracking.model import resolve_model
    from gaitlab.tracking.pipeline import track_video

    model = resolve_model(args.model)
    for video in args.videos:
        bar = ProgressBar(Path(video).name)
        try:
            tv = track_video(video, model, start_s=args.start, end_s=args.end, use_cache=not args.no_cache,
                             progress=bar)
        finally:
            bar.done()
        det = float(tv.track.detected.mean()) if len(tv.track) else 0.0
        print(f"{tv.info.name}: {len(tv.track)} frames ({covered_s(tv.track.time_s, tv.info.fps):.1f} s), "
              f"{tv.info.width}x{tv.info.height} @ {tv.info.fps:.2f} fps, person found in {100 * det:.1f}% of frames"
              f"{' (cached)' if tv.from_cache else ''}")
        for warning in warning_texts(ends_early_warnings(tv.info)):
            print(f"  warning: {warning}")
    return 0


def _verdict_table(analysis) -> str:
    """Per stance side: steps, mean drop with its 95% interval, SD and largest drop (degrees) and the verdict
    class, as aligned text; a side that cannot be told gets what would settle it on the next line."""
    from gaitlab.outputs.wording import fmt_interval, settle_text

    t = f"{analysis.threshold_deg:g}°"
    words = {"above": f"FLAGGED: above {t}", "not_above": f"not above {t}", "cannot_tell": f"CANNOT TELL ({t})"}
    lines = [f"{'stance side':12s} {'steps':>5s} {'mean drop':>10s} {'95% interval':>16s} {'SD':>6s} {'max':>6s}  "
             "verdict"]
    for side in SIDES:
        v = analysis.sides[side]
        verdict = words.get(v.verdict_class, "no verdict") if v.measurable else "no verdict"
        sd = f"{v.sd_drop_deg:5.1f}°" if v.steps > 1 else "     –"  # no spread from a single step
        iv = v.interval
        ci = fmt_interval(iv.low_deg, iv.high_deg) if v.measurable and iv else "–"
        mean, largest = (fmt_deg(x) for x in (v.mean_drop_deg, v.max_drop_deg))
        lines.append(f"{side:12s} {v.steps:5d} {mean:>10s} {ci:>16s} {sd} {largest:>6s}  {verdict}")
        if v.measurable and (hint := settle_text(v)):
            lines.append(f"{'':12s} {hint}")
    return "\n".join(lines)


def session_date(text: str | None):
    """--date as a date (None when not given): written YYYY-MM-DD, and not after today."""
    import re
    from datetime import date

    if text is None:
        return None
    try:  # fromisoformat alone would also take 20261001 or week dates
        day = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise GaitlabError(f"--date must be the day the clip was filmed, written YYYY-MM-DD (such as 2026-10-01), "
                           f"not {text!r}")
    if day > date.today():
        raise GaitlabError(f"--date {text} is in the future: give the day the clip was filmed")
    return day


def _job_options(args, **overrides):
    from gaitlab.run.job import JobOptions

    return JobOptions(threshold_deg=args.threshold, view=args.view, start_s=args.start, end_s=args.end,
                      blur_faces=not args.no_blur, annotated_video=not args.no_video,
                      replace_existing=args.force, view_check="keep" if args.force_view else "refuse",
                      subject=args.subject, session_date=session_date(args.date), note=args.note, **overrides)


def _describe(video: Path, analysis, outdir: Path) -> str:
    roll = fmt_deg(analysis.camera_roll_deg, signed=True)
    lines = [f"{video.name}: {analysis.view} view, {analysis.activity}, camera roll {roll}, "
             f"analysed {analysis.analysed_frames} frames, {analysis.analysed_s:.1f} s",
             _verdict_table(analysis)]
    lines += [f"  warning: {w}" for w in warning_texts(analysis.warnings)]
    written = sorted(p.name for p in outdir.iterdir() if not p.name.startswith("."))
    lines.append(f"report: {outdir / 'report.html'}\nin {outdir}: {', '.join(written)}")
    return "\n".join(lines)


def analyze_one(video: Path, args, model, outdir: Path | None = None) -> Path:
    """Analyse one clip into outdir (default: -o, else <stem>_gaitlab beside it) and print a summary (view, camera
    roll, each side's drops in degrees and verdict, warnings); returns the output folder."""
    from gaitlab.run.job import default_outdir, run_job

    outdir = outdir or (Path(args.output) if args.output else default_outdir(video))
    bar = ProgressBar(video.name)
    try:
        analysis = run_job(video, outdir, model, _job_options(args), progress=bar)
    finally:
        bar.done()
    print("\n" + _describe(video, analysis, outdir), flush=True)
    return outdir


def _analyze_child_args(args) -> list[str]:
    """The options of this `gaitlab analyze` for one clip's own process (batch with --jobs > 1)."""
    out = ["--threshold", repr(args.threshold), "--view", args.view]
    for flag, value in (("--start", args.start), ("--end", args.end)):
        if value is not None:
            out += [flag, repr(value)]
    for flag, text in (("--subject", args.subject), ("--date", args.date), ("--note", args.note)):
        if text:
            out.append(f"{flag}={text}")  # one argument: a note may start with "-"
    if args.model:
        out += ["--model", str(Path(args.model).resolve())]
    out += [flag for flag, on in (("--no-video", args.no_video), ("--no-blur", args.no_blur),
                                  ("--force", args.force), ("--force-view", args.force_view)) if on]
    return out


def cmd_analyze(args) -> int:
    """One video: its folder (-o or beside it). Several, or a folder: a batch folder (-o, default
    ./gaitlab_batch) with <stem>_gaitlab per clip, index.html, cohort.csv and catalog.sqlite (_analyze_batch);
    exit 2 if a clip failed on its input, 1 if one failed on an internal error, else 0."""
    from gaitlab.run.job import check_options
    from gaitlab.tracking.model import resolve_model

    if args.jobs < 1:
        raise GaitlabError("--jobs must be at least 1")
    check_options(_job_options(args))  # once, before any clip: every clip would fail on it
    batch = len(args.videos) > 1 or any(Path(v).is_dir() for v in args.videos)
    if not batch:
        model = resolve_model(args.model)
        analyze_one(Path(args.videos[0]), args, model)
        return 0
    return _analyze_batch(args)


def _batch_settings(args) -> dict:
    """What changes a batch clip's result: a clip analysed with other settings is analysed again."""
    record = {"subject": args.subject, "session_date": args.date, "note": args.note,  # on every output
              "force_view": args.force_view}  # a clip refused for its view is analysed once forced
    return {"threshold_deg": args.threshold, "view": args.view, "start_s": args.start, "end_s": args.end,
            "blur_faces": not args.no_blur, "annotated_video": not args.no_video,
            **{key: value for key, value in record.items() if value}}  # absent when not given: as before


def _analyze_batch(args) -> int:
    """A batch (gaitlab.run.batch): through the batch folder's catalog, on this computer (--jobs) or on a Dask
    cluster (--scheduler); then index.html."""
    from gaitlab.run.batch import (
        DEFAULT_BATCH_DIR,
        check_index,
        expand_inputs,
        local_runner,
        output_folders,
        run_catalogued,
        write_index,
    )
    from gaitlab.tracking.model import resolve_model

    videos = expand_inputs(args.videos)
    root = Path(args.output or DEFAULT_BATCH_DIR)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GaitlabError(f"cannot create the batch folder {root}: {exc.strerror}") from None
    check_index(root)
    outdirs = output_folders(videos, root)
    if args.scheduler:
        from gaitlab.run.cluster import cluster_runner

        # the workers find the model: the file named by --model (on the shared path), else their own cache
        runner = cluster_runner(args.scheduler, str(Path(args.model).resolve()) if args.model else None,
                                _job_options(args))
        _say(f"gaitlab: {plural(len(videos), 'clip')} into {root}, on the Dask cluster at {args.scheduler}")
    else:
        model = resolve_model(args.model)  # a missing model fails once, here, not once per clip

        def run_here(video: Path, outdir: Path) -> str:
            analyze_one(video, args, model, outdir)
            return ""

        runner = local_runner(args.jobs, run_here, _analyze_child_args(args))
        _say(f"gaitlab: {plural(len(videos), 'clip')} into {root}, {args.jobs} at a time")

    def report(outcome) -> None:
        if outcome.status == "ok":
            if outcome.text:
                print("\n" + outcome.text, flush=True)
        else:
            _say(f"gaitlab: {outcome.video.name}: {outcome.message}")

    outcomes = run_catalogued(root, videos, outdirs, _batch_settings(args), runner, report, force=args.force,
                              retry_failed=args.retry_failed)
    index = write_index(root, outcomes, args.threshold)
    failed = [o for o in outcomes if o.status != "ok"]
    skipped = sum(o.skipped for o in outcomes)
    earlier = f" ({skipped} by an earlier run: see {root / 'catalog.sqlite'})" if skipped else ""
    print(f"\n{len(outcomes) - len(failed)} of {plural(len(outcomes), 'clip')} analysed{earlier}; index: {index}; "
          f"cohort table: {root / 'cohort.csv'}", flush=True)
    if any(o.status == "internal" for o in failed):
        return 1
    return 2 if failed else 0


def cmd_validate(args) -> int:
    """`gaitlab validate DIR`: analyse every NAME.mp4 with a NAME.truth.json (at the truth's threshold, if it
    gives one) and print the scores table (gaitlab.validate); with --plots, a plot per clip."""
    from gaitlab.core.analysis import analyze_track
    from gaitlab.tracking.model import resolve_model
    from gaitlab.tracking.pipeline import track_video
    from gaitlab.validate import (
        format_calibration,
        format_camera,
        format_table,
        load_truth,
        plot_against_truth,
        score_clip,
        truth_clips,
    )

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
        analysis = analyze_track(tv.track, tv.info, threshold_deg=truth.get("threshold_deg", DEFAULT_THRESHOLD_DEG),
                                 people=tv.people)
        scores.append(score_clip(analysis, truth))
        if args.plots:
            Path(args.plots).mkdir(parents=True, exist_ok=True)
            plot_against_truth(analysis, truth, Path(args.plots) / f"{clip.stem}.png")
    print(format_table(scores))
    print(format_calibration(scores, truth.get("threshold_deg", DEFAULT_THRESHOLD_DEG)))
    print()
    print(format_camera(scores))
    return 0


def cmd_demo(args) -> int:
    """`analyze` of the bundled clip; an earlier demo output is replaced without --force (it is recognisably
    the demo's), any other folder only as `analyze` would."""
    from gaitlab.run.job import read_marker

    earlier_demo = (read_marker(Path(args.output)) or {}).get("clip") == DEMO_CLIP.name
    force = ["--force"] if args.force or earlier_demo else []
    return cmd_analyze(build_parser().parse_args(["analyze", str(DEMO_CLIP), "-o", args.output, "--subject", "demo",
                                                  *force]))


def cmd_app(args) -> int:
    """`gaitlab app`: serve the local web app until interrupted."""
    from gaitlab.app.server import run_app

    return run_app(args.data, args.host, args.port, args.workers, not args.no_browser, args.token)


DESCRIPTION = ("Measure the pelvic drop of Trendelenburg gait from a video of someone walking or running, filmed "
               f"from behind or in front, and flag a contralateral hip drop above {DEFAULT_THRESHOLD_DEG:g}° on either side. "
               "A screening "
               "aid, not a diagnosis.")


class _Parser(argparse.ArgumentParser):
    """argparse that suggests the option meant when one is misspelt (`--treshold` -> `--threshold`)."""

    def error(self, message: str):
        import difflib

        unknown = [w for w in message.replace(",", " ").split() if w.startswith("--")]
        known = [o for a in self._actions for o in a.option_strings]
        for action in self._subparsers._group_actions if self._subparsers else ():
            known += [o for sub in action.choices.values() for a in sub._actions for o in a.option_strings]
        hints = [f"{w}: did you mean {m[0]}?" for w in unknown
                 if (m := difflib.get_close_matches(w.split("=")[0], known, n=1))]
        super().error("; ".join([message, *hints]))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; each sets `func`, the cmd_* that runs it."""
    parser = _Parser(prog="gaitlab", description=DESCRIPTION,
                     epilog="Exit codes: 0 measured, 2 bad input or usage, 1 internal error (--debug for details).")
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

    p = sub.add_parser("analyze", help="measure pelvic drop and write the report")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files, or folders (every video inside)")
    p.add_argument("-o", "--output", help="output folder (default: <video stem>_gaitlab beside the video; for "
                   "several videos or a folder, the batch folder: default ./gaitlab_batch, with index.html)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD_DEG,
                   help="flag a mean drop above this, degrees (1 to 20)")
    p.add_argument("--view", choices=("auto", "posterior", "anterior"), default="auto",
                   help="where the camera was: behind the person (posterior), in front (anterior), or detect it "
                   "(auto, the default)")
    p.add_argument("--force-view", action="store_true",
                   help="analyse with --view even where the clip seems filmed from the other side")
    p.add_argument("--start", type=float, help="start time, seconds")
    p.add_argument("--end", type=float, help="end time, seconds")
    p.add_argument("--subject", metavar="LABEL", default="",
                   help="the person's pseudonymous label (a code such as P-014, not a name), on the report")
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="the day the clip was filmed (default: the clip's own creation time, if it holds one; "
                   "else the report says the date is not known)")
    p.add_argument("--note", metavar="TEXT", default="", help="the clinician's note, on the report")
    p.add_argument("--model", help="path to pose_landmarker_full.task")
    p.add_argument("--no-video", action="store_true", help="skip the annotated video")
    p.add_argument("--no-blur", action="store_true", help="keep faces unblurred in stills and video")
    p.add_argument("--force", action="store_true", help="replace an existing output folder gaitlab wrote")
    p.add_argument("--jobs", type=int, default=1,
                   help="clips analysed at the same time in a batch (several videos or a folder; default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run a batch's clips on the Dask cluster of this scheduler (tcp://HOST:8786); clips and "
                   "batch folder must be on a path every worker shares (docs/scale.md)")
    p.add_argument("--retry-failed", action="store_true",
                   help="in a batch folder analysed before, also retry the clips that failed on their input")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("validate", help="compare with ground truth: a folder of NAME.mp4 + NAME.truth.json")
    p.add_argument("folder")
    p.add_argument("--model")
    p.add_argument("--plots", metavar="DIR", help="also save truth-vs-gaitlab obliquity plots here")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("demo", help="analyse the bundled sample clip")
    p.add_argument("-o", "--output", default="demo_gaitlab", help="output folder (default: demo_gaitlab)")
    p.add_argument("--force", action="store_true", help="replace an existing gaitlab output folder (an "
                   "earlier demo output is replaced anyway)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("app", help="the local web app: record or upload, progress, reports, history")
    p.add_argument("--data", help="data folder (default: $XDG_DATA_HOME/gaitlab or ~/.local/share/gaitlab)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; any but loopback needs a token")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=1, help="analyses run at the same time")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--token", help="access token (generated when listening beyond this computer)")
    p.set_defaults(func=cmd_app)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so temporary output is removed


def main(argv: list[str] | None = None) -> int:
    """Run the command line (argv: sys.argv[1:] when None). Returns the exit code: 0 done, 2 bad input or usage
    (a GaitlabError, or a full disk: one line on stderr), 1 an internal error, 130 interrupted (Ctrl-C or
    SIGTERM). With --debug, errors other than an interruption propagate with their traceback."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
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
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:  # the user can free space: not an internal error
            _say(f"gaitlab: not enough disk space{f' to write {exc.filename}' if exc.filename else ''}: free some "
                 "space and run again")
            return 2
        _say(f"gaitlab: internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
