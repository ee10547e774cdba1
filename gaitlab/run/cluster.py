"""A batch on a Dask cluster (`gaitlab analyze FOLDER --scheduler tcp://HOST:8786`): one task per clip, each
running run_job on a worker, into the batch folder (docs/scale.md).

The clips and the batch folder are named by their absolute paths on this computer, and every worker must see
them at the same paths (a shared file system); the workers need gaitlab installed and, unless --model names a
shared file, the pose model in their own cache (`gaitlab model --fetch`). A task returns how its clip ended
(a clip's error is a result, not a task failure: the same clip would fail the same way again). A worker that
dies midway (killed, out of memory, its machine gone) loses only its clip: the scheduler gives the task to
another worker (up to Dask's distributed.scheduler.allowed-failures, 3 by default), and since run_job builds
the output folder in a temporary one and renames it only when complete, nothing half-written is ever read; the
temporary folder left behind is removed by a later job into the batch folder.

Run workers with one thread each (`dask worker ADDRESS --nthreads 1`): one clip's pose pass uses about two
cores already. Interrupting the batch (Ctrl-C) cancels the clips not started; those running finish on their
workers.
"""
from __future__ import annotations

import functools
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from gaitlab.errors import GaitlabError
from gaitlab.run.batch import ClipOutcome
from gaitlab.run.job import JobOptions, run_job

POLL_S = 0.5  # how often the client looks at its tasks
RUNNING_EVERY_S = 2.0  # how often it asks the scheduler which tasks are running


@functools.lru_cache(maxsize=4)
def _model(path: str | None):
    """The pose model on this worker (resolved and verified once per worker process)."""
    from gaitlab.tracking.model import resolve_model

    return resolve_model(path)


def analyse_clip(video: str, outdir: str, model_path: str | None, options: JobOptions) -> dict:
    """A worker's task: run_job(video -> outdir). Returns status ("ok", "input" for a GaitlabError, "internal"
    for any other error), the one-line message, seconds taken and the worker's host name."""
    start = time.monotonic()
    result = {"status": "ok", "message": "", "worker": socket.gethostname()}
    try:
        run_job(Path(video), Path(outdir), _model(model_path), options)
    except GaitlabError as exc:
        result.update(status="input", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the clip's internal error, reported with the others
        result.update(status="internal", message=f"internal error: {type(exc).__name__}: {exc}")
    result["seconds"] = time.monotonic() - start
    return result


def _outcome(future: Any, video: Path, outdir: Path) -> ClipOutcome:
    """A finished task's ClipOutcome: its result, or, for a task that failed on the cluster (workers killed
    too often, lost, cancelled), an internal error saying so."""
    if future.status == "finished":
        r = future.result()
        return ClipOutcome(video, outdir, r["status"], r["message"], seconds=r.get("seconds"),
                           worker=r.get("worker", ""))
    try:
        exc = future.exception(timeout=5)
        what = f"{type(exc).__name__}: {exc}"
    except Exception as err:  # noqa: BLE001 - cancelled, or the scheduler is gone
        what = f"{type(err).__name__}: {err}".rstrip(": ")
    return ClipOutcome(video, outdir, "internal", f"internal error on the cluster: {what}")


def _running(client: Any, keys: set[str]) -> int:
    """How many of `keys` a worker is processing now (the scheduler says)."""
    try:
        processing = client.processing()
    except Exception:  # noqa: BLE001 - only a progress figure
        return 0
    return sum(1 for tasks in processing.values() for k in tasks if k in keys)


def cluster_runner(address: str | Any, model_path: str | None, options: JobOptions) -> Callable:
    """A Runner (gaitlab.run.batch) sending one task per clip to the Dask scheduler at `address` (or to a
    distributed.Client given instead)."""
    def run(videos: list[Path], outdirs: list[Path], on_outcome: Callable[[ClipOutcome], None],
            on_running: Callable[[int], None]) -> list[ClipOutcome]:
        from distributed import Client

        own = not hasattr(address, "submit")
        try:
            client = Client(address, timeout="30s") if own else address
        except OSError as exc:
            raise GaitlabError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            return _run_tasks(client, videos, outdirs, model_path, options, on_outcome, on_running)
        finally:
            if own:
                client.close()
    return run


def _run_tasks(client: Any, videos: list[Path], outdirs: list[Path], model_path: str | None,
               options: JobOptions, on_outcome: Callable[[ClipOutcome], None],
               on_running: Callable[[int], None]) -> list[ClipOutcome]:
    """Submit a task per clip (absolute paths) and report each as it ends; cancel the rest if interrupted."""
    run_id = uuid.uuid4().hex[:8]
    tasks = {}
    for i, (video, outdir) in enumerate(zip(videos, outdirs)):
        future = client.submit(analyse_clip, str(video.resolve()), str(outdir.resolve()), model_path, options,
                               key=f"gaitlab-{run_id}-{i}-{video.stem[:40]}", pure=False)
        tasks[future] = (video, outdir)
    pending, done = set(tasks), {}
    asked = 0.0
    try:
        while pending:
            finished = [f for f in pending if f.status in ("finished", "error", "cancelled", "lost")]
            for future in finished:
                pending.discard(future)
                done[future] = outcome = _outcome(future, *tasks[future])
                on_outcome(outcome)
            if pending and time.monotonic() - asked > RUNNING_EVERY_S:
                on_running(_running(client, {f.key for f in pending}))
                asked = time.monotonic()
            if pending and not finished:
                time.sleep(POLL_S)
    finally:
        if pending:
            client.cancel(list(pending))
    on_running(0)
    return [done[f] for f in tasks]
