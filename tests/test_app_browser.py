"""`gaitlab app` in a real browser: Playwright driving Debian's Chromium, with a sample clip played as the webcam.

One test uploads a clip, one records from the fake camera; both wait for the verdict and find the session in
the person's history, with the same verdicts as `gaitlab analyze` on the same clip. Another, on a desktop and a
phone-wide window, edits a session (its clip analysed again), renames its person, opens the progress PDF and checks
that no page is wider than the phone. A screenshot of every page goes to $GAITLAB_SCREENSHOTS (or a temporary folder) for a
person to look at.
"""
import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from gaitlab.app.pages import sentence
from gaitlab.app.server import create_app
from gaitlab.cli import main
from gaitlab.tracking.video import iter_frames
from tests.conftest import SAMPLES
from tests.test_app import live_server

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")]
WALK = SAMPLES / "sample_walk_post_short.mp4"
TIMEOUT_MS = 180_000


@pytest.fixture(scope="module", autouse=True)
def own_track_cache(tmp_path_factory, pose_model):
    """Workers really track the clip (so the progress page shows frames); the CLI then reuses their tracks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("GAITLAB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory) -> Path:
    """The first 4 s of the sample walk as a 640x360 Y4M file, which Chromium plays as its fake webcam."""
    path = tmp_path_factory.mktemp("camera") / "walk.y4m"
    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for frame in iter_frames(WALK, end_s=4.0):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.rgb, format="rgb24")
                                        .reformat(640, 360, "yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, pose_model):
    with live_server(create_app(tmp_path_factory.mktemp("data"), pose_model)) as url:
        yield url


@pytest.fixture(scope="module")
def browser(camera_clip):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera_clip}"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    yield page
    context.close()
    # every page names its icon, so the browser never asks for /favicon.ico (a 404 on every page before)
    assert not [url for url in requested if url.endswith("/favicon.ico")]


def cli_sides(clip: Path, out: Path, model) -> dict:
    assert main(["analyze", str(clip), "-o", str(out), "--no-video", "--model", str(model.path)]) == 0
    return json.loads((out / "summary.json").read_text())["sides"]


def check_verdicts(page, expected: dict) -> None:
    """The session page shows, per side, the CLI's verdict in words."""
    for side in ("left", "right"):
        card = page.locator(".card", has_text=f"{side.capitalize()}-leg stance").first
        text = card.inner_text()
        assert sentence(expected[side]["verdict"]) in text, text
        badge = "Trendelenburg sign" if expected[side]["flagged"] else "not above"
        assert badge in card.locator(".badge").inner_text()


def open_person(page, app_url: str, label: str) -> None:
    page.goto(app_url)
    if page.get_by_role("link", name=label).count():
        page.get_by_role("link", name=label).click()
    else:
        page.get_by_label("Label").fill(label)
        page.get_by_label("Note (optional)").fill("runner, right hip pain since March")
        page.get_by_role("button", name="Add person").click()
    page.wait_for_url("**/people/*")


def test_upload_a_clip_and_read_the_verdict(page, app_url, shots, tmp_path, pose_model):
    open_person(page, app_url, "P-100")
    page.goto(app_url)
    page.screenshot(path=shots / "1_people.png", full_page=True)
    page.get_by_role("link", name="New analysis").first.click()
    page.wait_for_url("**/new")
    page.screenshot(path=shots / "2_new_upload.png", full_page=True)
    page.set_input_files("#file", str(WALK))
    page.wait_for_url("**/jobs/*")
    page.wait_for_function("() => document.getElementById('bar').value > 0.3", timeout=TIMEOUT_MS)
    page.screenshot(path=shots / "3_progress.png", full_page=True)
    page.wait_for_url("**/sessions/*", timeout=TIMEOUT_MS)
    expected = cli_sides(WALK, tmp_path / "cli", pose_model)
    check_verdicts(page, expected)
    # the annotated video plays in the page (H.264 decodes in this Chromium)
    page.wait_for_function("() => document.getElementById('annotated').readyState >= 2 && "
                           "!document.getElementById('annotated').error")
    page.frame_locator("#report").locator("h1").wait_for()
    page.screenshot(path=shots / "4_session.png", full_page=True)
    page.get_by_role("link", name="P-100").click()
    row = page.locator("table.history tbody tr", has_text=WALK.name)
    assert row.count() == 1 and "Trendelenburg sign" in row.inner_text()
    page.screenshot(path=shots / "5_person.png", full_page=True)


# Keeps a copy of what the page uploads (the recording exists only inside the browser) before sending it.
KEEP_UPLOADS = """
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (!(body instanceof Blob)) return send.call(this, body);
  const reader = new FileReader();
  reader.onload = async () => { await window.keepUpload(reader.result); send.call(this, body); };
  reader.readAsDataURL(body);
};
"""


