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
Contact = [IC, TO).  A first contact whose IC search is cut by the segment start is kept only if
its duration is within 30 % of the foot's median.

Single-leg stance of side S (as in the bench truth): walking = the other foot's swing, from its
TO to its next IC (S must be on the ground then: no flight when walking); running = S's own
contact (the other foot is in the air: no double support).  So a window needs only the events of
one foot, observed in one tracked segment with no event of that foot missed in between; the other
foot's contact state, where decided, must agree, and where it is not (the clip's start or end) the
gait's definition supplies it.  Activity is "walk" or "run" as decided above.

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
)
from gaitlab.core.view import estimate_view

SIDES = ("left", "right")
_HEEL = {"left": LEFT_HEEL, "right": RIGHT_HEEL}
_TOE = {"left": LEFT_FOOT_INDEX, "right": RIGHT_FOOT_INDEX}


@dataclass(frozen=True)
class StanceWindow:
    side: str  # "left" | "right": the anatomical stance leg
    start_s: float  # first frame: opposite toe-off (walking) / own initial contact (running)
    end_s: float  # last frame: before the opposite initial contact / own toe-off

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def window_frames(time_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """(N,) bool: the frames of a stance window from its first to its last frame's time (seconds), both
    included. A step's peak is searched over these frames, and they are the frames shown as its stance."""
    return (time_s >= start_s - 1e-9) & (time_s <= end_s + 1e-9)


@dataclass
class GaitEvents:
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

    @property
    def step_count(self) -> int:
        return len(self.single_stances)


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


def _repeats_with_stride(x, p_toe, fs, min_stride_s, prom, min_corr):
    """True if x correlates with itself one stride later (stride = median TO interval)."""
    pk, _ = find_peaks(p_toe, distance=max(1, int(round(min_stride_s * fs))), prominence=prom)
    if pk.size < 2:
        return False
    lag = int(round(np.median(np.diff(pk))))
    if lag < 2 or len(x) - lag < lag:
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


def _toe_offs(p_toe, pitch, fs, min_stride_s, prom, running):
    """TOs (sample indices) of one foot: the toe's backward maxima, refined by the pitch."""
    to_idx, _ = find_peaks(p_toe, distance=max(1, int(round(min_stride_s * fs))), prominence=prom)
    if pitch is not None and not running and to_idx.size >= 2:
        to_idx = _pitch_toe_off(pitch, to_idx)
    if to_idx.size >= 4:
        # a peak at the segment's edge is measured on one side only (its prominence is cut, and
        # filter and tracker transients sit there); the stride it closes or opens must be typical
        # of this foot's other strides (stride time varies by a few % in steady gait)
        d = np.diff(to_idx)
        if d[0] < (1 - _EDGE_CONTACT_TOL) * np.median(d[1:]):
            to_idx = to_idx[1:]
        elif d[-1] < (1 - _EDGE_CONTACT_TOL) * np.median(d[:-1]):
            to_idx = to_idx[:-1]
    return to_idx


def _foot_events(p_heel, p_toe, pitch, t, fs, min_stride_s, min_contact_s, max_contact_frac, prom,
                 running, other_to=None):
    """ICs and TOs (sample indices) of one foot from its backward-position signals.

    Returns (ic, to, pairs): all observed ICs, all observed TOs, and the (ic, to) contact pairs."""
    to_idx = _toe_offs(p_toe, pitch, fs, min_stride_s, prom, running)
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
        if abs(pairs[0][1] - pairs[0][0] - np.median(durs)) > _EDGE_CONTACT_TOL * np.median(durs):
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


# ----------------------------------------------------------------------------------------------


_IMPACT_DIP_FRAC = 0.2  # running landing dip: depth >= 20 % of the heel's backward-speed range
_LANDING_SPEED_FRAC = 0.05
# a pitch within this fraction of its swing range (TO peak to IC minimum) of its minimum is on the
# minimum's plateau (as the heel's 5 % "stopped" speed)
_PITCH_PLATEAU_FRAC = 0.05
# heel-off to toe-off (terminal stance + pre-swing) spans about 30 % of the gait cycle (~30-60 %)
_HEEL_RISE_FRAC = 0.3
# a contact whose IC search was cut by the segment start must be within this fraction of the
# foot's median contact duration (contact time varies by a few % stride to stride in steady gait)
_EDGE_CONTACT_TOL = 0.3  # walking heel "stopped" once its forward speed is 5 % of its swing peak


def detect_gait_events(
    track: PoseTrack,
    view: str | None = None,
    cutoff_hz: float = 8.0,
    trend_cutoff_hz: float = 0.4,
    min_stride_s: float = 0.55,
    min_contact_s: float = 0.12,
    max_contact_frac: float = 0.8,
    min_prominence_frac: float = 0.25,
    max_gap_s: float = 0.1,
    min_segment_s: float = 1.5,
    run_cadence_spm: float = 140.0,
    pitch_landing: str = "anterior",
    min_pitch_stride_corr: float = 0.5,
) -> GaitEvents:
    """Per-frame foot contact and complete single-leg-stance windows.

    view: "posterior" | "anterior" | None (detect from the landmarks).
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
    run_cadence_spm: walk-run transition cadence (steps/min).
    pitch_landing: walking views in which the heel-strike is placed at the foot's dorsiflexion
        peak: "anterior" | "both" | "none".  From behind, the forefoot is hidden by the heel and
        shank and MediaPipe's toe is a guess (measured: window F1 0.96 -> 0.85 with "both").
    min_pitch_stride_corr: the pitch cue is used only if it repeats with the stride
        (autocorrelation at the foot's median stride >= this); landmark noise does not.
    """
    t = np.asarray(track.time_s, float)
    n = len(t)
    im = track.image_xyz
    if view is None:
        view = "posterior" if estimate_view(track).facing == "away" else "anterior"
    s = 1.0 if view == "posterior" else -1.0
    use_pitch = pitch_landing == "both" or pitch_landing == view

    left_c = np.zeros(n, bool)
    right_c = np.zeros(n, bool)
    valid = np.zeros(n, bool)
    ics_all = {sd: [] for sd in SIDES}
    tos_all = {sd: [] for sd in SIDES}
    sig_out = {f"{sd}_{part}": np.full(n, np.nan) for sd in SIDES for part in ("heel", "toe", "pitch")}

    running_votes: list[tuple[bool, int]] = []
    win_idx: list[tuple[str, int, int]] = []
    ok = track.detected.copy()
    for sd in SIDES:
        ok &= np.isfinite(im[:, _HEEL[sd], 1]) & np.isfinite(im[:, _TOE[sd], 1])
    for i0, i1 in _segments(ok, t, max_gap_s, min_segment_s):
        ts = t[i0:i1]
        fs = (len(ts) - 1) / (ts[-1] - ts[0])
        seg = im[i0:i1]
        hip = 0.5 * (seg[:, LEFT_HIP, :2] + seg[:, RIGHT_HIP, :2])
        sho = 0.5 * (seg[:, LEFT_SHOULDER, :2] + seg[:, RIGHT_SHOULDER, :2])
        trunk = _fill(np.hypot(*(hip - sho).T))
        trunk = lowpass(trunk, ts, trend_cutoff_hz)  # body scale varies only slowly
        hip_y = _fill(hip[:, 1])

        def backward(hip_ref):
            p = {}
            for sd in SIDES:
                for part, idx in (("heel", _HEEL[sd]), ("toe", _TOE[sd])):
                    p[(sd, part)] = s * (_fill(seg[:, idx, 1]) - hip_ref) / trunk
            # remove slow drift common to both feet (perspective change overground)
            drift = lowpass(np.mean([p[k] for k in p], axis=0), ts, trend_cutoff_hz)
            return {k: lowpass(p[k] - drift, ts, cutoff_hz) for k in p}

        # walking: relative to the pelvis' slow course only - its per-step bounce is not foot
        # motion; running: relative to the instantaneous pelvis (Zeni's reference), whose large
        # vertical oscillation would otherwise move the heel's and toe's extrema (measured: TO
        # ~0.08 s late, IC ~0.09 s early against the slow reference)
        p_slow = backward(lowpass(hip_y, ts, trend_cutoff_hz))
        # running or walking, from the step frequency (toe-offs of both feet): the walk-run
        # transition lies near 140 steps/min
        tos_seg = []
        for sd in SIDES:
            prom = min_prominence_frac * _robust_spread(p_slow[(sd, "toe")])
            pk, _ = find_peaks(p_slow[(sd, "toe")], distance=max(1, int(round(min_stride_s * fs))),
                               prominence=prom)
            tos_seg.append(ts[pk])
        tos_seg = np.sort(np.concatenate(tos_seg))
        seg_running = False
        if tos_seg.size >= 3:
            seg_running = 60.0 / float(np.median(np.diff(tos_seg))) > run_cadence_spm
        running_votes.append((seg_running, i1 - i0))
        p = backward(lowpass(hip_y, ts, cutoff_hz)) if seg_running else p_slow

        seg_contact, seg_decided, seg_ev = {}, {}, {}
        pitches, proms, seg_to = {}, {}, {}
        for sd in SIDES:
            pitch = lowpass((_fill(seg[:, _TOE[sd], 1]) - _fill(seg[:, _HEEL[sd], 1])) / trunk, ts, cutoff_hz)
            for part in ("heel", "toe"):
                sig_out[f"{sd}_{part}"][i0:i1] = p[(sd, part)]
            sig_out[f"{sd}_pitch"][i0:i1] = pitch
            proms[sd] = prom = min_prominence_frac * _robust_spread(p[(sd, "toe")])
            pitch_ok = use_pitch and not seg_running and _repeats_with_stride(
                pitch, p[(sd, "toe")], fs, min_stride_s, prom, min_pitch_stride_corr)
            pitches[sd] = pitch if pitch_ok else None
            seg_to[sd] = _toe_offs(p[(sd, "toe")], pitches[sd], fs, min_stride_s, prom, seg_running)
        for sd, other in (("left", "right"), ("right", "left")):
            ic, to, pairs = _foot_events(p[(sd, "heel")], p[(sd, "toe")], pitches[sd],
                                         ts, fs, min_stride_s, min_contact_s, max_contact_frac,
                                         proms[sd], seg_running,
                                         None if seg_running else seg_to[other])
            c = np.zeros(i1 - i0, bool)
            for a, b in pairs:
                c[a:b] = True
            # an IC after the last TO: contact to the segment end
            if ic.size and (to.size == 0 or ic[-1] > to[-1]):
                c[ic[-1]:] = True
            # contact state is decided between the first and last detected event of this foot
            dec = np.zeros(i1 - i0, bool)
            evs = np.sort(np.concatenate([ic, to]))
            if evs.size:
                dec[evs[0]:evs[-1] + 1] = True
            seg_contact[sd], seg_decided[sd], seg_ev[sd] = c, dec, (ic, to)
            ics_all[sd].extend(ts[ic])
            tos_all[sd].extend(ts[to])
        left_c[i0:i1] = seg_contact["left"]
        right_c[i0:i1] = seg_contact["right"]
        valid[i0:i1] = seg_decided["left"] & seg_decided["right"]
        for sd, other in (("left", "right"), ("right", "left")):
            src = sd if seg_running else other
            for a, b in _windows(*seg_ev[src], seg_contact[other if seg_running else sd],
                                 seg_decided[other if seg_running else sd], seg_running):
                win_idx.append((sd, i0 + a, i0 + b))

    windows = [StanceWindow(sd, float(t[a]), float(t[b - 1])) for sd, a, b in win_idx]
    windows.sort(key=lambda w: w.start_s)

    activity = "unknown"
    if running_votes:
        n_run = sum(k for r, k in running_votes if r)
        activity = "run" if n_run > 0.5 * sum(k for _, k in running_votes) else "walk"
    all_ics = np.sort(np.concatenate([np.asarray(ics_all[sd]) for sd in SIDES]))
    cadence = float("nan")
    if all_ics.size >= 3:
        steps = np.diff(all_ics)
        steps = steps[steps < 2 * np.median(steps)]
        if steps.size:
            cadence = 60.0 / float(np.median(steps))
    return GaitEvents(
        time_s=t,
        left_contact=left_c,
        right_contact=right_c,
        valid=valid,
        single_stances=windows,
        initial_contacts_s={sd: np.asarray(ics_all[sd]) for sd in SIDES},
        toe_offs_s={sd: np.asarray(tos_all[sd]) for sd in SIDES},
        view=view,
        activity=activity,
        cadence_steps_per_min=cadence,
        signals=sig_out,
    )
