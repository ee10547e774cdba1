"""The room's vertical lines as a level cue: found in constructed frames (gaitlab.measure.scene), and the camera's
roll and pitch recovered from lines projected by a known camera (gaitlab.core.scene, gaitlab.core.camera)."""
import cv2
import numpy as np
import pytest

from gaitlab.core.camera import (
    BODY_AXIS_LEAN_SD_DEG,
    camera_rotation,
    estimate_camera_pose,
    fit_vertical,
    focal_px,
    intrinsics,
    project,
    screen_tilt_of_vertical_deg,
)
from gaitlab.core.scene import distinct_lines, off_floor, segment_tilt_deg
from gaitlab.core.track import LEFT_HEEL, NUM_LANDMARKS, RIGHT_HEEL
from gaitlab.measure.scene import near_vertical_segments

W, H = 1280, 720
K = intrinsics(W, H, focal_px(W, H))


def _room(yaw, pitch, roll, columns_m=(-2.0, -1.2, 1.0, 1.8, 2.6), depth_m=5.0, camera_height_m=1.0):
    """Segments (x1, y1, x2, y2 px, top first) of vertical edges 0.4-2.0 m above the floor at the given lateral
    positions, depth_m in front of a camera at camera_height_m with the given pose."""
    r = camera_rotation(yaw, pitch, roll)
    segs = []
    for x in columns_m:
        top, bottom = project(np.array([[x, depth_m, 2.0 - camera_height_m], [x, depth_m, 0.4 - camera_height_m]]),
                              np.zeros(3), r, K)
        segs.append([*top, *bottom])
    return np.array(segs)


def test_a_frame_with_door_frames_gives_their_tilts_and_not_the_persons_edges():
    img = np.full((H, W, 3), 200, np.uint8)
    frames = [(150, 2.0), (300, -1.5), (1000, 0.5), (1150, 3.0)]  # (x at mid-height px, tilt deg, top to the right)
    for x, tilt in frames:
        dx = np.tan(np.radians(tilt)) * 250
        cv2.line(img, (int(x + dx), 110), (int(x - dx), 610), (40, 40, 40), 6)
    cv2.line(img, (100, 650), (1200, 655), (40, 40, 40), 6)  # a floor edge: not near vertical
    cv2.rectangle(img, (560, 150), (720, 600), (90, 60, 30), -1)  # the person, whose sides are vertical edges
    person = np.full((NUM_LANDMARKS, 3), np.nan)
    person[:, 0], person[:, 1] = np.linspace(590, 690, NUM_LANDMARKS), np.linspace(200, 560, NUM_LANDMARKS)
    seg = near_vertical_segments(img, person)
    tilt, mid = distinct_lines(seg, np.zeros(len(seg)), H)
    assert len(tilt) >= len(frames)  # each drawn line, its two edges at most
    for x, t in frames:
        near = np.abs(mid[:, 0] - x) < 10
        assert near.any() and np.all(np.abs(tilt[near] - t) < 0.3)
    assert not np.any((mid[:, 0] > 540) & (mid[:, 0] < 740))  # nothing of the person


@pytest.mark.parametrize("yaw,pitch,roll", [(0.0, 0.0, 0.0), (0.0, 6.0, 2.0), (11.0, 8.0, -3.0), (-8.0, -4.0, 1.0)])
def test_lines_across_the_frame_give_the_roll_and_the_pitch(yaw, pitch, roll):
    seg = _room(yaw, pitch, roll)
    fit = fit_vertical(segment_tilt_deg(seg), 0.5 * (seg[:, :2] + seg[:, 2:]), None, K, (0.0, 10.0))
    assert fit.roll_deg == pytest.approx(roll, abs=0.05)
    assert fit.pitch_deg == pytest.approx(pitch, abs=0.3)


