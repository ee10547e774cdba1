"""Following a far/small subject on crops: geometry, coordinate mapping, and a real far walker."""
import numpy as np
import pytest

from gaitlab.core.track import LEFT_HIP, NUM_LANDMARKS, RIGHT_HIP
from gaitlab.tracking.pose import (
    CROP_ENTER,
    MIN_TILE_SIDE,
    Crop,
    PoseExtractor,
    search_tiles,
    square_crop,
    subject_extent,
)
from tests.conftest import SAMPLES


def test_crop_maps_normalised_landmarks_to_full_frame_pixels():
    crop = Crop(x0=300, y0=100, w=200, h=120)  # not square: x by width, y by height
    norm = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.5], [0.25, 0.5, -0.1]])
    full = crop.to_full(norm)
    np.testing.assert_allclose(full[0], [300, 100, 0])
    np.testing.assert_allclose(full[1], [500, 220, 100])  # z scaled like x (by the crop's width)
    np.testing.assert_allclose(full[2], [350, 160, -20])


def test_crop_take_matches_mapping():
    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[40, 70] = 255  # one bright pixel
    crop = Crop(60, 30, 32, 20)
    part = crop.take(rgb)
    assert part.shape == (20, 32, 3) and part.flags.c_contiguous
    y, x = np.argwhere(part[..., 0] == 255)[0]
    # the pixel centre, normalised to the crop, maps back to the same full-frame pixel centre
    back = crop.to_full(np.array([[(x + 0.5) / crop.w, (y + 0.5) / crop.h, 0.0]]))[0]
    np.testing.assert_allclose(back[:2], [70.5, 40.5])


def test_square_crop_is_centred_and_kept_inside_the_frame():
    c = square_crop(np.array([640.0, 360.0]), 200, 1280, 720)
    assert (c.w, c.h) == (200, 200) and (c.x0 + c.w / 2, c.y0 + c.h / 2) == (640, 360)
    edge = square_crop(np.array([10.0, 700.0]), 200, 1280, 720)  # shifted inside, not shrunk
    assert (edge.x0, edge.y0, edge.w, edge.h) == (0, 520, 200, 200)
    wide = square_crop(np.array([640.0, 360.0]), 1000, 1280, 720)  # taller than the frame
    assert (wide.y0, wide.h, wide.w) == (0, 720, 1000)
    tiny = square_crop(np.array([50.0, 50.0]), 10, 1280, 720)
    assert tiny.w == tiny.h >= 96


def test_subject_extent_uses_the_whole_body_but_centres_inside_the_frame():
    xy = np.zeros((NUM_LANDMARKS, 2))
    xy[:, 0] = np.linspace(100, 140, NUM_LANDMARKS)
    xy[:, 1] = np.linspace(-50, 150, NUM_LANDMARKS)  # head above the top edge
    xy[5] = np.nan
    centre, extent = subject_extent(xy, 640, 480)
    assert extent == pytest.approx(200)  # the predicted body, off-frame part included
    np.testing.assert_allclose(centre, [120, 75])  # centre of the visible part


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080), (1080, 1920), (960, 540), (320, 240)])
def test_search_tiles_cover_the_frame_with_real_gain(width, height):
    tiles = search_tiles(width, height)
    for t in tiles:
        assert t.x0 >= 0 and t.y0 >= 0 and t.x0 + t.w <= width and t.y0 + t.h <= height
        assert MIN_TILE_SIDE <= t.w == t.h <= CROP_ENTER * max(width, height)
    if tiles:
        covered = np.zeros((height, width), bool)
        for t in tiles:
            covered[t.y0:t.y0 + t.h, t.x0:t.x0 + t.w] = True
        assert covered.all()
        first = tiles[0]  # the most central tile is tried first
        assert abs(first.x0 + first.w / 2 - width / 2) <= first.w / 2
        assert abs(first.y0 + first.h / 2 - height / 2) <= first.h / 2
    else:
        assert min(width, height) > CROP_ENTER * max(width, height)  # square-ish small frame: no gain


