"""Thresholding has one rule, and every warning code the core emits has a sentence (issue 22)."""
import numpy as np
import pytest

from gaitlab.core.result import AnalysisWarning, WarningCode
from gaitlab.core.verdict import above_threshold
from gaitlab.outputs.wording import WARNING_TEMPLATES, warning_text


def test_above_the_threshold_is_strictly_above_and_never_nan():
    assert above_threshold(5.1, 5.0)
    assert not above_threshold(5.0, 5.0)
    assert not above_threshold(float("nan"), 5.0)


def test_every_warning_code_has_one_sentence():
    assert set(WARNING_TEMPLATES) == set(WarningCode)


def test_a_warning_renders_its_numbers_and_plural():
    one = AnalysisWarning(WarningCode.FEW_STEPS, {"side": "left", "steps": 1, "min_steps": 7})
    assert warning_text(one).startswith("Only 1 left-leg stance step measured: at least 7 per side")
    turned = AnalysisWarning(WarningCode.TURNED_DURING_CLIP, {"facings": ("away", "toward"), "frames": 12})
    assert "(walking away from, then toward the camera)" in warning_text(turned)


@pytest.mark.parametrize("apart_sd, lens, wrong", [(16.7, "zoomed in", "too large"), (-8.4, "wide-angle", "too small")])
def test_the_zoom_warning_says_which_way_the_lens_is_off(apart_sd, lens, wrong):
    text = warning_text(AnalysisWarning(WarningCode.CAMERA_ZOOMED, {"apart_sd": apart_sd}))
    assert lens in text and wrong in text and "film at 1x" in text


def test_plain_clothing_gets_the_pelvis_unreliable_warning_and_honest_intervals():
    """A walk whose band interior has texture at 1x the noise (dark, plain clothing) is measured as before but gets
    the warning, with its advice, and wider intervals whose level part a longer film does not shrink; the same walk
    with texture at 4x the noise gets neither."""
    from dataclasses import replace

    import numpy as np

    from gaitlab.core.analysis import analyze_track
    from gaitlab.core.clip import VideoInfo
    from tests.synthetic import make_track

    INFO = VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264")
    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    measured = np.isfinite(track.pelvis_symmetry_tilt_deg)
    good = analyze_track(replace(track, pelvis_symmetry_texture_snr=np.where(measured, 4.0, np.nan)), INFO)
    weak = analyze_track(replace(track, pelvis_symmetry_texture_snr=np.where(measured, 1.0, np.nan)), INFO)
    assert WarningCode.PELVIS_UNRELIABLE not in [w.code for w in good.warnings]
    (w,) = [w for w in weak.warnings if w.code == WarningCode.PELVIS_UNRELIABLE]
    assert w.values == {"texture_snr": 1.0, "limit": 2.0}
    text = warning_text(w)
    assert text.startswith("The pelvis could not be measured reliably: the clothing around the hips is dark and plain")
    assert "1.0 times the noise" in text and "visible waistband" in text and "stickers" in text
    assert "too faint or small to carry it alone" in weak.pelvis_level_method
    for side in ("left", "right"):
        g, k = good.sides[side], weak.sides[side]
        assert k.mean_drop_deg == pytest.approx(g.mean_drop_deg, abs=1.0)  # the mean's level is not far off here
        assert k.interval.level_fallback and not g.interval.level_fallback
        assert k.interval.half_width_deg > g.interval.half_width_deg + 1.0