def test_lines_of_one_wall_leave_the_roll_open_and_say_so():
    """Lines in one band of columns show one tilt for two unknowns: the roll's SD is far larger than with lines
    across the frame, and the truth stays within its 95 % interval."""
    rng = np.random.default_rng(1)
    spread, wall = _room(5.0, 7.0, 0.5), _room(5.0, 7.0, 0.5, columns_m=(2.4, 2.5, 2.6, 2.7, 2.8))
    fits = []
    for seg in (spread, wall):
        seg = seg + rng.normal(0, 0.5, seg.shape)
        fits.append(fit_vertical(segment_tilt_deg(seg), 0.5 * (seg[:, :2] + seg[:, 2:]), None, K, (0.0, 10.0)))
    assert fits[1].roll_sd_deg > 3 * fits[0].roll_sd_deg
    assert abs(fits[1].roll_deg - 0.5) < 1.96 * fits[1].roll_sd_deg


def test_a_leaning_line_is_dropped():
    seg = _room(0.0, 5.0, 1.0, columns_m=(-2.0, -1.5, -1.0, 1.0, 1.5, 2.0))
    leaning = _room(0.0, 5.0, 7.0, columns_m=(0.5,))  # a broom against the wall, 6° off plumb
    both = np.vstack([seg, leaning])
    fit = fit_vertical(segment_tilt_deg(both), 0.5 * (both[:, :2] + both[:, 2:]), None, K, (0.0, 10.0))
    assert fit.roll_deg == pytest.approx(1.0, abs=0.05) and fit.lines == len(seg)


def test_the_same_lines_in_many_frames_count_once():
    rng = np.random.default_rng(2)
    seg = _room(0.0, 4.0, 2.0)
    repeated = np.vstack([seg + rng.normal(0, 0.7, seg.shape) for _ in range(10)])
    frames = np.repeat(np.arange(10), len(seg))
    tilt, mid = distinct_lines(repeated, frames, H)
    assert len(tilt) == len(seg)
    # an edge in 3 of the 10 frames (a shadow, an arm, a compression block) is not the room's
    passing = _room(0.0, 4.0, 5.0, columns_m=(0.3,))
    tilt, _ = distinct_lines(np.vstack([repeated, passing, passing, passing]), np.append(frames, [0, 4, 7]), H)
    assert len(tilt) == len(seg)
    assert np.allclose(np.sort(mid[:, 0]), np.sort(0.5 * (seg[:, 0] + seg[:, 2])), atol=1.0)


def test_floor_lines_in_front_of_the_person_are_left_out():
    seg = np.array([[600.0, 100.0, 602.0, 400.0],   # a door frame, reaching above the feet
                    [640.0, 660.0, 630.0, 719.0]])  # a floor seam below the feet, toward the horizon
    xyz = np.full((1, NUM_LANDMARKS, 3), np.nan)
    xyz[0, [LEFT_HEEL, RIGHT_HEEL], 1] = [610.0, 620.0]
    assert off_floor(seg, np.zeros(2, int), xyz).tolist() == [True, False]


def test_a_leaning_person_does_not_tilt_the_camera_where_the_room_shows_its_verticals():
    """The body's mean axis 3° off the room's vertical (a cane, a painful hip): with the room's lines the roll is
    the room's, and the body's lean from it is reported; without them the body's axis is all there is."""
    roll, pitch = 1.5, 6.0
    seg = _room(0.0, pitch, roll)
    hip = np.array([W / 2 + 40, H / 2 + 20])
    true_tilt = float(screen_tilt_of_vertical_deg(hip, camera_rotation(0.0, pitch, roll), K))
    lines = (segment_tilt_deg(seg), 0.5 * (seg[:, :2] + seg[:, 2:]))
    body = np.full(40, true_tilt + 3.0)
    with_room = estimate_camera_pose(np.tile(hip, (40, 1)), body, W, H, room_lines=lines)
    without = estimate_camera_pose(np.tile(hip, (40, 1)), body, W, H)
    assert with_room.room_lines == len(seg)
    # the body's line (SD BODY_AXIS_LEAN_SD_DEG) pulls the room's five exact lines by a few hundredths of its lean
    assert with_room.roll_deg == pytest.approx(roll, abs=0.1 * BODY_AXIS_LEAN_SD_DEG)
    assert with_room.pitch_deg == pytest.approx(pitch, abs=0.5) and with_room.pitch_sd_deg < 2.0
    assert with_room.body_lean_deg == pytest.approx(3.0, abs=0.1)
    assert without.roll_deg == pytest.approx(roll + 3.0, abs=0.3) and without.room_lines == 0


