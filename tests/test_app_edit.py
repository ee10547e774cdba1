"""`gaitlab app`: a session's kept clip, and editing a session, which analyses that clip again (for real, in a
worker process) with the corrected date, view, threshold and note, and replaces the outputs only on success; renaming
its person, which does the same with the session's own settings."""
import sqlite3

import pytest
from starlette.testclient import TestClient

from gaitlab.app import db
from gaitlab.app.server import create_app
from tests.test_app import BASE, add_person, analysed, csrf_of, session_files, wait_job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory, clips, pose_model):
    data = tmp_path_factory.mktemp("data")
    with TestClient(create_app(data, pose_model), base_url=BASE) as client:
        pid = add_person(client, "P-010", "left hip pain")
        sid = analysed(client, pid, clips["short"], date="2025-01-10")
        yield {"client": client, "data": data, "pid": pid, "sid": sid, "clip": clips["short"]}


def edit(client, sid: str, **fields):
    form = {"csrf": csrf_of(client), "date": "2025-01-10", "view": "auto", "threshold": "5", "note": "", **fields}
    return client.post(f"/sessions/{sid}/edit", data=form, follow_redirects=False)


def test_the_clip_is_kept_and_never_served(lab):
    c, data, sid = lab["client"], lab["data"], lab["sid"]
    kept = data / "clips" / sid / lab["clip"].name
    assert kept.read_bytes() == lab["clip"].read_bytes() and not list((data / "uploads").iterdir())
    page = c.get(f"/sessions/{sid}").text
    assert "is kept in the data folder" in page and "Edit this session" in page
    assert lab["clip"].name not in [n for n in session_files(data, sid)]
    for name in (lab["clip"].name, f"..%2F..%2Fclips%2F{sid}%2Fwalk%20short.mp4"):
        assert c.get(f"/sessions/{sid}/files/{name}").status_code == 404


def test_editing_a_session_analyses_the_kept_clip_again(lab):
    c, data, sid, pid = lab["client"], lab["data"], lab["sid"], lab["pid"]
    r = edit(c, sid, date="2025-01-17", view="posterior", threshold="3.5", note="after 6 weeks of strengthening")
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    redo = r.headers["location"].rsplit("/", 1)[1]
    assert edit(c, sid, threshold="4").status_code == 409  # one re-analysis at a time
    assert "re-analysis of" in c.get(f"/jobs/{redo}").text
    status = wait_job(c, redo)
    assert status["state"] == "done" and status["url"] == f"/sessions/{sid}"
    assert c.get(f"/jobs/{redo}", follow_redirects=False).headers["location"] == f"/sessions/{sid}"
    page = c.get(f"/sessions/{sid}").text
    assert "P-010 · 2025-01-17" in page and "after 6 weeks of strengthening" in page and "threshold 3.5°" in page
    summary = c.get(f"/sessions/{sid}/files/summary.json").json()
    assert (summary["subject"], summary["session_date"], summary["threshold_deg"], summary["note"]) == \
           ("P-010", "2025-01-17", 3.5, "left hip pain\nafter 6 weeks of strengthening")
    assert "after 6 weeks of strengthening" in c.get(f"/sessions/{sid}/files/report.html").text
    # the same session, with its outputs replaced: nothing else left in the data folder
    assert sorted(p.name for p in (data / "sessions").iterdir()) == [sid]
    assert not list((data / "tmp").iterdir()) and (data / "clips" / sid).is_dir()
    assert len(list((data / "tracks").rglob("*.npz"))) == 1  # the pose track was reused, not made again
    person = c.get(f"/people/{pid}").text
    assert "(1 session)" in person and "after 6 weeks of strengthening" in person
    # the session's own job now holds the chosen settings (what the page says was chosen)
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert con.execute("SELECT session_date, note FROM jobs WHERE id = ?", (sid,)).fetchone() == \
               ("2025-01-17", "after 6 weeks of strengthening")


