from dataclasses import replace

import av
import numpy as np
import pytest

from gaitlab.core import track as lm
from gaitlab.errors import GaitlabError
from gaitlab.outputs.annotate import FACE, blur_faces, draw_overlay, write_annotated_video
from gaitlab.outputs.palette import PALETTE
from gaitlab.tracking.video import iter_frames
from tests.analysis_fixture import make_analysis, stick_figure_track
from tests.clips import write_clip
from tests.conftest import SAMPLES


def _person(width=640, height=480):
    t = stick_figure_track(np.array([0.0]), np.array([0.0]), width, height)
    return t.image_xyz[0], t.visibility[0]


def _texture(height=480, width=640):
    return np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_blur_changes_the_face_region_and_nothing_else():
    xyz, vis = _person()
    img = _texture()
    out = blur_faces(img, xyz, vis)
    changed = np.any(out != img, axis=2)
    (x0, y0), (x1, y1) = xyz[list(FACE), :2].min(axis=0), xyz[list(FACE), :2].max(axis=0)
    face = (slice(int(y0), int(y1) + 1), slice(int(x0), int(x1) + 1))
    assert changed[face].mean() > 0.95  # every face pixel is rewritten...
    assert out[face].astype(float).std() < 0.3 * img[face].astype(float).std()  # ...and detail is gone
    below_shoulders = int(xyz[lm.LEFT_SHOULDER, 1]) + 5
    assert not changed[below_shoulders:].any()
    assert changed.mean() < 0.1


def test_blur_covers_the_head_when_seen_from_the_side():
    xyz, vis = _person()
    side_on = xyz.copy()
    side_on[:, 0] = np.where(np.arange(33) < 23, xyz[0, 0], side_on[:, 0])  # ears, shoulders on one line
    out = blur_faces(_texture(), side_on, vis)
    head_height = xyz[lm.LEFT_SHOULDER, 1] - xyz[0, 1]
    changed_rows = np.flatnonzero(np.any(out != _texture(), axis=(1, 2)))
    assert np.ptp(changed_rows) > 0.8 * head_height  # sized from the trunk, not the collapsed ear span


def test_blur_without_a_person_is_a_no_op():
    img = _texture()
    out = blur_faces(img, np.full((33, 3), np.nan), np.zeros(33))
    assert np.array_equal(out, img) and out is not img


@pytest.mark.parametrize("obliquity, expected", [(8.0, "over"), (2.0, "ok")])
def test_pelvis_line_colour_follows_the_threshold(obliquity, expected):
    xyz, _ = _person()
    out = draw_overlay(np.zeros((480, 640, 3), np.uint8), xyz, obliquity, "right", 5.0, flagged=True)
    mid = ((xyz[lm.LEFT_HIP] + xyz[lm.RIGHT_HIP]) / 2).astype(int)
    patch = out[mid[1] - 6:mid[1] + 7, mid[0] - 30:mid[0] + 31].reshape(-1, 3)
    assert (patch == PALETTE[expected]).all(axis=1).sum() > 20
    other = "ok" if expected == "over" else "over"
    assert not (patch == PALETTE[other]).all(axis=1).any()


def test_no_verdict_no_coloured_drop():
    """A stance of a side without a verdict (e.g. filmed side-on) shows no green or red drop, as the report shows
    none (before: 'contralateral drop 2.0 deg (within 5 deg)' in green under a no-verdict report)."""
    xyz, _ = _person()
    out = draw_overlay(np.zeros((480, 640, 3), np.uint8), xyz, 2.0, "left", 5.0, flagged=False, judged=False)
    pixels = out.reshape(-1, 3)
    assert not (pixels == PALETTE["ok"]).all(axis=1).any() and not (pixels == PALETTE["over"]).all(axis=1).any()
    mid = ((xyz[lm.LEFT_HIP] + xyz[lm.RIGHT_HIP]) / 2).astype(int)
    patch = out[mid[1] - 6:mid[1] + 7, mid[0] - 30:mid[0] + 31].reshape(-1, 3)
    assert (patch == PALETTE["neutral"]).all(axis=1).sum() > 20


