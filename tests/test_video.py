from pathlib import Path

import av
import numpy as np
import pytest

from gaitlab.errors import VideoError
from gaitlab.tracking.video import camera_rate_hz, i420_planes, iter_frames, iter_i420_frames, nearest_frame, probe
from tests.clips import write_audio_only, write_clip


def test_constant_rate_clip_metadata_and_times(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", [i / 30 for i in range(30)])
    info = probe(clip)
    assert (info.width, info.height, info.frames) == (64, 48, 30)
    assert info.fps == pytest.approx(30, abs=0.5)
    assert info.name == "a.mp4"
    times = [f.time_s for f in iter_frames(clip)]
    assert np.allclose(times, np.arange(30) / 30, atol=1e-3)


def test_variable_frame_rate_keeps_container_times(tmp_path):
    # A phone clip that stutters: gaps of 1/30 s and 1/10 s.
    times = [0.0, 0.0333, 0.0667, 0.1667, 0.2, 0.3, 0.3333, 0.5]
    clip = write_clip(tmp_path / "vfr.mp4", times)
    got = [f.time_s for f in iter_frames(clip)]
    assert np.allclose(got, times, atol=2e-3)
    assert np.all(np.diff(got) > 0)


def test_rotation_metadata_is_applied(tmp_path):
    clip = write_clip(tmp_path / "rot.mp4", [i / 30 for i in range(3)], width=64, height=48, rotation_deg=90)
    info = probe(clip)
    assert (info.width, info.height, info.rotation_deg) == (48, 64, 90)
    frame = next(iter_frames(clip))
    assert frame.rgb.shape == (64, 48, 3) and frame.rgb.flags.c_contiguous
    # Stored frames have a white left edge; a quarter turn counter-clockwise brings it to the bottom.
    assert frame.rgb[-3:, :, 0].mean() > 240 and frame.rgb[:3, :, 0].mean() < 100


def test_one_frame_clip(tmp_path):
    clip = write_clip(tmp_path / "one.mp4", [0.0])
    assert [f.index for f in iter_frames(clip)] == [0]
    assert probe(clip).frames == 1


def test_start_end_window(tmp_path):
    clip = write_clip(tmp_path / "w.mp4", [i / 30 for i in range(90)])
    times = [f.time_s for f in iter_frames(clip, start_s=1.0, end_s=2.0)]
    assert times[0] == pytest.approx(1.0, abs=1e-3) and times[-1] < 2.0 and len(times) == 30


@pytest.mark.parametrize("nudge_s", [-5e-7, 0.0, 5e-7])
def test_spans_cut_at_a_frame_share_no_frame_and_lose_none(tmp_path, nudge_s):
    """A clip tracked in two spans cut at a frame's time (to rounding, as the cut's arithmetic and the timestamps
    agree): that frame is in the later span only, so the joined track's times strictly increase (a real clip had one
    frame twice, and the analysis divided by its zero interval)."""
    clip = write_clip(tmp_path / "s.mp4", [i / 30 for i in range(60)])
    times = [f.time_s for f in iter_frames(clip)]
    cut = times[30] + nudge_s
    joined = [f.time_s for f in iter_frames(clip, end_s=cut)] + [f.time_s for f in iter_frames(clip, start_s=cut)]
    assert joined == times


def test_a_track_with_a_repeated_time_is_refused():
    """A track cached before that fix fails this check on loading, and is tracked again."""
    from dataclasses import replace

    from tests.synthetic import make_track

    track, _ = make_track(dur_s=2.0)
    t = track.time_s.copy()
    t[10] = t[9]
    with pytest.raises(ValueError, match="strictly increasing"):
        replace(track, time_s=t)


def test_nearest_frame_is_the_frame_iter_frames_gives_nearest_the_time(tmp_path):
    times = [0.0, 0.0333, 0.0667, 0.1667, 0.2, 0.3, 0.3333, 0.5]  # variable frame rate, as a phone records
    clip = write_clip(tmp_path / "vfr.mp4", times, rotation_deg=90)
    frames = list(iter_frames(clip))
    for t in (0.0, 0.05, 0.1, 0.12, 0.25, 0.31, 0.45, 0.62):
        want = min(frames, key=lambda f: (abs(f.time_s - t), f.time_s))
        got = nearest_frame(clip, t)
        assert got.time_s == want.time_s and np.array_equal(got.rgb, want.rgb) and got.rgb.flags.c_contiguous
    assert nearest_frame(clip, 0.9) is None  # nothing within 0.25 s


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(20000)), "cannot be read as a video"),
    (lambda p: p.write_text("hello, I am a text file\n"), "cannot be read as a video"),
    (lambda p: write_audio_only(p), "no video stream"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.mp4"
    make(path)
    with pytest.raises(VideoError, match=message):
        probe(path)


def test_truncated_clip_yields_what_it_can(tmp_path):
    clip = write_clip(tmp_path / "full.mkv", [i / 30 for i in range(60)], width=160, height=120,
                      frame_fn=lambda i, w, h: np.random.default_rng(i).integers(0, 255, (h, w, 3), np.uint8))
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    frames = list(iter_frames(cut))
    assert 0 < len(frames) < 60
    assert all(np.diff([f.time_s for f in frames]) > 0)


@pytest.mark.parametrize("width, height, max_side", [(1280, 720, 640), (1200, 678, 400)])
def test_frames_made_smaller_are_the_picture_scaled(tmp_path, width, height, max_side):
    """Frames made smaller are scaled as YUV planes before the RGB conversion: the same picture as the RGB frame
    scaled, but for the chroma resampling (a few grey levels at colour edges). 678 rows: the chroma planes do
    not start on a row of the stacked I420 layout."""
    import cv2

    from tests.conftest import SAMPLES

    scene = next(iter_frames(SAMPLES / "sample_walk_post_short.mp4", start_s=2.0)).rgb
    picture = cv2.resize(scene, (width, height), interpolation=cv2.INTER_AREA)
    clip = write_clip(tmp_path / "clip.mp4", [0.0, 1 / 30], width, height, frame_fn=lambda *_: picture)
    full = next(iter_frames(clip)).rgb
    small = next(iter_frames(clip, max_side=max_side)).rgb
    size = (max_side, round(height * max_side / width))
    assert small.shape == (size[1], size[0], 3)
    expected = cv2.resize(full, size, interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(small.astype(int) - expected).mean() < 1.0


@pytest.mark.parametrize("width, height, rotation_deg, pix_fmt, max_side, size", [
    (1280, 720, 0, "yuv420p", 640, (640, 360)),  # camera 4:2:0, scaled plane by plane
    (1200, 678, 0, "yuv420p", 400, (400, 226)),  # chroma planes not on a row of the stacked layout
    (64, 48, 90, "yuv420p", None, (48, 64)),  # a phone's rotation tag
    (65, 49, 0, "yuv444p", None, (64, 48)),  # through RGB, the odd last row and column dropped
    (64, 48, 0, "yuvj420p", None, (64, 48)),  # full range: through RGB
])
def test_yuv_frames_for_the_encoder_are_the_rgb_frames(tmp_path, width, height, rotation_deg, pix_fmt, max_side,
                                                       size):
    """The annotated video's frames, taken from the decoder's planes without RGB, show what iter_frames shows."""
    import cv2

    from tests.conftest import SAMPLES

    scene = next(iter_frames(SAMPLES / "sample_walk_post_short.mp4", start_s=2.0)).rgb
    picture = cv2.resize(scene, (width, height), interpolation=cv2.INTER_AREA)
    picture[:, : width // 10] = 255  # the stored left edge, to see the rotation
    clip = write_clip(tmp_path / "clip.mp4", [0.0, 1 / 30], width, height, rotation_deg=rotation_deg,
                      frame_fn=lambda *_: picture, pix_fmt=pix_fmt)
    frames = list(iter_i420_frames(clip, max_side))
    assert [t for t, _ in frames] == [f.time_s for f in iter_frames(clip)]
    t, frame = frames[0]
    assert (frame.width, frame.height) == size and frame.format.name == "yuv420p"
    y, u, v = i420_planes(frame)
    stacked = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(-1, size[0])
    got = cv2.cvtColor(stacked, cv2.COLOR_YUV2RGB_I420).astype(int)
    expected = next(iter_frames(clip, max_side=max_side)).rgb[:size[1], :size[0]].astype(int)
    assert np.abs(got - expected).mean() < 1.5
    if rotation_deg:  # the white stored left edge is at the bottom
        assert got[-3:].mean() > 240 and got[:3].mean() < 200


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread names are read from Linux's /proc")
def test_the_decode_thread_is_named_in_the_os():
    import threading

    from gaitlab.runtime import prefetch

    def items():
        yield Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()

    assert list(prefetch(items())) == ["gaitlab-decode"]


def test_a_browser_recording_without_a_frame_rate_is_not_1000_fps(tmp_path):
    """A live WebM whose header gives its 1 ms timestamp clock as the rate (as a browser's MediaRecorder writes):
    the rate comes from the frames and the duration (before: 'fps: 1000' in the report and summary.json)."""
    from fractions import Fraction

    path = tmp_path / "recorded.webm"
    with av.open(str(path), "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libvpx", rate=1000)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for i in range(60):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 3, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(i * 1000 / 30), Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    info = probe(path)
    assert info.frames == 60 and 29.5 < info.fps < 30.5


def test_camera_rate_is_the_claim_a_camera_films_at_else_frames_over_duration():
    """One rule for a plausible frame rate, used by probe and by the band's settling time."""
    assert camera_rate_hz(240.0, 10, 1.0) == 240.0  # a phone's slow motion is a rate a camera films at
    assert camera_rate_hz(1000.0, 300, 10.0) == 30.0  # a timestamp clock taken for a rate
    assert camera_rate_hz(0.0, 250, 10.0) == 25.0
    assert camera_rate_hz(1000.0) is None and camera_rate_hz(0.0, 250, 0.0) is None


def test_a_file_name_that_is_not_utf8_is_shown_not_fatal(tmp_path):
    """A clip named in another system's encoding (here the byte 0xff) was measured and then failed writing
    summary.json ('surrogates not allowed', an internal error): its name is now shown with U+FFFD."""
    import os

    clip = write_clip(tmp_path / "plain.mp4", [i / 30 for i in range(10)])
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname.mp4"))
    clip.rename(odd)
    name = probe(odd).name
    assert name == "bad\ufffdname.mp4" and name.encode("utf-8")
