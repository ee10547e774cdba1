"""`gaitlab app` on stored sessions, without analysing anything: the comparison of two sessions by their 95%
intervals, the trend plot's error bars, the one-page progress PDF, the kept-clip setting, editing a session whose
clip was not kept, editing a person (what it queues, not the analyses), plurals, and a data folder from before
sessions had notes (its schema is upgraded)."""
import base64
import json
import re
import shutil
import sqlite3
import subprocess

import pytest
from starlette.testclient import TestClient

from gaitlab.app import db, pages
from gaitlab.app.server import create_app
from gaitlab.core.result import SMALLEST_DETECTABLE_DIFFERENCE_DEG as SDD
from tests.test_app import BASE, add_person, csrf_of

OPTIONS = {"threshold_deg": 5.0, "view": "auto", "blur_faces": True, "annotated_video": False}


def side(mean: float, half: float | None, steps: int = 10, threshold: float = 5.0) -> dict:
    """One side of a summary.json: a mean drop with a 95% interval of ± `half` (None: no interval)."""
    ci = None if half is None else [mean - half, mean + half]
    cls = "cannot_tell" if ci is None else "above" if ci[0] > threshold else "not_above" if ci[1] <= threshold \
        else "cannot_tell"
    return {"measurable": True, "mean_drop_deg": mean, "mean_drop_ci95_deg": ci, "steps": steps,
            "flagged": cls == "above", "verdict_class": cls, "verdict": "Left-leg stance: some words"}


def session(left: dict, right: dict, day: str = "2025-01-01") -> dict:
    return {"session_date": day, "threshold_deg": 5.0, "sides": {"left": left, "right": right}}


def stored(data, pid: int, sid: str, day: str, left: dict, right: dict, note: str = "") -> None:
    """A finished session in the database, as a job would leave it (without its output folder)."""
    with db.connect(data) as con:
        db.add_job(con, sid, pid, "walk.mp4", day, "upload", OPTIONS, note=note)
        db.add_session(con, db.job(con, sid), {
            "view": "posterior", "activity": "walk", "threshold_deg": 5.0, "sides": {"left": left, "right": right},
            "side_difference": None, "warnings": [], "gaitlab_version": "test", "subject": db.person(con, pid)["label"]})
        db.end_job(con, sid, "done")


@pytest.fixture
def app(tmp_path, pose_model):
    with TestClient(create_app(tmp_path, pose_model), base_url=BASE) as client:
        yield client, tmp_path


# ---- comparing two sessions -----------------------------------------------------------------------------

def test_a_change_is_real_only_when_its_interval_excludes_zero_and_it_exceeds_the_sdd():
    """Before: any change over 2.7° was called real, however wide the two sessions' intervals."""
    before = session(side(8.0, 0.5), side(8.0, 0.5))
    after = session(side(4.0, 0.5), side(4.0, 4.5), "2025-03-01")  # left: narrow, right: wide
    left, right = pages.compare(before, after)
    assert left["words"].startswith("a real change: less drop") and left["cls"] == "ok"
    assert right["words"].startswith("within the uncertainty (its 95% interval includes zero)")
    assert right["cls"] == "none" and right["change"] == "-4.0°"
    low, high = pages.change_interval(before["sides"]["right"], after["sides"]["right"])
    assert (low, high) == pytest.approx((-4.0 - (0.5**2 + 4.5**2) ** 0.5, -4.0 + (0.5**2 + 4.5**2) ** 0.5))
    assert low < 0 < high and right["change_ci"] == f"{low:+.1f} to {high:+.1f}"


def test_a_change_under_the_sdd_or_without_intervals_is_within_the_uncertainty():
    small = SDD - 0.3  # its interval excludes zero, but it is under the smallest detectable difference
    rows = pages.compare(session(side(5.0, 0.2), side(5.0, None)),
                         session(side(5.0 + small, 0.2), side(9.0, 0.2), "2025-03-01"))
    assert rows[0]["words"] == f"within the uncertainty (it is under {SDD:g}°): no real change can be claimed"
    assert rows[1]["words"].startswith("within the uncertainty: one of the sessions has no 95% interval")
    assert rows[0]["before"] == "5.0° (4.8 to 5.2)" and rows[1]["before"] == "5.0°"


