"""`gaitlab app` against bad input (issue 21): ids out of SQLite's range, free text with control characters,
settings out of range, and uploads that stall midway. Every answer is a plain 400, 404 or 408, never a 500.

No analysis runs here: the app is created (the pose model is only resolved) and fed requests.
"""
import socket
import sqlite3
import time
from datetime import date, timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from gaitlab.app import db
from gaitlab.app.server import create_app
from tests.test_app import BASE, add_person, csrf_of, live_server, upload

HUGE = "9" * 23  # far past SQLite's 64-bit integers
JUST_PAST = str(2**63)  # the first integer SQLite cannot hold
STALL_S = 0.5  # the tests' upload stall timeout (the app's is a minute)


@pytest.fixture
def app(tmp_path, pose_model):
    with TestClient(create_app(tmp_path, pose_model), base_url=BASE, raise_server_exceptions=False) as client:
        yield client, tmp_path, add_person(client, "P-001")


def plain_page(r: httpx.Response, status: int) -> str:
    """The page's text, after checking it is the app's own error page with `status`, not a crash."""
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert "Internal Server Error" not in r.text and "Traceback" not in r.text
    return r.text


def test_ids_past_sqlite_integers_are_not_found(app):
    c, _, pid = app
    token = csrf_of(c)
    for big in (HUGE, JUST_PAST):
        for url in (f"/people/{big}", f"/people/{big}/new", f"/people/{big}/export.zip",
                    f"/people/{big}/compare?a=x&b=y"):
            plain_page(c.get(url), 404)
        plain_page(c.post(f"/people/{big}/delete", data={"csrf": token}), 404)
        r = upload(c, big, b"x")
        assert r.status_code == 404, r.text
        plain_page(c.get(f"/people/{pid}/compare", params={"a": big, "b": big}), 404)
    assert c.get(f"/people/{pid}").status_code == 200  # the person is still there


def test_compare_needs_two_sessions_in_the_query(app):
    c, _, pid = app
    assert "two sessions" in plain_page(c.get(f"/people/{pid}/compare"), 400)
    assert "two sessions" in plain_page(c.get(f"/people/{pid}/compare", params={"a": "x"}), 400)


@pytest.mark.parametrize("label", ["P\x00014", "P-\x07", "P\u202e410", "P\n014", "P\u00a0014", "P\x85014"])
def test_labels_with_control_characters_are_refused(app, label):
    c, data, _ = app
    r = c.post("/people", data={"csrf": csrf_of(c), "label": label})
    assert "printable" in plain_page(r, 400)
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert [row[0] for row in con.execute("SELECT label FROM people")] == ["P-001"]


def test_notes_keep_lines_and_tabs_but_refuse_other_control_characters(app):
    c, data, _ = app
    token = csrf_of(c)
    r = c.post("/people", data={"csrf": token, "label": "P-002", "note": "a\x00b"})
    assert "printable" in plain_page(r, 400)
    pid = add_person(c, "P-003", "right hip OA\r\nruns\t10 km")  # what a browser's textarea sends
    assert "runs\t10 km" in c.get(f"/people/{pid}").text
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert dict(con.execute("SELECT label, note FROM people")) == {"P-001": "",
                                                                       "P-003": "right hip OA\r\nruns\t10 km"}


def test_a_file_posted_as_a_note_is_refused_not_stored_by_its_python_name(app):
    c, data, _ = app
    r = c.post("/people", data={"csrf": csrf_of(c), "label": "P-004"}, files={"note": ("note.txt", b"hip")})
    assert "must be text" in plain_page(r, 400)
    with sqlite3.connect(data / db.DB_NAME) as con:
        assert [row[0] for row in con.execute("SELECT label FROM people")] == ["P-001"]


def test_search_too_long_or_with_control_characters_is_refused(app):
    c, _, _ = app
    plain_page(c.get("/", params={"q": "a" * 60_000}), 400)  # past SQLite's LIKE pattern limit
    assert "\x00" not in plain_page(c.get("/", params={"q": "P\x00"}), 400)
    assert "P-001" in c.get("/", params={"q": "p-0"}).text


def test_upload_dates_out_of_range_or_not_plain_are_refused(app):
    c, _, pid = app
    for day in ("0001-01-01", "9999-12-31", (date.today() + timedelta(days=2)).isoformat(), "20250101",
                "2025-W11-5", "２０２５-03-14"):
        r = upload(c, pid, b"x", date=day)
        assert r.status_code == 400 and "date" in r.json()["error"], (day, r.text)


def test_a_stalled_upload_is_dropped_and_answered_408(tmp_path, pose_model):
    data = tmp_path / "data"
    app = create_app(data, pose_model, upload_stall_timeout_s=STALL_S)
    with live_server(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        pid = add_person(c, "P-stall")
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
            # headers and a first part of the body, then nothing more (a phone that lost its network)
            s.sendall((f"POST /people/{pid}/uploads?name=stall.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"X-CSRF-Token: {csrf_of(c)}\r\nContent-Length: 100000\r\n\r\n").encode() + b"\0" * 1000)
            started = time.monotonic()
            reply = b""
            while chunk := s.recv(4096):  # until the server closes the connection (or the 10 s socket timeout)
                reply += chunk
            waited = time.monotonic() - started
        assert reply.startswith(b"HTTP/1.1 408") and b"stopped" in reply, reply
        assert STALL_S * 0.9 < waited < 5
        assert not list((data / "uploads").iterdir())  # the partial clip is gone
        assert c.get(f"/people/{pid}").status_code == 200  # and the server goes on serving


def test_a_stalled_form_is_answered_408_and_stores_nothing(tmp_path, pose_model):
    data = tmp_path / "data"
    with live_server(create_app(data, pose_model, upload_stall_timeout_s=STALL_S)) as url, \
            httpx.Client(base_url=url, timeout=10) as c:
        body = f"csrf={csrf_of(c)}&label=P-stall&note=".encode()
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
            s.sendall((f"POST /people HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded"
                       f"\r\nContent-Length: {len(body) + 1000}\r\n\r\n").encode() + body)
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive" in reply, reply
        assert "P-stall" not in c.get("/").text
