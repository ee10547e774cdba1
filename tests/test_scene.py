"""The room's vertical and horizontal lines as a level cue: found in constructed frames (gaitlab.measure.scene), and
the camera's roll and pitch recovered from lines projected by a known camera (gaitlab.core.scene,
gaitlab.core.camera)."""
import cv2
import numpy as np
import pytest

from gaitlab.core.camera import (
    BODY_AXIS_LEAN_SD_DEG,
    camera_rotation,
    estimate_camera_pose,
    fit_vertical,
    focal_px,
    horizon_pitch_deg,
    intrinsics,
    project,
    screen_tilt_of_vertical_deg,
)
from gaitlab.core.scene import distinct_lines, horizontal_lines, off_floor, segment_tilt_deg, vanishing_point
from gaitlab.core.track import LEFT_HEEL, NUM_LANDMARKS, RIGHT_HEEL
from gaitlab.measure.scene import room_segments

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
    cv2.rectangle(img, (560, 150), (720, 565), (90, 60, 30), -1)  # the person (soles at the feet's landmarks)
    person = np.full((NUM_LANDMARKS, 3), np.nan)
    person[:, 0], person[:, 1] = np.linspace(590, 690, NUM_LANDMARKS), np.linspace(200, 560, NUM_LANDMARKS)
    seg = room_segments(img, person)
    floor = np.abs(segment_tilt_deg(seg)) > 80
    assert floor.any() and np.all(seg[floor][:, [1, 3]] > 640)  # the floor's edge below the person, for the horizon
    seg = seg[~floor]
    tilt, mid = distinct_lines(seg, np.zeros(len(seg)), H)
    assert len(tilt) >= len(frames)  # each drawn line, its two edges at most
    for x, t in frames:
        near = np.abs(mid[:, 0] - x) < 10
        assert near.any() and np.all(np.abs(tilt[near] - t) < 0.3)
    assert not np.any((mid[:, 0] > 540) & (mid[:, 0] < 740))  # nothing of the person


def test_the_lines_kept_do_not_depend_on_which_way_the_picture_is_mirrored():
    """LSD alone finds 32 of these faint edges in the picture and 36 in its mirror image; the segments kept are those
    both passes find, the same set either way (mirrored back, to the pixel)."""
    from gaitlab.measure.scene import MIN_SEGMENT_HEIGHT_FRAC

    rng = np.random.default_rng(2)
    img = np.full((540, 960), 100, np.float32)
    for _ in range(16):  # faint step edges, near LSD's detection limit once noise is added
        x, tilt, step = rng.uniform(40, 900), rng.uniform(-3, 3), rng.uniform(12, 20)
        y0, y1 = rng.uniform(15, 150), rng.uniform(340, 525)
        x1 = x + np.tan(np.radians(tilt)) * (y1 - y0)
        cv2.fillPoly(img, [np.array([[x, y0], [x1, y1], [x1 + 45, y1], [x + 45, y0]], np.int32)], 100 + step)
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 5.0, img.shape)
    rgb = np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    mirrored = np.ascontiguousarray(rgb[:, ::-1])

    def one_pass(picture):  # LSD once, its segments as long as room_segments keeps
        seg = cv2.createLineSegmentDetector().detect(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY))[0].reshape(-1, 4)
        return seg[np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]) >= MIN_SEGMENT_HEIGHT_FRAC * 540]

    assert len(one_pass(rgb)) != len(one_pass(mirrored))  # the detector's own asymmetry, which this test is about
    seg, back = room_segments(rgb, None), room_segments(mirrored, None)
    back[:, [0, 2]] = 959 - back[:, [0, 2]]
    back = np.where((back[:, 1] <= back[:, 3])[:, None], back, back[:, [2, 3, 0, 1]])
    assert len(seg) == len(back) > 20
    assert np.abs(seg[:, None, :] - back[None, :, :]).max(axis=-1).min(axis=1).max() < 0.01


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


