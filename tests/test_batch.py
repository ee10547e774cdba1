"""`gaitlab analyze` on several clips or a folder: one report each, index.html, errors per clip, --jobs."""
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
    assert {p.name for p in out.iterdir()} == {"index.html", "walk one_gaitlab", "walk <b>&'two_gaitlab"}
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