def test_trend_plot_draws_each_sides_95_percent_interval():
    sessions = [session(side(6.0, 1.0), side(3.0, 0.5), "2025-01-01"),
                session(side(5.0, 1.5), side(3.5, None), "2025-02-01"),
                session(side(4.0, 0.8), side(3.2, 0.6), "2025-03-01")]
    svg = base64.b64decode(pages.trend_plot(sessions).split(",", 1)[1]).decode()
    for name, bars in (("left", 3), ("right", 2)):  # a session without an interval has no bar
        group = re.search(rf'<g id="ci-{name}">(.*?)</g>', svg, re.S).group(1)
        segments = [m for m in re.findall(r'd="M ([-\d.]+) ([-\d.]+)\s*L ([-\d.]+) ([-\d.]+)', group)
                    if m[1] != m[3]]  # vertical segments with a length
        assert len(segments) == bars, group[:400]


def test_compare_page_shows_intervals_and_says_within_the_uncertainty(app):
    c, data = app
    pid = add_person(c, "P-cmp")
    stored(data, pid, "a1", "2025-01-10", side(8.0, 0.5), side(8.0, 0.5))
    stored(data, pid, "b1", "2025-03-10", side(4.0, 0.5), side(4.0, 4.5))
    html = c.get(f"/people/{pid}/compare", params={"a": "b1", "b": "a1"}).text
    assert "8.0° (7.5 to 8.5)" in html and "4.0° (-0.5 to 8.5)" in html and "95%: -4.7 to -3.3" in html
    assert html.count("a real change:") == 1 and html.count("within the uncertainty (") == 1


# ---- the progress PDF ------------------------------------------------------------------------------------

