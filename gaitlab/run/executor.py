"""Where a job's analysis and annotated video are made: in this process (InProcess), or in a second process
(ChildProcess) so that both cores work once the pose pass is over. Either gives the same answer; why a second
process, and what it saves, is in docs/performance.md.

The job drives either through the same four calls (Executor): submit() once the clip is tracked, analysis() for
the Analysis, finish() for the annotated video (complete when it returns), and close() in every case (after an
error too: it ends a second process still running).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from gaitlab.core.result import Analysis
from gaitlab.runtime import Child, ChildGone, ParentLink, exit_on_error

if TYPE_CHECKING:
    from gaitlab.tracking.pipeline import TrackedVideo


class Executor(Protocol):
    """What run_job needs of an executor."""

    def submit(self, tracked: TrackedVideo, settings: dict, video: Path, out: Path | None, blur: bool) -> None:
        """Hand over the tracked clip: to analyse with analyze_track(track, info, **settings), then to draw from
        `video` into `out` (None: no annotated video), faces blurred if `blur`."""

    def analysis(self) -> Analysis:
        """The analysis of the submitted track (raises what analyze_track raises)."""

    def finish(self) -> None:
        """The annotated video, written completely (nothing without one)."""

    def close(self) -> None:
        """Release what the executor holds; ends a second process still running. Safe to call again."""


class InProcess:
    """Everything in this process: the analysis when asked for, the annotated video in finish()."""

    def __init__(self) -> None:
        self._tracked: TrackedVideo | None = None  # held until analysed
        self._settings: dict = {}
        self._video: tuple[Path, Path | None, bool] | None = None  # clip, output (None: no video), blur
        self._analysis: Analysis | None = None

    def submit(self, tracked: TrackedVideo, settings: dict, video: Path, out: Path | None, blur: bool) -> None:
        """Keep the tracked clip for analysis() and finish() (see Executor)."""
        self._tracked, self._settings, self._video = tracked, settings, (video, out, blur)

    def analysis(self) -> Analysis:
        """Analyse the submitted track here (once); the track is let go."""
        if self._analysis is None:
            from gaitlab.core.analysis import analyze_track

            self._analysis = analyze_track(self._tracked.track, self._tracked.info, **self._settings)
        self._tracked = None
        return self._analysis

    def finish(self) -> None:
        """Write the annotated video here, if one was asked for."""
        video, out, blur = self._video
        if out is not None:
            from gaitlab.outputs.annotate import write_annotated_video

            write_annotated_video(video, self._analysis, out, blur)

    def close(self) -> None:
        """Nothing to release."""


class ChildProcess(InProcess):
    """The analysis and the annotated video made by a second process (child_main: its own interpreter lock and
    core), which hands the analysis back and writes the video while this one writes the report. Started at once,
    so that its imports overlap the pose pass. A plain subprocess (runtime.Child), not multiprocessing: nothing of
    the caller's __main__ is re-run, and it works from daemon processes too. Where the child cannot be started or
    dies before its answer, it is ended and this executor works as InProcess (the same answer, and the real error
    if the analysis itself fails)."""

    def __init__(self) -> None:
        super().__init__()
        try:
            self._child: Child | None = Child(["-c", "from gaitlab.run.executor import child_main; child_main()"],
                                              talk=True)
        except OSError:
            self._child = None

    def submit(self, tracked: TrackedVideo, settings: dict, video: Path, out: Path | None, blur: bool) -> None:
        """Hand the child the track and the video to write (see Executor)."""
        super().submit(tracked, settings, video, out, blur)
        if self._child is not None:
            try:
                self._child.send((tracked.track, tracked.info, settings, str(video),
                                  None if out is None else str(out), blur))
            except ChildGone:  # it died early: analyse and write the video here
                self.close()

    def analysis(self) -> Analysis:
        """The child's analysis of the submitted track, or, if it has none to give, the one made here."""
        if self._child is not None:
            try:
                self._analysis = self._child.receive()
            except ChildGone:  # it failed: the same work here says why
                self.close()
        return super().analysis()

    def finish(self) -> None:
        """Wait for the child's video (raising what its exit status means: runtime.Child.check), or write it
        here if the child was ended."""
        if self._child is None:
            super().finish()
        else:
            self._child.check("annotated video")

    def close(self) -> None:
        """End the child if it still runs (it writes only into the job's temporary folder, which the caller then
        removes)."""
        if self._child is not None:
            self._child.close()
            self._child = None


@contextlib.contextmanager
def open_executor(second_process: bool) -> Iterator[Executor]:
    """The executor of one job, closed when the block ends (however it ends): a ChildProcess, started now, if
    `second_process` (the job makes an annotated video), else InProcess."""
    executor: Executor = ChildProcess() if second_process else InProcess()
    try:
        yield executor
    finally:
        executor.close()


def child_main() -> None:
    """ChildProcess's child (`python -c`): import the analysis and the video writer while the parent runs the
    pose pass, then take one request: analyse the track, reply with the Analysis, write the video. Exits by the
    runtime's conventions (EXIT_OK also when the parent ended the job before its request)."""
    parent = ParentLink()

    from gaitlab.core.analysis import analyze_track
    from gaitlab.outputs.annotate import write_annotated_video

    try:
        track, info, settings, video, out, blur = parent.request()
    except EOFError:  # the parent ended the job before the analysis
        sys.exit(0)
    try:
        analysis = analyze_track(track, info, **settings)
        del track
        parent.reply(analysis)
        if out is not None:
            write_annotated_video(video, analysis, out, blur)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        exit_on_error(exc)
