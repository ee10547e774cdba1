"""report.html in a real browser (Playwright driving Debian's Chromium): on a phone the page does not scroll
sideways and the time plot fits the screen; a step's start time plays that step in the annotated video."""
import os

import numpy as np
import pytest

from gaitlab.outputs.report import report_html
from tests.analysis_fixture import make_analysis

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
PHONE_WIDTH_PX = 390


@pytest.fixture(scope="module")
def report_url(tmp_path_factory):
    """A report with a long clip (the window and drop-over-time plots too) and an annotated video beside it
    (an empty file: the page only needs to seek it)."""
    folder = tmp_path_factory.mktemp("report")
    a = make_analysis(time_s=np.arange(40 * 30) / 30.0)
    (folder / "report.html").write_text(report_html(a, {}, video="annotated.mp4"), encoding="utf-8")
    (folder / "annotated.mp4").write_bytes(b"")
    return (folder / "report.html").as_uri(), a


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        yield browser
        browser.close()


def _open(browser, url: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def test_phone_page_does_not_scroll_sideways_and_the_plot_fits(browser, report_url):
    """Before: the time plot was 720 px wide in a sideways-scrolling strip, its legend and end out of view."""
    url, _ = report_url
    page = _open(browser, url, PHONE_WIDTH_PX)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX
    plot = page.locator('img[alt="Pelvic obliquity over time"]')
    box = plot.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH_PX
    # the phone's own layout of the plot, shown whole: not cropped, not squeezed
    assert plot.evaluate("img => img.currentSrc") != plot.evaluate("img => img.src")
    natural = plot.evaluate("img => img.naturalHeight / img.naturalWidth")
    assert box["height"] / box["width"] == pytest.approx(natural, rel=0.02)
    assert page.locator("table.steps th.minor").first.is_hidden()  # the table reflows to fewer columns
    page.close()


def test_desktop_shows_the_wide_plot_and_every_column(browser, report_url):
    url, _ = report_url
    page = _open(browser, url, 1280)
    plot = page.locator('img[alt="Pelvic obliquity over time"]')
    assert plot.evaluate("img => img.currentSrc") == plot.evaluate("img => img.src")
    assert page.locator("table.steps th.minor").first.is_visible()
    page.close()


def test_a_step_time_seeks_the_video_to_that_step(browser, report_url):
    url, a = report_url
    page = _open(browser, url, 1280)
    step = sorted(a.steps, key=lambda s: s.start_s)[5]
    page.locator(f'a[data-seek="{step.start_s:.2f}"]').click()
    assert page.url == url  # the script seeks in place rather than following the link
    assert page.evaluate("document.getElementById('annotated').currentTime") == pytest.approx(step.start_s, abs=0.01)
    page.close()
