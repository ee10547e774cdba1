import os
import shutil
import subprocess
import tempfile
from dataclasses import replace

import cv2
import numpy as np
import pytest

from gaitlab.core.result import AnalysisWarning, WarningCode
from gaitlab.outputs import report
from gaitlab.outputs.annotate import draw_overlay
from gaitlab.outputs.report import report_html, write_report
from gaitlab.outputs.wording import fmt_deg, side_verdict, trunk_lean_words
from tests.analysis_fixture import make_analysis

CHROMIUM = "/usr/bin/chromium"  # Debian's, as the browser tests use
NASTY_NAME = "<script>alert('x')</script> walk ünï.mp4".replace("/", "")  # a file name cannot hold '/'


def _stills(a):
    """Annotated stills on a plain frame (no video needed)."""
    frame = np.full((a.video.height, a.video.width, 3), 120, np.uint8)
    out = {}
    for side in ("left", "right"):
        k = max((s for s in a.steps if s.stance_side == side), key=lambda s: s.peak_drop_deg)
        i = int(np.argmin(abs(a.frames.time_s - k.peak_time_s)))
        out[side] = draw_overlay(frame, a.track.image_xyz[i], float(a.frames.obliquity_deg[i]), side,
                                 a.threshold_deg, a.sides[side].flagged)
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("report")
    # a level method is the one warning value that is free text: it must come out escaped
    a = make_analysis(NASTY_NAME, warnings=[AnalysisWarning(WarningCode.LEVEL_FALLBACK,
                                                            {"level_method": "<b>not bold</b> & hips hidden"})])
    write_report(a, outdir, _stills(a))
    return outdir


def _not_blank(png) -> None:
    img = cv2.imread(str(png))
    assert img is not None, f"{png} is not an image"
    assert img.std() > 20, "page is (nearly) uniform"
    colours = np.unique(img.reshape(-1, 3) // 16, axis=0)
    assert len(colours) > 30, "too few colours: plots or cards missing"


def test_html_escapes_user_strings(written):
    html = (written / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>not bold" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;script&gt; walk ünï.mp4" in html
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; hips hidden" in html


def test_html_is_self_contained_and_says_what_matters(written):
    html = (written / "report.html").read_text(encoding="utf-8")
    assert "src=\"http" not in html and "href=\"http" not in html  # nothing fetched when opened
    # the time plot twice (wide, and narrow for phones), the per-step plot once
    assert html.count("data:image/svg+xml;base64,") == 3 and html.count("data:image/jpeg;base64,") == 2
    for text in ("Right-leg stance", "consistent with a positive Trendelenburg sign", "gluteus medius",
                 "physiotherapist", "not a diagnosis", "2.7°", "positive = the right hip higher",
                 "@media print", "max-width: 760px"):
        assert text in html, text


def test_verdict_wording():
    a = make_analysis()
    right = side_verdict(a, a.sides["right"])
    assert right.startswith("Right-leg stance: mean contralateral drop 7.2° (95% interval 6.1° to 8.2°) over 10 steps "
                            "— the whole interval is above 5°: consistent with a positive Trendelenburg sign")
    assert "weak right hip abductors" in right
    assert "no Trendelenburg sign" in side_verdict(a, a.sides["left"])
    side_view = replace(a, view="sagittal", sides={s: replace(v, measurable=False, flagged=False)
                                                   for s, v in a.sides.items()})
    assert "no verdict — the clip was filmed from the side" in side_verdict(side_view, side_view.sides["left"])
    few = replace(a.sides["left"], steps=4)
    assert "Only 4 steps" in side_verdict(a, few)


def test_report_without_stills_or_steps_still_renders():
    a = make_analysis()
    a = replace(a, steps=[], sides={s: replace(v, steps=0, measurable=False, flagged=False)
                                    for s, v in a.sides.items()})
    html = report_html(a, {})
    assert "No stills were provided" in html and "No complete single-leg stance" in html


def test_knee_flexion_is_left_out_where_no_step_has_one():
    """Before: a frontal clip's steps table had a 'stance knee flexion' column of numbers it cannot measure."""
    a = make_analysis()  # one side with a knee flexion (as a side view gives), one without
    assert "<th>stance knee flexion</th>" in report_html(a, {})
    frontal = replace(a, steps=[replace(s, knee_flexion_deg=float("nan")) for s in a.steps])
    html = report_html(frontal, {})
    assert "<th>stance knee flexion</th>" not in html
    assert "Stance knee flexion is not shown: filmed from behind or the front, it cannot be measured." in html
    assert "Empty (null) when filmed from behind or the front" in html  # its definition says why


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_html_renders_in_chromium(written, tmp_path):
    png = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                        f"--screenshot={png}", "--window-size=1000,2400", (written / "report.html").as_uri()],
                       capture_output=True, timeout=120)
    _not_blank(png)


