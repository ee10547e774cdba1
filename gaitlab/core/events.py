"""Gait events from MediaPipe pose landmarks: foot contact and single-leg-stance windows.

Method (frontal views, posterior or anterior, treadmill or overground, walking or running)
---------------------------------------------------------------------------------------------
In the pelvis' frame of reference a foot in contact with the ground moves *backward* (the body
passes over it: on a treadmill the belt carries it back, overground the pelvis moves forward),
while a swinging foot moves *forward*.  This is the basis of the classic kinematic event rule of
Zeni et al. (2008): initial contact (IC) = the heel at its most anterior position relative to the
pelvis, toe-off (TO) = the toe at its most posterior position.

From the front or the back the anterior-posterior (AP) axis is the camera's depth axis, which a
single image shows through perspective: for a camera above the feet a ground point nearer the
camera projects lower in the image.  So, relative to the hip centre and normalised by the
apparent trunk length (which removes the overall scale change when walking toward or away from
the camera):

    backward position  p = s * (y_foot - y_hip) / trunk_length,   s = +1 posterior, -1 anterior

(from behind, moving back = nearer = lower in the image; from in front the opposite).  The facing
(posterior/anterior) comes from gaitlab.core.view.

Walking or running is decided first, from the step frequency of the toe-offs (the walk-run
transition lies near 140 steps/min).  The reference for the backward position is then
- walking: the hip's slow course only (its per-step bounce is not foot motion);
- running: the instantaneous hip (Zeni's pelvis reference): the running pelvis' large vertical
  oscillation otherwise shifts the feet's extrema (measured on the bench: TO ~0.08 s late and IC
  ~0.09 s early against the slow reference).

Per foot:  TO = local maximum of the toe's backward position; from the front, where the pitch cue
(below) is used, refined to the pitch's maximum in the heel-rise stretch before it: the early-swing
lift raises the foot in the image like backward motion, and far away (perspective gain for depth
~ camera height / distance) the lift dominates and the toe's maximum lags TO by ~0.1 s.  IC:
- walking: the moment the heel's forward (swing) speed has fallen to 5 % of its late-swing peak;
  from the front, where the heel's image height is mostly lift and settles ~0.1 s before contact,
  refined to the foot's dorsiflexion peak: the minimum of its pitch (toe-minus-heel image height,
  + = toe lower, same sign from either side) between the swing's start and mid-contact - the foot
  reaches the ground heel first, toes up, then rolls flat (the end of a flat minimum, and before
  the other foot's TO: no flight when walking).  The pitch cue is used only when it
  repeats with the stride; from behind the forefoot is hidden by the heel and shank and it is not
  used at all;
- running: the foot is pulled back (retracted) after its forward-most point and the landing shows
  as a dip of the heel's backward speed; IC = the stance sweep's onset, where that speed has
  regained half of its rise from the first such dip to the next speed peak.
Running filmed from the FRONT is different: the swing foot's large lift (heel kicked up behind)
raises it in the image exactly as moving away from the camera would, so the toe's image height keeps
rising from toe-off to mid-swing and has no extremum at TO.  There IC = the heel's forward-most
point (its image-y maximum: the landing foot's descent and forward swing both lower it in the image
and both end at contact), and TO = the toe's lift-off read from its height in MediaPipe's world
landmarks (metres, relative to the hip): the last frame before the toe, after resting (its upward
speed down to 5 % of the swing's fastest lift, as the walking heel's "stopped"), has risen
FOOT_CLEARANCE_M = 3 cm - toe clearance just after toe-off is a few cm.  Used only where the
world toe height varies by more than that clearance; otherwise the image rule below applies.
Walking filmed from the FRONT, where the pitch repeats with the stride: both events come from the
foot's pitch (_pitch_events) - TO = its maxima at least 3/4 of a stride apart, IC = the end of its
minimum's plateau before the other foot's next TO.  Far from the camera the feet's image heights
show their lift rather than their motion in depth (the toe's image maximum moves from the toe-off
to the heel strike), while the pitch is the foot's own orientation at any distance.  On a far,
small foot the pitch is flat within its noise from terminal swing to foot flat; there the IC is
the onset of the heel's last descent in the image before the other foot's TO (_loading_onset: the
foot rolling down onto the floor after heel strike), taken where the foot is already dorsiflexed.
Contact = [IC, TO).  A first contact whose IC search is cut by the segment start is kept only if
its duration is within 30 % of the foot's median.

Single-leg stance of side S (as in the bench truth): walking = the other foot's swing, from its
TO to its next IC (S must be on the ground then: no flight when walking); running = S's own
contact (the other foot is in the air: no double support).  So a window needs only the events of
one foot, observed in one tracked segment with no event of that foot missed in between; the other
foot's contact state, where decided, must agree, and where it is not (the clip's start or end) the
gait's definition supplies it.  A window whose duration is off the median of the same leg's
other windows by more than _DURATION_TOL of it, and a frame, is left out: one of its events was
misread (a toe-off found late, a contact early), and the stance it stands for may have its drop's
peak outside it.  Activity is "walk" or "run" as decided above, or "unknown" where no segment
shows enough steps to tell (fewer than 3 toe-offs, or a cadence either gait has and too few
contacts for a duty factor).

Conventions: see gaitlab.core.track.  Sides are the track's labels, taken as anatomical.
All times in seconds; StanceWindow.start_s / end_s are the times of the first and last frame of
the window (frame-sampled, like the bench truth).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from gaitlab.core.clean import lowpass
from gaitlab.core.track import (
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_SHOULDER,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    PoseTrack,
    frame_rate_hz,
)
from gaitlab.core.view import estimate_view

SIDES = ("left", "right")
_HEEL = {"left": LEFT_HEEL, "right": RIGHT_HEEL}
_TOE = {"left": LEFT_FOOT_INDEX, "right": RIGHT_FOOT_INDEX}


@dataclass(frozen=True)
class StanceWindow:
    """One complete single-leg stance of `side`: the times (s) of its first and last frame (module docstring)."""

    side: str  # "left" | "right": the anatomical stance leg
    start_s: float  # first frame: opposite toe-off (walking) / own initial contact (running)
    end_s: float  # last frame: before the opposite initial contact / own toe-off

    @property
    def duration_s(self) -> float:
        """Seconds from the window's first frame to its last: one frame interval less than from its opening event
        to its closing one."""
        return self.end_s - self.start_s


def window_frames(time_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """(N,) bool: the frames of a stance window from its first to its last frame's time (seconds), both
    included. A step's peak is searched over these frames, and they are the frames shown as its stance."""
    return (time_s >= start_s - 1e-9) & (time_s <= end_s + 1e-9)


