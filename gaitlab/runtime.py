"""Speed and housekeeping engineering, in one place: none of it changes a result.

Threads named in the OS (benchmarks/speed.py splits CPU time by them), a prefetching thread for decoded frames,
glibc heap tuning, the C++ runtime's log lines hidden, mediapipe imported without its drawing helpers, and the
environment of gaitlab's own child processes. Measured effects are in docs/performance.md.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.machinery
import importlib.util
import os
import queue
import sys
import threading
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()
PREFETCH_FRAMES = 2  # decoded frames waiting for the landmarker (per span): decoding is ~5x faster than it
HEAP_ARENAS = 2  # glibc malloc arenas for the whole process (see limit_heap_arenas)
_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h
_PR_SET_NAME = 15  # prctl option, from linux/prctl.h


def name_os_thread(name: str) -> None:
    """Name the calling thread in the OS too (top -H, /proc/PID/task: benchmarks/speed.py splits CPU time by
    these names); Python's thread names stay inside Python. A no-op without Linux's prctl."""
    try:
        ctypes.CDLL("libc.so.6").prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def prefetch(items: Iterable[T], depth: int = PREFETCH_FRAMES) -> Iterator[T]:
    """Produce items in a background thread (decoding overlaps inference); errors re-raise here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        name_os_thread("gaitlab-decode")
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, name="gaitlab-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def limit_heap_arenas() -> None:
    """Let glibc keep at most HEAP_ARENAS malloc arenas (default: 8 per core, one per allocating thread):
    each span's decoder, landmarker and pelvis threads would otherwise each keep the frames they freed in an
    arena of their own (more memory at the peak, no speed gained: docs/performance.md). A no-op without glibc."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, HEAP_ARENAS)
    except (OSError, AttributeError):
        pass


def release_freed_memory() -> None:
    """Hand the closed landmarkers' freed heap back to the OS (glibc keeps it otherwise, and the report
    stage would add to it); a no-op where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


_quiet_lock = threading.Lock()
_quiet_depth = 0  # threads inside quiet_native_stderr (the clip's spans start their landmarkers together)
_saved_stderr: int | None = None


@contextlib.contextmanager
def quiet_native_stderr():
    """Hide the C++ runtime's start-up and shut-down log lines (they go straight to fd 2). Safe across
    threads: fd 2 is redirected by the first thread in and restored by the last one out."""
    global _quiet_depth, _saved_stderr
    with _quiet_lock:
        if _quiet_depth == 0:
            try:
                _saved_stderr = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:
                _saved_stderr = None
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _saved_stderr is not None:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None


# mediapipe's vision package imports its drawing helpers, and they import matplotlib.pyplot: ~36 MB more at the
# pose pass's memory peak and ~0.35 s more start-up, for helpers gaitlab never calls. They are loaded lazily
# (importlib's LazyLoader: on their first attribute access, if any).
_LAZY_MEDIAPIPE_MODULES = ("mediapipe.tasks.python.vision.drawing_utils",
                           "mediapipe.tasks.python.vision.drawing_styles")
_import_lock = threading.Lock()  # the spans' threads create their landmarkers at once


class _LazyModules:
    """A meta path finder loading the named modules lazily (and nothing else)."""

    def __init__(self, names: tuple[str, ...]):
        self._names = set(names)

    def find_spec(self, name, path, target=None):
        if name not in self._names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def mediapipe_vision():
    """mediapipe.tasks.python.vision, imported without its drawing helpers' matplotlib (see above)."""
    with _import_lock:
        if "mediapipe" not in sys.modules:
            finder = _LazyModules(_LAZY_MEDIAPIPE_MODULES)
            sys.meta_path.insert(0, finder)
            try:
                import mediapipe  # noqa: F401
            finally:
                sys.meta_path.remove(finder)
    from mediapipe.tasks.python import vision

    return vision


def child_env() -> dict[str, str]:
    """The environment for a `python -m gaitlab...` child process: this one's, with this checkout of gaitlab
    first on PYTHONPATH (so a child runs the same code even when gaitlab is not installed)."""
    root = str(Path(__file__).resolve().parent.parent)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
