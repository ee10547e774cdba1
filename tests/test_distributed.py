"""A batch on a Dask cluster (`gaitlab analyze FOLDER --scheduler ADDRESS`), its catalog (resumable, idempotent)
and its cohort table: a LocalCluster of two worker processes on loopback, small clips, --no-video."""
import csv
import os
import signal
import sqlite3
import threading
import time

import pytest

from gaitlab.cli import main
from gaitlab.run.batch import BatchProgress, progress_line
from gaitlab.run.catalog import CATALOG_NAME, MAX_ATTEMPTS
from tests.clips import derive_clip
from tests.conftest import SAMPLES

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.integration, pytest.mark.distributed]
SAMPLE = SAMPLES / "sample_walk_post_short.mp4"


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory):
    """Three clips (two short walks at 640x360, one broken file), a track cache of the module's own, and a
    LocalCluster of 2 single-threaded worker processes on 127.0.0.1."""
    d = tmp_path_factory.mktemp("dist")
    clips = d / "clips"
    clips.mkdir()
    derive_clip(SAMPLE, clips / "walk a.mp4", 2.5, scale=0.5)
    derive_clip(SAMPLE, clips / "walk b.mp4", 2.2, scale=0.5)
    (clips / "broken.mp4").write_text("not a video")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(d / "cache"))  # the workers inherit it: their own track cache
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address="127.0.0.1:0") as cluster:
            yield {"dir": d, "clips": clips, "address": cluster.scheduler_address, "cluster": cluster}


def _catalog(batch):
    with sqlite3.connect(batch / CATALOG_NAME) as db:
        db.row_factory = sqlite3.Row
        return {r["clip"]: dict(r) for r in db.execute("SELECT * FROM clips")}


