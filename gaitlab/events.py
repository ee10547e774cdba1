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

(from behind, moving back = nearer = lower in the image; from in front the opposite).  MediaPipe's
world depth of the foot (hip-centred, metres, + = away from the camera) carries the same
information, with the opposite sign per view; the two are blended after normalising each by its
own spread.  The facing (posterior/anterior) is decided from the world depth of the nose relative
to the ears (nose nearer the camera = facing it), independent of left/right labels.

Per foot:  TO = local maximum of the toe's backward position; IC = the moment the heel starts its
stance (backward) sweep: the last minimum of the heel's backward position before the stance sweep,
or, when the heel lands while still moving back (running: foot retraction), the last local minimum
of its backward velocity before the velocity peak of that sweep.  Contact = [IC, TO).

Single-leg stance of side S = frames where foot S is in contact and the other is not; windows that
touch the clip's start or end, a detection gap, or a frame without a decided contact state are
dropped.  Activity is "walk" if the contacts overlap (double support) and "run" if there is flight.

Conventions: see gaitlab.track.  Sides are the track's labels, taken as anatomical.
All times in seconds; StanceWindow.start_s / end_s are the times of the first and last frame of
the window (frame-sampled, like the bench truth).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, filtfilt, find_peaks

from gaitlab.track import (
    LEFT_EAR,
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_EAR,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    PoseTrack,
)

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
    double_support_fraction: float = float("nan")  # of valid frames
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


