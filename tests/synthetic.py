"""Constructed landmark tracks with known contacts, pelvic drops, camera roll and label mirroring."""
import numpy as np

from gaitlab.core.track import (
    LEFT_ANKLE,
    LEFT_EAR,
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_KNEE,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_ANKLE,
    RIGHT_EAR,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_KNEE,
    RIGHT_SHOULDER,
    PoseTrack,
)


def _phase_signal(phase, duty, amp, retraction=0.0):
    """Backward position of a foot (trunk units) and its lift: stance from phase 0 to duty
    (moving back linearly, -amp -> +amp), swing returns smoothly forward with a lift.

    retraction: fraction of the cycle before contact in which a running foot, having swung
    0.5 * amp beyond -amp forward, is pulled back (first two thirds) and then pauses at -amp until
    it touches down (the landing pause); the stance sweep starts at contact."""
    p = np.where(phase < duty, -amp + 2 * amp * phase / duty, 0.0)
    swing = phase >= duty
    r = retraction
    u = np.clip((phase - duty) / (1 - duty - r), 0, 1)
    fwd = swing & (phase < 1 - r)
    over = 0.5 * amp if r > 0 else 0.0  # overshoot forward before the retraction
    p[fwd] = amp - (2 * amp + over) * (1 - np.cos(np.pi * u[fwd])) / 2
    if r > 0:
        back = phase >= 1 - r
        w = np.clip((phase[back] - (1 - r)) / (2 * r / 3), 0, 1)
        p[back] = -amp - over + over * (1 - np.cos(np.pi * w)) / 2
    uu = np.clip((phase - duty) / (1 - duty), 0, 1)
    lift = np.where(swing, 0.25 * amp * np.sin(np.pi * uu), 0.0)
    return p, lift


def _pitch_signal(phase, duty, amp):
    """Foot pitch as toe-minus-heel image height (trunk units, + = toe lower): -amp (toes up) at
    IC, flat (0) by 10 % of the cycle, rising to +amp (heel up) at TO, then falling back through
    the swing to -amp at the next IC."""
    x = np.interp(phase, [0.0, 0.1, 0.6 * duty, duty, 1.0], [-amp, 0.0, 0.0, amp, -amp])
    return x