@dataclass
class GaitEvents:
    """A clip's gait events (detect_gait_events): per-frame foot contact, the single-leg stances, and each foot's
    initial contacts and toe-offs, times in seconds; sides as labelled in the track."""

    time_s: np.ndarray  # (N,)
    left_contact: np.ndarray  # (N,) bool
    right_contact: np.ndarray  # (N,) bool
    valid: np.ndarray  # (N,) bool: contact state decided (inside a tracked segment, between events)
    single_stances: list[StanceWindow]  # complete windows only, sorted by start
    initial_contacts_s: dict[str, np.ndarray] = field(default_factory=dict)
    toe_offs_s: dict[str, np.ndarray] = field(default_factory=dict)
    view: str = "posterior"  # "posterior" | "anterior" (as detected or given)
    activity: str = "unknown"  # "walk" | "run" | "unknown"
    cadence_steps_per_min: float = float("nan")
    signals: dict[str, np.ndarray] = field(default_factory=dict)  # diagnostics (backward positions)
    atypical_stances: int = 0  # windows left out for a duration unlike the same leg's others (typical_stances)

    @property
    def step_count(self) -> int:
        """Complete single-leg stances found, both sides."""
        return len(self.single_stances)


def _loading_onset(heel_fwd, swing_start, contact_end, land_before):
    """IC index of a walking foot filmed from the front: the onset of its heel's last descent in the image
    before the other foot's toe-off, or None.

    From the front the heel descends in the image through the swing (moving toward the camera, lowering),
    pauses in terminal swing while the foot, toes up, reaches the ground, and descends again as the foot
    rolls down onto the floor from heel strike to foot flat (the first rocker, ~0.1-0.2 s), before it stands
    still or moves back in stance.  Seen on a far walker's small foot, where the pitch is flat within its
    noise from terminal swing to foot flat, that second descent is the clearer mark of the heel strike.
    heel_fwd: the heel's forward speed (+ = toward the camera); swing_start: the foot's TO; contact_end: its next
    TO or the signal's end; land_before: the other foot's next TO (+ slack) - the landing precedes it (no flight).
    Each forward-speed peak in [swing_start, contact_end) standing out by _LOADING_PEAK_FRAC of the speed's range
    there has its onset where the speed was last below half the peak; the IC is the last onset before land_before."""
    seg = heel_fwd[swing_start:contact_end]
    if seg.size < 3:
        return None
    peaks, _ = find_peaks(seg, prominence=_LOADING_PEAK_FRAC * float(np.ptp(seg)))
    onset = None
    for k in swing_start + peaks[seg[peaks] > 0]:
        m = k
        while m > swing_start and heel_fwd[m] >= 0.5 * heel_fwd[k]:
            m -= 1
        if swing_start < m < land_before:
            onset = int(m)
    return onset


# ----------------------------------------------------------------------------------------------
# helpers


def _segments(ok: np.ndarray, time_s: np.ndarray, max_gap_s: float, min_len_s: float):
    """Runs of tracked frames, bridging gaps up to max_gap_s; returns [(i0, i1_exclusive)]."""
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    segs = []
    start = idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if time_s[b] - time_s[a] > max_gap_s + 1e-9:
            segs.append((start, a + 1))
            start = b
    segs.append((start, idx[-1] + 1))
    return [(i0, i1) for i0, i1 in segs if time_s[i1 - 1] - time_s[i0] >= min_len_s]