@pytest.mark.integration
def test_far_walker_found_and_mapped_back_to_the_full_frame(pose_model):
    from gaitlab.tracking.video import iter_frames

    poses, sources = [], []
    with PoseExtractor(pose_model.path) as extractor:
        for frame in iter_frames(SAMPLES / "walk_ant_overground_c.mp4"):
            poses.append(extractor.detect(frame))
            sources.append(extractor.source)
            height, width = frame.rgb.shape[:2]
    detected = np.array([p.detected for p in poses])
    assert detected.mean() >= 0.95
    assert "crop" in sources  # the far walker is followed on crops ...
    assert "full" in sources or "search" in sources  # ... after being found
    hips = np.array([p.image_xyz[[LEFT_HIP, RIGHT_HIP], :2].mean(axis=0) for p in poses])[detected]
    assert np.all((hips[:, 0] > 0) & (hips[:, 0] < width) & (hips[:, 1] > 0) & (hips[:, 1] < height))
    # The walker comes straight at the camera: the hips stay near the image centre line...
    assert np.all(np.abs(hips[:, 0] - width / 2) < 0.1 * width)
    # ...and move smoothly, including where the source switches between crop and full frame.
    steps = np.hypot(*np.diff(hips, axis=0).T)
    assert np.max(steps) < 0.03 * width
    switches = [i for i in range(1, len(sources)) if detected[i] and detected[i - 1]
                and sources[i] != sources[i - 1]]
    for i in switches:
        a, b = poses[i - 1].image_xyz[[LEFT_HIP, RIGHT_HIP], :2], poses[i].image_xyz[[LEFT_HIP, RIGHT_HIP], :2]
        assert np.max(np.hypot(*(a - b).T)) < 0.03 * width
    # z is in pixels scaled like x: a few body widths at most, never normalised units.
    z = np.array([p.image_xyz[:, 2] for p in poses])[detected]
    assert 1.0 < np.nanmax(np.abs(z)) < width


def test_quiet_native_stderr_from_threads_at_once_restores_stderr():
    """The clip's spans start their landmarkers together: fd 2 must come back whatever the interleaving."""
    import os
    import threading
    import time

    from gaitlab.runtime import quiet_native_stderr

    before = os.fstat(2)
    devnull = os.stat(os.devnull)
    inside = []

    def quiet(delay):
        with quiet_native_stderr():
            time.sleep(delay)
            st = os.fstat(2)
            inside.append((st.st_dev, st.st_ino) == (devnull.st_dev, devnull.st_ino))

    threads = [threading.Thread(target=quiet, args=(0.01 * (i % 3),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = os.fstat(2)
    assert inside == [True] * 8
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


@pytest.mark.integration
def test_several_people_beside_the_subject_are_all_found(pose_model):
    """Two other walkers left of the subject (a therapist and a relative, say): the census of that strip finds
    both, in full-frame pixels, so the exports can blur both faces."""
    from gaitlab.tracking.video import iter_frames

    frame = next(iter_frames(SAMPLES / "sample_walk_post_short.mp4", start_s=2.0))
    h = frame.rgb.shape[0]
    other, gap = frame.rgb[:, 480:800], np.full((h, 80, 3), 200, np.uint8)
    scene = np.ascontiguousarray(np.concatenate([other, gap, other, gap, frame.rgb], axis=1))
    shift = 2 * other.shape[1] + 2 * gap.shape[1]
    with PoseExtractor(pose_model.path) as extractor:
        subject = extractor.detect(frame).image_xyz + [shift, 0, 0]
        found = [extractor._others_beside(scene, subject) for _ in range(2)]  # the strips left and right in turn
    assert sorted(len(f) for f in found) == [0, 2]  # nobody on the right
    others = max(found, key=len)
    assert others.shape == (2, 33, 3)
    noses = np.sort(others[:, 0, 0])
    assert 0 < noses[0] < other.shape[1] < noses[1] < shift  # one in each copy, left of the subject


def test_mediapipe_is_imported_without_its_drawing_helpers_matplotlib():
    """mediapipe's vision package imports matplotlib.pyplot for drawing helpers gaitlab never calls (~36 MB at
    the pose pass's memory peak): they load lazily, and still work if someone uses them."""
    import subprocess
    import sys

    code = ("import sys; from gaitlab.runtime import mediapipe_vision; vision = mediapipe_vision(); "
            "assert vision.PoseLandmarker is not None; print('matplotlib.pyplot' in sys.modules); "
            "from mediapipe.tasks.python.vision import drawing_utils; drawing_utils.draw_landmarks; "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
