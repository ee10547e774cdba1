"""Real MediaPipe on a bundled clip."""
import numpy as np
import pytest

from gaitlab.core.track import LEFT_HIP, RIGHT_HIP
from gaitlab.tracking.pipeline import track_video
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration


def test_sample_walk_detected_with_hips_in_frame(sample_walk_track):
    tv = sample_walk_track
    track = tv.track
    assert len(track) == tv.info.frames == 180
    assert track.detected.mean() >= 0.9
    hips = track.image_xyz[track.detected][:, [LEFT_HIP, RIGHT_HIP], :2]
    assert np.all((hips[..., 0] > 0) & (hips[..., 0] < track.width))
    assert np.all((hips[..., 1] > 0) & (hips[..., 1] < track.height))
    # Filmed from behind: the person's left hip is on the image left.
    assert np.median(hips[:, 0, 0] - hips[:, 1, 0]) < 0
    assert np.all(np.diff(track.time_s) > 0)
    assert np.allclose(track.world_xyz[track.detected][:, LEFT_HIP, 1], track.world_xyz[track.detected][:, RIGHT_HIP, 1], atol=0.15)


def test_sample_walk_matches_its_ground_truth(sample_walk_track):
    """The bundled sample is a bench clip with exact truth (sample_walk_post_short.truth.json): real MediaPipe,
    then the analysis, give each side's mean contralateral drop within 1.5° of the truth and the right verdicts
    (right flagged at 7.56°, left not at 2.46°), with its single-leg stances found."""
    from gaitlab.core.analysis import analyze_track
    from gaitlab.core.result import SIDES
    from gaitlab.validate import load_truth, score_clip

    truth = load_truth(SAMPLES / "sample_walk_post_short.truth.json")
    analysis = analyze_track(sample_walk_track.track, sample_walk_track.info, people=sample_walk_track.people)
    score = score_clip(analysis, truth)
    for side in SIDES:
        assert abs(score.side_error[side]) <= 1.5, (side, score.side_error)
        assert analysis.sides[side].measurable
        assert analysis.sides[side].flagged == truth["sides"][side]["flagged"]
    assert score.f1 >= 0.9 and score.step_mae <= 1.0


