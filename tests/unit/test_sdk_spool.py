"""The spool: batches in order, a cap in bytes that drops the oldest, and tolerance of damaged files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jobdeck.sdk.settings import SdkSettings, server_url
from jobdeck.sdk.spool import Spool


def batch(tag: str, n: int = 3) -> list[dict[str, object]]:
    return [{"run_id": f"{tag}{i}", "event": "started", "job": "j"} for i in range(n)]


def test_batches_come_back_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", 1_000_000)
    for tag in "abc":
        spool.append(batch(tag))
    assert [spool.read(f)[0]["run_id"] for f in spool.files()] == ["a0", "b0", "c0"]
    spool.remove(spool.files()[0])
    spool.remove(tmp_path / "s" / "gone.jsonl")
    assert len(spool.files()) == 2


def test_over_the_cap_the_oldest_batches_go_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "s", 1_000)
    with caplog.at_level(logging.WARNING, "jobdeck.sdk"):
        for tag in "abcdefgh":
            spool.append(batch(tag, 5))
    assert spool.size() <= 1_000
    kept = [spool.read(f)[0]["run_id"] for f in spool.files()]
    assert kept
    assert kept[-1] == "h0"
    assert "a0" not in kept
    assert "dropped its oldest 5 events" in caplog.text


def test_held_batches_are_kept_apart_from_replay_and_count_towards_the_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", 2_000)
    spool.append(batch("a"))
    held = spool.hold(batch("h", 1))
    assert held is not None
    assert held.suffix == ".held"
    assert [spool.read(f)[0]["run_id"] for f in spool.files()] == ["a0"]
    assert spool.held() == [held]
    assert [e["run_id"] for e in spool.read(held)] == ["h0"]
    for tag in "bcdefghijklmnop":
        spool.append(batch(tag, 5))
    assert spool.size() <= 2_000
    assert spool.held() == []


def test_a_server_url_without_a_scheme_is_taken_as_http() -> None:
    assert server_url("jobdeck:5555") == "http://jobdeck:5555"
    assert server_url(" https://jobdeck.example/ ") == "https://jobdeck.example/"
    assert server_url("") is None
    assert server_url(None) is None


def test_a_damaged_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "s", 1_000_000)
    spool.append(batch("a", 2))
    (file,) = spool.files()
    with file.open("a") as out:
        out.write('{"run_id": "half')
    assert [e["run_id"] for e in spool.read(file)] == ["a0", "a1"]
    assert "unreadable line 3" in caplog.text


def test_each_destination_has_its_own_spool(tmp_path: Path) -> None:
    one = SdkSettings(url="http://a:5555", spool_dir=tmp_path)
    other = SdkSettings(url="http://b:5555/", spool_dir=tmp_path)
    assert one.spool_path != other.spool_path
    assert SdkSettings(url="http://a:5555/", spool_dir=tmp_path).spool_path == one.spool_path


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JOBDECK_URL", "http://jobdeck:5555")
    monkeypatch.setenv("JOBDECK_SPOOL_DIR", str(tmp_path))
    monkeypatch.setenv("JOBDECK_SPOOL_MAX_BYTES", "12345")
    monkeypatch.setenv("JOBDECK_HEARTBEAT_INTERVAL", "")  # empty is unset
    settings = SdkSettings.from_env()
    assert (settings.url, settings.spool_dir, settings.spool_max_bytes) == (
        "http://jobdeck:5555",
        tmp_path,
        12345,
    )
    assert settings.heartbeat_interval_s == 60.0
    monkeypatch.delenv("JOBDECK_URL")
    monkeypatch.delenv("JOBDECK_SPOOL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = SdkSettings.from_env()
    assert settings.destination == "sqlite:///./jobdeck.db"
    assert settings.spool_dir == tmp_path / "cache" / "jobdeck" / "spool"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("JOBDECK_HEARTBEAT_INTERVAL", "nonsense", "valid number"),
        ("JOBDECK_SHUTDOWN_TIMEOUT", "3s", "valid number"),
        ("JOBDECK_SPOOL_MAX_BYTES", "-1", "greater than or equal to 0"),
        ("JOBDECK_SPOOL_MAX_BYTES", "1.5", "valid integer"),
    ],
)
def test_a_malformed_setting_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name}: .*{problem}.*got '{value}'"):
        SdkSettings.from_env()