def _page_fill(png) -> tuple[float, float]:
    """A page's share of inked pixels and the share of its height from its first to its last inked row, both
    above the page's foot line (the person and page number printed on every page)."""
    grey = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    body = grey[: int(grey.shape[0] * 0.93)]
    rows = np.flatnonzero((body < 200).any(axis=1))
    return float((body < 235).mean()), (rows[-1] - rows[0]) / grey.shape[0] if len(rows) else 0.0


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_pages_are_not_blank(written, tmp_path):
    """Before: a page could hold only the footer, or be 60% blank before a plot that did not fit."""
    pdf = written / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    _not_blank(pages[0])
    _not_blank(pages[1])
    fills = [_page_fill(page) for page in pages]
    assert all(ink > 0.03 for ink, _ in fills), fills
    assert all(span > 0.65 for _, span in fills[:-1]), fills  # no page left mostly empty before the next
    assert fills[-1][1] > 0.15, fills  # the last page holds more than the closing footer


def test_pdf_is_printed_from_the_same_html(tmp_path, monkeypatch):
    printed = {}
    monkeypatch.setattr(report, "write_pdf", lambda html, path: printed.update(html=html, path=path))
    a = make_analysis()
    write_report(a, tmp_path, _stills(a))
    assert printed["html"] == (tmp_path / "report.html").read_text(encoding="utf-8")
    assert printed["path"] == tmp_path / "report.pdf"


def test_step_times_play_the_step_in_the_annotated_video():
    a = make_analysis()
    first = min(a.steps, key=lambda s: s.start_s)
    with_video = report_html(a, {}, video="annotated.mp4")
    assert '<video id="annotated" src="annotated.mp4"' in with_video and "<script>" in with_video
    # without script the link still opens the video at the step (a media fragment)
    assert f'<a href="annotated.mp4#t={first.start_s:.2f}" data-seek="{first.start_s:.2f}">' in with_video
    assert with_video.count("data-seek=") == len(a.steps)
    without = report_html(a, {})
    assert "<video" not in without and "<script" not in without and "#t=" not in without
    assert f'<td class="seek">{first.start_s:.2f}</td>' in without


def test_trunk_lean_says_its_direction_in_words():
    """Before: 'trunk lean toward the stance side −0.9°', a double negative."""
    assert trunk_lean_words(-0.94) == "trunk lean 0.9° away from the stance side"
    assert trunk_lean_words(2.16) == "trunk lean 2.2° toward the stance side"
    assert trunk_lean_words(0.04) == "trunk upright (0.0° lean)"
    a = make_analysis()
    leaning = replace(a, steps=[replace(s, trunk_lean_deg=-1.5) if s.stance_side == "left" else s for s in a.steps])
    html = report_html(leaning, {})
    assert "trunk lean 1.5° away from the stance side" in html and "toward the stance side −" not in html