def test_track_cache_round_trip(pose_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    clip = SAMPLES / "pose2sim_single_cam02.mp4"
    first = track_video(clip, pose_model, end_s=0.5)
    second = track_video(clip, pose_model, end_s=0.5)
    assert not first.from_cache and second.from_cache
    assert len(first.track) == len(second.track) == 30
    np.testing.assert_array_equal(first.track.image_xyz, second.track.image_xyz)
    assert len(list((tmp_path / "gaitlab" / "tracks").glob("*.npz"))) == 1
    from gaitlab.tracking.pipeline import _pending_saves

    third = track_video(clip, pose_model, end_s=0.3)  # another window: a new track, written in the background
    assert not third.from_cache
    for thread in list(_pending_saves.values()):
        thread.join()
    assert not _pending_saves  # a finished write leaves nothing behind


def test_a_failed_cache_write_does_not_fail_the_tracking(pose_model, tmp_path, monkeypatch):
    """The cache is written in the background; where it cannot be written the track is still returned, and
    the next call tracks again."""
    from gaitlab.core.track import PoseTrack

    def refuse(self, path, **extra):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(PoseTrack, "save", refuse)
    clip = SAMPLES / "pose2sim_single_cam02.mp4"
    first = track_video(clip, pose_model, end_s=0.2)
    second = track_video(clip, pose_model, end_s=0.2)
    assert len(first.track) == len(second.track) == 12
    assert not first.from_cache and not second.from_cache


def test_spans_of_a_clip():
    from gaitlab.tracking.pipeline import MIN_SPAN_S, TRACK_SPANS, span_cuts

    assert TRACK_SPANS == 2
    assert span_cuts(0.0, 12.0) == [6.0]
    assert span_cuts(2.0, 14.0) == [8.0]
    assert span_cuts(0.0, 2 * MIN_SPAN_S - 0.1) == []


def test_the_band_settles_over_two_strides_at_the_clips_rate_and_at_30_fps_where_the_rate_is_not_a_cameras():
    """The first keyframe settles over KEYFRAME_SETTLE_S of frames, kept meanwhile: a rate the container lacks or
    that no camera films at (a corrupt header) must not make that the whole clip."""
    from gaitlab.measure.band import KEYFRAME_SETTLE_S
    from gaitlab.tracking.pipeline import _KeyframeHandoff, _PelvisMeasures

    def frames(rate):
        return _PelvisMeasures(rate, _KeyframeHandoff(), None).band.settle_frames

    assert frames(60.0) == round(60 * KEYFRAME_SETTLE_S) and frames(25.0) == round(25 * KEYFRAME_SETTLE_S)
    for rate in (float("nan"), 0.0, -5.0, 1e6, float("inf")):
        assert frames(rate) == round(30 * KEYFRAME_SETTLE_S)


def test_joined_spans_keep_each_other_persons_sighting_on_its_own_frame():
    """Sightings beside the subject are kept per span by frame index; joining the spans shifts the second span's
    indices by the first span's frames."""
    from gaitlab.tracking.pipeline import _join, _Span, _TrackBuffer
    from gaitlab.tracking.pose import FramePose

    def span(times, seen_at):
        rows = _TrackBuffer(4)
        for t in times:
            xyz = np.zeros((33, 3))
            others = np.full((2, 33, 3), t) if t == seen_at else None  # two people, landmarks = the time
            i = rows.append(FramePose(t, xyz, xyz, np.ones(33), np.ones(33), 1, bystanders=others))
            rows.set_pelvis(i, (0.0, 1.0, 0, 0.0, 1.0, 5.0))
        return _Span(rows, 640, 480, None)

    track, _ = _join([span([0.0, 0.1, 0.2], seen_at=0.1), span([0.3, 0.4], seen_at=0.4)])
    assert track.bystander_frame.tolist() == [1, 1, 4, 4]
    assert np.allclose(track.bystander_image_xyz[:, 0, 0], track.time_s[track.bystander_frame])


def test_two_spans_tracked_at_once_give_the_track_of_one(sample_walk_track, pose_model, monkeypatch):
    """The halves of a clip are tracked concurrently, each from a fresh detection: every frame once, in
    order, the second half's pelvis rotations measured from the first half's keyframe, the same measurement
    as one pass."""
    from gaitlab.core.analysis import analyze_track
    from gaitlab.tracking import pipeline

    monkeypatch.setattr(pipeline, "MIN_SPAN_S", 2.0)  # split the 6-s sample into two 3-s halves
    one = sample_walk_track
    two = track_video(SAMPLES / "sample_walk_post_short.mp4", pose_model, use_cache=False)
    np.testing.assert_array_equal(two.track.time_s, one.track.time_s)
    assert two.track.detected.mean() >= 0.9
    half = np.searchsorted(two.track.time_s, 3.0)
    ref, rotation = two.track.pelvis_pixel_reference, two.track.pelvis_pixel_rotation_deg
    measured = one.track.pelvis_pixel_reference >= 0
    assert set(one.track.pelvis_pixel_reference[measured]) == {ref[0]}  # one chain, from the first keyframe
    assert ref[half] == ref[0]  # the second half measured from the first half's keyframe
    single = one.track.pelvis_pixel_rotation_deg
    assert np.nanmedian(np.abs(rotation[half:] - single[half:])) < 0.3  # degrees
    hips = (slice(None), [LEFT_HIP, RIGHT_HIP], slice(0, 2))
    assert np.nanmedian(np.abs(two.track.image_xyz[hips] - one.track.image_xyz[hips])) < 2.0  # pixels
    a, b = (analyze_track(t.track, t.info) for t in (one, two))
    for side in ("left", "right"):
        assert b.sides[side].flagged == a.sides[side].flagged
        assert abs(b.sides[side].mean_drop_deg - a.sides[side].mean_drop_deg) < 0.5


def test_the_tracks_band_rotations_are_those_of_one_tracker_with_its_settled_keyframe(sample_walk_track):
    """Replayed frame by frame through a tracker of its own (the track's landmarks, the symmetry's axis, the region
    the pipeline cuts), the band's rotations are the track's, the first strides' as measured again from the settled
    keyframe: the pipeline writes the revisions back into the rows they belong to."""
    from gaitlab.measure.band import PelvisBandTracker
    from gaitlab.measure.symmetry import PelvisSymmetry
    from gaitlab.tracking.pipeline import pelvis_region
    from gaitlab.tracking.video import iter_frames, probe

    track = sample_walk_track.track
    band = PelvisBandTracker(frame_rate_hz=probe(SAMPLES / "sample_walk_post_short.mp4").fps)
    symmetry = PelvisSymmetry()
    rotation = np.full(len(track), np.nan)
    provisional = rotation.copy()
    for frame in iter_frames(SAMPLES / "sample_walk_post_short.mp4"):
        i = frame.index
        if not track.detected[i]:
            continue
        image, xyz = pelvis_region(frame.rgb, track.image_xyz[i], (band, symmetry))
        symmetry.update(image, xyz, track.visibility[i])
        rotation[i] = provisional[i] = band.update(image, xyz, track.visibility[i], i, symmetry.axis_offset_px)[0]
        for j, revised, _, _ in band.take_revisions():
            rotation[j] = revised
    band.finish()
    for j, revised, _, _ in band.take_revisions():
        rotation[j] = revised
    settling = slice(1, band.settle_frames)
    assert np.nanmax(np.abs(provisional[settling] - rotation[settling])) > 0.05  # the keyframe moved
    # to the ECC's numerical noise (the track keeps landmarks in float32, the pipeline hands on MediaPipe's)
    np.testing.assert_allclose(track.pelvis_pixel_rotation_deg, rotation, atol=0.01)