def _obliquity(truth: dict, drops: dict | None, n: int) -> np.ndarray:
    """World obliquity (degrees, + = right hip higher): in each single-leg stance of side S the opposite hip
    falls by drops[S] at mid-window (a half-sine), level elsewhere."""
    obliquity = np.zeros(n)
    for side, other, sign in (("left", "right", -1.0), ("right", "left", 1.0)):
        if not drops:
            break
        single = truth[side] & ~truth[other]
        edges = np.diff(np.concatenate([[0], single.astype(int), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            u = (np.arange(a, b) - a + 0.5) / (b - a)
            obliquity[a:b] = sign * drops[side] * np.sin(np.pi * u)
    return obliquity


def _roll(img: np.ndarray, roll_deg: float, cx: float, cy: float = 360.0) -> None:
    """Turn the image landmarks as a camera rolled by roll_deg shows them: the scene clockwise on screen
    (image y points down)."""
    th = np.radians(roll_deg)
    x, y = img[..., 0] - cx, img[..., 1] - cy
    img[..., 0] = cx + x * np.cos(th) - y * np.sin(th)
    img[..., 1] = cy + x * np.sin(th) + y * np.cos(th)


def _swap_sides(img: np.ndarray, frames: np.ndarray) -> None:
    """Swap left and right labels in the given frames, as MediaPipe sometimes does."""
    pairs = [(LEFT_HIP, RIGHT_HIP), (LEFT_SHOULDER, RIGHT_SHOULDER), (LEFT_HEEL, RIGHT_HEEL),
             (LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX), (LEFT_ANKLE, RIGHT_ANKLE), (LEFT_KNEE, RIGHT_KNEE)]
    for a, b in pairs:
        img[frames, a], img[frames, b] = img[frames, b].copy(), img[frames, a].copy()


def make_track(view="posterior", fps=30.0, dur_s=10.0, stride_s=1.1, duty=0.62, amp=0.2,
               noise=0.0, gap=None, scale_growth=0.0, seed=0, drops=None, roll_deg=0.0,
               mirror=None, pixel_offset_deg=4.0, phase0=(0.13, 0.63), foot_pitch=0.0,
               retraction=0.0, symmetry_noise_deg=None, depth_gain=False, height=1080):
    """Synthetic track; returns (track, truth contact dict side -> (N,) bool).

    drops: {"left": D_L, "right": D_R}: in each single-leg stance of side S the opposite hip falls by
    D_S at mid-window (a half-sine), level elsewhere; the pixel rotation carries the same tilt plus
    pixel_offset_deg (an arbitrary reference); symmetry_noise_deg, if given, adds the band's absolute
    symmetry tilt with that much per-frame noise (otherwise it is not measured). roll_deg rotates the whole image like a camera turned
    counter-clockwise (seen from behind it). mirror: a boolean mask of frames whose left/right labels
    are swapped, as MediaPipe sometimes does.  phase0: the feet's cycle offsets (fraction of the
    stride) at t = 0.  foot_pitch: amplitude of the foot's pitch (toe-minus-heel height, trunk
    units; 0 = the toe is a fixed offset from the heel).  retraction: fraction of the cycle in which
    the foot is pulled back before it lands (running).  depth_gain: the feet's AP motion is seen
    through perspective, whose image gain (camera height / distance) falls with the distance while
    the lift's does not: in trunk units the AP excursion scales with the body's image size
    (trunk / its largest value; with scale_growth 3 a quarter at the start)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(dur_s * fps))) / fps
    n = t.size
    img = np.zeros((n, 33, 3))
    world = np.zeros((n, 33, 3))
    s = 1.0 if view == "posterior" else -1.0
    trunk = 150.0 * (1 + scale_growth * t / dur_s)  # px, grows when walking toward the camera
    hip_y = 500.0 + 40 * scale_growth * t / dur_s + 3 * np.sin(2 * np.pi * 2 * t / stride_s)
    cx = 640.0
    truth = {}
    for side, ph0, hx in (("left", phase0[0], -s), ("right", phase0[1], s)):
        phase = ((t - ph0 * stride_s) / stride_s) % 1.0
        truth[side] = phase < duty
        p, lift = _phase_signal(phase, duty, amp, retraction)
        if depth_gain:
            p = p * trunk / trunk.max()
        y = hip_y + trunk * (2.0 + s * p - lift)
        heel = LEFT_HEEL if side == "left" else RIGHT_HEEL
        toe = LEFT_FOOT_INDEX if side == "left" else RIGHT_FOOT_INDEX
        for idx, dy in ((heel, 0.0), (toe, 0.05 + _pitch_signal(phase, duty, foot_pitch))):
            img[:, idx, 0] = cx + hx * 0.3 * trunk
            img[:, idx, 1] = y + dy * trunk + noise * trunk * rng.standard_normal(n)
    obliquity = _obliquity(truth, drops, n)
    half = 0.3 * trunk
    tilt = np.radians(obliquity)
    for idx, hx in ((LEFT_HIP, -s), (RIGHT_HIP, s)):
        # the right hip is higher (smaller y) for positive obliquity, on either side of the image
        img[:, idx, 0] = cx + hx * half * np.cos(tilt)
        img[:, idx, 1] = hip_y - (1.0 if idx == RIGHT_HIP else -1.0) * half * np.sin(tilt)
    for idx, hx in ((LEFT_SHOULDER, -s), (RIGHT_SHOULDER, s)):
        img[:, idx, 0] = cx + hx * 0.35 * trunk
        img[:, idx, 1] = hip_y - trunk
    for idx, heel in ((LEFT_ANKLE, LEFT_HEEL), (RIGHT_ANKLE, RIGHT_HEEL)):
        img[:, idx, 0] = img[:, heel, 0]
        img[:, idx, 1] = img[:, heel, 1] - 0.1 * trunk
    for idx, hip, ankle in ((LEFT_KNEE, LEFT_HIP, LEFT_ANKLE), (RIGHT_KNEE, RIGHT_HIP, RIGHT_ANKLE)):
        img[:, idx, :2] = 0.5 * (img[:, hip, :2] + img[:, ankle, :2])
    # screen rotation of the pelvis band: image obliquity (+ from behind, - from in front)
    pixel = s * obliquity + pixel_offset_deg
    if roll_deg:
        _roll(img, roll_deg, cx)
        pixel = pixel - roll_deg
    # world shoulder line (camera axes): parallel to the image plane in a frontal view
    world[:, LEFT_SHOULDER, 0], world[:, RIGHT_SHOULDER, 0] = -0.18 * s, 0.18 * s
    # facing: nose farther from the camera than the ears when seen from behind
    world[:, NOSE, 2] = 0.15 * s
    world[:, LEFT_EAR, 2] = world[:, RIGHT_EAR, 2] = 0.0
    vis = np.ones((n, 33))
    if gap is not None:
        g = (t >= gap[0]) & (t < gap[1])
        img[g] = np.nan
        world[g] = np.nan
        vis[g] = 0.0
    if mirror is not None:
        _swap_sides(img, mirror)
    if gap is not None:
        pixel[g] = np.nan
    tilt = None
    if symmetry_noise_deg is not None:
        tilt = pixel - pixel_offset_deg + symmetry_noise_deg * rng.standard_normal(n)
    track = PoseTrack(time_s=t, image_xyz=img, world_xyz=world, visibility=vis, presence=vis.copy(),
                      width=1280, height=height, pelvis_pixel_rotation_deg=pixel,
                      pelvis_pixel_quality=np.where(np.isfinite(pixel), 0.9, 0.0),
                      pelvis_symmetry_tilt_deg=tilt,
                      pelvis_symmetry_quality=None if tilt is None else np.where(np.isfinite(tilt), 0.8, 0.0))
    return track, truth