def test_record_from_the_camera_and_compare(page, app_url, shots, tmp_path, pose_model):
    kept = {}
    page.expose_function("keepUpload", lambda data_url: kept.update(data=data_url))
    page.add_init_script(KEEP_UPLOADS)
    open_person(page, app_url, "P-100")
    page.get_by_role("link", name="New analysis", exact=True).click()
    page.get_by_role("tab", name="Record with the camera").click()
    page.get_by_role("button", name="Turn the camera on").click()
    page.wait_for_function("() => document.getElementById('preview').readyState >= 2")
    page.screenshot(path=shots / "6_new_record.png", full_page=True)
    page.select_option("#countdown-s", "3")
    page.select_option("#duration-s", "5")
    page.get_by_role("button", name="Record", exact=True).click()
    page.locator("#countdown", has_text="Recording").wait_for()
    page.screenshot(path=shots / "7_recording.png")
    page.wait_for_url("**/sessions/*", timeout=TIMEOUT_MS)
    recording = tmp_path / "recording.webm"
    recording.write_bytes(base64.b64decode(kept["data"].split(",", 1)[1]))
    # the same recorded bytes through the CLI
    check_verdicts(page, cli_sides(recording, tmp_path / "cli", pose_model))
    page.get_by_role("link", name="P-100").click()
    rows = page.locator("table.history tbody tr")
    assert rows.count() == 2 and "(recorded here)" in rows.first.inner_text()
    page.screenshot(path=shots / "9_person_two_sessions.png", full_page=True)
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare?*")
    assert page.locator("table.changes tbody tr").count() == 2
    page.screenshot(path=shots / "8_compare.png", full_page=True)


PHONE_PX = 390  # an iPhone 12-15's CSS width


def assert_fits(page, width: int) -> None:
    """Nothing on the page is wider than the window (no sideways scrolling)."""
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll} px wide in a {width} px window"


def inside(inner: dict, outer: dict) -> bool:
    return (outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] and
            outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"])


@pytest.mark.parametrize("width", [1280, PHONE_PX])
def test_edit_a_session_and_print_the_progress(browser, app_url, shots, clips, tmp_path, width):
    context = browser.new_context(viewport={"width": width, "height": 844 if width == PHONE_PX else 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_person(page, app_url, f"P-{width}")
    page.goto(app_url)
    assert_fits(page, width)  # the people table reflows on a phone
    page.get_by_role("link", name=f"P-{width}", exact=True).click()
    page.get_by_role("link", name="New analysis", exact=True).click()
    page.wait_for_url("**/new")
    assert inside(page.locator("#file").bounding_box(), page.locator("#drop").bounding_box())
    assert_fits(page, width)
    page.get_by_label("Session date").fill("2025-04-01")
    page.get_by_label("Make the annotated video").uncheck()  # quicker
    page.set_input_files("#file", str(clips["short"]))
    page.wait_for_url("**/sessions/*", timeout=TIMEOUT_MS)
    session_url = page.url
    assert "threshold 5.0°" in page.locator("h1 + p").inner_text()
    assert_fits(page, width)

    # edit: the kept clip is analysed again, with the live progress page, and the session shows the new record
    page.get_by_text("Edit this session").click()
    form = page.locator("form.edit-form")
    form.get_by_label("Session date").fill("2025-04-08")
    form.get_by_label("Threshold").fill("4.5")
    form.get_by_label("Note on this session").fill("after 6 weeks of strengthening")
    page.screenshot(path=shots / f"10_session_edit_{width}.png", full_page=True)
    assert_fits(page, width)
    form.get_by_role("button", name="Save").click()
    page.wait_for_url("**/jobs/*")
    assert "re-analysis of" in page.locator("h1").inner_text()
    page.wait_for_url(session_url, timeout=TIMEOUT_MS)
    assert f"P-{width} · 2025-04-08" in page.locator("h1").inner_text()
    assert "threshold 4.5°" in page.locator("h1 + p").inner_text()
    assert "after 6 weeks of strengthening" in page.locator(".session-note").inner_text()
    page.screenshot(path=shots / f"11_session_after_edit_{width}.png", full_page=True)

    # the person page: both sides' results in view, no sideways scrolling, the progress PDF
    page.get_by_role("link", name=f"P-{width}", exact=True).click()
    page.wait_for_url("**/people/*")
    assert_fits(page, width)
    row = page.locator("table.history tbody tr").first
    for cell in row.locator("td.side").all():
        box = cell.bounding_box()
        assert box["width"] > 0 and box["x"] + box["width"] <= width and cell.inner_text().strip()
    assert "2025-04-08" in row.inner_text() and "after 6 weeks of strengthening" in row.inner_text()
    page.screenshot(path=shots / f"12_person_{width}.png", full_page=True)

    # rename the person: the form fits, and the session (its clip kept) is analysed again under the new label
    page.get_by_text("Edit label and note").click()
    form = page.locator("form.edit-form")
    form.get_by_label("Label").fill(f"P-{width}-renamed")
    form.get_by_label("Note (optional)").fill("runner, right hip pain since March; new shoes")
    assert "(1 of 1)" in form.inner_text()
    assert_fits(page, width)
    page.screenshot(path=shots / f"12_person_edit_{width}.png", full_page=True)
    form.get_by_role("button", name="Save").click()
    page.wait_for_url("**/people/*")
    assert page.locator("h1").inner_text() == f"P-{width}-renamed"
    assert "new shoes" in page.locator(".head .note").inner_text()
    assert_fits(page, width)
    link = page.get_by_role("link", name="Progress (PDF)")
    pdf = page.request.get(app_url.rstrip("/") + link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "progress.pdf"
    path.write_bytes(pdf.body())
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"Pages:\s+1\n", info), info
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(path), str(shots / f"13_progress_pdf_{width}")],
                       check=True)
    context.close()