def _floor(yaw, pitch, roll, turn_deg=0.0, camera_height_m=1.0):
    """(tilt_deg, midpoint_px) of the seams of a floor of 0.5-m tiles 3-10 m in front of a camera at camera_height_m
    with the given pose, their rows turned by turn_deg about the vertical from the line of travel: the seams that
    run away from the camera, as horizontal_lines keeps them (none within 20° of the image horizontal)."""
    r = camera_rotation(yaw, pitch, roll)
    c, s = np.cos(np.radians(turn_deg)), np.sin(np.radians(turn_deg))
    segs = []
    for x in np.arange(-2.0, 2.01, 0.5):
        ends = np.array([[x * c + 3.0 * s, -x * s + 3.0 * c, -camera_height_m],
                         [x * c + 10.0 * s, -x * s + 10.0 * c, -camera_height_m]])
        a, b = project(ends, np.zeros(3), r, K)
        segs.append([*a, *b] if a[1] <= b[1] else [*b, *a])
    seg = np.array(segs)
    inside = np.all((seg[:, [0, 2]] >= 0) & (seg[:, [0, 2]] < W) & (seg[:, [1, 3]] >= 0) & (seg[:, [1, 3]] < H), axis=1)
    seg = seg[inside]
    tilt = segment_tilt_deg(seg)
    seg = seg[np.abs(tilt) <= 70.0]
    return segment_tilt_deg(seg), 0.5 * (seg[:, :2] + seg[:, 2:])


@pytest.mark.parametrize("yaw,pitch,roll,turn", [(0.0, 5.0, 0.0, 0.0), (8.0, 9.0, 0.0, 0.0), (-11.0, 6.0, 2.0, 0.0),
                                                 (4.0, 12.0, -3.0, 25.0), (0.0, -3.0, 1.0, -15.0)])
def test_the_floors_lines_meet_on_the_horizon_whose_height_is_the_pitch(yaw, pitch, roll, turn):
    """Seams projected by a known camera (pitched up as well as down; the tiles square to the walk or turned 15-25°
    from it): their meeting point, at the known roll, gives the pitch within 0.1°; a rug's edge and a shadow's, at
    other angles, are left out."""
    tilt, mid = _floor(yaw, pitch, roll, turn)
    assert len(tilt) >= 4
    strays = (np.array([35.0, -50.0]), np.array([[300.0, 650.0], [1000.0, 600.0]]))
    vp = vanishing_point(np.append(tilt, strays[0]), np.vstack([mid, strays[1]]))
    assert vp is not None and vp.lines == len(tilt)
    assert horizon_pitch_deg(vp.xy, roll, K) == pytest.approx(pitch, abs=0.1)
    # the meeting point is the direction of the rows: its bearing is the rows' turn from the optical axis
    ray = np.linalg.solve(K, [*vp.xy, 1.0])
    assert np.degrees(np.arctan2((camera_rotation(yaw, pitch, roll).T @ ray)[0],
                                 (camera_rotation(yaw, pitch, roll).T @ ray)[1])) == pytest.approx(turn, abs=0.1)


def test_too_few_lines_meeting_give_no_point():
    tilt, mid = _floor(0.0, 6.0, 0.0)
    assert vanishing_point(tilt[:3], mid[:3]) is None
    assert vanishing_point(np.array([10.0, -40.0, 30.0, 55.0]), np.array([[100, 600], [900, 500], [400, 650],
                                                                          [1100, 700]], float)) is None
    # parallel in the image (a family seen square, its point at infinity), exactly or to a hundred-thousandth of a
    # degree: no point, and no failure
    along = np.array([[100, 500], [300, 500], [500, 500], [700, 500], [900, 500]], float)
    assert vanishing_point(np.full(5, 30.0), along) is None
    assert vanishing_point(np.array([30.0, 30.00001, 30.00002, 29.99999, 30.00003]), along) is None


