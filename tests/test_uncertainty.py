"""Each side's 95% interval, the three-valued verdict and the side difference (issue 25), on constructed data
with a known answer; and the new fields wherever the number is shown."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from gaitlab.cli import _verdict_table
from gaitlab.core.level import rotation_at_level
from gaitlab.core.result import StepDrop
from gaitlab.core.uncertainty import (
    METHOD_RESIDUAL_DEG,
    Z95,
    drop_interval,
    median_sd_deg,
    side_difference,
    steps_needed,
    t_quantile,
)
from gaitlab.core.verdict import side_verdicts
from gaitlab.outputs.exports import SCHEMA_PATH, summary_dict
from gaitlab.outputs.report import drops_figure, report_html
from gaitlab.outputs.wording import settle_text, side_verdict
from gaitlab.outputs.wording import side_difference as difference_text
from gaitlab.validate import SideCalibration, calibration
from tests.analysis_fixture import make_analysis

THRESHOLD = 5.0


def _steps(side: str, drops, level_sd=0.0, camera_sd=0.0, fallback=False, small=False) -> list[StepDrop]:
    return [StepDrop(side, i, i + 0.4, float(d), i + 0.2, float("nan"), float("nan"), float("nan"),
                     level_sd_deg=level_sd, camera_sd_deg=camera_sd, level_fallback=fallback or small,
                     level_small_band=small)
            for i, d in enumerate(drops)]


def _verdicts(left, right, roll=0.0, **kw):
    return side_verdicts(_steps("left", left, **kw) + _steps("right", right, **kw), THRESHOLD, measurable=True,
                         camera_roll_deg=roll)


# ---- the interval on constructed data ----------------------------------------------------------------------------

def test_step_part_alone_covers_the_true_mean_at_the_nominal_rate():
    # steps drawn from N(6, 1.2): mean ± t * SD / sqrt(n) holds 6 in about 95% of draws, for few and many steps
    rng = np.random.default_rng(1)
    for n in (4, 10, 30):
        hits = 0
        for _ in range(2000):
            d = rng.normal(6.0, 1.2, n)
            iv = drop_interval(d, 0.0, 0.0, False)
            hits += abs(d.mean() - 6.0) <= iv.steps_deg
        assert 0.93 <= hits / 2000 <= 0.97, (n, hits / 2000)


def test_whole_interval_covers_at_the_nominal_rate_when_the_errors_are_as_modelled():
    # Per clip: a shared level error (SD 0.4°), a shared method error (METHOD_RESIDUAL_DEG) and steps with SD 0.8°:
    # the interval built from the stated parts holds the person's true mean about 95% of the time - and no more
    # (an interval that always holds it would be too wide).
    rng = np.random.default_rng(2)
    hits, trials = 0, 3000
    for _ in range(trials):
        n = int(rng.integers(5, 16))
        shared = rng.normal(0, 0.4) + rng.normal(0, METHOD_RESIDUAL_DEG)
        d = rng.normal(4.0, 0.8, n) + shared
        iv = drop_interval(d, 0.4, 0.0, False)
        hits += iv.low_deg <= 4.0 <= iv.high_deg
    assert 0.93 <= hits / trials <= 0.97


def test_level_and_method_parts_are_shared_not_divided_by_the_steps():
    few = drop_interval(np.array([5.0, 6.0, 7.0]), 0.5, 0.2, False)
    many = drop_interval(np.tile([5.0, 6.0, 7.0], 20), 0.5, 0.2, False)
    assert few.level_deg == many.level_deg == pytest.approx(Z95 * 0.5)
    assert few.camera_deg == pytest.approx(Z95 * 0.2) and few.method_deg == pytest.approx(Z95 * METHOD_RESIDUAL_DEG)
    assert many.steps_deg < few.steps_deg / 5
    floor = math.hypot(Z95 * 0.5, Z95 * 0.2, Z95 * METHOD_RESIDUAL_DEG)
    assert many.half_width_deg == pytest.approx(math.hypot(many.steps_deg, floor))
    assert few.half_width_deg == pytest.approx(math.hypot(few.steps_deg, floor))


def test_level_sd_counts_independent_samples_per_stride_not_per_frame():
    # rotation - tilt: an error constant over each step (half stride, SD 1°) plus small frame noise, 30 fps,
    # 1.1-s strides. The spread of the median over many clips matches median_sd_deg, which is far wider than
    # the per-frame count would claim.
    rng = np.random.default_rng(3)
    fps, stride, strides = 30.0, 1.1, 8
    per_step = int(fps * stride / 2)
    errors, predicted = [], []
    for _ in range(600):
        blocks = np.repeat(rng.normal(0, 1.0, 2 * strides), per_step)
        d = blocks + rng.normal(0, 0.1, blocks.size)
        level, spread, frames = rotation_at_level(d, np.zeros_like(d))
        errors.append(level)
        predicted.append(median_sd_deg(spread, frames, fps, stride))
    ratio = np.std(errors) / np.mean(predicted)
    assert 0.7 <= ratio <= 1.3, ratio
    per_frame = math.sqrt(math.pi / 2) * 1.0 / math.sqrt(frames)  # what counting every frame would claim
    assert np.std(errors) > 3 * per_frame


def test_the_levels_sd_from_its_strides_follows_what_the_gait_cycle_does():
    """rotation - tilt over 10 strides at 30 fps. Errors that vary from step to step (SD 1°): the SD from the
    strides matches the scatter of the clip's median over many clips (within its t scaling, which widens a
    10-stride estimate by ~15%). Errors that swing with the steps (+1° in every left step, -1° in every right one: a
    trunk leaning toward each stance side in turn): the clip's median is right, and so is the strides' SD, where
    the per-frame spread would call it 0.4° of noise."""
    from gaitlab.core.uncertainty import robust_sd, stride_median_sd_deg

    rng = np.random.default_rng(5)
    fps, stride, strides = 30.0, 1.1, 10
    per_step = int(round(fps * stride / 2))
    t = np.arange(2 * strides * per_step) / fps
    errors, predicted = [], []
    for _ in range(600):
        d = np.repeat(rng.normal(0, 1.0, 2 * strides), per_step) + rng.normal(0, 0.1, t.size)
        errors.append(np.median(d))
        predicted.append(stride_median_sd_deg(d, t, stride))
    ratio = np.std(errors) / np.mean(predicted)
    assert 0.7 <= ratio <= 1.1, ratio
    swing = np.tile(np.repeat([1.0, -1.0], per_step), strides) + rng.normal(0, 0.1, t.size)
    assert abs(np.median(swing)) < 0.2
    assert stride_median_sd_deg(swing, t, stride) < 0.1 < 0.3 < median_sd_deg(robust_sd(swing), t.size, fps, stride)


# ---- the three-valued verdict ------------------------------------------------------------------------------------

def test_clear_sides_are_above_and_not_above():
    rng = np.random.default_rng(4)
    v = _verdicts(rng.normal(2.5, 0.5, 10), rng.normal(8.0, 0.6, 10), level_sd=0.3, camera_sd=0.05)
    assert v["right"].verdict_class == "above" and v["right"].flagged and v["right"].interval.low_deg > THRESHOLD
    assert v["left"].verdict_class == "not_above" and not v["left"].flagged
    assert v["left"].interval.high_deg <= THRESHOLD
    assert v["left"].settle == () and v["right"].settle == ()


def test_few_spread_steps_near_the_threshold_cannot_tell_and_say_how_many_more_steps():
    drops = [4.6, 7.9, 6.1, 4.3, 8.0]  # mean 6.18, SD ~1.8: the steps alone span 5°
    v = _verdicts(drops, [2.0, 2.1, 1.9, 2.2, 2.0, 1.8, 2.1])["left"]
    assert v.verdict_class == "cannot_tell" and not v.flagged
    assert v.interval.low_deg < THRESHOLD < v.interval.high_deg
    assert v.settle[0] == "more_steps"
    # with that many more steps at the same SD the whole interval would no longer span the threshold, one fewer not
    n, gap, iv = v.steps + v.more_steps, abs(v.mean_drop_deg - THRESHOLD), v.interval

    def half_width(m):
        return math.hypot(t_quantile(m) * v.sd_drop_deg / math.sqrt(m), iv.method_deg)

    assert half_width(n) < gap <= half_width(n - 1)
    assert f"film about {v.more_steps} more left-leg steps" in settle_text(v)


def test_what_settles_a_side_depends_on_which_part_spans_the_threshold():
    tight = [6.4, 6.5, 6.6, 6.5, 6.4, 6.6, 6.5, 6.5, 6.4, 6.6]  # mean 6.5: steps decide it
    fallback = _verdicts(tight, tight, level_sd=1.2, fallback=True)["right"]
    assert fallback.verdict_class == "cannot_tell" and fallback.settle == ("visible_waistband",)
    assert "visible waistband" in settle_text(fallback)
    # the same level from a band too few pixels tall: not the clothing, the picture's size is what to change
    small = _verdicts(tight, tight, level_sd=1.2, small=True)["right"]
    assert small.verdict_class == "cannot_tell" and small.settle == ("film_closer",)
    assert "film closer or at a higher resolution" in settle_text(small)
    tilted = _verdicts(tight, tight, roll=4.0, level_sd=0.1, camera_sd=0.8)["right"]
    assert tilted.verdict_class == "cannot_tell" and "level_camera" in tilted.settle
    assert "level the camera" in settle_text(tilted)
    # the same uncertain roll from a level camera: levelling it changes nothing, filming longer steadies the roll
    level = _verdicts(tight, tight, roll=0.1, level_sd=0.1, camera_sd=0.8)["right"]
    assert level.verdict_class == "cannot_tell" and level.settle == ("more_steps",)
    assert "level the camera" not in settle_text(level) and "more right-leg steps" in settle_text(level)
    near = _verdicts([5.2] * 5 + [5.3] * 5, tight)["left"]  # 0.25° from 5°: within the method's own error
    assert near.verdict_class == "cannot_tell" and near.settle == ("near_threshold",)
    assert "too close to the threshold" in settle_text(near)


def test_no_number_of_steps_settles_a_mean_within_the_methods_error_or_a_single_step():
    near = _verdicts([5.2, 5.5, 4.9, 5.3, 5.6], [2.0] * 5)["left"]  # 0.3° from 5°, within the method's 95% part
    assert near.verdict_class == "cannot_tell" and steps_needed(near, THRESHOLD) is None
    assert steps_needed(_verdicts([7.0], [2.0] * 5)["left"], THRESHOLD) is None
    spread = _verdicts([4.5, 6.6, 6.2, 4.2, 7.7, 7.1], [2.0] * 5)["left"]  # mean 6.05: beyond it, but widely spread
    assert spread.verdict_class == "cannot_tell" and spread.mean_drop_deg - THRESHOLD > Z95 * METHOD_RESIDUAL_DEG
    n = steps_needed(spread, THRESHOLD)
    assert n is not None and n > spread.steps


def test_a_side_needs_two_steps_for_a_verdict():
    """One step has no spread, hence no interval: the side gets no verdict (a mirrored copy of a short clip that
    found one step more on one side read a one-step "mean" of -4.7° and changed the side's measurability), and the
    few-steps warning still names it."""
    from gaitlab.core.result import WarningCode
    from gaitlab.core.verdict import step_count_warnings

    v = _verdicts([6.0], [6.5, 7.0])
    assert not v["left"].measurable and v["left"].interval is None and v["left"].verdict_class == ""
    assert v["left"].mean_drop_deg == 6.0  # the step is still given
    assert v["right"].measurable and v["right"].verdict_class in ("above", "cannot_tell")
    warned = {(w.code, w.values["side"]) for w in step_count_warnings(v, view_measurable=True)}
    assert warned == {(WarningCode.FEW_STEPS, "left"), (WarningCode.FEW_STEPS, "right")}


def test_unmeasurable_sides_have_no_class_or_interval():
    v = side_verdicts(_steps("left", [7.0, 8.0, 7.5]), THRESHOLD, measurable=False)
    assert all(x.verdict_class == "" and x.interval is None and not x.flagged for x in v.values())


# ---- the side difference -----------------------------------------------------------------------------------------

def test_side_difference_is_claimed_only_clear_of_zero_and_beyond_the_sdd():
    rng = np.random.default_rng(5)
    left = rng.normal(2.0, 0.4, 12)
    big = _verdicts(left, rng.normal(6.5, 0.4, 12), level_sd=0.2)
    d = side_difference(big["left"], big["right"])
    assert d.claimed and d.low_deg > 0 and d.diff_deg > 2.7
    # 3° apart, but the level (from a fallback) could account for it: its interval includes zero
    loose = _verdicts(left, left + 3.0, level_sd=1.2, fallback=True)
    d = side_difference(loose["left"], loose["right"])
    assert d.diff_deg > 2.7 and d.low_deg < 0 and not d.claimed
    assert "its interval includes zero" in difference_text(replace(make_analysis(), sides=loose))
    # 2° apart and tight: clear of zero, but within the smallest detectable difference
    small = _verdicts(left, left + 2.0, level_sd=0.05)
    d = side_difference(small["left"], small["right"])
    assert d.low_deg > 0 and not d.claimed
    assert "within the smallest detectable difference" in difference_text(replace(make_analysis(), sides=small))


def test_side_difference_counts_the_shared_level_twice():
    v = _verdicts([3.0, 3.1, 2.9, 3.0], [7.0, 7.1, 6.9, 7.0], level_sd=0.5)
    d = side_difference(v["left"], v["right"])
    half = (d.high_deg - d.low_deg) / 2
    assert half > 2 * Z95 * 0.5  # one level error moves the two sides apart by twice its size


# ---- where the number is shown -----------------------------------------------------------------------------------

def _cannot_tell_analysis():
    """A short walk whose right side is near the threshold: a few steps, cannot tell."""
    a = make_analysis("short.mp4", time_s=np.arange(100) / 30.0, right_drop_deg=6.2, left_drop_deg=2.0, seed=3)
    assert a.sides["right"].verdict_class == "cannot_tell", a.sides["right"]
    return a


def test_summary_json_carries_interval_and_class_and_follows_the_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    for a in (make_analysis(), _cannot_tell_analysis()):
        s = summary_dict(a)
        Draft202012Validator(schema).validate(s)
        assert s["schema_version"] == 3
        for side in ("left", "right"):
            v, out = a.sides[side], s["sides"][side]
            assert out["mean_drop_ci95_deg"] == [round(v.interval.low_deg, 4), round(v.interval.high_deg, 4)]
            assert out["verdict_class"] == v.verdict_class and out["flagged"] == (v.verdict_class == "above")
            assert set(out["ci95_parts_deg"]) == {"steps", "level", "camera", "method"}
        assert s["side_difference_deg"]["ci95"][0] < s["side_difference_deg"]["right_minus_left"]
    right = summary_dict(_cannot_tell_analysis())["sides"]["right"]
    assert "more_steps" in right["settle"] and right["more_steps_to_settle"] >= 1
    assert "cannot tell whether it is above 5°" in right["verdict"] and "To settle it" in right["verdict"]


def test_report_cards_show_the_interval_and_a_cannot_tell_card():
    a = _cannot_tell_analysis()
    html = report_html(a, {})
    iv = a.sides["right"].interval
    assert 'class="card unsure"' in html and ">cannot tell<" in html
    assert f"95% interval {iv.low_deg:.1f}° to {iv.high_deg:.1f}°" in html
    assert "To settle it: film about" in html
    assert 'class="card ok"' in html  # the left side: the whole interval below 5°


def test_drop_plot_error_bars_are_the_95_percent_intervals():
    a = make_analysis()
    ax = drops_figure(a).axes[0]
    bars = [c for c in ax.collections if c.__class__.__name__ == "LineCollection"]
    spans = sorted((float(seg[:, 1].min()), float(seg[:, 1].max())) for c in bars for seg in c.get_segments())
    want = sorted((a.sides[s].interval.low_deg, a.sides[s].interval.high_deg) for s in ("left", "right"))
    assert np.ravel(spans) == pytest.approx(np.ravel(want), abs=1e-6)


def test_cli_table_shows_interval_class_and_what_would_settle_it():
    a = _cannot_tell_analysis()
    table = _verdict_table(a)
    iv = a.sides["right"].interval
    assert "95% interval" in table and f"{iv.low_deg:.1f}° to {iv.high_deg:.1f}°" in table
    assert "CANNOT TELL (5°)" in table and "To settle it: film about" in table
    assert "not above 5°" in table


def test_verdict_sentence_words_each_class():
    a = _cannot_tell_analysis()
    assert "the whole interval is below 5°" in side_verdict(a, a.sides["left"])
    assert "cannot tell whether it is above 5°: the interval spans the threshold" in side_verdict(a, a.sides["right"])
    b = make_analysis()
    assert "the whole interval is above 5°" in side_verdict(b, b.sides["right"])


def test_app_badge_shows_cannot_tell_and_reads_older_sessions():
    from gaitlab.app.pages import badge

    assert badge({"measurable": True, "flagged": False, "verdict_class": "cannot_tell"}, 5.0)[0] == "unsure"
    assert badge({"measurable": True, "flagged": True}, 5.0)[0] == "over"  # stored before verdict_class
    assert badge({"measurable": True, "flagged": False, "verdict_class": "not_above"}, 5.0)[0] == "ok"


# ---- calibration as `gaitlab validate` reports it ----------------------------------------------------------------

def test_calibration_counts_coverage_half_widths_and_clear_cannot_tell():
    def side(clip, name, steps, true, low, high, cls, good=True):
        return SideCalibration(clip, name, steps, true, (low + high) / 2, low, high, cls, good, good)

    sides = [side("a", "left", 12, 3.0, 2.5, 3.5, "not_above"), side("a", "right", 12, 7.0, 6.0, 8.0, "above"),
             side("b", "left", 12, 3.9, 3.5, 5.5, "cannot_tell"), side("b", "right", 12, 6.0, 6.5, 7.5, "above"),
             side("c", "left", 5, 2.0, 0.0, 4.0, "not_above", good=False)]
    scores = [type("S", (), {"sides": [s for s in sides if s.clip == c]})() for c in "abc"]
    k = calibration(scores)
    assert (k["contains"], k["sides"]) == (4, 5)
    assert k["long_sides"] == 4 and k["long_median_half_width"] == pytest.approx(0.75)
    assert k["median_half_width"] == pytest.approx(1.0)
    assert (k["clear_sides"], k["clear_cannot_tell"]) == (4, 1)
    assert k["good_sides"] == 4


def test_cli_table_says_dash_not_nan_for_a_side_without_steps():
    a = make_analysis()
    steps = [s for s in a.steps if s.stance_side == "right"]
    sides = side_verdicts(steps, THRESHOLD, measurable=True)
    table = _verdict_table(replace(a, steps=steps, sides=sides))
    left = next(line for line in table.splitlines() if line.startswith("left"))
    assert "nan" not in table.lower() and left.split()[1:3] == ["0", "–"]