def test_pelvis_line_is_grey_outside_single_leg_stance():
    xyz, _ = _person()
    out = draw_overlay(np.zeros((480, 640, 3), np.uint8), xyz, 8.0, "double", 5.0, flagged=False)
    mid = ((xyz[lm.LEFT_HIP] + xyz[lm.RIGHT_HIP]) / 2).astype(int)
    patch = out[mid[1] - 6:mid[1] + 7, mid[0] - 30:mid[0] + 31].reshape(-1, 3)
    assert (patch == PALETTE["neutral"]).all(axis=1).sum() > 20


def test_the_video_frames_yuv_planes_get_the_same_drawing_as_rgb():
    """The annotated video draws on YUV 4:2:0 planes (no RGB round trip). Over 2x2 blocks (4:2:0's chroma
    resolution) that is the RGB drawing, at least as closely as converting the RGB drawing to 4:2:0 (what
    the video did before); the pelvis line has its colour and the face is blurred."""
    import cv2

    from gaitlab.outputs.annotate import _blur_faces_into, _draw_overlay_into, _I420Canvas
    from gaitlab.tracking.video import _stacked_planes

    xyz, vis = _person()
    img = np.kron(_texture(120, 160), np.ones((4, 4, 1), np.uint8))  # 480x640
    rgb = blur_faces(draw_overlay(img, xyz, 8.0, "right", 5.0, flagged=True), xyz, vis)
    i420 = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)
    canvas = _I420Canvas(_stacked_planes(i420, 640, 480))
    _draw_overlay_into(canvas, xyz, 8.0, "right", 5.0, flagged=True)
    _blur_faces_into(canvas, xyz, vis)
    got = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
    before = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), cv2.COLOR_YUV2RGB_I420)

    def blocks(a):
        return cv2.resize(a, (320, 240), interpolation=cv2.INTER_AREA).astype(int)

    drawn = blocks((np.abs(rgb.astype(int) - img).max(axis=2) > 0).astype(np.uint8) * 255) > 0
    error = np.abs(blocks(got) - blocks(rgb)).max(axis=2)[drawn].mean()
    assert drawn.mean() > 0.02
    assert error < 8 and error <= np.abs(blocks(before) - blocks(rgb)).max(axis=2)[drawn].mean()
    mid = ((xyz[lm.LEFT_HIP] + xyz[lm.RIGHT_HIP]) / 2).astype(int)
    line = got[mid[1] - 2:mid[1] + 3, mid[0] - 20:mid[0] + 21].reshape(-1, 3).astype(int)
    assert np.abs(np.median(line, axis=0) - PALETTE["over"]).max() < 8
    (x0, y0), (x1, y1) = xyz[list(FACE), :2].min(axis=0).astype(int), xyz[list(FACE), :2].max(axis=0).astype(int)
    assert got[y0:y1 + 1, x0:x1 + 1].std() < 0.3 * img[y0:y1 + 1, x0:x1 + 1].std()


@pytest.fixture(scope="module")
def one_second_clip(tmp_path_factory):
    """The first second of the sample walk, re-encoded (30 frames, 1280x720)."""
    frames = list(iter_frames(SAMPLES / "sample_walk_post_short.mp4", end_s=1.0))
    path = tmp_path_factory.mktemp("clip") / "walk 1s.mp4"
    h, w = frames[0].rgb.shape[:2]
    return write_clip(path, [f.time_s for f in frames], w, h, frame_fn=lambda i, *_: frames[i].rgb)


def _analysis_for(clip):
    """The lead's real pose track when the model is set up, otherwise the stick figure over the clip's times."""
    times = np.array([f.time_s for f in iter_frames(clip)])
    a = make_analysis(clip.name, time_s=times, width=1280, height=720)
    try:
        from gaitlab.tracking.model import resolve_model
        from gaitlab.tracking.pipeline import track_video

        return replace(a, track=track_video(clip, resolve_model(), use_cache=False).track)
    except GaitlabError:
        return a


def test_annotated_video_is_browser_playable_h264_with_every_frame(one_second_clip, tmp_path):
    a = _analysis_for(one_second_clip)
    out = tmp_path / "annotated.mp4"
    write_annotated_video(one_second_clip, a, out)
    times_in = [f.time_s for f in iter_frames(one_second_clip)]
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
        assert s.width % 2 == 0 and s.height % 2 == 0
        times_out = [float(f.pts * f.time_base) for f in c.decode(s)]
    assert len(times_out) == len(times_in) == 30
    assert np.allclose(times_out, times_in, atol=1e-3)
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while downloading
    assert not list(tmp_path.glob("*.part"))