def test_the_horizon_gives_a_turned_camera_its_pitch_and_its_roll_without_the_rooms_verticals():
    """A camera panned 8° and pitched 9° down (the bench's lean_g, in shape): the body's vertical at the hips, seen
    off the centre column, tilts by about tan 8° x tan 9° (1.3°) with no roll at all. Without a pitch the roll takes
    that tilt; the floor's horizon gives the pitch, and the roll comes out level."""
    yaw, pitch, roll = -8.0, 9.0, 0.0
    r = camera_rotation(yaw, pitch, roll)
    hip = project(np.array([0.0, 3.2, -0.4]), np.zeros(3), r, K)  # the hips on the line of travel, 0.4 m below
    tau = float(screen_tilt_of_vertical_deg(hip, r, K))
    tilt, mid = _floor(yaw, pitch, roll)
    vp = vanishing_point(tilt, mid)
    hips, body = np.tile(hip, (40, 1)), np.full(40, tau)
    depth = (r @ np.array([0.0, 3.2, -0.4]))[2]  # the hips' depth along the optical axis, metres
    length = (1.2, K[0, 0] * 1.2 / depth)  # a 1.2-m body line seen there, (metres, pixels)
    with_floor = estimate_camera_pose(hips, body, W, H, horizon_point=vp, body_length=length)
    without = estimate_camera_pose(hips, body, W, H, body_length=length)
    assert with_floor.horizon_lines == vp.lines and without.horizon_lines == 0
    assert with_floor.pitch_deg == pytest.approx(pitch, abs=0.1) and with_floor.pitch_sd_deg < 1.0
    assert with_floor.roll_deg == pytest.approx(roll, abs=0.05) and with_floor.yaw_deg == pytest.approx(yaw, abs=0.05)
    # the camera 0.4 m above the hips, within its SD (mostly the person's size against MediaPipe's typical body)
    assert with_floor.height_above_hips_m == pytest.approx(0.4, abs=0.01)
    assert 0.03 < with_floor.height_sd_m < 0.06
    assert abs(without.roll_deg - roll) > 1.0 and without.pitch_sd_deg > 5.0
    assert np.isnan(without.height_above_hips_m)  # no height from a pitch that is only the prior


def test_lines_that_may_be_verticals_are_not_taken_for_horizontals():
    """Sorting a track's segments: a door frame (near the image vertical, above the feet) is a vertical; a steep seam
    below the feet and a skirting board's edge running to the horizon are horizontals; a line across the view
    (within 20° of the image horizontal) is neither's."""
    from dataclasses import replace

    from gaitlab.core.scene import room_lines
    from tests.synthetic import make_track

    track, _ = make_track(fps=30.0, dur_s=4.0)
    feet = np.nanmax(track.image_xyz[:, [LEFT_HEEL, RIGHT_HEEL], 1])
    segs = np.array([[60.0, 100.0, 64.0, 400.0],  # door frame
                     [500.0, feet + 40, 420.0, feet + 140],  # a seam below the feet, 39° from the vertical
                     [1100.0, 300.0, 1250.0, 420.0],  # a skirting board, 51° from the vertical
                     [100.0, feet + 60, 400.0, feet + 80]])  # across the view
    frames = np.arange(0, len(track), 30)
    track = replace(track, scene_segment_frame=np.repeat(frames, len(segs)),
                    scene_segments_px=np.tile(segs, (len(frames), 1)))
    vertical, _ = room_lines(track)
    horizontal, _ = horizontal_lines(track)
    assert np.allclose(vertical, segment_tilt_deg(segs[:1]))
    assert np.allclose(np.sort(horizontal), np.sort(segment_tilt_deg(segs[1:3])))


def _room_through_a_lens(walls_m, pitch=6.0, roll=-3.0, lens_35mm=30.0, seams_m=(-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0),
                         noise_px=0.0):
    """A camera with a lens_35mm lens (30 mm: not the 26 mm assumed), pitched and rolled, seeing the verticals of walls at
    walls_m (x, 5 m ahead) and the floor's seams at seams_m (x) running away from it, each segment's ends off by
    noise_px (one SD, a fixed draw; LSD's ends are good to about a pixel): (rotation, intrinsics, the verticals as
    (tilts, midpoints), the seams' vanishing point, the hips' image point 3 m ahead)."""
    k_true = intrinsics(W, H, focal_px(W, H, lens_35mm))
    r = camera_rotation(0.0, pitch, roll)
    rng = np.random.default_rng(0)
    walls = []
    for x in walls_m:
        top, bottom = project(np.array([[x, 5.0, 1.0], [x, 5.0, -0.6]]), np.zeros(3), r, k_true)
        walls.append([*top, *bottom])
    walls = np.array(walls) + rng.normal(0.0, noise_px, (len(walls), 4))
    seams = []
    for x in seams_m:
        near, far = project(np.array([[x, 3.0, -1.0], [x, 10.0, -1.0]]), np.zeros(3), r, k_true)
        seams.append([*far, *near])
    seams = np.array(seams) + rng.normal(0.0, noise_px, (len(seams), 4))
    vp = vanishing_point(segment_tilt_deg(seams), 0.5 * (seams[:, :2] + seams[:, 2:]))
    hip = project(np.array([0.0, 3.0, -0.3]), np.zeros(3), r, k_true)
    return r, k_true, (segment_tilt_deg(walls), 0.5 * (walls[:, :2] + walls[:, 2:])), vp, hip


