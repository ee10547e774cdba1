"""`gaitlab analyze` on several clips or a folder: one report each, index.html, errors per clip, --jobs."""
import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from gaitlab.cli import main
from gaitlab.errors import GaitlabError
from gaitlab.run.batch import expand_inputs, output_folders
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "sample_walk_post_short.mp4"
SHORT = ["--end", "1.5"]  # 45 frames of the sample: enough for a person and a report, quick


def _links(index: Path) -> list[str]:
    return re.findall(r'href="([^"]+)"', index.read_text(encoding="utf-8"))


@pytest.fixture
def folder(tmp_path):
    """Two copies of the sample (one with characters HTML must escape) and a file that is no video."""
    d = tmp_path / "clips"
    d.mkdir()
    shutil.copy(SAMPLE, d / "walk one.mp4")
    shutil.copy(SAMPLE, d / "walk <b>&'two.MP4")
    (d / "broken.mp4").write_text("not a video")
    (d / "notes.txt").write_text("not a video either, and not picked up")
    return d


@pytest.mark.integration
def test_folder_batch_reports_each_clip_and_continues_after_a_bad_one(folder, tmp_path, capsys, pose_model):
    out = tmp_path / "batch"
    code = main(["analyze", str(folder), "-o", str(out), "--no-video", *SHORT])
    assert code == 2  # one clip failed because of its input
    err = capsys.readouterr().err
    bad = [line for line in err.splitlines() if "broken.mp4" in line]
    assert len(bad) == 1 and bad[0].startswith("gaitlab: broken.mp4: ") and "Traceback" not in err
    assert {p.name for p in out.iterdir()} == {"index.html", "cohort.csv", "catalog.sqlite", "walk one_gaitlab",
                                               "walk <b>&'two_gaitlab"}
    for name in ("walk one_gaitlab", "walk <b>&'two_gaitlab"):
        assert {"report.html", "report.pdf", "summary.json"} <= {p.name for p in (out / name).iterdir()}
    index = out / "index.html"
    html = index.read_text(encoding="utf-8")
    assert "walk &lt;b&gt;&amp;&#x27;two.MP4" in html and "<b>&" not in html  # names are escaped
    assert "broken.mp4 cannot be read as a video" in html
    from urllib.parse import unquote
    reports = [unquote(h) for h in _links(index) if h.endswith("report.html")]
    assert {Path(r).parent.name for r in reports} == {"walk one_gaitlab", "walk <b>&'two_gaitlab"}
    assert all((out / r).is_file() for r in reports)  # relative links that resolve