@pytest.mark.parametrize("shift_px", [-420.0, 420.0])
def test_a_camera_turned_beyond_the_validated_yaw_is_said_without_a_sign(shift_px):
    """The person far to one side of the picture: the camera is turned beyond the 11° the bench covers, either way;
    the warning names how far, unsigned, with its advice."""
    from dataclasses import replace

    from gaitlab.core.analysis import VALIDATED_CAMERA_YAW_DEG, analyze_track
    from gaitlab.core.clip import VideoInfo
    from tests.synthetic import make_track

    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    image = track.image_xyz.copy()
    image[..., 0] += shift_px
    a = analyze_track(replace(track, image_xyz=image), VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264"))
    (w,) = [w for w in a.warnings if w.code == WarningCode.CAMERA_YAWED]
    assert w.values["yaw_deg"] > VALIDATED_CAMERA_YAW_DEG
    text = warning_text(w)
    assert text.startswith(f"The camera is turned {w.values['yaw_deg']:.0f}° from") and "-" not in text.split("°")[0]


def test_a_camera_turned_about_as_far_as_the_bench_covers_is_not_warned_about():
    """The person 210 px right of the centre of a 1280-px frame: the camera is estimated turned ~11.8° (± 0.8°), no
    more than the validated 11° given the estimate's own uncertainty: no warning."""
    from dataclasses import replace

    from gaitlab.core.analysis import VALIDATED_CAMERA_YAW_DEG, analyze_track
    from gaitlab.core.clip import VideoInfo
    from tests.synthetic import make_track

    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    image = track.image_xyz.copy()
    image[..., 0] += 210.0
    a = analyze_track(replace(track, image_xyz=image), VideoInfo("clip.mp4", 30.0, 300, 10.0, 1280, 720, 0, "h264"))
    assert abs(a.camera.yaw_deg) > VALIDATED_CAMERA_YAW_DEG
    assert WarningCode.CAMERA_YAWED not in [w.code for w in a.warnings]


@pytest.mark.parametrize("pitch_deg, warned", [(22.0, True), (8.0, False), (-16.0, True)])
def test_a_camera_looking_down_at_the_person_beyond_the_validated_pitch_is_told(pitch_deg, warned):
    """The floor's (or the ceiling's) seams, seen by a camera pitched by pitch_deg, set the pitch (the horizon): 22°
    down (a phone on a high shelf) or 16° up is beyond the 10° the bench covers, and the warning says which way, how far, how high the
    camera is, and what to do; 8° down, as the bench's own cameras, is not warned about."""
    from dataclasses import replace

    from gaitlab.core.analysis import VALIDATED_CAMERA_PITCH_DEG, analyze_track
    from gaitlab.core.camera import camera_rotation, focal_px, intrinsics, project
    from gaitlab.core.clip import VideoInfo
    from gaitlab.core.scene import segment_tilt_deg
    from tests.synthetic import make_track

    track, _ = make_track(drops={"left": 7.0, "right": 3.0}, symmetry_noise_deg=1.0)
    w, h = track.width, track.height
    k = intrinsics(w, h, focal_px(w, h))
    r = camera_rotation(0.0, pitch_deg, 0.0)
    level_m = -1.0 if pitch_deg > 0 else 1.5  # the floor's seams 1 m below the camera, or the ceiling's above it
    seams = []
    for x in (-2.0, -1.5, -1.0, 1.0, 1.5, 2.0):  # to the sides, where seams cannot be taken for verticals
        a, b = project(np.array([[x, 4.0, level_m], [x, 9.0, level_m]]), np.zeros(3), r, k)
        seams.append([*b, *a] if b[1] <= a[1] else [*a, *b])
    seams = np.array(seams)
    assert np.all(np.abs(segment_tilt_deg(seams)) > 20) and np.all(np.abs(segment_tilt_deg(seams)) < 70)
    frames = np.arange(0, len(track), 30)
    seen = replace(track, scene_segment_frame=np.repeat(frames, len(seams)),
                   scene_segments_px=np.tile(seams, (len(frames), 1)))
    a = analyze_track(seen, VideoInfo("clip.mp4", 30.0, len(track), 10.0, w, h, 0, "h264"))
    assert a.camera.horizon_lines >= 4 and a.camera.pitch_deg == pytest.approx(pitch_deg, abs=0.5)
    pitched = [x for x in a.warnings if x.code == WarningCode.CAMERA_PITCHED]
    assert bool(pitched) == warned
    if warned:
        text = warning_text(pitched[0])
        way = "down" if pitch_deg > 0 else "up"
        assert text.startswith(f"The camera looks {way} at the person by {abs(pitch_deg):.0f}°")
        assert f"the {VALIDATED_CAMERA_PITCH_DEG:.0f}° the perspective correction" in text and "hips" in text