@pytest.mark.parametrize("walls_m", [(1.4, 1.6, 1.8, 2.0, 2.2), (-2.2, -1.8, -1.4, 1.4, 1.8, 2.2)])
def test_the_rooms_verticals_and_its_horizon_give_the_focal_length_with_the_roll(walls_m):
    """A camera whose lens is not the 26 mm assumed (30 mm, as a phone's 1.2x zoom), pitched 6° down and rolled -3°,
    with the room's verticals and the floor's seams: the verticals' convergence says tan(pitch) / f, the horizon
    f x tan(pitch). With the focal length assumed the two disagree, and verticals at one edge of the frame (one
    wall) put that into the roll with a confident SD (off by more than 4 of them). Fitted together: the truth within
    2 SDs and 0.3° with one wall; with walls on both sides the focal length within 1.5 mm and the roll within 0.1°."""
    roll = -3.0
    r, k_true, lines, vp, hip = _room_through_a_lens(walls_m, roll=roll)
    hips = np.tile(hip, (40, 1))
    body = np.full(40, float(screen_tilt_of_vertical_deg(hip, r, k_true)))
    fitted = estimate_camera_pose(hips, body, W, H, room_lines=lines, horizon_point=vp)
    assert fitted.focal_fitted
    assert abs(fitted.roll_deg - roll) < min(2 * fitted.roll_sd_deg, 0.3)
    if len(walls_m) == 5:
        assumed = fit_vertical(*lines, None, K, (float(horizon_pitch_deg(vp.xy, roll, K)), 0.2))
        assert abs(assumed.roll_deg - roll) > 4 * assumed.roll_sd_deg
    else:
        assert fitted.focal_35mm == pytest.approx(30.0, abs=1.5) and fitted.roll_deg == pytest.approx(roll, abs=0.1)


ACROSS_M = (-1.4, -1.0, -0.6, 0.6, 1.0, 1.4)  # walls on both sides of the view
ONE_WALL_M = (0.6, 0.8, 1.0, 1.2)


@pytest.mark.parametrize("lens_35mm, walls_m, seams_m, horizon_kept", [
    (30.0, ACROSS_M, (-0.5, -0.25, 0.25, 0.5), True),  # agree at a lens within the prior
    (52.0, ACROSS_M, (1.0, 1.5, 2.0, 2.5), False),  # apart; the verticals read the pitch more precisely
    (52.0, ONE_WALL_M, (-0.5, -0.25, 0.25, 0.5), True),  # apart; the horizon reads it more precisely
])
def test_a_horizon_that_no_main_cameras_lens_brings_to_the_verticals_is_left_out(lens_35mm, walls_m, seams_m,
                                                                                  horizon_kept):
    """Through a 2x zoom (52 mm) the floor's horizon and the room's verticals agree at no focal length a phone's main
    camera has (26 mm within OUTLIER_SIGMAS of its SD). With walls across the view and four seams to one side, the
    verticals read the pitch the more precisely: the horizon is left out, the pose says how far apart they were,
    and the roll is the verticals' own with their SD (fitted together, the lines' scatter swells to hold both and
    the roll's SD with it). With one wall's verticals, which trade roll for pitch, the horizon reads the pitch the
    more precisely and stays in the fit. Through a 1.2x zoom (30 mm) they agree: kept, the focal length fitted."""
    from gaitlab.core.uncertainty import OUTLIER_SIGMAS

    roll = -3.0
    r, k_true, lines, vp, hip = _room_through_a_lens(walls_m, roll=roll, lens_35mm=lens_35mm, seams_m=seams_m,
                                                     noise_px=1.0)
    body = np.full(40, float(screen_tilt_of_vertical_deg(hip, r, k_true)))
    pose = estimate_camera_pose(np.tile(hip, (40, 1)), body, W, H, room_lines=lines, horizon_point=vp)
    together = fit_vertical(np.append(lines[0], body[0]), np.vstack([lines[1], hip]),
                            np.append(np.full(len(lines[0]), np.nan), BODY_AXIS_LEAN_SD_DEG), K, (0.0, 10.0), vp,
                            focal_px(W, H, 28.0) - focal_px(W, H))
    assert (abs(pose.horizon_apart_sd) > OUTLIER_SIGMAS) == (lens_35mm > 40)
    assert (pose.horizon_lines == vp.lines) == horizon_kept and pose.focal_fitted == horizon_kept
    if not horizon_kept:
        assert pose.roll_deg == pytest.approx(roll, abs=0.1)
        assert pose.roll_sd_deg < 0.1 and together.roll_sd_deg > 5 * pose.roll_sd_deg


