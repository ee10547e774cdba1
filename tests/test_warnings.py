"""Thresholding has one rule, and every warning code the core emits has a sentence (issue 22)."""
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