@pytest.mark.integration
def test_jobs_run_clips_in_their_own_processes(tmp_path, capsys, pose_model):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copy(SAMPLE, a)
    shutil.copy(SAMPLE, b)
    out = tmp_path / "batch"
    assert main(["analyze", str(a), str(b), "-o", str(out), "--jobs", "2", *SHORT]) == 0
    stdout = capsys.readouterr().out
    assert "2 of 2 clips analysed" in stdout
    for name in ("a_gaitlab", "b_gaitlab"):
        assert {"report.html", "annotated.mp4", "summary.json"} <= {p.name for p in (out / name).iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary folders left
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "a_gaitlab/annotated.mp4" in html and "b_gaitlab/report.html" in html


@pytest.mark.integration
def test_a_missing_file_in_a_batch_is_an_input_error_with_jobs(tmp_path, capsys, pose_model):
    a = tmp_path / "a.mp4"
    shutil.copy(SAMPLE, a)
    out = tmp_path / "batch"
    code = main(["analyze", str(a), str(tmp_path / "missing.mp4"), "-o", str(out), "--jobs", "2", "--no-video",
                 *SHORT])
    assert code == 2
    err = capsys.readouterr().err
    assert "gaitlab: missing.mp4: no such file: missing.mp4" in err
    assert (out / "a_gaitlab" / "report.html").is_file()
    assert "no such file" in (out / "index.html").read_text(encoding="utf-8")


def test_same_stems_get_distinct_folders(tmp_path):
    videos = [tmp_path / "x" / "walk.mp4", tmp_path / "y" / "walk.mov", tmp_path / "Walk.mp4"]
    assert [p.name for p in output_folders(videos, tmp_path)] == ["walk_gaitlab", "walk_2_gaitlab", "Walk_3_gaitlab"]


def test_folder_inputs_expand_to_their_videos_once(folder):
    videos = expand_inputs([folder, folder / "walk one.mp4"])
    assert [v.name for v in videos] == sorted(["broken.mp4", "walk one.mp4", "walk <b>&'two.MP4"])


def test_a_folder_without_videos_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GaitlabError, match="no videos"):
        expand_inputs([tmp_path / "empty"])
    assert main(["analyze", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("gaitlab: no videos in the folder empty")


@pytest.mark.parametrize("side, word", [
    ({"measurable": True, "mean_drop_deg": 6.1, "steps": 9, "flagged": True, "verdict_class": "above"}, "flagged"),
    ({"measurable": True, "mean_drop_deg": 4.6, "steps": 3, "flagged": False, "verdict_class": "cannot_tell"},
     "cannot tell"),
    ({"measurable": True, "mean_drop_deg": 2.0, "steps": 9, "flagged": False, "verdict_class": "not_above"}, "within"),
    ({"measurable": True, "mean_drop_deg": 2.0, "steps": 9, "flagged": False}, "within"),  # a summary before schema 2
])
def test_the_index_says_cannot_tell_where_the_report_does(side, word):
    """A side whose interval spans the threshold is 'cannot tell' in the batch index too (before: 'within')."""
    from gaitlab.run.batch import _side_cell

    assert _side_cell({"sides": {"left": side}}, "left")["word"] == word


def _index(root: Path, drops: list[tuple[float, float] | None], monkeypatch=None) -> str:
    """index.html for constructed clips: per clip (right-stance, left-stance) mean drops of a constructed walk's
    summary.json, or None for a clip that failed."""
    from gaitlab.outputs.exports import summary_dict
    from gaitlab.run.batch import ClipOutcome, write_index
    from tests.analysis_fixture import make_analysis

    outcomes = []
    for i, d in enumerate(drops):
        out = root / f"clip {i}_gaitlab"
        if d is None:
            outcomes.append(ClipOutcome(root / f"clip {i}.mp4", out, "input", "not a video"))
            continue
        out.mkdir(parents=True, exist_ok=True)
        summary = summary_dict(make_analysis(f"clip {i}.mp4", right_drop_deg=d[0], left_drop_deg=d[1], seed=i))
        (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        outcomes.append(ClipOutcome(root / f"clip {i}.mp4", out, "ok"))
    return write_index(root, outcomes, 5.0).read_text(encoding="utf-8")


def _table(html: str) -> str:
    return re.search(r"<table>.*</table>", html, re.S).group(0)


def _svgs(html: str) -> list[str]:
    return [base64.b64decode(uri).decode() for uri in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


def test_the_index_plots_the_clips_drops_above_the_same_table(tmp_path, monkeypatch):
    from gaitlab.run import batch

    drops = [(7.0, 2.5), (3.0, 3.5), (2.0, 8.0), None]
    html = _index(tmp_path / "plots", drops)
    assert batch.GENERATOR in html.splitlines()
    svgs = _svgs(html)
    assert len(svgs) == 2 and all("<svg" in s for s in svgs)  # per side's means, and left against right
    assert html.index("data:image/svg+xml") < html.index("<table>")
    # the table is the one written without the plots, row for row
    monkeypatch.setattr(batch, "index_plots", lambda summaries, threshold: [])
    plain = _index(tmp_path / "plain", drops)
    assert "<svg" not in plain and "data:image" not in plain and "<figure" not in plain
    assert _table(html) == _table(plain)
    rows = re.findall(r"<tr.*?</tr>", _table(html), re.S)
    assert len(rows) == 5  # the header, 3 clips, the failed one
    assert 'class="over">7.2° <span class="word">flagged' in rows[1] and 'class="ok">2.5°' in rows[1]
    assert 'class="over">7.9° <span class="word">flagged' in rows[3]
    assert "not a video" in rows[4]


@pytest.mark.parametrize("drops, plots", [
    ([(7.0, 2.5)], 0),  # one clip: no distribution
    ([(7.0, 2.5), None], 0),  # and one that failed
    ([(7.0, 2.5), (3.0, 3.5)], 2),
])
def test_the_index_has_plots_only_with_two_clips_measured(tmp_path, drops, plots):
    html = _index(tmp_path, drops)
    assert len(_svgs(html)) == plots and ("<figure" in html) == bool(plots)
    assert '<meta name="generator" content="gaitlab">' in html.splitlines()
    assert len(re.findall(r"<tr", html)) == len(drops) + 1  # the table as ever: a row per clip


def test_the_left_right_plot_needs_two_clips_measured_on_both_sides():
    from gaitlab.outputs.batch_plots import clip_means, index_plots

    def summary(left, right, claimed=None):
        sides = {side: {"measurable": mean is not None, "mean_drop_deg": mean}
                 for side, mean in (("left", left), ("right", right))}
        return {"sides": sides, "side_difference_deg": None if claimed is None else {"claimed": claimed}}

    summaries = [summary(3.0, None), summary(6.0, 2.0, True), summary(None, None), None]
    assert clip_means(summaries) == [{"left": 3.0, "right": None, "claimed": False},
                                     {"left": 6.0, "right": 2.0, "claimed": True}]
    assert len(index_plots(summaries, 5.0)) == 1  # the per-side strip only
    assert len(index_plots(summaries + [summary(2.0, 2.5, False)], 5.0)) == 2
    assert index_plots(summaries[:1] + summaries[2:], 5.0) == []


def test_a_batch_of_one_clip_is_not_called_clips(tmp_path):
    assert "batch of 1 clip</h1>" in _index(tmp_path / "one", [(7.0, 2.5)])
    assert "batch of 2 clips</h1>" in _index(tmp_path / "two", [(7.0, 2.5), (3.0, 3.5)])
