"""landmarks.c3d and landmarks.trc (gaitlab.outputs.biomech), read back: ezc3d for the C3D, a parser for the TRC."""
from dataclasses import replace

import ezc3d
import numpy as np
import pytest

from gaitlab.core.result import FootEvents
from gaitlab.outputs.biomech import ANALOG_CHANNELS, uniform_frames, write_biomech
from gaitlab.outputs.exports import LANDMARK_NAMES
from tests.analysis_fixture import make_analysis


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    a = make_analysis("walk 1.mp4")
    out = tmp_path_factory.mktemp("biomech")
    write_biomech(a, out)
    return a, out


def read_trc(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    header = dict(zip(keys, values))
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = [line.split("\t") for line in lines[6:] if line]
    times = np.array([float(r[1]) for r in rows])
    xyz = np.array([[float(c) if c else np.nan for c in r[2:]] for r in rows]).reshape(len(rows), len(names), 3)
    return header, names, times, xyz


def test_c3d_holds_the_world_landmarks_analogs_and_events(written):
    a, out = written
    c = ezc3d.c3d(str(out / "landmarks.c3d"))
    fps = a.video.fps
    n = len(a.track)  # the fixture's frames are at a constant rate: one C3D frame each
    assert c["parameters"]["POINT"]["LABELS"]["value"] == list(LANDMARK_NAMES)
    assert c["parameters"]["POINT"]["UNITS"]["value"] == ["m"]
    assert c["header"]["points"]["frame_rate"] == pytest.approx(fps)
    assert c["data"]["points"].shape == (4, 33, n)
    assert c["parameters"]["ANALOG"]["LABELS"]["value"] == list(ANALOG_CHANNELS)
    assert c["parameters"]["ANALOG"]["UNITS"]["value"] == ["deg", "deg"]
    assert c["header"]["analogs"]["frame_rate"] == pytest.approx(fps)
    analogs = c["data"]["analogs"][0]
    assert analogs.shape == (2, n)
    np.testing.assert_allclose(analogs[0], a.frames.obliquity_deg, atol=1e-4, equal_nan=True)
    # world coordinates, metres, MediaPipe's y turned up: the hips sit above the ankles
    pts = c["data"]["points"][:3]
    hip, ankle = LANDMARK_NAMES.index("left_hip"), LANDMARK_NAMES.index("left_ankle")
    np.testing.assert_allclose(pts[1, hip], -a.track.world_xyz[:, hip, 1], atol=1e-5)
    assert np.nanmean(pts[1, hip] - pts[1, ankle]) > 0.5
    # events: the analysis' own, each foot's contacts (Foot Strike) and toe-offs (Foot Off), within half a frame
    ev = c["parameters"]["EVENT"]
    times = np.asarray(ev["TIMES"]["value"][1], float)
    assert ev["USED"]["value"][0] == len(times)
    assert set(ev["LABELS"]["value"]) == {"Foot Off", "Foot Strike"}
    assert set(ev["CONTEXTS"]["value"]) == {"Left", "Right"}
    fe = a.foot_events
    for side, context in (("left", "Left"), ("right", "Right")):
        for label, expected in (("Foot Strike", fe.initial_contacts_s[side]), ("Foot Off", fe.toe_offs_s[side])):
            mine = np.sort(times[[c == context and lab == label for c, lab in
                                  zip(ev["CONTEXTS"]["value"], ev["LABELS"]["value"])]])
            assert len(expected) > 5 and len(mine) == len(expected)
            np.testing.assert_allclose(mine, expected, atol=0.5 / fps)
    # a counted stance of S runs from the other foot's toe-off to its next contact: both are in the file
    step = a.steps[0]
    other = "left" if step.stance_side == "right" else "right"
    assert np.min(np.abs(fe.toe_offs_s[other] - step.start_s)) < 0.5 / fps
    # the drop channel is defined only within counted stances, with the step's sign
    peak = int(np.argmin(np.abs(a.frames.time_s - step.peak_time_s)))
    assert analogs[1, peak] == pytest.approx(step.peak_drop_deg, abs=0.05)


def test_no_events_are_invented_where_the_analysis_found_none(tmp_path):
    a = make_analysis()
    only_left = FootEvents(initial_contacts_s={"left": a.foot_events.initial_contacts_s["left"],
                                               "right": np.zeros(0)},
                           toe_offs_s={"left": np.zeros(0), "right": np.zeros(0)})
    write_biomech(replace(a, foot_events=only_left), tmp_path)
    ev = ezc3d.c3d(str(tmp_path / "landmarks.c3d"))["parameters"]["EVENT"]
    assert set(zip(ev["CONTEXTS"]["value"], ev["LABELS"]["value"])) == {("Left", "Foot Strike")}
    assert ev["USED"]["value"][0] == len(only_left.initial_contacts_s["left"])
    write_biomech(replace(a, foot_events=FootEvents()), tmp_path)
    c = ezc3d.c3d(str(tmp_path / "landmarks.c3d"))
    assert "EVENT" not in c["parameters"] or c["parameters"]["EVENT"]["USED"]["value"][0] == 0


def test_trc_is_opensims_marker_file(written):
    a, out = written
    header, names, times, xyz = read_trc(out / "landmarks.trc")
    n = len(a.track)
    assert header["Units"] == "m" and float(header["DataRate"]) == pytest.approx(a.video.fps)
    assert int(header["NumFrames"]) == n and int(header["NumMarkers"]) == 33
    assert names == list(LANDMARK_NAMES)
    np.testing.assert_allclose(times, a.track.time_s, atol=1e-4)
    np.testing.assert_allclose(xyz[:, :, 0], a.track.world_xyz[:, :, 0], atol=1e-4)


def test_frames_without_a_person_are_missing(tmp_path):
    a = make_analysis()
    world = a.track.world_xyz.copy()
    world[5] = np.nan
    write_biomech(replace(a, track=replace(a.track, world_xyz=world)), tmp_path)
    c = ezc3d.c3d(str(tmp_path / "landmarks.c3d"))
    assert np.isnan(c["data"]["points"][:3, :, 5]).all()
    assert (c["data"]["meta_points"]["residuals"][0, :, 5] < 0).all()
    _, _, _, xyz = read_trc(tmp_path / "landmarks.trc")
    assert np.isnan(xyz[5]).all() and np.isfinite(xyz[4]).all()


def test_a_variable_frame_rate_is_put_on_a_constant_grid():
    t = np.array([0.0, 0.033, 0.070, 0.1, 0.2])  # a frame missing between 0.1 and 0.2
    grid, nearest = uniform_frames(t, 30.0)
    assert len(grid) == 7 and grid[-1] == pytest.approx(0.2)
    assert list(nearest) == [0, 1, 2, 3, -1, -1, 4]