@pytest.mark.parametrize("lens_35mm", [26.0, 52.0])
def test_a_zoomed_clip_is_told(lens_35mm):
    """A walk filmed through a 2x zoom (52 mm equivalent) in a room with door frames across the view and floor seams
    to one side gets the warning, with its advice, and the horizon is left out; the same room through a main camera
    (26 mm) gets neither: the horizon is used."""
    from dataclasses import replace

    from gaitlab.core.analysis import analyze_track
    from gaitlab.core.clip import VideoInfo
    from gaitlab.core.result import WarningCode
    from gaitlab.outputs.wording import warning_text
    from tests.synthetic import make_track

    track, _ = make_track(fps=30.0, dur_s=8.0, drops={"left": 3.0, "right": 7.0}, symmetry_noise_deg=0.5)
    w, h = track.width, track.height
    k = intrinsics(w, h, focal_px(w, h, lens_35mm))
    r = camera_rotation(0.0, 5.0, 0.0)
    edges = np.array([[x, 5.0, z] for x in (-1.3, -1.1, -0.9, -0.7, 0.7, 0.9, 1.1, 1.3) for z in (0.8, -0.6)])
    seams = np.array([[x, y, -1.0] for x in (1.0, 1.5, 2.0, 2.5) for y in (12.0, 5.0)])
    px = project(np.vstack([edges, seams]), np.zeros(3), r, k).reshape(-1, 4)
    px += np.random.default_rng(0).normal(0.0, 1.0, px.shape)  # LSD's ends are good to about a pixel
    frames = np.arange(0, len(track), 30)
    seen = replace(track, scene_segment_frame=np.repeat(frames, len(px)), scene_segments_px=np.tile(px, (len(frames), 1)))
    a = analyze_track(seen, VideoInfo("clip.mp4", 30.0, len(track), 8.0, w, h, 0, "h264"))
    told = [x for x in a.warnings if x.code is WarningCode.CAMERA_ZOOMED]
    assert a.camera.room_lines >= 4
    if lens_35mm > 26.0:
        assert told and a.camera.horizon_lines == 0
        assert "zoomed in" in warning_text(told[0]) and "1x" in warning_text(told[0])
    else:
        assert not told and a.camera.horizon_lines == 4 and a.camera.focal_fitted


def test_the_ceilings_lines_run_down_to_the_same_horizon():
    """Lines above the horizon (a ceiling's seams, the tops of shelves, a high rail) meet it from above: with the floor's they
    give one point, and alone they give the pitch too (the code before counted only lines that run up to it)."""
    floor = _floor(3.0, 7.0, 1.0)
    ceiling = _floor(3.0, 7.0, 1.0, camera_height_m=-0.5)  # seams of a plane 0.5 m above the camera (a high rail)
    assert np.all(ceiling[1][:, 1] < H / 2)
    for tilt, mid in (ceiling, (np.append(floor[0], ceiling[0]), np.vstack([floor[1], ceiling[1]]))):
        vp = vanishing_point(tilt, mid)
        assert vp is not None and vp.lines == len(tilt)
        assert horizon_pitch_deg(vp.xy, 1.0, K) == pytest.approx(7.0, abs=0.1)


