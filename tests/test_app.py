"""`gaitlab app` in process: every route, the bad inputs of issue 11, worker crashes and restarts.

Analyses run for real (MediaPipe in worker processes) on short, small clips. The track cache points at a
temporary folder so a job really tracks frames (the crash test kills a worker midway through them).
"""
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.testclient import TestClient

from gaitlab.app import db
from gaitlab.app.jobs import ORPHANED
from gaitlab.app.pages import sentence
from gaitlab.app.server import bind, create_app
from gaitlab.cli import main
from gaitlab.errors import GaitlabError
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
WALK = SAMPLES / "sample_walk_post_short.mp4"
BASE = "http://127.0.0.1:8765"  # a loopback Host, as a browser on this computer sends


# ---- helpers (also used by test_app_browser.py) ---------------------------------------------------------

def csrf_of(client) -> str:
    return re.search(r'name="csrf" content="([^"]+)"', client.get("/").text).group(1)


def add_person(client, label: str, note: str = "") -> int:
    r = client.post("/people", data={"csrf": csrf_of(client), "label": label, "note": note},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def upload(client, pid: int, body, name: str = "walk.mp4", csrf: str | None = None, **params):
    params = {"name": name, "video": "0", **params}
    return client.post(f"/people/{pid}/uploads", params=params, content=body,
                       headers={"X-CSRF-Token": csrf if csrf is not None else csrf_of(client)})


def wait_job(client, job_id: str, timeout: float = 180) -> dict:
    """Follow the job's server-sent events until it has ended; the last status."""
    last = {}
    deadline = time.time() + timeout
    with client.stream("GET", f"/jobs/{job_id}/events", timeout=timeout) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                last = json.loads(line[6:])
            assert time.time() < deadline, f"job {job_id} did not end: {last}"
    return last


def analysed(client, pid: int, clip, **params) -> str:
    r = upload(client, pid, clip.read_bytes(), clip.name, **params)
    assert r.status_code == 201, r.text
    status = wait_job(client, r.json()["job"])
    assert status["state"] == "done", status
    return r.json()["job"]


@contextmanager
def live_server(app):
    """The app served by uvicorn in a thread, on a free loopback port: its base URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)


def session_files(data_dir, sid):
    return sorted(p.name for p in (data_dir / "sessions" / sid).iterdir())


# ---- one data folder with a person and two finished sessions --------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory, clips, pose_model):
    data = tmp_path_factory.mktemp("data")
    with TestClient(create_app(data, pose_model), base_url=BASE) as client:
        pid = add_person(client, "P-001", "right hip pain")
        first = analysed(client, pid, clips["short"], date="2025-01-10", video="1")
        second = analysed(client, pid, clips["short"], date="2025-03-10", threshold="4")
        yield {"client": client, "data": data, "pid": pid, "sessions": (first, second)}


def test_session_page_shows_verdicts_video_report_and_files(lab):
    c, (first, _) = lab["client"], lab["sessions"]
    html = c.get(f"/sessions/{first}").text
    summary = c.get(f"/sessions/{first}/files/summary.json").json()
    for side in ("left", "right"):
        assert sentence(summary["sides"][side]["verdict"]) in html and f"{side.capitalize()}-leg stance" in html
    assert f'src="/sessions/{first}/files/annotated.mp4"' in html and 'id="report"' in html
    assert c.get(f"/sessions/{first}/files/report.pdf").content[:5] == b"%PDF-"
    assert c.get(f"/sessions/{first}/files/steps.csv").text.startswith("stance_side,")
    assert c.get(f"/sessions/{first}/files/annotated.mp4", headers={"Range": "bytes=0-99"}).status_code == 206
    assert "<h1>Pelvic drop" in c.get(f"/sessions/{first}/files/report.html").text
    for bad in ("secret.txt", "..%2F..%2Fgaitlab.sqlite3", "%2E%2E"):
        assert c.get(f"/sessions/{first}/files/{bad}").status_code == 404
    assert c.get("/sessions/nope").status_code == 404
    assert c.get(f"/jobs/{first}", follow_redirects=False).headers["location"] == f"/sessions/{first}"
    # the clip is kept for a re-analysis (by default), outside the session's files: its faces are not blurred
    assert not list((lab["data"] / "uploads").iterdir())
    assert [p.name for p in (lab["data"] / "clips" / first).iterdir()] == ["walk short.mp4"]
    assert c.get(f"/sessions/{first}/files/walk%20short.mp4").status_code == 404
    assert "annotated.mp4" in session_files(lab["data"], first)
    assert "annotated.mp4" not in session_files(lab["data"], lab["sessions"][1])


def test_session_report_names_the_person_and_the_session_date(lab):
    """Before: an app session's report.html and report.pdf held neither the person's label nor the session
    date, only the time the report was made."""
    c, (first, second) = lab["client"], lab["sessions"]
    for sid, day in ((first, "2025-01-10"), (second, "2025-03-10")):
        summary = c.get(f"/sessions/{sid}/files/summary.json").json()
        assert (summary["subject"], summary["session_date"], summary["session_date_source"], summary["note"]) == \
               ("P-001", day, "given", "right hip pain")
        html = c.get(f"/sessions/{sid}/files/report.html").text
        assert '<dd class="subject">P-001</dd>' in html and f'<dd class="session-date">{day}</dd>' in html
        assert "right hip pain" in html and f"<title>Pelvic drop report – P-001 – {day} – " in html


def test_verdicts_match_the_cli_on_the_same_clip(lab, clips, pose_model, tmp_path):
    out = tmp_path / "cli"
    assert main(["analyze", str(clips["short"]), "-o", str(out), "--no-video", "--model", str(pose_model.path)]) == 0
    cli = json.loads((out / "summary.json").read_text())["sides"]
    app = lab["client"].get(f"/sessions/{lab['sessions'][0]}/files/summary.json").json()["sides"]
    for side in ("left", "right"):
        assert (app[side]["flagged"], app[side]["measurable"], app[side]["steps"]) == \
               (cli[side]["flagged"], cli[side]["measurable"], cli[side]["steps"])
        assert app[side]["mean_drop_deg"] == pytest.approx(cli[side]["mean_drop_deg"], abs=1e-6)


def test_a_filmed_choice_the_clip_contradicts_is_analysed_as_detected_and_shown(lab, clips):
    """Before: 'Filmed: from the front' on a clip filmed from behind swapped the sides' verdicts silently."""
    c = lab["client"]
    sid = analysed(c, lab["pid"], clips["short"], date="2025-02-10", view="anterior")
    assert c.get(f"/sessions/{sid}/files/summary.json").json()["view"] == "posterior"
    assert "You chose: from the front; detected: from behind — analysed as from behind." in c.get(f"/sessions/{sid}").text
    kept = analysed(c, lab["pid"], clips["short"], date="2025-02-11", view="posterior")
    assert "You chose" not in c.get(f"/sessions/{kept}").text
    for s in (sid, kept):
        # the other tests count this person's sessions
        assert c.post(f"/sessions/{s}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303


def test_person_page_history_trend_and_compare(lab):
    c, pid, (first, second) = lab["client"], lab["pid"], lab["sessions"]
    html = c.get(f"/people/{pid}").text
    assert "P-001" in html and "right hip pain" in html
    assert html.count('href="/sessions/') >= 4 and "2025-01-10" in html and "2025-03-10" in html
    assert 'src="data:image/svg+xml;base64,' in html and "2.7°" in html
    page = c.get(f"/people/{pid}/compare", params={"a": second, "b": first}).text
    assert page.index("2025-01-10") < page.index("2025-03-10")  # earlier session first, whatever the order
    # one row a side: a change where both sessions have a verdict on it (this 2.5-s clip may find one step of a
    # side only: no verdict, MIN_STEPS_FOR_VERDICT), else that it cannot be compared
    both = [all(c.get(f"/sessions/{sid}/files/summary.json").json()["sides"][side]["measurable"]
                for sid in (first, second)) for side in ("left", "right")]
    assert page.count("no real change can be claimed") + page.count("a real change:") == sum(both)
    assert page.count("cannot be compared") == 2 - sum(both)
    for sid in (first, second):  # each session's 95% interval, per side
        for v in c.get(f"/sessions/{sid}/files/summary.json").json()["sides"].values():
            if v["mean_drop_ci95_deg"]:
                assert f"({v['mean_drop_ci95_deg'][0]:.1f} to {v['mean_drop_ci95_deg'][1]:.1f})" in page
    assert "different thresholds" in page
    assert c.get(f"/people/{pid}/compare", params={"a": first, "b": first}).status_code == 400
    other = add_person(c, "P-compare")
    assert c.get(f"/people/{other}/compare", params={"a": first, "b": second}).status_code == 404
    assert c.get("/people/9999").status_code == 404


def test_people_list_search_and_escaping(lab):
    c = lab["client"]
    add_person(c, "<b>P-7</b>", "note with 100% <i>tags</i>")
    html = c.get("/").text
    assert "&lt;b&gt;P-7&lt;/b&gt;" in html and "<b>P-7" not in html and "<i>tags" not in html
    assert "P-001" in c.get("/", params={"q": "hip"}).text  # notes are searched too
    literal = c.get("/", params={"q": "%"}).text  # % is a literal, not a wildcard
    assert "P-7" in literal and "P-001" not in literal
    assert "Nobody matches" in c.get("/", params={"q": "zzz"}).text


def test_add_person_rejects_bad_input(lab):
    c = lab["client"]
    token = csrf_of(c)
    assert c.post("/people", data={"csrf": token, "label": "  "}).status_code == 400
    r = c.post("/people", data={"csrf": token, "label": "p-001"})  # labels are unique, whatever the case
    assert r.status_code == 400 and "already a person" in r.text
    assert c.post("/people", data={"label": "P-x"}).status_code == 403
    assert c.post("/people", data={"csrf": "forged", "label": "P-x"}).status_code == 403
    assert c.get("/people/1/delete").status_code == 405  # state changes are POST only
    assert "P-x" not in c.get("/").text


def test_bad_uploads_are_refused_and_touch_nothing(lab, clips, pose_model, tmp_path):
    c, pid, data = lab["client"], lab["pid"], lab["data"]
    before = {sid: session_files(data, sid) for sid in lab["sessions"]}
    cases = [
        (upload(c, pid, b"this is not a video at all"), 400, "cannot be read as a video"),
        (upload(c, pid, WALK.read_bytes()[:40_000]), 400, "cannot be read as a video"),  # cut off on disk
        (upload(c, pid, b""), 400, "empty"),
        (upload(c, pid, b"x", threshold="abc"), 400, "threshold"),
        (upload(c, pid, b"x", view="sideways"), 400, "view"),
        (upload(c, pid, b"x", date="14/03/2025"), 400, "date"),
        (upload(c, pid, b"x", csrf="forged"), 403, "reload"),
        (upload(c, 9999, b"x"), 404, "no longer exists"),
    ]
    for r, status, words in cases:
        assert r.status_code == status and words in r.json()["error"], r.text
    # over the size cap: refused from the declared length, and while streaming when none is declared
    small = create_app(tmp_path / "capped", pose_model, max_upload_bytes=20_000)
    with TestClient(small, base_url=BASE) as capped:
        other = add_person(capped, "P-cap")
        r = upload(capped, other, clips["short"].read_bytes())
        assert r.status_code == 413 and "limit" in r.json()["error"]
        r = upload(capped, other, iter([clips["short"].read_bytes()[i:i + 8192] for i in range(0, 30_000, 4096)]))
        assert r.status_code == 413
        assert not list((tmp_path / "capped" / "uploads").iterdir())
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs WHERE state != 'done'").fetchone()[0] == 0
    assert not list((data / "uploads").iterdir())
    assert {sid: session_files(data, sid) for sid in lab["sessions"]} == before
    assert c.get("/").status_code == 200


def test_hostile_file_names_do_nothing_and_are_shown_escaped(lab, clips):
    c, pid, data = lab["client"], lab["pid"], lab["data"]
    for name, stored, shown in (("../../x.mp4", "x.mp4", "x.mp4"), ("<script>.mp4", "<script>.mp4", "&lt;script&gt;.mp4"),
                                ("<img src=x onerror=alert(1)>.mp4", "<img src=x onerror=alert(1)>.mp4",
                                 "&lt;img src=x onerror=alert(1)&gt;.mp4")):
        r = upload(c, pid, clips["short"].read_bytes(), name)
        assert r.status_code == 201, r.text
        job = r.json()["job"]
        assert [p.name for p in (data / "uploads" / job).iterdir()] == [stored]
        html = c.get(f"/jobs/{job}").text
        assert shown in html and "<script>." not in html and "<img src=x" not in html
        # cancelling a queued or running analysis removes it with its files
        assert c.post(f"/jobs/{job}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303
        assert c.get(f"/jobs/{job}").status_code == 404
    assert not (data.parent / "x.mp4").exists() and not (data / "x.mp4").exists()
    deadline = time.time() + 30
    while list((data / "uploads").iterdir()) + [p for p in (data / "sessions").iterdir()
                                                  if p.name not in lab["sessions"]]:
        assert time.time() < deadline, "a cancelled job left files behind"
        time.sleep(0.2)


def test_a_crashing_worker_fails_its_job_only(lab, clips):
    c, pid, data = lab["client"], lab["pid"], lab["data"]
    before = {sid: session_files(data, sid) for sid in lab["sessions"]}
    job = upload(c, pid, clips["long"].read_bytes(), "crash.mp4").json()["job"]
    runner = c.app.app.state.ctx.runner
    deadline = time.time() + 120
    while not (runner.live.get(job) and runner.live[job].frames_done > 5):  # midway through the frames
        assert time.time() < deadline, "the job never started tracking"
        time.sleep(0.05)
    with sqlite3.connect(data / db.DB_NAME) as con:
        pid_of_worker = con.execute("SELECT pid FROM jobs WHERE id = ?", (job,)).fetchone()[0]
    os.kill(pid_of_worker, signal.SIGKILL)
    status = wait_job(c, job)
    assert status["state"] == "failed" and "stopped unexpectedly" in status["error"] and "signal 9" in status["error"]
    assert "stopped unexpectedly" in c.get(f"/jobs/{job}").text
    assert "crash.mp4" in c.get(f"/people/{pid}").text  # the failure is listed, with its reason
    assert not (data / "uploads" / job).exists() and not (data / "sessions" / job).exists()
    assert {sid: session_files(data, sid) for sid in lab["sessions"]} == before
    assert c.post(f"/jobs/{job}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303


def test_export_zip_holds_the_record_and_every_session(lab):
    c, pid, (first, second) = lab["client"], lab["pid"], lab["sessions"]
    r = c.get(f"/people/{pid}/export.zip")
    assert r.status_code == 200 and "gaitlab_P-001.zip" in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    record = json.loads(z.read("person.json"))
    assert record["label"] == "P-001" and [s["id"] for s in record["sessions"]] == [first, second]
    names = z.namelist()
    assert f"2025-01-10_{first}/annotated.mp4" in names and f"2025-03-10_{second}/report.pdf" in names
    assert not list((lab["data"] / "tmp").iterdir())  # the zip is removed once sent


def test_pages_have_security_headers_and_static_files(lab):
    c = lab["client"]
    r = c.get("/static/app.js")
    assert r.status_code == 200 and "EventSource" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "/static/app.css" in c.get(f"/people/{lab['pid']}/new").text
    assert c.get("/jobs/nope").status_code == 404


def test_recorded_webm_without_duration_is_accepted(lab, tmp_path):
    """Browsers write WebM as a live stream, with no duration in its header: gaitlab reads it from the packets."""
    import av

    from gaitlab.tracking.video import iter_frames, probe

    class Pipe(io.RawIOBase):  # not seekable: the muxer writes the file as MediaRecorder does
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, b):
            return self.f.write(b)

    live = tmp_path / "recording.webm"
    with open(live, "wb") as f, av.open(Pipe(f), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for frame in iter_frames(WALK, end_s=1.5):
            small = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24").reformat(320, 180, "yuv420p")
            small.pts = frame.index
            for packet in stream.encode(small):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert probe(live).duration_s == pytest.approx(1.5, abs=0.1)  # read from the packets: no header duration
    r = upload(lab["client"], lab["pid"], live.read_bytes(), live.name, source="camera")
    assert r.status_code == 201, r.text
    stored = next((lab["data"] / "uploads" / r.json()["job"]).iterdir())
    assert probe(stored).duration_s == pytest.approx(1.5, abs=0.1) and probe(stored).codec == "vp8"
    wait_job(lab["client"], r.json()["job"])


def test_delete_session_then_person_removes_their_files(lab):
    c, pid, data, (first, second) = lab["client"], lab["pid"], lab["data"], lab["sessions"]
    token = csrf_of(c)
    assert c.post(f"/sessions/{first}/delete", data={"csrf": "forged"}).status_code == 403
    assert (data / "sessions" / first).is_dir()
    r = c.post(f"/sessions/{first}/delete", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/people/{pid}"
    assert not (data / "sessions" / first).exists() and c.get(f"/sessions/{first}").status_code == 404
    assert not (data / "clips" / first).exists() and (data / "clips" / second).is_dir()
    assert c.get(f"/sessions/{second}").status_code == 200
    assert c.post(f"/people/{pid}/delete", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert not (data / "sessions" / second).exists() and not (data / "clips" / second).exists()
    assert c.get(f"/people/{pid}").status_code == 404 and "P-001" not in c.get("/").text


# ---- several apps on their own data folders ---------------------------------------------------------------

def test_restart_keeps_sessions_resumes_queued_jobs_and_fails_orphans(tmp_path, clips, pose_model):
    data = tmp_path / "data"
    with TestClient(create_app(data, pose_model), base_url=BASE) as c:
        pid = add_person(c, "P-restart")
        done = analysed(c, pid, clips["short"])
        queued = upload(c, pid, clips["short"].read_bytes(), "second.mp4").json()["job"]
    # the app stopped cleanly: the job it had not finished waits in the queue, with its clip
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert con.execute("SELECT state FROM jobs WHERE id = ?", (queued,)).fetchone()[0] == "queued"
        # a job of a server that was killed midway: left 'running' in the database
        con.execute("INSERT INTO jobs (id, person_id, clip_name, session_date, source, options, state, created_at)"
                    " VALUES ('deadbeef', ?, 'killed.mp4', '2025-01-01', 'upload', '{}', 'running', ?)",
                    (pid, db.now()))
    (data / "uploads" / "deadbeef").mkdir()
    (data / "uploads" / "deadbeef" / "killed.mp4").write_bytes(b"partial")
    with TestClient(create_app(data, pose_model), base_url=BASE) as c:
        orphan = c.get("/jobs/deadbeef").text
        assert ORPHANED in orphan
        assert not (data / "uploads" / "deadbeef").exists()
        assert c.get(f"/sessions/{done}").status_code == 200
        assert c.get(f"/sessions/{done}/files/report.pdf").status_code == 200
        assert wait_job(c, queued)["state"] == "done"
        html = c.get(f"/people/{pid}").text
        assert f"/sessions/{done}" in html and f"/sessions/{queued}" in html and "killed.mp4" in html


def test_a_newer_database_is_refused(tmp_path, pose_model):
    create_app(tmp_path, pose_model)
    with sqlite3.connect(tmp_path / db.DB_NAME) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(GaitlabError, match="newer gaitlab"):
        create_app(tmp_path, pose_model)


def test_access_token_and_host_checks(tmp_path, pose_model):
    app = create_app(tmp_path / "open", pose_model, token="s3cret", loopback_only=False)
    c = TestClient(app, base_url="http://192.168.1.20:8765")
    for url in ("/", "/static/app.js", "/?token=wrong", "/people/1"):
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 403 and "access link" in r.text
    r = c.get("/?token=s3cret&q=x", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?q=x" and "httponly" in r.headers["set-cookie"].lower()
    assert c.get("/").status_code == 200  # the cookie now carries the token
    local = TestClient(create_app(tmp_path / "local", pose_model), base_url="http://evil.example:8765")
    assert local.get("/").status_code == 400  # a loopback server answers loopback names only (DNS rebinding)


def test_upload_cut_off_midway_and_two_at_once(tmp_path, clips, pose_model):
    import httpx

    data = tmp_path / "data"
    with live_server(create_app(data, pose_model)) as url, httpx.Client(base_url=url, timeout=60) as c:
        pid = add_person(c, "P-live")
        # a client that goes away after a third of the file
        body = clips["short"].read_bytes()
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as s:
            s.sendall((f"POST /people/{pid}/uploads?name=cut.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"X-CSRF-Token: {csrf_of(c)}\r\nContent-Length: {len(body)}\r\n\r\n").encode())
            s.sendall(body[: len(body) // 3])
        deadline = time.time() + 10
        while list((data / "uploads").iterdir()):
            assert time.time() < deadline, "the cut-off upload was left in the data folder"
            time.sleep(0.1)

        # two tabs uploading at the same moment: both are accepted and both analysed, one after the other
        def slow(chunks=16):
            step = len(body) // chunks + 1
            for i in range(0, len(body), step):
                time.sleep(0.05)
                yield body[i:i + step]

        replies = [None, None]

        def send(i):
            replies[i] = upload(c, pid, slow(), f"tab{i}.mp4")

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in replies] == [201, 201], [r.text for r in replies]
        jobs = [r.json()["job"] for r in replies]
        assert [wait_job(c, j)["state"] for j in jobs] == ["done", "done"]
        html = c.get(f"/people/{pid}").text
        assert "tab0.mp4" in html and "tab1.mp4" in html and "cut.mp4" not in html


def test_gaitlab_app_command_needs_a_token_off_loopback(tmp_path, pose_model):
    import httpx

    env = dict(os.environ, GAITLAB_POSE_MODEL=str(pose_model.path))
    cmd = [sys.executable, "-m", "gaitlab.cli", "app", "--no-browser", "--data", str(tmp_path), "--port", "0"]
    proc = subprocess.Popen([*cmd, "--host", "0.0.0.0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        assert "?token=" in url
        base = url.split("?")[0]
        assert httpx.get(base, timeout=10).status_code == 403
        with httpx.Client(timeout=10, follow_redirects=True) as browser:
            assert "Add a person" in browser.get(url).text
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 2 and "in use by another" in second.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