def test_a_person_leaning_throughout_is_told_and_their_drops_stay_where_the_room_shows_its_verticals():
    from dataclasses import replace

    from gaitlab.core.analysis import analyze_track
    from gaitlab.core.clip import VideoInfo
    from gaitlab.core.result import WarningCode
    from gaitlab.core.track import LEFT_SHOULDER, RIGHT_SHOULDER
    from tests.synthetic import make_track

    drops = {"left": 3.0, "right": 7.0}
    track, _ = make_track(fps=30.0, dur_s=12.0, drops=drops, noise=0.002, symmetry_noise_deg=0.5)
    w, h = track.width, track.height
    k = intrinsics(w, h, focal_px(w, h))
    r = camera_rotation(0.0, 0.0, 0.0)  # a level camera at hip height, square to the walk
    edges = np.array([[x, 4.0, z] for x in (-1.6, -1.1, 1.2, 1.7) for z in (0.8, -0.6)])
    px = project(edges, np.zeros(3), r, k).reshape(-1, 2, 2)
    frames = np.arange(0, len(track), 30)
    seen = dict(scene_segment_frame=np.repeat(frames, len(px)), scene_segments_px=np.tile(px.reshape(-1, 4), (len(frames), 1)))
    leaning = track.image_xyz.copy()  # shoulders 3° to the image right of the ankles: a lean toward their right
    ankle_to_shoulder = np.nanmedian(track.image_xyz[:, 27, 1] - track.image_xyz[:, LEFT_SHOULDER, 1])
    leaning[:, [LEFT_SHOULDER, RIGHT_SHOULDER], 0] += np.tan(np.radians(3.0)) * ankle_to_shoulder
    info = VideoInfo("clip.mp4", 30.0, len(track), 12.0, w, h, 0, "h264")
    upright = analyze_track(replace(track, **seen), info)
    lean_room = analyze_track(replace(track, image_xyz=leaning, **seen), info)
    lean_alone = analyze_track(replace(track, image_xyz=leaning), info)
    told = [x for x in lean_room.warnings if x.code is WarningCode.BODY_LEANS]
    assert told and told[0].values["side"] == "right" and told[0].values["lean_deg"] == pytest.approx(3.0, abs=0.3)
    for side in ("left", "right"):
        assert lean_room.sides[side].mean_drop_deg == pytest.approx(upright.sides[side].mean_drop_deg, abs=0.2)
    # without the room the lean is taken for the camera's roll: one side's drops rise, the other's fall
    moved = lean_alone.sides["right"].mean_drop_deg - upright.sides["right"].mean_drop_deg
    assert abs(moved) > 2.0
    assert not any(x.code is WarningCode.BODY_LEANS for x in lean_alone.warnings + upright.warnings)


@pytest.mark.parametrize("rolls_deg, moved", [([0.8] * 8, False), ([0.8, 0.75, 0.85, 0.8, 0.8, 0.78, 0.82, 0.8], False),
                                              ([2.6, 1.8, 0.1, 1.3, 0.7, -1.1, -3.0, -1.5], True)])
def test_a_camera_that_turns_during_the_clip_is_told_from_one_that_stands_still(rolls_deg, moved):
    """The room's lines read in each sampled frame: the same roll every second from a tripod (or within the readings'
    noise), rolls degrees apart from a phone held in the hand (a follow-cam in a shop, as on a real clip)."""
    from dataclasses import replace

    from gaitlab.core.scene import roll_changes_deg
    from tests.synthetic import make_track

    track, _ = make_track(fps=30.0, dur_s=8.0)
    rng = np.random.default_rng(3)
    frames, segs = [], []
    for i, roll in enumerate(rolls_deg):
        seg = _room(0.0, 4.0, roll) + rng.normal(0, 0.3, (5, 4))
        frames += [30 * i] * len(seg)
        segs.append(seg)
    track = replace(track, width=W, height=H, scene_segment_frame=np.array(frames),
                    scene_segments_px=np.vstack(segs))
    changes = roll_changes_deg(track, K, (0.0, 10.0))
    assert (changes is not None) == moved
    if moved:
        assert changes == pytest.approx(np.std(rolls_deg), rel=0.5)