def test_cadence_of_a_run_from_its_counted_steps():
    a = make_analysis()  # steps 0.52 s apart: 115 steps/min
    starts = sorted(s.start_s for s in a.steps)
    want = 60 / float(np.median(np.diff(starts)))
    assert report.cadence_spm(a)[0] == pytest.approx(want)
    assert "steps/min" not in report_html(a, {})  # a walk: no cadence
    run = replace(a, activity="run")
    html = report_html(run, {})
    assert f"running, {want:.0f} steps/min" in html and f"<b>Cadence:</b> {want:.0f} steps per minute" in html
    # a step left out between two counted ones is not taken as one long step
    gappy = replace(run, steps=[s for s in run.steps if s.start_s not in starts[2:12:3]])
    assert report.cadence_spm(gappy)[0] == pytest.approx(want, rel=0.02)
    assert report.cadence_spm(replace(run, steps=run.steps[:3])) is None


def test_how_to_read_box_cites_its_sources():
    html = report_html(make_analysis(), {})
    box = html[html.index('<aside class="howto">'):html.index("</aside>")]
    for text in ("beyond about 5°", "under 2.7°", "at least 7 steps", "Dingenen et al. 2018",
                 "Physical Therapy in Sport", "Bramah et al. 2018", "The American Journal of"):
        assert text in box, text
    assert "This report was made with" not in box
    assert "This report was made with 7°" in report_html(replace(make_analysis(), threshold_deg=7.0), {})


def test_long_clip_shows_a_window_around_the_largest_drop_and_the_drop_over_time():
    assert report.obliquity_window(make_analysis()) is None  # ~10 s: the whole clip is shown
    a = make_analysis(time_s=np.arange(90 * 30) / 30.0)
    # the right-stance drop grows along the clip (as with fatigue), with its largest step near 40 s
    worst_time = min((s.peak_time_s for s in a.steps if s.stance_side == "right"), key=lambda t: abs(t - 40))
    steps = [replace(s, peak_drop_deg=12.0 if s.peak_time_s == worst_time else 4.0 + 4.0 * s.peak_time_s / 90)
             if s.stance_side == "right" else s for s in a.steps]
    a = replace(a, steps=steps)
    window = report.obliquity_window(a)
    assert window[1] - window[0] == pytest.approx(report.OBLIQUITY_WINDOW_S)
    assert window[0] < worst_time < window[1]
    ax = report.obliquity_figure(a).axes[0]
    assert ax.get_xlim() == pytest.approx(window)
    traces = [line.get_xdata() for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert traces and all(window[0] <= t.min() and t.max() <= window[1] for t in traces)
    means = {line.get_label().split("-")[0]: line.get_ydata()
             for line in report.drop_trend_figure(a).axes[0].get_lines() if "mean over" in line.get_label()}
    assert means["right"][-1] - means["right"][0] > 2.5  # follows the growth
    assert abs(means["left"][-1] - means["left"][0]) < 1.0
    html = report_html(a, {})
    assert html.count("data:image/svg+xml;base64,") == 4
    assert "Drop over the clip" in html and "of the clip&#x27;s 90, around the largest drop" in html


def test_a_side_with_one_step_has_no_verdict_and_says_why():
    """One step is not a mean: no interval, so no verdict, and the sentence says a mean needs two."""
    from dataclasses import replace

    from gaitlab.outputs.wording import side_verdict

    a = make_analysis()
    one = replace(a.sides["left"], steps=1, measurable=False, verdict_class="", flagged=False, interval=None)
    text = side_verdict(a, one)
    assert "no verdict" in text and "only 1 complete single-leg stance" in text and "at least 2" in text


def test_an_angle_that_rounds_to_zero_is_shown_without_a_sign():
    """The report said 'camera roll -0.0° (corrected)' for a roll of -0.04°: a sign without a size."""
    assert fmt_deg(-0.04) == "0.0°" and fmt_deg(-0.04, signed=True) == "+0.0°"
    assert fmt_deg(-0.06, signed=True) == "-0.1°" and fmt_deg(7.25) == "7.2°"
