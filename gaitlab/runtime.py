"""Speed and housekeeping engineering, in one place: none of it changes a result.

Threads named in the OS (benchmarks/speed.py splits CPU time by them), a prefetching thread for decoded frames,
glibc heap tuning, the C++ runtime's log lines hidden, mediapipe imported without its drawing helpers, and
gaitlab's own child processes (Child, ParentLink, the EXIT_* statuses: one way to start, talk to and end them, for
the job's second process and the batch's clips). Measured effects are in docs/performance.md.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib.machinery
import importlib.util
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, NoReturn, TypeVar

from gaitlab.errors import NO_SPACE, GaitlabError

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


# ---- gaitlab's child processes ------------------------------------------------------------------------------
# A child is `python -m gaitlab...` or `python -c ...` run by this interpreter with child_env(). Its stderr (and its
# stdout, unless it talks) goes to an anonymous temporary file, read once it has ended (output, message); a child
# that talks gets one pickled request on stdin and gives one pickled reply on stdout (send/receive here,
# ParentLink there). It ends with one of these statuses (the CLI reports a full disk as an input error, 2):
EXIT_OK = 0
EXIT_INTERNAL = 1  # an internal error (its message on stderr)
EXIT_INPUT = 2  # a GaitlabError: input or setup the user can fix
EXIT_NO_SPACE = 3  # the disk (or the user's quota) is full


def child_env() -> dict[str, str]:
    """The environment for a `python -m gaitlab...` child process: this one's, with this checkout of gaitlab
    first on PYTHONPATH (so a child runs the same code even when gaitlab is not installed)."""
    root = str(Path(__file__).resolve().parent.parent)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))


class ChildGone(Exception):
    """A talking child ended before taking its request or giving its reply (its exit status says why)."""


class Child:
    """A child process of gaitlab's: `python ARGS` started at once with child_env() (raises OSError if it cannot
    be). talk=True: stdin and stdout are pipes for one request and one reply (send, receive); otherwise stdin is
    this process's and stdout joins stderr. What it prints to stderr is kept for output() and message(). End it
    with close() (never left running); stop_all() ends several at once."""

    def __init__(self, args: list[str], talk: bool = False) -> None:
        self._terminated = False
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE if talk else None,
                                          stdout=subprocess.PIPE if talk else self._log, stderr=self._log,
                                          env=child_env())
        except BaseException:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._proc.pid

    def send(self, request: Any) -> None:
        """Hand a talking child its request (pickled onto its stdin, which is then closed); ChildGone if it has
        ended."""
        try:
            pickle.dump(request, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.close()
        except (OSError, ValueError) as exc:  # a broken pipe, or one closed already
            raise ChildGone(f"the child ended before its request: {exc}") from exc

    def receive(self) -> Any:
        """A talking child's reply (unpickled from its stdout); ChildGone if it ended without one."""
        try:
            return pickle.load(self._proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise ChildGone(f"the child ended without its reply: {exc}") from exc

    def poll(self) -> int | None:
        """The child's exit status (negative: the signal that ended it), or None while it runs."""
        return self._proc.poll()

    def wait(self) -> int:
        """Wait for the child to end; its exit status."""
        return self._proc.wait()

    def output(self) -> str:
        """Everything the child wrote to stderr (and to stdout unless it talks), stripped; read once it has
        ended."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()

    def message(self) -> str:
        """The last line the child wrote (its error, by the convention above), or its exit status if it wrote
        none."""
        lines = self.output().splitlines()
        return lines[-1] if lines else f"exit status {self._proc.returncode}"

    def check(self, what: str) -> None:
        """Wait for the child and raise what its exit status means: GaitlabError (EXIT_INPUT), OSError ENOSPC
        (EXIT_NO_SPACE, for the caller to report like its own full disk), RuntimeError naming `what` (any other
        failure); nothing for EXIT_OK."""
        code = self.wait()
        if code == EXIT_OK:
            return
        message = self.message()
        if code == EXIT_INPUT:
            raise GaitlabError(message)
        if code == EXIT_NO_SPACE:
            raise OSError(errno.ENOSPC, message)
        raise RuntimeError(f"{what}: {message}")

    def terminate(self) -> None:
        """Ask the child to end (SIGTERM, once: a second one could cut short its clean-up) if it still runs,
        without waiting."""
        if not self._terminated and self._proc.poll() is None:
            self._proc.terminate()
            self._terminated = True

    def close(self) -> None:
        """End the child if it still runs (SIGTERM), wait for it, and release its pipes and log. Safe to call
        again."""
        self.terminate()
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass
        self._log.close()


def stop_all(children: Iterable[Child]) -> None:
    """Close several children: all are asked to end first, then each is waited for (so they end together)."""
    children = list(children)
    for child in children:
        child.terminate()
    for child in children:
        child.close()


class ParentLink:
    """The body of a talking Child, its side of the link: made first thing in the child. Ctrl-C is left to the
    parent (which ends this process); one request comes on stdin and one reply goes on stdout, which nothing
    else may write to (what a library prints goes to stderr instead)."""

    def __init__(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._reply = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)

    def request(self) -> Any:
        """The parent's request; raises EOFError if the parent ended the work before sending one."""
        return pickle.load(sys.stdin.buffer)

    def reply(self, value: Any) -> None:
        """Give the parent the reply (once)."""
        pickle.dump(value, self._reply, protocol=pickle.HIGHEST_PROTOCOL)
        self._reply.close()


def exit_on_error(exc: BaseException) -> NoReturn:
    """End a child after `exc` by the exit-status conventions: its message as the last line on stderr, and
    EXIT_INPUT (a GaitlabError), EXIT_NO_SPACE (a full disk) or EXIT_INTERNAL."""
    if isinstance(exc, GaitlabError):
        sys.stderr.write(str(exc))
        sys.exit(EXIT_INPUT)
    sys.stderr.write(f"{type(exc).__name__}: {exc}")
    sys.exit(EXIT_NO_SPACE if isinstance(exc, OSError) and exc.errno in NO_SPACE else EXIT_INTERNAL)