def _fill(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaNs (short gaps inside a segment)."""
    x = np.asarray(x, float).copy()
    m = np.isfinite(x)
    if m.all() or not m.any():
        return x
    x[~m] = np.interp(np.flatnonzero(~m), np.flatnonzero(m), x[m])
    return x


def _robust_spread(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan")
    q = np.percentile(x, [5, 95])
    return float(q[1] - q[0])


def _landing(p_heel, v, pitch, lo, hi, to, running, prev_to, other_to=None):
    """IC index in [lo, hi) (hi = the next TO or the signal end), or None if not observed.

    prev_to: the foot's previous TO (the start of its swing) or None.
    other_to: the other foot's TOs (walking): the pitch search ends before the first one after
    this swing's start - a walking foot lands before the other leaves the ground (no flight)."""
    if hi - lo < 3:
        return None
    seg = p_heel[lo:hi]
    i_min = lo + int(np.argmin(seg))  # forward-most heel position
    if i_min == lo and lo == 0:
        return None  # cut by the signal start
    if running:
        # a running foot is retracted (moves back) before it lands: after its forward-most point
        # the heel sweeps back, and the landing impact shows as a dip of that backward speed;
        # the landing is the first such dip after the forward-most point
        j1 = to if to is not None else len(v)
        vs = v[i_min:j1]
        if vs.size < 3:
            return None
        dips, _ = find_peaks(-vs, prominence=_IMPACT_DIP_FRAC * float(np.ptp(vs)))
        if dips.size == 0:
            return None if to is None else i_min
        # contact: the stance sweep's onset, where the backward speed has regained half of its
        # rise from the dip to the next speed peak
        d = int(dips[0])
        pks, _ = find_peaks(vs[d:])
        if pks.size == 0:
            return None if to is None else i_min + d
        k = d + int(pks[0])
        half = 0.5 * (vs[d] + vs[k])
        return i_min + d + int(np.flatnonzero(vs[d:k + 1] >= half)[0])
    # walking: after the heel's peak forward speed (swing), the first moment its forward speed
    # has fallen to a small fraction of that peak (a heel that settles on a plateau, as seen from
    # the front, never reaches a clean minimum of position)
    i_fwd = lo + int(np.argmin(v[lo:i_min + 1]))
    if v[i_fwd] >= 0:
        return None if to is None else i_min
    slow = np.flatnonzero(v[i_fwd:i_min + 1] >= -_LANDING_SPEED_FRAC * abs(v[i_fwd]))
    ic = i_fwd + int(slow[0]) if slow.size else i_min
    if to is None and ic >= len(v) - 2:
        return None
    if pitch is not None:
        # the foot's pitch (toe below heel in the image: + plantarflexed, in either view) falls
        # through the swing from its toe-off peak, is lowest (toes up) at heel strike, and rises
        # as the foot rolls flat; search from the swing's start to mid-contact
        j0 = prev_to if prev_to is not None else lo
        j1 = (ic + to) // 2 if to is not None else len(v)
        if other_to is not None:
            nxt = other_to[other_to > j0]
            if nxt.size:
                j1 = min(j1, int(nxt[0]))
        if j1 - j0 >= 3:
            j = j0 + int(np.argmin(pitch[j0:j1]))
            if j0 < j < j1 - 1:  # an interior minimum; else keep the heel-speed marker
                # the foot is held dorsiflexed through terminal swing and rolls flat (forefoot
                # down: pitch rising) from heel strike; where the minimum is a plateau (a far,
                # small foot: the toes-up dip is not resolved) its noise picks a point anywhere
                # on it - take the plateau's end, the last frame before the pitch leaves it
                top = pitch[j] + _PITCH_PLATEAU_FRAC * float(np.max(pitch[j0:j + 1]) - pitch[j])
                while j + 1 < j1 - 1 and pitch[j + 1] <= top:
                    j += 1
                ic = j
    return ic


def _repeats_with_stride(x, lag, min_corr):
    """True if x correlates with itself one stride (lag samples) later."""
    if lag is None or lag < 2 or len(x) - lag < lag:
        return False
    a, b = x[:-lag], x[lag:]
    if np.std(a) == 0 or np.std(b) == 0:
        return False
    return float(np.corrcoef(a, b)[0, 1]) >= min_corr


def _pitch_toe_off(pitch, to_idx):
    """Toe-offs refined to the foot's plantarflexion peak (walking, where the pitch cue is used).

    From the front a lifting foot rises in the image like a foot moving back, so the toe's
    backward maximum lags the toe-off by the early-swing toe lift, the more so the farther the
    person (the perspective's gain for depth falls as camera height / distance, the lift's does
    not).  It is never early.  The foot pivots on its toes from heel-off to toe-off, so its pitch
    (heel above toe) rises through terminal stance and pre-swing and peaks at toe-off; the toe-off
    is the pitch maximum in that stretch before the toe's backward maximum, kept only if interior
    (a pitch still rising at the backward maximum leaves it unchanged)."""
    stride = float(np.median(np.diff(to_idx)))
    w = max(2, int(round(_HEEL_RISE_FRAC * stride)))
    out = []
    for k in to_idx:
        j0 = max(0, k - w)
        j = j0 + int(np.argmax(pitch[j0:k + 1]))
        out.append(j if j0 < j < k else k)
    return np.array(out, int)


def _swing_onset(p_toe, t, to_idx):
    """Toe-offs moved to the onset of the toe's forward swing (walking, where the pitch cue is not used).

    A toe on the ground moves steadily back relative to the pelvis until it leaves the ground, then swings forward
    fast.  From behind, MediaPipe's toe is partly a guess from the heel and shank (the forefoot is hidden by
    them): as the heel rises it drifts forward a little and back again while the real toe is still planted, so
    the toe's backward position can peak at heel-off, with a second, lower peak at the toe-off.  The toe-off is
    the onset of the swing: walking back in time from the swing's fastest forward motion (up to the toe's
    forward-most point after the peak) to where the toe's forward speed has fallen to _LANDING_SPEED_FRAC of
    that (the same "stopped" as the walking heel's); never before the peak."""
    v = np.gradient(p_toe, t)
    out = []
    for n, k in enumerate(to_idx):
        nxt = to_idx[n + 1] if n + 1 < len(to_idx) else len(p_toe)
        if nxt - k < 3:
            out.append(k)
            continue
        fwd = k + int(np.argmin(p_toe[k:nxt]))  # the toe's forward-most point of this swing
        if fwd - k < 2 or fwd == len(p_toe) - 1:
            out.append(k)  # the swing is not seen whole
            continue
        m = k + int(np.argmin(v[k:fwd + 1]))
        j = m
        while j > k and v[j] < -_LANDING_SPEED_FRAC * abs(v[m]):
            j -= 1
        out.append(j)
    return np.array(out, int)


def _toe_offs(p_toe, pitch, t, fs, min_stride_s, prom, running):
    """TOs (sample indices) of one foot: the toe's backward maxima, refined by the pitch or, walking without it,
    to the swing's onset (_swing_onset)."""
    to_idx, _ = find_peaks(p_toe, distance=max(1, int(round(min_stride_s * fs))), prominence=prom)
    if pitch is not None and not running and to_idx.size >= 2:
        to_idx = _pitch_toe_off(pitch, to_idx)
    elif not running:
        to_idx = _swing_onset(p_toe, t, to_idx)
    return _drop_short_edge_stride(to_idx)


def _drop_short_edge_stride(to_idx: np.ndarray) -> np.ndarray:
    """Toe-offs without a first or last one that closes or opens a stride much shorter than the foot's others.

    A peak at the segment's edge is measured on one side only (its prominence is cut, and filter and tracker
    transients sit there); the stride it closes or opens must be typical of this foot's other strides (stride
    time varies by a few % in steady gait)."""
    if to_idx.size >= 4:
        d = np.diff(to_idx)
        if d[0] < (1 - _DURATION_TOL) * np.median(d[1:]):
            return to_idx[1:]
        if d[-1] < (1 - _DURATION_TOL) * np.median(d[:-1]):
            return to_idx[:-1]
    return to_idx


def _foot_events(p_heel, p_toe, pitch, t, fs, min_stride_s, min_contact_s, max_contact_frac, prom,
                 running, other_to=None):
    """ICs and TOs (sample indices) of one foot from its backward-position signals.

    Returns (ic, to, pairs): all observed ICs, all observed TOs, and the (ic, to) contact pairs."""
    to_idx = _toe_offs(p_toe, pitch, t, fs, min_stride_s, prom, running)
    v = np.gradient(p_heel, t)
    n_min = int(round(min_contact_s * fs))
    ics, pairs = [], []
    bounds = list(to_idx) + [None]
    for k, to in enumerate(bounds):
        lo = to_idx[k - 1] + n_min if k > 0 else 0
        hi = to if to is not None else len(p_heel)
        ic = _landing(p_heel, v, pitch, lo, hi, to, running, to_idx[k - 1] if k > 0 else None,
                      other_to)
        if ic is None:
            continue
        if to is not None:
            dur = (to - ic) / fs
            if dur < min_contact_s:
                continue
            if k > 0 and dur > max_contact_frac * (to - to_idx[k - 1]) / fs:
                continue
            pairs.append((ic, to))
        ics.append(ic)
    # the first contact's IC was searched in a window cut by the signal start (its swing not seen
    # whole): keep it only if its duration is typical of this foot's other contacts
    if pairs and ics and ics[0] == pairs[0][0] and pairs[0][1] == to_idx[0] and len(pairs) >= 3:
        durs = np.array([b - a for a, b in pairs[1:]], float)
        if abs(pairs[0][1] - pairs[0][0] - np.median(durs)) > _DURATION_TOL * np.median(durs):
            pairs, ics = pairs[1:], ics[1:]
    return np.array(ics, int), np.array(to_idx, int), pairs


def _windows(ic, to, contact, decided, running):
    """Complete single-stance windows of one stance side S in a segment, from event indices.

    running: S's own contact [IC_S, TO_S) - the other foot is in the air throughout (no double
    support), so only S's events are needed; walking: the other foot's swing [TO_o, IC_o) - S must
    be on the ground then (no flight), so only the other foot's events are needed.  Where the
    state of the foot not providing the events is decided, it must agree (running: not in contact;
    walking: in contact); where it is not (clip edges), the gait's definition supplies it.
    ic, to: event indices of the event-providing foot; contact/decided: the other foot's state."""
    out = []
    for a in (ic if running else to):
        nxt = (to if running else ic)
        nxt = nxt[nxt > a]
        if nxt.size == 0:
            continue
        # the next event of either kind must be the closing one (no missed event in between)
        others = (ic if running else to)
        if np.any((others > a) & (others < nxt[0])):
            continue
        b = int(nxt[0])
        agree = contact[a:b] if not running else ~contact[a:b]
        if not np.all(agree | ~decided[a:b]):
            continue
        out.append((int(a), b))
    return out


def _lift_off(toe_h, v, a, b):
    """TO index in [a, b): the toe leaving the ground, from its height (metres, up) and its speed.

    The swing's fastest toe lift m is found first; the toe was at rest on the ground before it
    (its upward speed down to _LANDING_SPEED_FRAC of that peak - the same "stopped" as the walking
    heel's); TO is the last frame before the toe has risen FOOT_CLEARANCE_M above that resting height.
    None if the lift is not seen whole in [a, b)."""
    if b - a < 3:
        return None
    m = a + int(np.argmax(v[a:b]))
    if v[m] <= 0:
        return None
    j = m
    while j > a and v[j] > _LANDING_SPEED_FRAC * v[m]:
        j -= 1
    if j == a and v[j] > _LANDING_SPEED_FRAC * v[m]:
        return None  # the rest before the lift is cut off
    # a lift is seen only once the toe has cleared the ground (not noise on a resting toe, not a
    # lift cut by the window's end)
    up = np.flatnonzero(toe_h[j:b] > toe_h[j] + FOOT_CLEARANCE_M)
    if up.size == 0:
        return None
    return max(j, j + int(up[0]) - 1)


def _anterior_running_events(p_heel, toe_h, t, fs, min_stride_s, min_contact_s, max_contact_frac,
                             prom):
    """ICs, TOs and contact pairs (sample indices) of one running foot filmed from the front.

    IC = the heel's forward-most point (its image-y maximum): from the front the landing foot's
    descent and its forward swing both move it down the image, and both end at the landing (Zeni's
    IC rule).  TO = the toe's lift-off from its world height (_lift_off): from the front the lift
    raises the foot in the image exactly as moving back does, so the image shows no extremum there.
    Each contact is [IC, TO) with TO the first lift after IC and before the next IC."""
    ic, _ = find_peaks(-p_heel, distance=max(1, int(round(min_stride_s * fs))), prominence=prom)
    v = np.gradient(toe_h, t)
    n_min = int(round(min_contact_s * fs))
    tos, pairs = [], []
    bounds = list(ic[1:]) + [len(p_heel)]
    for k, (a, b) in enumerate(zip(ic, bounds)):
        to = _lift_off(toe_h, v, a + n_min, b)
        if to is None or to <= a:
            continue
        if (to - a) < n_min:
            continue
        if k + 1 < len(ic) and (to - a) > max_contact_frac * (b - a):
            continue
        tos.append(to)
        pairs.append((int(a), int(to)))
    return np.array(ic, int), np.array(tos, int), pairs


def _stride_samples(toe_peaks: dict, toes: dict | None = None) -> int | None:
    """The median stride (samples) from both toes' backward maxima (the intervals of each foot's pooled), or None
    (fewer than 2 maxima of a foot). Both feet walk the same stride, so one spurious maximum of one foot does not
    move it, where it would move that foot's own median (a far walker's toe, mirrored: 28 frames against 33).

    toes: each foot's signal the maxima came from; then the stride is refined to the lag within _STRIDE_REFINE_FRAC
    of that median at which both signals repeat best (their mean autocorrelation): it uses every frame, not a few
    maxima, so several spurious maxima of a far, small foot (four in a 540p clip's 8 s: median 28 frames against
    33) do not set it either.

    Used only as a period: from the front and far away the toe's image maximum sits at the
    heel strike (toes up) instead of the toe-off, but it still comes once per stride."""
    gaps = [np.diff(pk) for pk in toe_peaks.values() if pk.size >= 2]
    if len(gaps) != len(toe_peaks):
        return None
    stride = int(round(float(np.median(np.concatenate(gaps)))))
    if toes is None:
        return stride

    def repeat(lag: int) -> float:
        return float(np.mean([np.corrcoef(x[:-lag], x[lag:])[0, 1] for x in toes.values()]))

    lags = [lag for lag in range(max(2, int((1 - _STRIDE_REFINE_FRAC) * stride)),
                                 int((1 + _STRIDE_REFINE_FRAC) * stride) + 1)
            if all(len(x) - lag >= lag and np.std(x[:-lag]) > 0 and np.std(x[lag:]) > 0 for x in toes.values())]
    return max(lags, key=repeat) if lags else stride


def _pitch_events(pitch, stride_n, other_to, fs, min_contact_s, max_contact_frac, heel_fwd=None):
    """ICs, TOs and contact pairs (sample indices) of one walking foot filmed from the front, from
    its pitch alone (toe-minus-heel image height over trunk length, + = toe lower).

    From the front the foot's vertical motion is seen one to one while its motion in depth is seen
    through the perspective's gain (camera height / distance, 1/5 to 1/12 at 5-12 m from a 1 m
    high camera), so far away the toe's and heel's image heights show their lift, not their
    backward motion, and the backward-position extrema move (the toe's image maximum shifts from
    the toe-off to the heel strike, toes up).  The pitch is the foot's own orientation and keeps its
    meaning at any distance: the foot pivots on its toes from heel-off to toe-off (pitch rising to
    its maximum at TO), swings, and reaches the ground heel first, toes up (pitch minimum at IC),
    then rolls flat.
    TO = the pitch's maxima at least _PITCH_PEAK_STRIDE_FRAC of a stride apart (the foot-flat
    shoulder after loading response is ~40 % of a stride before TO); IC = the end of the pitch's
    minimum plateau (as in _landing) between the foot's TO and the first later TO of the other foot
    (a walking foot lands before the other one leaves the ground: no flight), moved to the heel's
    loading onset (_loading_onset) where heel_fwd (the heel's forward speed, trunk lengths/s) is
    given, before the other foot's next TO (or the signal's end, where that TO is not seen)."""
    prom = _PITCH_PEAK_PROM_FRAC * _robust_spread(pitch)
    to_idx, _ = find_peaks(pitch, distance=max(1, int(round(_PITCH_PEAK_STRIDE_FRAC * stride_n))),
                           prominence=prom)
    to_idx = _drop_short_edge_stride(to_idx)
    n_min = int(round(min_contact_s * fs))
    ics, pairs = [], []
    for k in range(len(to_idx) + 1):
        j0 = int(to_idx[k - 1]) if k > 0 else 0
        to = int(to_idx[k]) if k < len(to_idx) else None
        j1 = to - n_min if to is not None else len(pitch)
        nxt = other_to[other_to > j0] if other_to is not None else np.array([], int)
        if nxt.size:
            # up to just past the other foot's toe-off: the landing precedes it by the double
            # support (~10 % of the cycle, ~0.1 s), of which the toe-off's frame-sampled peak can
            # eat a frame, and the interior-minimum check below needs one frame beyond
            j1 = min(j1, int(nxt[0]) + _TO_FRAME_SLACK)
        if j1 - j0 < 3:
            continue
        j = j0 + int(np.argmin(pitch[j0:j1]))
        if not (j0 < j < j1 - 1):
            continue  # the minimum is at the search's edge: not seen
        top = pitch[j] + _PITCH_PLATEAU_FRAC * float(np.max(pitch[j0:j + 1]) - pitch[j])
        while j + 1 < j1 - 1 and pitch[j + 1] <= top:
            j += 1
        if to is None and not nxt.size and j >= j1 - 2:
            continue  # unbounded last swing: the pitch must be seen leaving its minimum
        if heel_fwd is not None:
            onset = _loading_onset(heel_fwd, j0, to if to is not None else len(pitch),
                                   int(nxt[0]) + _TO_FRAME_SLACK if nxt.size else len(pitch))
            # a heel strike comes with the foot dorsiflexed, its pitch in the lower half of its fall from the
            # toe-off: an onset earlier in the swing is the swing's own forward motion (a heel with no pause)
            low = pitch[j] + 0.5 * float(np.max(pitch[j0:j + 1]) - pitch[j])
            j = onset if onset is not None and pitch[onset] <= low else j
        if to is not None:
            dur = (to - j) / fs
            if dur < min_contact_s:
                continue
            if k > 0 and (to - j) > max_contact_frac * (to - j0):
                continue
            pairs.append((j, to))
        ics.append(j)
    return np.array(ics, int), np.array(to_idx, int), pairs


# ----------------------------------------------------------------------------------------------


# toe height above its resting level by which it has left the ground, metres: a few cm, more than
# the world landmarks' jitter on a resting toe (~1 cm) and gained within a frame or two of leaving
# (a running toe lifts at ~1-3 m/s)
FOOT_CLEARANCE_M = 0.03
_IMPACT_DIP_FRAC = 0.2  # running landing dip: depth >= 20 % of the heel's backward-speed range
_LANDING_SPEED_FRAC = 0.05  # a walking heel "stopped": forward speed 5 % of its swing peak (also the toe, _lift_off)
# a pitch within this fraction of its swing range (TO peak to IC minimum) of its minimum is on the
# minimum's plateau (as the heel's 5 % "stopped" speed)
_PITCH_PLATEAU_FRAC = 0.05
# toe-off pitch maxima are at least this fraction of the foot's stride apart: the only other pitch
# maximum in a walking stride, the foot-flat shoulder after the loading response (~10 % of the
# cycle), lies ~40-50 % of a stride before the toe-off (~60 %); stride time varies by a few % only
_PITCH_PEAK_STRIDE_FRAC = 0.75
# a toe-off pitch maximum stands out by this fraction of the pitch's 5-95 % spread (as the toe's)
_PITCH_PEAK_PROM_FRAC = 0.25
_TO_FRAME_SLACK = 2  # frames (see _pitch_events)
# the stride's refinement by autocorrelation searches this fraction either side of the maxima's median: steady
# gait varies its stride by a few %, a spurious maximum moves the median by up to a quarter (28 against 33 frames)
_STRIDE_REFINE_FRAC = 0.25
# a heel's loading descent stands out by this fraction of its speed range over the swing: more than a stopped
# heel's landmark jitter, less than the rollover's speed (measured on the bench's anterior walks: 0.05-0.15 all
# give the same events, 0.2 misses a treadmill walker's slower rollover)
_LOADING_PEAK_FRAC = 0.1
# heel-off to toe-off (terminal stance + pre-swing) spans about 30 % of the gait cycle (~30-60 %)
_HEEL_RISE_FRAC = 0.3
# a contact whose IC search was cut by the segment start must be within this fraction of the
# foot's median contact duration, a stride opened or closed by a toe-off at a segment's edge no
# shorter than the foot's median stride by more than it, and a single-leg stance within it (plus a
# frame) of the median of that leg's others (contact, stride and single-support times vary by a few %
# stride to stride in steady gait, under 10 % in pathological gait)
_DURATION_TOL = 0.3


@dataclass(frozen=True)
class EventParams:
    """Parameters of gait-event detection, each with its unit and why it has its value.

    cutoff_hz: low-pass of the foot trajectories (foot events carry little power above ~6-8 Hz).
    trend_cutoff_hz: slower than any stride frequency (strides last <= ~1.6 s); the feet's
        mean backward position below it (approach/recession perspective drift) is removed.
    min_stride_s: shortest stride (same-foot cycle) accepted; fast running ~0.6 s.
    min_contact_s: shortest foot contact; sprinting ~0.1 s, walking/jogging > 0.2 s.
    max_contact_frac: contact longer than this fraction of the stride is rejected
        (walking ~0.6, slow walking ~0.7).
    min_prominence_frac: a toe-off peak must stand out by this fraction of the signal's
        5-95 % spread.
    max_gap_s: detection gaps up to this are interpolated; longer gaps split the track.
    min_segment_s: tracked segments shorter than about one stride are ignored.
    run_cadence_spm: walk-run transition cadence (steps/min): proposes the gait.
    min_run_cadence_spm, max_walk_cadence_spm: the cadences (steps/min) between which the duty factor
        may overrule that proposal: even slow jogging is ~140-160 steps/min, and walking faster than
        ~160 is race walking; a limp or a missed step can give a duty factor near half at any cadence.
    pitch_landing: walking views in which the heel-strike is placed at the foot's dorsiflexion
        peak: "anterior" | "both" | "none".  From behind, the forefoot is hidden by the heel and
        shank and MediaPipe's toe is a guess (measured: window F1 0.96 -> 0.85 with "both").
    min_pitch_stride_corr: the pitch cue is used only if it repeats with the stride
        (autocorrelation at the median stride of both feet >= this); landmark noise does not.
    """

    cutoff_hz: float = 8.0
    trend_cutoff_hz: float = 0.4
    min_stride_s: float = 0.55
    min_contact_s: float = 0.12
    max_contact_frac: float = 0.8
    min_prominence_frac: float = 0.25
    max_gap_s: float = 0.1
    min_segment_s: float = 1.5
    run_cadence_spm: float = 140.0
    min_run_cadence_spm: float = 120.0
    max_walk_cadence_spm: float = 160.0
    pitch_landing: str = "anterior"
    min_pitch_stride_corr: float = 0.5


@dataclass
class _Segment:
    """One tracked segment's events (sample indices relative to its first frame)."""

    running: bool
    contact: dict[str, np.ndarray]  # per side: (n,) bool, the foot on the ground
    decided: dict[str, np.ndarray]  # per side: (n,) bool, between the foot's first and last event
    events: dict[str, tuple[np.ndarray, np.ndarray]]  # per side: (ICs, TOs)
    signals: dict[str, np.ndarray]  # "{side}_{heel|toe|pitch}": the signals the events came from
    windows: list[tuple[str, int, int]]  # (stance side, first sample, end sample exclusive)
    gait_known: bool = True  # False: too few steps to tell walking from running (module docstring)


def _backward_positions(seg: np.ndarray, ts: np.ndarray, trunk: np.ndarray, hip_ref: np.ndarray, sign: float,
                        params: EventParams) -> dict[tuple[str, str], np.ndarray]:
    """Each heel's and toe's backward position (trunk lengths; + = backward, see the module docstring)
    relative to hip_ref (image y, pixels), with the slow drift common to both feet removed (perspective
    change overground), low-passed at params.cutoff_hz."""
    p = {}
    for sd in SIDES:
        for part, idx in (("heel", _HEEL[sd]), ("toe", _TOE[sd])):
            p[(sd, part)] = sign * (_fill(seg[:, idx, 1]) - hip_ref) / trunk
    drift = lowpass(np.mean(list(p.values()), axis=0), ts, params.trend_cutoff_hz)
    return {k: lowpass(v - drift, ts, params.cutoff_hz) for k, v in p.items()}


def _toe_off_cadence_spm(p_slow: dict, ts: np.ndarray, fs: float, params: EventParams) -> float:
    """Steps a minute from the toe-offs of both feet (the toe's backward maxima), NaN with fewer than 3 (two feet's
    toe-offs read in one frame count as one)."""
    tos = []
    for sd in SIDES:
        prom = params.min_prominence_frac * _robust_spread(p_slow[(sd, "toe")])
        pk, _ = find_peaks(p_slow[(sd, "toe")], distance=max(1, int(round(params.min_stride_s * fs))),
                           prominence=prom)
        tos.append(ts[pk])
    tos = np.unique(np.concatenate(tos))
    return 60.0 / float(np.median(np.diff(tos))) if tos.size >= 3 else float("nan")


def _contact_state(ic: np.ndarray, to: np.ndarray, pairs: list[tuple[int, int]], n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(contact, decided) per sample of one foot from its events: contact over each [IC, TO) pair and
    from an IC after the last TO to the end; decided between the foot's first and last event."""
    contact = np.zeros(n, bool)
    for a, b in pairs:
        contact[a:b] = True
    if ic.size and (to.size == 0 or ic[-1] > to[-1]):
        contact[ic[-1]:] = True
    decided = np.zeros(n, bool)
    evs = np.sort(np.concatenate([ic, to]))
    if evs.size:
        decided[evs[0]:evs[-1] + 1] = True
    return contact, decided


def _world_toe_heights(track: PoseTrack, i0: int, i1: int, ts: np.ndarray, params: EventParams
                       ) -> dict[str, np.ndarray] | None:
    """Each toe's height above the hips from the world landmarks (metres, up), low-passed; None where the
    world toes are tracked in half the frames or less, or move up and down by less than FOOT_CLEARANCE_M
    (a flat or missing world track: the image rule applies)."""
    w = track.world_xyz[i0:i1]
    if not all(np.isfinite(w[:, _TOE[sd], 1]).mean() > 0.5
               and _robust_spread(w[:, _TOE[sd], 1] - w[:, LEFT_HIP, 1]) > FOOT_CLEARANCE_M for sd in SIDES):
        return None
    hip_y = _fill(0.5 * (w[:, LEFT_HIP, 1] + w[:, RIGHT_HIP, 1]))
    return {sd: lowpass(-(_fill(w[:, _TOE[sd], 1]) - hip_y), ts, params.cutoff_hz) for sd in SIDES}


@dataclass
class _SegmentSignals:
    """What one tracked segment's events are read from (see _segment_signals)."""

    i0: int
    i1: int
    ts: np.ndarray  # (n,) seconds
    fs: float  # frames a second
    image: np.ndarray  # (n, 33, 3) the segment's image landmarks, pixels
    trunk: np.ndarray  # (n,) apparent trunk length, pixels, low-passed (the body's scale in the image)
    hip_y: np.ndarray  # (n,) hip centre's image height, pixels


def _segment_signals(track: PoseTrack, i0: int, i1: int, params: EventParams) -> _SegmentSignals:
    ts = track.time_s[i0:i1]
    seg = track.image_xyz[i0:i1]
    hip = 0.5 * (seg[:, LEFT_HIP, :2] + seg[:, RIGHT_HIP, :2])
    sho = 0.5 * (seg[:, LEFT_SHOULDER, :2] + seg[:, RIGHT_SHOULDER, :2])
    trunk = lowpass(_fill(np.hypot(*(hip - sho).T)), ts, params.trend_cutoff_hz)  # body scale varies slowly
    return _SegmentSignals(i0, i1, ts, frame_rate_hz(ts), seg, trunk, _fill(hip[:, 1]))


def _duty_factor(seg: _Segment) -> float:
    """Median fraction of a stride each foot is on the ground (contact duration / stride time, both feet's
    [IC, TO) pairs), NaN with fewer than two contacts and two strides of a foot."""
    duties = []
    for ic, to in seg.events.values():
        pairs = [(a, b) for a in ic for b in to[to > a][:1]]
        if len(pairs) >= 2 and ic.size >= 3:
            duties.append(np.median([b - a for a, b in pairs]) / np.median(np.diff(ic)))
    return float(np.median(duties)) if duties else float("nan")


def _segment_events(track: PoseTrack, i0: int, i1: int, sign: float, use_pitch: bool, params: EventParams
                    ) -> _Segment:
    """Contact, events and complete single-stance windows of the tracked segment [i0, i1), walking or running.

    The step frequency proposes the gait (above EventParams.run_cadence_spm: running); the duty factor of the events found for it decides:
    walking has double support, so each foot is on the ground for more than half of its stride, running has
    flight phases, so for less than half (the gaits' definition). Where the events of the proposed gait
    contradict it and those of the other gait fit theirs, the other gait is taken."""
    sig = _segment_signals(track, i0, i1, params)
    # walking: relative to the pelvis' slow course only - its per-step bounce is not foot motion
    p_slow = _backward_positions(sig.image, sig.ts, sig.trunk, lowpass(sig.hip_y, sig.ts, params.trend_cutoff_hz),
                                 sign, params)
    cadence = _toe_off_cadence_spm(p_slow, sig.ts, sig.fs, params)
    if not np.isfinite(cadence):
        # fewer than 3 toe-offs: too few steps to tell the gait (read as walking, said to be unknown); with so few,
        # no foot has the 3 contacts a duty factor needs either
        out = _gait_events(track, sig, p_slow, False, sign, use_pitch, params)
        out.gait_known = False
        return out
    proposed = bool(cadence > params.run_cadence_spm)
    out = _gait_events(track, sig, p_slow, proposed, sign, use_pitch, params)
    either = params.min_run_cadence_spm <= cadence <= params.max_walk_cadence_spm
    if either and not np.isfinite(_duty_factor(out)):
        out.gait_known = False  # a cadence either gait has, and too few contacts to show double support or flight
    elif either and not _fits(proposed, _duty_factor(out)):
        other = _gait_events(track, sig, p_slow, not proposed, sign, use_pitch, params)
        if _fits(not proposed, _duty_factor(other)):
            out = other
    return out


def _fits(running: bool, duty: float) -> bool:
    """Whether a duty factor (see _duty_factor) fits the gait: below half running (flight phases), above half
    walking (double support); an unknown one (too few contacts) contradicts neither."""
    return not np.isfinite(duty) or (duty < 0.5) == running


def _gait_events(track: PoseTrack, sig: _SegmentSignals, p_slow: dict, running: bool, sign: float,
                 use_pitch: bool, params: EventParams) -> _Segment:
    """The segment's events read as walking or as running."""
    ts, fs, seg = sig.ts, sig.fs, sig.image
    # running: relative to the instantaneous pelvis (Zeni's reference), whose large vertical oscillation would
    # otherwise move the heel's and toe's extrema (measured: TO ~0.08 s late, IC ~0.09 s early against the
    # slow reference)
    p = (_backward_positions(seg, ts, sig.trunk, lowpass(sig.hip_y, ts, params.cutoff_hz), sign, params)
         if running else p_slow)
    signals, pitches, proms, tos, toe_peaks = {}, {}, {}, {}, {}
    for sd in SIDES:
        pitch = lowpass((_fill(seg[:, _TOE[sd], 1]) - _fill(seg[:, _HEEL[sd], 1])) / sig.trunk, ts,
                        params.cutoff_hz)
        signals.update({f"{sd}_heel": p[(sd, "heel")], f"{sd}_toe": p[(sd, "toe")], f"{sd}_pitch": pitch})
        proms[sd] = params.min_prominence_frac * _robust_spread(p[(sd, "toe")])
        toe_peaks[sd], _ = find_peaks(p[(sd, "toe")], distance=max(1, int(round(params.min_stride_s * fs))),
                                      prominence=proms[sd])
    stride = _stride_samples(toe_peaks, {sd: p[(sd, "toe")] for sd in SIDES})
    for sd in SIDES:
        pitch = signals[f"{sd}_pitch"]
        pitch_ok = use_pitch and not running and _repeats_with_stride(pitch, stride, params.min_pitch_stride_corr)
        pitches[sd] = pitch if pitch_ok else None
        tos[sd] = _toe_offs(p[(sd, "toe")], pitches[sd], ts, fs, params.min_stride_s, proms[sd], running)
    # walking filmed from the front with a pitch that repeats with the stride: the foot's events from its
    # pitch alone (_pitch_events), at any distance from the camera
    pitch_walk = sign < 0 and not running and stride is not None and all(pitches[sd] is not None for sd in SIDES)
    if pitch_walk:
        for sd in SIDES:
            tos[sd] = _pitch_events(pitches[sd], stride, None, fs, params.min_contact_s,
                                    params.max_contact_frac)[1]
    # running filmed from the front: the toe's lift-off is read from its world height (the image cannot
    # tell a lift from a step back there), where the world landmarks are tracked
    toe_heights = _world_toe_heights(track, sig.i0, sig.i1, ts, params) if running and sign < 0 else None

    out = _Segment(running, {}, {}, {}, signals, [])
    for sd, other in (("left", "right"), ("right", "left")):
        if toe_heights is not None:
            ic, to, pairs = _anterior_running_events(
                p[(sd, "heel")], toe_heights[sd], ts, fs, params.min_stride_s, params.min_contact_s,
                params.max_contact_frac, params.min_prominence_frac * _robust_spread(p[(sd, "heel")]))
        elif pitch_walk:
            ic, to, pairs = _pitch_events(pitches[sd], stride, tos[other], fs, params.min_contact_s,
                                          params.max_contact_frac, -np.gradient(p[(sd, "heel")], ts))
        else:
            ic, to, pairs = _foot_events(p[(sd, "heel")], p[(sd, "toe")], pitches[sd], ts, fs,
                                         params.min_stride_s, params.min_contact_s, params.max_contact_frac,
                                         proms[sd], running, None if running else tos[other])
        out.contact[sd], out.decided[sd] = _contact_state(ic, to, pairs, len(ts))
        out.events[sd] = (ic, to)
    for sd, other in (("left", "right"), ("right", "left")):
        # running: S's own contact; walking: the other foot's swing (see _windows)
        src, state = (sd, other) if running else (other, sd)
        for a, b in _windows(*out.events[src], out.contact[state], out.decided[state], running):
            out.windows.append((sd, a, b))
    return out


def typical_stances(windows: list[StanceWindow], frame_s: float) -> list[StanceWindow]:
    """The windows without those whose duration is off the median of the same leg's other windows by more than
    _DURATION_TOL of that median plus frame_s (each end is sampled to a frame, seconds); a leg with fewer than
    three windows keeps all of them (two others give the only median to judge by)."""
    kept = []
    for side in SIDES:
        own = [w for w in windows if w.side == side]
        durations = np.array([w.duration_s for w in own])
        for i, w in enumerate(own):
            others = np.delete(durations, i)
            if len(others) < 2 or abs(w.duration_s - np.median(others)) <= _DURATION_TOL * np.median(others) + frame_s:
                kept.append(w)
    return sorted(kept, key=lambda w: w.start_s)


def _cadence_spm(initial_contacts_s: np.ndarray) -> float:
    """Steps a minute from the median interval of consecutive initial contacts (either foot), leaving out
    intervals over twice the median (a missed contact) and of no length (both feet read as landing in one frame: one
    of them misread); NaN with fewer than 3 contacts or no interval left."""
    ics = np.sort(initial_contacts_s)
    if ics.size < 3:
        return float("nan")
    steps = np.diff(ics)
    steps = steps[steps > 0]
    if not steps.size:
        return float("nan")
    steps = steps[steps < 2 * np.median(steps)]
    return 60.0 / float(np.median(steps)) if steps.size else float("nan")


def detect_gait_events(track: PoseTrack, view: str | None = None, params: EventParams = EventParams()
                       ) -> GaitEvents:
    """Foot contact per frame, initial contacts and toe-offs per foot, and the complete single-leg stances.

    Walking or running is decided per tracked segment (the module docstring gives the method); the clip's
    activity is that of most of its tracked frames whose gait could be told ("unknown" when none could).

    Parameters
    ----------
    track : PoseTrack
        The cleaned pose track (gaitlab.core.clean), image landmarks in pixels (gaitlab.core.track); its
        left/right labels are taken as anatomical (gaitlab.core.view.to_anatomical makes them so).
    view : str or None
        "posterior" (filmed from behind) or "anterior" (from in front; any other word is read as anterior);
        None: the facing is estimated from the landmarks (gaitlab.core.view.estimate_view).
    params : EventParams
        Detection parameters, each with its unit.

    Returns
    -------
    GaitEvents
        Times in seconds as in track.time_s; a stance window runs from its first to its last frame.
    """
    t = np.asarray(track.time_s, float)
    n = len(t)
    if view is None:
        view = "posterior" if estimate_view(track).facing == "away" else "anterior"
    sign = 1.0 if view == "posterior" else -1.0
    use_pitch = params.pitch_landing in ("both", view)

    contact = {sd: np.zeros(n, bool) for sd in SIDES}
    valid = np.zeros(n, bool)
    ics = {sd: [] for sd in SIDES}
    tos = {sd: [] for sd in SIDES}
    signals = {f"{sd}_{part}": np.full(n, np.nan) for sd in SIDES for part in ("heel", "toe", "pitch")}
    running_frames = walking_frames = 0
    windows = []
    ok = track.detected.copy()
    for sd in SIDES:
        ok &= np.isfinite(track.image_xyz[:, _HEEL[sd], 1]) & np.isfinite(track.image_xyz[:, _TOE[sd], 1])
    for i0, i1 in _segments(ok, t, params.max_gap_s, params.min_segment_s):
        seg = _segment_events(track, i0, i1, sign, use_pitch, params)
        for name, x in seg.signals.items():
            signals[name][i0:i1] = x
        for sd in SIDES:
            contact[sd][i0:i1] = seg.contact[sd]
            ics[sd].extend(t[i0 + seg.events[sd][0]])
            tos[sd].extend(t[i0 + seg.events[sd][1]])
        valid[i0:i1] = seg.decided["left"] & seg.decided["right"]
        windows += [StanceWindow(sd, float(t[i0 + a]), float(t[i0 + b - 1])) for sd, a, b in seg.windows]
        if not seg.gait_known:
            continue
        if seg.running:
            running_frames += i1 - i0
        else:
            walking_frames += i1 - i0
    typical = typical_stances(windows, float(np.median(np.diff(t))) if n > 1 else 0.0)
    activity = "unknown"
    if running_frames + walking_frames:
        activity = "run" if running_frames > 0.5 * (running_frames + walking_frames) else "walk"
    return GaitEvents(
        time_s=t,
        left_contact=contact["left"],
        right_contact=contact["right"],
        valid=valid,
        single_stances=typical,
        initial_contacts_s={sd: np.asarray(ics[sd]) for sd in SIDES},
        toe_offs_s={sd: np.asarray(tos[sd]) for sd in SIDES},
        view=view,
        activity=activity,
        cadence_steps_per_min=_cadence_spm(np.concatenate([np.asarray(ics[sd]) for sd in SIDES])),
        signals=signals,
        atypical_stances=len(windows) - len(typical),
    )