def pdf_pages_and_text(pdf: bytes, tmp_path) -> tuple[int, str]:
    if not (shutil.which("pdfinfo") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils (pdfinfo, pdftotext) is not installed")
    path = tmp_path / "progress.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1)), text


def test_progress_pdf_is_one_page_even_with_many_sessions_and_long_notes(app, tmp_path):
    c, data = app
    pid = add_person(c, "P-prog", "right hip OA, runner " * 90)  # a long note of the person, too
    for i in range(25):
        stored(data, pid, f"s{i:02d}", f"2025-{1 + i // 28:02d}-{1 + i % 28:02d}", side(7 - 0.2 * i, 1.1),
               side(3 + 0.1 * i, 0.9, steps=5), note=f"after {i} weeks of strengthening; " * (1 + i % 5))
    assert f'href="/people/{pid}/progress.pdf"' in c.get(f"/people/{pid}").text
    r = c.get(f"/people/{pid}/progress.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "gaitlab_progress_P-prog.pdf" in r.headers["content-disposition"]
    count, text = pdf_pages_and_text(r.content, tmp_path)
    assert count == 1
    assert "Smallest detectable difference: 2.7°" in text and "25 sessions, 2025-01-01 to 2025-01-25" in text
    assert "2025-01-25" in text and "2.2° ± 1.1°" in text and "after 24 weeks of strengthening" in text
    assert "The 13 earlier sessions are in the plot" in text
    assert not list((data / "tmp").iterdir())  # the PDF is removed once sent


def test_progress_pdf_of_one_session_and_of_none(app, tmp_path):
    c, data = app
    pid = add_person(c, "P-one")
    assert c.get(f"/people/{pid}/progress.pdf").status_code == 404
    stored(data, pid, "only", "2025-05-02", side(6.5, 1.0), side(2.0, 0.7), note="before physio")
    count, text = pdf_pages_and_text(c.get(f"/people/{pid}/progress.pdf").content, tmp_path)
    assert count == 1 and "1 session, 2025-05-02 ·" in text and "before physio" in text
    assert "above 5°: Trendelenburg sign" in text and "earlier session" not in text


# ---- plurals, the kept-clip setting, editing without a kept clip -----------------------------------------

def test_counts_are_worded_in_the_singular_and_plural(app):
    c, data = app
    pid = add_person(c, "P-plural")
    stored(data, pid, "one", "2025-01-10", side(3.0, 1.0), side(3.0, 1.0))
    html = c.get(f"/people/{pid}").text
    assert "(1 session)" in html and "with its session and their files?" in html
    assert "1 sessions" not in html and "all 1 " not in html
    stored(data, pid, "two", "2025-02-10", side(3.0, 1.0), side(3.0, 1.0))
    html = c.get(f"/people/{pid}").text
    assert "(2 sessions)" in html and "with all 2 sessions and their files?" in html


def test_clips_are_kept_by_default_and_the_setting_can_be_turned_off(app):
    c, data = app
    pid = add_person(c, "P-set")
    page = c.get("/settings").text
    assert re.search(r'name="keep_clips" checked', page) and "No clip is kept." in page
    assert "The clip is kept in the data folder" in c.get(f"/people/{pid}/new").text
    assert c.post("/settings", data={"csrf": "forged"}).status_code == 403
    r = c.post("/settings", data={"csrf": csrf_of(c)}, follow_redirects=False)  # the box unticked
    assert r.status_code == 303
    assert not re.search(r'name="keep_clips" checked', c.get("/settings").text)
    assert "The clip is deleted once analysed" in c.get(f"/people/{pid}/new").text
    c.post("/settings", data={"csrf": csrf_of(c), "keep_clips": "on"})
    assert re.search(r'name="keep_clips" checked', c.get("/settings").text)


def test_kept_clips_disk_space_is_shown_per_session_and_in_total(app):
    c, data = app
    pid = add_person(c, "P-disk")
    stored(data, pid, "kept", "2025-01-10", side(3.0, 1.0), side(3.0, 1.0))
    stored(data, pid, "gone", "2025-02-10", side(3.0, 1.0), side(3.0, 1.0))
    (data / "clips" / "kept").mkdir()
    (data / "clips" / "kept" / "walk.mp4").write_bytes(b"\0" * 2_500_000)
    html = c.get(f"/people/{pid}").text
    assert "clip kept: 2.5 MB" in html and "clip not kept" in html
    assert "Kept clips of P-disk: 2.5 MB on disk (1 session of 2)" in html
    page = c.get("/settings").text
    assert "Kept clips: 2.5 MB on disk" in page and 'href="/sessions/kept"' in page and "1 clip kept." in page
    session = c.get("/sessions/kept").text
    assert "(2.5 MB)" in session and 'name="view"' in session and "/files/walk.mp4" not in session
    assert c.get("/sessions/kept/files/walk.mp4").status_code == 404  # never served: the face is not blurred
    assert c.post("/sessions/kept/clip/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303
    assert not (data / "clips" / "kept").exists() and "Kept clips: 0 bytes on disk" in c.get("/settings").text


def test_editing_a_session_whose_clip_was_not_kept_corrects_only_date_and_note(app):
    c, data = app
    pid = add_person(c, "P-edit", "right hip OA")
    stored(data, pid, "old", "2025-01-10", side(3.0, 1.0), side(3.0, 1.0))
    page = c.get("/sessions/old").text
    assert "The clip was not kept: view and threshold cannot be changed." in page
    assert 'name="threshold"' in page and 'type="number" name="threshold"' not in page  # not editable
    token = csrf_of(c)
    form = {"csrf": token, "date": "2025-01-12", "view": "auto", "threshold": "5.0", "note": "after 6 weeks"}
    r = c.post("/sessions/old/edit", data={**form, "threshold": "4"})
    assert r.status_code == 400 and "The clip was not kept: view and threshold cannot be changed" in r.text
    r = c.post("/sessions/old/edit", data={**form, "view": "anterior"})
    assert r.status_code == 400
    for bad in ({"date": "2025-13-01"}, {"threshold": "50"}, {"view": "sideways"}, {"note": "a\x00b"},
                {"note": "x" * 2000}, {"csrf": "forged"}):  # x * 2000: too long with the person's note
        assert c.post("/sessions/old/edit", data={**form, **bad}).status_code in (400, 403), bad
    assert c.post("/sessions/nope/edit", data=form).status_code == 404
    r = c.post("/sessions/old/edit", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sessions/old"
    page = c.get("/sessions/old").text
    assert "P-edit · 2025-01-12" in page and "after 6 weeks" in page
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1  # nothing re-analysed
        assert con.execute("SELECT session_date FROM jobs WHERE id = 'old'").fetchone()[0] == "2025-01-12"


# ---- editing a person ------------------------------------------------------------------------------------

def edit_person(client, pid: int, **fields):
    form = {"csrf": csrf_of(client), "label": "P-ren", "note": "right hip OA", **fields}
    return client.post(f"/people/{pid}/edit", data=form, follow_redirects=False)


def test_editing_a_person_refuses_bad_labels_and_notes_and_changes_nothing(app):
    c, data = app
    pid = add_person(c, "P-ren", "right hip OA")
    add_person(c, "P-other")
    stored(data, pid, "s1", "2025-01-10", side(3.0, 1.0), side(3.0, 1.0), note="n" * 1980)
    refusals = [({"label": ""}, "a label of 1 to 80 printable characters"),
                ({"label": "   "}, "a label of 1 to 80"), ({"label": "P\x00014"}, "a label of 1 to 80"),
                ({"label": "P-0\t14"}, "a label of 1 to 80"), ({"label": "P-\u202e41"}, "a label of 1 to 80"),
                ({"label": "P" * 81}, "a label of 1 to 80"), ({"label": "p-OTHER"}, "already a person labelled"),
                ({"note": "a\x1bb"}, "control characters are not"), ({"note": "x" * 2001}, "at most 2000"),
                ({"note": "x" * 20}, "with the note of one of their sessions")]  # 20 + 1 + 1980 > 2000
    for bad, words in refusals:
        r = edit_person(c, pid, **bad)
        assert r.status_code == 400 and words in r.text, bad
    # without the form's secret: the refusal every form gives
    add_refusal = c.post("/people", data={"label": "P-x"})
    for form in ({"label": "P-x"}, {"csrf": "forged", "label": "P-x"}):
        r = c.post(f"/people/{pid}/edit", data=form)
        assert (r.status_code, r.text) == (403, add_refusal.text) and add_refusal.status_code == 403
    assert edit_person(c, 9999).status_code == 404
    assert "<h1>P-ren</h1>" in c.get(f"/people/{pid}").text
    with db.connect(data) as con:
        assert (db.person(con, pid)["label"], db.person(con, pid)["note"]) == ("P-ren", "right hip OA")
        assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1


def test_renaming_a_person_without_kept_clips_changes_the_pages_not_the_reports(app, tmp_path):
    c, data = app
    pid = add_person(c, "P-ren", "right hip OA")
    stored(data, pid, "s1", "2025-01-10", side(6.5, 1.0), side(3.0, 1.0), note="before physio")
    page = c.get(f"/people/{pid}").text
    assert 'action="/people/%d/edit"' % pid in page and "(0 of 1)" in page and "The others keep the label" in page
    assert edit_person(c, pid, label="p-REN").status_code == 303  # its own label, in other letters: not taken
    assert edit_person(c, pid, label="P-015", note="right hip OA, runner").headers["location"] == f"/people/{pid}"
    page = c.get(f"/people/{pid}").text
    assert "<h1>P-015</h1>" in page and "right hip OA, runner" in page and "being analysed again" not in page
    assert "report made under the label P-ren</span>" in page  # what its summary.json says (stored())
    assert "The report was made under the label P-ren." in c.get("/sessions/s1").text
    count, text = pdf_pages_and_text(c.get(f"/people/{pid}/progress.pdf").content, tmp_path)
    assert "Pelvic drop progress – P-015" in text and "right hip OA, runner" in text and "P-ren" not in text
    with db.connect(data) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1  # nothing to analyse again
    assert "P-015" in c.get("/", params={"q": "P-015"}).text


def test_renaming_a_person_queues_one_re_analysis_per_kept_clip_with_its_own_settings(tmp_path, pose_model):
    """A re-analysis still queued reads the new label when it starts; one already running started with the old,
    and another follows it with the settings it was given."""
    c = TestClient(create_app(tmp_path, pose_model), base_url=BASE)  # no lifespan: the runner never starts jobs
    pid = add_person(c, "P-ren")
    for sid in ("plain", "queued", "running", "unkept"):
        stored(tmp_path, pid, sid, "2025-01-10", side(3.0, 1.0), side(3.0, 1.0), note=f"{sid} note")
        if sid != "unkept":
            (tmp_path / "clips" / sid).mkdir()
            (tmp_path / "clips" / sid / "walk.mp4").write_bytes(b"a kept clip")
    with db.connect(tmp_path) as con:
        for sid in ("queued", "running"):
            db.add_job(con, f"redo-{sid}", pid, "walk.mp4", "2025-02-02", "upload",
                       {**OPTIONS, "threshold_deg": 3.5}, note="corrected", redo_of=sid)
        db.start_job(con, "redo-running", 999_999)
    assert edit_person(c, pid, label="P-ren", note="").status_code == 303  # no change: every report is up to date
    with db.connect(tmp_path) as con:
        assert db.redo_jobs_of(con, "plain") == []
    assert edit_person(c, pid, label="P-016").status_code == 303
    with db.connect(tmp_path) as con:
        jobs = {sid: [dict(j) for j in db.redo_jobs_of(con, sid)] for sid in ("plain", "queued", "running", "unkept")}
    assert [len(v) for v in jobs.values()] == [1, 1, 2, 0]
    plain, follow = jobs["plain"][0], jobs["running"][1]
    assert (plain["state"], plain["session_date"], plain["note"], json.loads(plain["options"])) == \
           ("queued", "2025-01-10", "plain note", OPTIONS)
    assert (follow["state"], follow["session_date"], follow["note"], json.loads(follow["options"])["threshold_deg"]) \
           == ("queued", "2025-02-02", "corrected", 3.5)
    page = c.get(f"/people/{pid}").text
    assert "3 sessions are being analysed again from their kept clips" in page
    assert page.count("report made under the label P-ren") == 4  # until each report is made again
    # renamed again before any has started: the queued ones will read the newest label, nothing more is queued
    assert edit_person(c, pid, label="P-017").status_code == 303
    with db.connect(tmp_path) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs WHERE redo_of IS NOT NULL").fetchone()[0] == 4


def test_a_data_folder_from_before_kept_clips_is_upgraded(tmp_path, pose_model):
    """A database at schema 2 (no session notes, no kept clips) keeps working after the upgrade."""
    con = sqlite3.connect(tmp_path / db.DB_NAME)
    for number, script in enumerate(db.MIGRATIONS[:2], 1):
        con.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    con.execute("INSERT INTO people (id, label, note, created_at) VALUES (1, 'P-old', '', '2024-01-01')")
    con.execute("INSERT INTO jobs (id, person_id, clip_name, session_date, source, options, state, created_at) "
                "VALUES ('s1', 1, 'walk.mp4', '2024-05-01', 'upload', ?, 'done', '2024-05-01')",
                (json.dumps(OPTIONS),))
    con.execute("INSERT INTO sessions (id, person_id, session_date, created_at, clip_name, source, view, activity, "
                "threshold_deg, sides, side_difference, warnings, gaitlab_version, annotated_video) VALUES ('s1', 1, "
                "'2024-05-01', '2024-05-01', 'walk.mp4', 'upload', 'posterior', 'walk', 5.0, ?, NULL, '[]', 'old', 0)",
                (json.dumps({"left": side(3.0, 1.0), "right": side(6.5, 1.0)}),))
    con.commit()
    con.close()
    with TestClient(create_app(tmp_path, pose_model), base_url=BASE) as c:
        assert "P-old · 2024-05-01" in c.get("/sessions/s1").text
        person = c.get("/people/1").text
        assert "(1 session)" in person and "report made under the label" not in person
        assert c.get("/people/1/progress.pdf").status_code == 200
    with sqlite3.connect(tmp_path / db.DB_NAME) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
        assert con.execute("SELECT note, keep_clip, redo_of FROM jobs").fetchone() == ("", 0, None)
        # the label its report was made with: the person's, since nobody could be renamed
        assert con.execute("SELECT report_label FROM sessions").fetchone()[0] == "P-old"