def test_a_failed_re_analysis_leaves_the_session_as_it_was(lab):
    c, data, sid = lab["client"], lab["data"], lab["sid"]
    kept = next((data / "clips" / sid).iterdir())
    good = kept.read_bytes()
    before = (data / "sessions" / sid / "summary.json").read_bytes()
    kept.write_bytes(b"not a video any more")
    try:
        r = edit(c, sid, date="2025-01-17", view="posterior", threshold="6", note="after 6 weeks of strengthening")
        redo = r.headers["location"].rsplit("/", 1)[1]
        status = wait_job(c, redo)
    finally:
        kept.write_bytes(good)
    assert status["state"] == "failed"
    assert (data / "sessions" / sid / "summary.json").read_bytes() == before
    page = c.get(f"/sessions/{sid}").text
    assert "threshold 3.5°" in page and "failed:" in page and "The session kept its earlier results." in page
    r = c.post(f"/jobs/{redo}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False)  # dismissed
    assert r.headers["location"] == f"/sessions/{sid}"
    assert kept.is_file() and "failed:" not in c.get(f"/sessions/{sid}").text


def test_renaming_a_person_remakes_the_reports_of_kept_clips_only(lab):
    c, data, sid, pid = lab["client"], lab["data"], lab["sid"], lab["pid"]
    c.post("/settings", data={"csrf": csrf_of(c)})  # keep clips: off
    unkept = analysed(c, pid, lab["clip"], date="2025-02-01")
    c.post("/settings", data={"csrf": csrf_of(c), "keep_clips": "on"})
    unkept_summary = (data / "sessions" / unkept / "summary.json").read_bytes()
    assert "report made under the label" not in c.get(f"/people/{pid}").text
    r = c.post(f"/people/{pid}/edit", data={"csrf": csrf_of(c), "label": "P-011", "note": "left hip pain, runner"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/people/{pid}"
    with db.connect(data) as con:
        assert [j["redo_of"] for j in db.unfinished_jobs_of(con, pid)] == [sid]  # one job: the kept clip's
        redo = db.unfinished_jobs_of(con, pid)[0]["id"]
    page = c.get(f"/people/{pid}").text
    assert "<h1>P-011</h1>" in page and "1 session is being analysed again from its kept clip" in page
    assert wait_job(c, redo)["state"] == "done"
    # the session's own settings, date and note, under the new label and the person's new note
    summary = c.get(f"/sessions/{sid}/files/summary.json").json()
    assert (summary["subject"], summary["session_date"], summary["threshold_deg"], summary["note"]) == \
           ("P-011", "2025-01-17", 3.5, "left hip pain, runner\nafter 6 weeks of strengthening")
    assert '<dd class="subject">P-011</dd>' in c.get(f"/sessions/{sid}/files/report.html").text
    # without its clip, a session keeps the report it was made with, and both pages say under which label
    assert (data / "sessions" / unkept / "summary.json").read_bytes() == unkept_summary
    assert c.get(f"/sessions/{unkept}/files/summary.json").json()["subject"] == "P-010"
    page = c.get(f"/people/{pid}").text
    assert page.count("report made under the label P-010") == 1 and "being analysed again" not in page
    row = next(r for r in page.split("<tr>") if f'href="/sessions/{unkept}"' in r)
    assert "report made under the label P-010" in row
    assert "The report was made under the label P-010." in c.get(f"/sessions/{unkept}").text
    assert "The report was made under the label" not in c.get(f"/sessions/{sid}").text
    r = c.get(f"/people/{pid}/progress.pdf")
    assert r.status_code == 200 and "gaitlab_progress_P-011.pdf" in r.headers["content-disposition"]


def test_without_keeping_no_clip_stays_and_deleting_removes_kept_clips(lab):
    c, data, pid, sid = lab["client"], lab["data"], lab["pid"], lab["sid"]
    c.post("/settings", data={"csrf": csrf_of(c)})  # keep clips: off
    unkept = analysed(c, pid, lab["clip"], date="2025-02-01")
    c.post("/settings", data={"csrf": csrf_of(c), "keep_clips": "on"})
    assert not (data / "clips" / unkept).exists()
    assert "The clip was not kept: view and threshold cannot be changed." in c.get(f"/sessions/{unkept}").text
    second = analysed(c, pid, lab["clip"], date="2025-02-02")
    assert (data / "clips" / second).is_dir()
    assert c.post(f"/sessions/{sid}/delete", data={"csrf": csrf_of(c)}).status_code == 200
    assert not (data / "clips" / sid).exists() and (data / "clips" / second).is_dir()
    assert c.post(f"/people/{pid}/delete", data={"csrf": csrf_of(c)}).status_code == 200
    assert not list((data / "clips").iterdir()) and not list((data / "sessions").iterdir())
