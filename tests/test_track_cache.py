"""The pose-track cache checks itself (issue 21): an entry that is damaged, altered or of another format is deleted
and the clip tracked again, with a one-line note, never fatal and never trusted; entries are written synced; the app
keeps its tracks in its own data folder and deletes them with the person, session or job they belong to."""
import contextlib
import logging
import os
import stat

import numpy as np
import pytest
from starlette.testclient import TestClient

from gaitlab.app.server import create_app
from gaitlab.core.track import PoseTrack
from gaitlab.tracking import pipeline
from gaitlab.tracking.pipeline import track_video
from tests.clips import derive_clip
from tests.synthetic import make_track
from tests.test_app import BASE, WALK, add_person, analysed, csrf_of


def saved(path):
    """A cache entry as track_video writes it: a synthetic track with its people counts; (track, people)."""
    track, _ = make_track(dur_s=2.0, symmetry_noise_deg=0.5, seed=3)
    people = np.ones(len(track), int)
    track.save(path, people=people)
    return track, people


def altered(path):
    """Shift the stored pelvis tilt by 5 degrees, leaving the rest (the stored checksum too) as it was."""
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    arrays["pelvis_symmetry_tilt_deg"] = arrays["pelvis_symmetry_tilt_deg"] + 5.0
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def old_format(path):
    """The entry as gaitlab wrote it before it had a format version and a checksum."""
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files if not k.startswith("_")}
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def wrong_people(path):
    """A well-formed entry whose people counts do not match its frames (a writer's bug, not damage)."""
    track, _ = make_track(dur_s=2.0)
    track.save(path, people=np.ones(len(track) - 1, int))


DAMAGE = {
    "empty": lambda p: p.write_bytes(b""),  # a power cut after the rename, before the data reached the disk
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "garbage": lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)),
    "altered": altered,
    "old format": old_format,
    "wrong shapes": wrong_people,
}


def test_a_saved_track_loads_back_equal_and_was_synced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "tracks" / "entry.npz"
    track, people = saved(path)
    assert synced == ["file", "folder"]  # the data before the rename, the rename itself after it
    assert [p.name for p in path.parent.iterdir()] == ["entry.npz"]
    loaded, extra = PoseTrack.load(path)
    for name, value in track._fields().items():
        np.testing.assert_array_equal(getattr(loaded, name), value)
    np.testing.assert_array_equal(extra["people"], people)


def test_a_failed_write_leaves_the_previous_entry_and_no_part_file(tmp_path, monkeypatch):
    path = tmp_path / "entry.npz"
    track, _ = saved(path)
    before = path.read_bytes()

    def disk_full(file, **arrays):
        with open(file, "wb") if isinstance(file, (str, os.PathLike)) else contextlib.nullcontext(file) as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(OSError):
        track.save(path, people=np.ones(len(track), int))
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npz"] and path.read_bytes() == before


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_bad_entry_is_deleted_with_a_note_never_trusted(tmp_path, caplog, damage):
    path = tmp_path / "entry.npz"
    saved(path)
    DAMAGE[damage](path)
    with caplog.at_level(logging.WARNING):
        assert pipeline.load_cached(path) is None
    assert not path.exists()
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "\n" not in notes[0] and "tracked again" in notes[0], notes


def test_altered_numbers_fail_the_checksum(tmp_path):
    path = tmp_path / "entry.npz"
    saved(path)
    altered(path)
    with pytest.raises(ValueError, match="checksum"):
        PoseTrack.load(path)


@pytest.mark.integration
def test_track_video_tracks_again_over_a_zeroed_entry(tmp_path, monkeypatch, pose_model, caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clip = derive_clip(WALK, tmp_path / "walk.mp4", 2.0, scale=0.5)
    first = track_video(clip, pose_model)
    assert track_video(clip, pose_model).from_cache  # waits for the first call's background write
    [entry] = (tmp_path / "cache" / "gaitlab" / "tracks").iterdir()
    entry.write_bytes(b"")  # what a power cut can leave of an entry written but never synced
    with caplog.at_level(logging.WARNING):
        again = track_video(clip, pose_model)
    assert not again.from_cache and len(again.track) == len(first.track)
    np.testing.assert_array_equal(again.people, first.people)
    assert any("tracked again" in r.getMessage() for r in caplog.records)
    assert track_video(clip, pose_model).from_cache  # the entry written anew is sound


@pytest.mark.integration
def test_the_app_keeps_tracks_in_its_data_folder_and_deletes_them_with_their_owner(tmp_path, clips, pose_model):
    data = tmp_path / "data"
    other_clip = derive_clip(WALK, tmp_path / "other walk.mp4", 2.5, scale=0.4)
    with TestClient(create_app(data, pose_model), base_url=BASE) as c:
        first, second = add_person(c, "P-track-1"), add_person(c, "P-track-2")
        analysed(c, first, clips["short"])
        kept = analysed(c, second, other_clip)
        tracks = data / "tracks"
        assert len(list(tracks.iterdir())) == 2
        user_cache = clips["short"].parent / "cache" / "gaitlab" / "tracks"  # the fixture's XDG_CACHE_HOME
        assert not user_cache.exists() or not list(user_cache.iterdir())
        left = {p.name for p in tracks.iterdir()}
        assert c.post(f"/people/{first}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303
        assert len(list(tracks.iterdir())) == 1 and {p.name for p in tracks.iterdir()} < left  # the other's stays
        assert c.post(f"/sessions/{kept}/delete", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303
        assert not list(tracks.iterdir())