def _lowpass(x: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    if cutoff_hz >= 0.45 * fs or len(x) < 16:
        return x
    b, a = butter(2, cutoff_hz / (fs / 2))
    return filtfilt(b, a, x, padlen=min(len(x) - 1, 3 * max(len(a), len(b))))


def _robust_spread(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan")
    q = np.percentile(x, [5, 95])
    return float(q[1] - q[0])


def detect_view(track: PoseTrack) -> str:
    """'posterior' (person faces away) or 'anterior' (faces the camera), from world depth of the
    nose relative to the ears (+ depth = away from the camera); label-independent."""
    w = track.world_xyz
    d = w[:, NOSE, 2] - 0.5 * (w[:, LEFT_EAR, 2] + w[:, RIGHT_EAR, 2])
    d = d[np.isfinite(d)]
    if d.size == 0:
        return "posterior"
    return "posterior" if np.median(d) > 0 else "anterior"


# ----------------------------------------------------------------------------------------------
# per-foot events


def _landing(p_heel, v, lo, hi, to, fs, landing_speed_frac, retraction_dip_frac):
    """IC index in [lo, hi) (hi = the next TO or the signal end), or None if not observed."""
    if hi - lo < 3:
        return None
    seg = p_heel[lo:hi]
    i_min = lo + int(np.argmin(seg))  # forward-most heel position
    if i_min == lo and lo == 0:
        return None  # cut by the signal start
    # landing: after the heel's peak forward speed (swing), the first moment its forward speed has
    # fallen below landing_speed_frac of that peak (a heel that settles on a plateau, as seen from
    # the front, never reaches a clean minimum of position)
    i_fwd = lo + int(np.argmin(v[lo:i_min + 1]))
    if v[i_fwd] >= 0:
        return None if to is None else i_min
    slow = np.flatnonzero(v[i_fwd:i_min + 1] >= -landing_speed_frac * abs(v[i_fwd]))
    ic = i_fwd + int(slow[0]) if slow.size else i_min
    if to is None:
        return ic if ic < len(v) - 2 else None
    # running: a foot lands while already retracting; the landing is the last local minimum of
    # the heel's backward velocity before the velocity peak of the stance sweep
    i_vpk = ic + int(np.argmax(v[ic:to + 1]))
    vseg = v[ic:i_vpk + 1]
    if vseg.size >= 3:
        mins, _ = find_peaks(-vseg)
        if mins.size and v[ic + mins[-1]] < retraction_dip_frac * v[i_vpk]:
            ic = ic + int(mins[-1])
    return ic


def _foot_events(p_heel, p_toe, t, fs, min_stride_s, min_contact_s, max_contact_frac, prom,
                 landing_speed_frac, retraction_dip_frac):
    """ICs and TOs (sample indices) of one foot from its backward-position signals.

    Returns (ic, to, pairs): all observed ICs, all observed TOs, and the (ic, to) contact pairs."""
    to_idx, _ = find_peaks(p_toe, distance=max(1, int(round(min_stride_s * fs))), prominence=prom)
    v = np.gradient(p_heel, t)
    n_min = int(round(min_contact_s * fs))
    ics, pairs = [], []
    bounds = list(to_idx) + [None]
    for k, to in enumerate(bounds):
        lo = to_idx[k - 1] + n_min if k > 0 else 0
        hi = to if to is not None else len(p_heel)
        ic = _landing(p_heel, v, lo, hi, to, fs, landing_speed_frac, retraction_dip_frac)
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
    return np.array(ics, int), np.array(to_idx, int), pairs


# ----------------------------------------------------------------------------------------------


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
    world_weight: float = 0.0,
    hip_reference_cutoff_hz: float | None = 0.4,
    landing_speed_frac: float = 0.05,
    retraction_dip_frac: float = 0.6,
    run_cadence_spm: float = 140.0,
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
    world_weight: weight of MediaPipe's world-depth AP cue blended with the image cue (0..1).
    """
    t = np.asarray(track.time_s, float)
    n = len(t)
    im = track.image_xyz
    if view is None:
        view = detect_view(track)
    s = 1.0 if view == "posterior" else -1.0

    left_c = np.zeros(n, bool)
    right_c = np.zeros(n, bool)
    valid = np.zeros(n, bool)
    ics_all = {sd: [] for sd in SIDES}
    tos_all = {sd: [] for sd in SIDES}
    sig_out = {f"{sd}_{part}": np.full(n, np.nan) for sd in SIDES for part in ("heel", "toe")}

    running_votes: list[tuple[bool, int]] = []
    event_frames: set[int] = set()
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
        trunk = _lowpass(trunk, fs, trend_cutoff_hz)  # body scale varies only slowly
        # only the slow part of the hip's motion is removed: the per-step pelvic bounce is not
        # foot motion (it would mask the landing of a running foot)
        hip_y = _fill(hip[:, 1])
        if hip_reference_cutoff_hz is not None:
            hip_y = _lowpass(hip_y, fs, hip_reference_cutoff_hz)
        p = {}
        for sd in SIDES:
            for part, idx in (("heel", _HEEL[sd]), ("toe", _TOE[sd])):
                pi = s * (_fill(seg[:, idx, 1]) - hip_y) / trunk
                if world_weight > 0:
                    wz = _fill(track.world_xyz[i0:i1, idx, 2])
                    pw = -s * (wz - np.nanmedian(wz))
                    si, sw = _robust_spread(pi), _robust_spread(pw)
                    if np.isfinite(sw) and sw > 0:
                        pi = (1 - world_weight) * pi + world_weight * pw * si / sw
                p[(sd, part)] = pi
        # remove slow drift common to both feet (perspective change overground)
        mean_p = np.mean([p[k] for k in p], axis=0)
        drift = _lowpass(mean_p, fs, trend_cutoff_hz)
        for k in p:
            p[k] = _lowpass(p[k] - drift, fs, cutoff_hz)
            sig_out[f"{k[0]}_{k[1]}"][i0:i1] = p[k]
        seg_contact = {}
        seg_decided = {}
        # running or walking, from the step frequency (toe-offs of both feet): the walk-run
        # transition lies near 140 steps/min; only a running foot lands while retracting
        tos_seg = []
        for sd in SIDES:
            prom = min_prominence_frac * _robust_spread(p[(sd, "toe")])
            pk, _ = find_peaks(p[(sd, "toe")], distance=max(1, int(round(min_stride_s * fs))),
                               prominence=prom)
            tos_seg.append(ts[pk])
        tos_seg = np.sort(np.concatenate(tos_seg))
        seg_running = False
        if tos_seg.size >= 3:
            seg_running = 60.0 / float(np.median(np.diff(tos_seg))) > run_cadence_spm
        running_votes.append((seg_running, i1 - i0))
        for sd in SIDES:
            prom = min_prominence_frac * _robust_spread(p[(sd, "toe")])
            ic, to, pairs = _foot_events(p[(sd, "heel")], p[(sd, "toe")], ts, fs,
                                         min_stride_s, min_contact_s, max_contact_frac, prom,
                                         landing_speed_frac,
                                         retraction_dip_frac if seg_running else -np.inf)
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
                event_frames.update((i0 + evs).tolist())
            seg_contact[sd], seg_decided[sd] = c, dec
            ics_all[sd].extend(ts[ic])
            tos_all[sd].extend(ts[to])
        left_c[i0:i1] = seg_contact["left"]
        right_c[i0:i1] = seg_contact["right"]
        valid[i0:i1] = seg_decided["left"] & seg_decided["right"]

    # single-leg stance windows: complete runs of (S in contact, other not) inside valid frames
    windows: list[StanceWindow] = []
    for sd, c_s, c_o in (("left", left_c, right_c), ("right", right_c, left_c)):
        ss = c_s & ~c_o
        edges = np.diff(np.concatenate([[0], ss.astype(int), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            # both ends must be detected events (not the clip's ends, a gap, or an undecided
            # stretch), and the contact state must be decided throughout
            if a not in event_frames or b not in event_frames or not valid[a:b].all():
                continue
            windows.append(StanceWindow(sd, float(t[a]), float(t[b - 1])))
    windows.sort(key=lambda w: w.start_s)

    nv = valid.sum()
    ds = float((left_c & right_c & valid).sum() / nv) if nv else float("nan")
    fl = float((~left_c & ~right_c & valid).sum() / nv) if nv else float("nan")
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
        double_support_fraction=ds,
        signals=sig_out,
    )