def _cohort(batch):
    with open(batch / "cohort.csv", newline="", encoding="utf-8") as f:
        return {row["clip"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def model_path(pose_model):
    return pose_model.path


@pytest.fixture(scope="module")
def first_run(cluster_env, model_path):
    batch = cluster_env["dir"] / "batch"
    start = time.monotonic()
    code = main(["analyze", str(cluster_env["clips"]), "-o", str(batch), "--scheduler", cluster_env["address"],
                 "--no-video", "--model", str(model_path)])
    return batch, code, time.monotonic() - start


def test_a_folder_runs_on_the_cluster_with_a_catalog_and_a_cohort_table(first_run, capsys):
    batch, code, _ = first_run
    assert code == 2  # the broken clip failed on its input; the others were analysed
    for name in ("walk a_gaitlab", "walk b_gaitlab"):
        files = {p.name for p in (batch / name).iterdir()}
        assert {"report.html", "summary.json", "landmarks.c3d", "landmarks.trc"} <= files
    assert not (batch / "broken_gaitlab").exists()
    assert not [p for p in batch.iterdir() if p.name.endswith(".gaitlab-tmp")]
    entries = _catalog(batch)
    assert {k: v["status"] for k, v in entries.items()} == {"walk a.mp4": "done", "walk b.mp4": "done",
                                                            "broken.mp4": "failed"}
    broken = entries["broken.mp4"]
    assert broken["error_kind"] == "input" and "cannot be read as a video" in broken["error"]
    assert all(len(e["sha256"]) == 64 and e["attempts"] == 1 and e["gaitlab_version"] for e in entries.values())
    assert entries["walk a.mp4"]["worker"] and entries["walk a.mp4"]["seconds"] > 0
    cohort = _cohort(batch)
    assert set(cohort) == {"walk a.mp4", "walk b.mp4", "broken.mp4"}
    assert cohort["broken.mp4"]["status"] == "failed" and "cannot be read" in cohort["broken.mp4"]["error"]
    a = cohort["walk a.mp4"]
    assert a["status"] == "done" and a["view"] == "posterior" and a["report"] == "walk a_gaitlab/report.html"
    assert int(a["left_steps"]) + int(a["right_steps"]) >= 1
    assert a["left_verdict"] in {"above", "not_above", "cannot_tell", "no_verdict"}
    html = (batch / "index.html").read_text(encoding="utf-8")
    assert "walk%20a_gaitlab/report.html" in html and "walk%20b_gaitlab/report.html" in html
    assert 'href="cohort.csv"' in html and '<meta name="generator" content="gaitlab">' in html


def test_a_rerun_analyses_nothing(first_run, cluster_env, model_path, capsys):
    batch, _, _ = first_run
    before = {k: v["attempts"] for k, v in _catalog(batch).items()}
    report = batch / "walk a_gaitlab" / "report.html"
    mtime = report.stat().st_mtime_ns
    start = time.monotonic()
    code = main(["analyze", str(cluster_env["clips"]), "-o", str(batch), "--scheduler", cluster_env["address"],
                 "--no-video", "--model", str(model_path)])
    assert code == 2  # the broken clip is still failed (not retried: the same bytes fail the same way)
    out = capsys.readouterr().out
    assert "2 of 3 clips analysed (3 by an earlier run" in out
    assert {k: v["attempts"] for k, v in _catalog(batch).items()} == before
    assert report.stat().st_mtime_ns == mtime
    assert time.monotonic() - start < 10
    assert set(_cohort(batch)) == {"walk a.mp4", "walk b.mp4", "broken.mp4"}


def test_retry_failed_tries_the_broken_clip_again(first_run, cluster_env, model_path):
    batch, _, _ = first_run
    code = main(["analyze", str(cluster_env["clips"]), "-o", str(batch), "--scheduler", cluster_env["address"],
                 "--no-video", "--model", str(model_path), "--retry-failed"])
    assert code == 2
    entries = _catalog(batch)
    assert entries["broken.mp4"]["attempts"] == 2 and entries["walk a.mp4"]["attempts"] == 1


def test_a_worker_killed_midway_loses_nothing_but_time(cluster_env, model_path, tmp_path):
    clips = tmp_path / "one"
    clips.mkdir()
    derive_clip(SAMPLE, clips / "walk c.mp4", 3.0, scale=0.5)  # not in the track cache: a whole pose pass
    batch = tmp_path / "batch"
    client = distributed.Client(cluster_env["address"])
    killed = {}

    def kill_when_midway():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if batch.is_dir() and any(p.name.endswith(".gaitlab-tmp") for p in batch.iterdir()):
                for worker, keys in client.processing().items():
                    if any(str(k).startswith("gaitlab-") for k in keys):
                        pid = client.run(os.getpid, workers=[worker])[worker]
                        os.kill(pid, signal.SIGKILL)
                        killed["pid"] = pid
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_midway)
    killer.start()
    try:
        code = main(["analyze", str(clips), str(cluster_env["clips"] / "walk a.mp4"), "-o", str(batch),
                     "--scheduler", cluster_env["address"], "--no-video", "--model", str(model_path)])
    finally:
        killed.setdefault("done", True)
        killer.join()
        client.close()
    assert "pid" in killed, "no worker was caught midway"
    assert code == 0
    assert (batch / "walk c_gaitlab" / "report.html").is_file()
    assert not [p for p in batch.iterdir() if p.name.endswith(".gaitlab-tmp")]  # the killed attempt's is removed
    entries = _catalog(batch)
    assert entries["walk c.mp4"]["status"] == "done" and entries["walk c.mp4"]["attempts"] == 1  # Dask retried it
    cluster_env["cluster"].wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_progress_line_counts_rate_and_eta():
    assert progress_line(10, 3, 1, 2, 0, 120.0) == "4/10 clips: 3 done, 1 failed, 2 running · 2.0 clips/min · ETA 3 min"
    assert progress_line(10, 0, 0, 2, 0, 5.0).endswith("0.0 clips/min · ETA –")
    assert progress_line(5, 5, 0, 0, 5, 1.0).endswith("ETA –")  # all skipped: no rate


def test_progress_logs_a_line_every_few_clips_when_not_on_a_terminal(tmp_path):
    from pathlib import Path

    from gaitlab.run.batch import ClipOutcome

    with open(tmp_path / "log", "w+") as stream:
        p = BatchProgress(4, stream=stream, log_every=2)
        for status in ("ok", "input", "ok", "ok"):
            p.clip(ClipOutcome(Path("v.mp4"), Path("o"), status))
        stream.seek(0)
        lines = stream.read().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["2/4 clips", "4/4 clips"]
    assert "3 done, 1 failed" in lines[-1]


def test_retry_limit_is_a_named_constant():
    assert MAX_ATTEMPTS >= 2