def test_a_room_full_of_lines_still_gives_its_vanishing_point():
    """400 lines, 40 of them meeting at one point and the rest every which way (books, a cluttered shelf): the pairs
    tried are a fixed sample (MAX_CANDIDATE_PAIRS of the 79 800), which still holds two of the 40, and the point is
    found where they meet, the same on every call."""
    from gaitlab.core.scene import MAX_CANDIDATE_PAIRS

    rng = np.random.default_rng(5)
    point = np.array([700.0, 150.0])
    mids = np.column_stack([rng.uniform(0, W, 40), rng.uniform(300, H, 40)])
    d = point - mids
    family = np.degrees(np.arctan2(d[:, 0], -d[:, 1]))  # tilt of the line from each midpoint toward the point
    tilt = np.append(family, rng.uniform(-80, 80, 360))
    mid = np.vstack([mids, np.column_stack([rng.uniform(0, W, 360), rng.uniform(0, H, 360)])])
    assert 400 * 399 // 2 > MAX_CANDIDATE_PAIRS
    vp = vanishing_point(tilt, mid)
    assert vp is not None and np.allclose(vp.xy, point, atol=0.5) and vp.lines >= 40
    assert np.array_equal(vanishing_point(tilt, mid).xy, vp.xy)


def test_a_persons_lean_is_read_against_the_rooms_own_fit_with_the_lenss_prior():
    """The body's lean from the room's vertical (a 30-mm lens, one wall's verticals, the floor's seams, the body 3°
    off): the room's own fit, without the body, takes the focal length's prior (26 ± 2 mm), not the narrower SD the
    fit with the body reached. One wall leaves the roll, and with it the lean, open by a few tenths: within 0.3°
    (0.27° off; the code before, 0.39°)."""
    r, k_true, lines, vp, hip = _room_through_a_lens((1.4, 1.6, 1.8, 2.0, 2.2))
    body = np.full(40, float(screen_tilt_of_vertical_deg(hip, r, k_true)) + 3.0)
    pose = estimate_camera_pose(np.tile(hip, (40, 1)), body, W, H, horizon_point=vp, room_lines=lines)
    assert pose.body_lean_deg == pytest.approx(3.0, abs=0.3)


def _wall_edge(tilt_deg, length_px, height=1080, width=1920, samples=4):
    """A bright wall against a darker room, its left edge length_px tall through (1200, 540) at tilt_deg (top toward
    image right), rendered with samples x samples per pixel (an antialiased edge, as a lens and a renderer give)."""
    img = np.full((height, width), 90.0)
    top, bottom = int(540 - length_px / 2), int(540 + length_px / 2)
    y = (np.arange(top * samples, bottom * samples) + 0.5)[:, None] / samples
    x = (np.arange(width * samples) + 0.5)[None, :] / samples
    edge = 1200 - (y - 540) * np.tan(np.radians(tilt_deg))
    fine = np.where((x > edge) & (x < 1500), 190.0, 90.0)
    img[top:bottom] = fine.reshape(bottom - top, samples, width, samples).mean(axis=(1, 3))
    return np.repeat(img.astype(np.uint8)[..., None], 3, axis=2)


@pytest.mark.parametrize("tilt", [0.5, 1.4])
@pytest.mark.parametrize("length", [60, 80, 120])
def test_a_short_edges_tilt_is_read_to_a_tenth_of_a_degree(tilt, length):
    """LSD on the reduced 1080p frame reads five of these six short edges 0.12-0.25° off (0.34° for 0.5° at 80 px,
    1.16° for 1.4° at 60 px); each segment is fitted again to its edge in the full frame."""
    seg = room_segments(_wall_edge(tilt, length), None)
    tilts = segment_tilt_deg(seg)
    tilts = tilts[(np.minimum(seg[:, 0], seg[:, 2]) < 1300) & (np.abs(tilts) < 20)]  # the wall's left edge
    assert len(tilts) and np.all(np.abs(tilts - tilt) < 0.1), tilts