def test_annotated_video_draws_on_the_frames(one_second_clip, tmp_path):
    a = _analysis_for(one_second_clip)
    write_annotated_video(one_second_clip, a, tmp_path / "on.mp4", blur=False)
    first_in = next(iter_frames(one_second_clip)).rgb.astype(int)
    first_out = next(iter_frames(tmp_path / "on.mp4")).rgb.astype(int)
    drawn = np.abs(first_out - first_in).max(axis=2) > 60  # well above H.264 re-encoding noise
    assert drawn.mean() > 0.002


def test_the_annotated_video_holds_only_the_analysed_part_of_the_clip(one_second_clip, tmp_path):
    """Analysed with --start/--end: frames outside the track would show faces nobody located (unblurred), so
    the video is of the analysed part only, every frame of it."""
    times = np.array([f.time_s for f in iter_frames(one_second_clip)])
    window = times[(times >= 0.3) & (times < 0.7)]
    a = make_analysis(one_second_clip.name, time_s=window, width=1280, height=720)
    write_annotated_video(one_second_clip, a, tmp_path / "part.mp4")
    got = [f.time_s for f in iter_frames(tmp_path / "part.mp4")]
    assert len(got) == len(window) and np.allclose(np.array(got) - got[0], window - window[0], atol=1e-3)


def test_faces_of_people_seen_beside_the_subject_are_blurred_too():
    """Two other people seen once, in the same frame (a therapist and a relative): both faces are blurred for
    BYSTANDER_HOLD_S around the sighting, and only then."""
    from gaitlab.outputs.annotate import BYSTANDER_HOLD_S, _annotate

    analysis = make_analysis()
    track = analysis.track
    person, _ = _person()
    others = np.stack([person + [dx, dy, 0] for dx, dy in ((250, 0), (-230, 40))])  # right, and left lower
    seen = 30  # frame 30 (1.0 s)
    analysis.track = replace(track, bystander_frame=np.array([seen, seen]), bystander_image_xyz=others)
    faces = []
    for other in others:
        (x0, y0), (x1, y1) = other[list(FACE), :2].min(axis=0), other[list(FACE), :2].max(axis=0)
        faces.append((slice(int(y0), int(y1) + 1), slice(int(x0), int(x1) + 1)))
    for t, expect_blur in ((1.0, True), (1.0 + 0.8 * BYSTANDER_HOLD_S, True), (1.0 + 1.5 * BYSTANDER_HOLD_S, False)):
        img = _texture()
        out = _annotate(img, t, analysis, blur=True)
        for face in faces:
            assert (out[face].astype(float).std() < 0.3 * img[face].astype(float).std()) == expect_blur, t
    kept = _annotate(_texture(), 1.0, analysis, blur=False)
    for face in faces:
        assert np.array_equal(kept[face], _texture()[face])


def test_annotated_video_of_a_1080p_clip_is_720p_with_the_face_blurred_where_it_is(tmp_path):
    """Large clips are annotated at VIDEO_MAX_SIDE: the landmarks are scaled with the frame, so the blur
    still covers the face."""
    from gaitlab.outputs.annotate import VIDEO_MAX_SIDE

    times = [i / 30 for i in range(6)]
    texture = np.kron(_texture(270, 480), np.ones((4, 4, 1), np.uint8))  # 1080x1920, 4-px blocks survive H.264
    clip = write_clip(tmp_path / "big.mp4", times, 1920, 1080, frame_fn=lambda i, *_: texture)
    analysis = make_analysis(clip.name, time_s=np.array(times), width=1920, height=1080)
    write_annotated_video(clip, analysis, tmp_path / "a.mp4")
    frame = next(iter_frames(tmp_path / "a.mp4")).rgb.astype(float)
    assert frame.shape == (720, 1280, 3) and max(frame.shape) == VIDEO_MAX_SIDE
    face = analysis.track.image_xyz[0, list(FACE), :2] * 1280 / 1920
    (x0, y0), (x1, y1) = face.min(axis=0).astype(int), face.max(axis=0).astype(int)
    beside = frame[y0:y1 + 1, x1 + 60:x1 + 60 + (x1 - x0) + 1]
    assert frame[y0:y1 + 1, x0:x1 + 1].std() < 0.3 * beside.std()
