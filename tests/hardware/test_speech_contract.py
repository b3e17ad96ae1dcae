"""One contract suite for the call announcer, run against every set-up available here: real
espeak-ng through pyttsx3 into the file sink and through a player process, and the chime-only
fallbacks (speech switched off, a voice that is not installed, a pyttsx3 driver that does not
exist). Audio is checked by reading the WAV files back with ``wave``."""

from __future__ import annotations

import io
import json
import logging
import shutil
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.messages import CallView
from hardware.speech import (
    Announcer,
    FileSink,
    Pcm,
    PlayerOutput,
    QueuedAnnouncer,
    SpeechConfig,
    chime,
    find_player,
    make_announcer,
)

RECORDER = Path(__file__).with_name("player_recorder.py")
HAS_ESPEAK = shutil.which("espeak-ng") is not None


def make_call(number: str = "A007", counter_number: int = 3) -> CallView:
    return CallView(
        number=number,
        service_code="orientacion",
        counter_id=f"v{counter_number}",
        counter_name=f"Ventanilla {counter_number}",
        counter_number=counter_number,
        called_at=datetime.now(UTC),
    )


def read_pcm(wav: bytes) -> Pcm:
    with wave.open(io.BytesIO(wav), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth()) == (1, 2)
        return Pcm(source.readframes(source.getnframes()), source.getframerate())


def rms(frames: bytes) -> float:
    import array

    samples = array.array("h", frames)
    return (sum(sample * sample for sample in samples) / max(1, len(samples))) ** 0.5


@dataclass
class SpeechRig:
    name: str
    config: SpeechConfig
    announcer: QueuedAnnouncer
    played: Callable[[], list[bytes]]  # WAVs in the order they were played
    speaks: bool  # whether real speech is expected (False: chime-only fallback)


def _config(tmp_path: Path, **overrides) -> SpeechConfig:
    values = {"cache_dir": tmp_path / "cache", "output": "file", "file_dir": tmp_path / "out"}
    return SpeechConfig(**{**values, **overrides})


def _file_rig(name: str, tmp_path: Path, speaks: bool, **overrides) -> SpeechRig:
    config = _config(tmp_path, **overrides)
    announcer = make_announcer(config)
    assert isinstance(announcer.output, FileSink)
    sink = announcer.output
    return SpeechRig(
        name, config, announcer, lambda: [path.read_bytes() for path in sink.written], speaks
    )


def _player_rig(tmp_path: Path) -> SpeechRig:
    log_dir = tmp_path / "player"
    log_dir.mkdir()
    config = _config(
        tmp_path, output="player", player=[sys.executable, str(RECORDER), str(log_dir)]
    )
    announcer = make_announcer(config)
    assert isinstance(announcer.output, PlayerOutput)

    def played() -> list[bytes]:
        log = log_dir / "plays.jsonl"
        if not log.exists():
            return []
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        return [(log_dir / entry["file"]).read_bytes() for entry in entries]

    return SpeechRig("player", config, announcer, played, speaks=True)


@pytest.fixture(
    params=["espeak-file", "espeak-player", "engine-none", "missing-voice", "missing-driver"]
)
def speech_rig(request, tmp_path: Path):
    name = request.param
    if name.startswith("espeak") and not HAS_ESPEAK:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    if name == "espeak-file":
        rig = _file_rig(name, tmp_path, speaks=True)
    elif name == "espeak-player":
        rig = _player_rig(tmp_path)
    elif name == "engine-none":
        rig = _file_rig(name, tmp_path, speaks=False, engine="none")
    elif name == "missing-voice":
        rig = _file_rig(name, tmp_path, speaks=False, voice="roa/xx-no-such-voice")
    else:
        rig = _file_rig(name, tmp_path, speaks=False, driver="no_such_driver")
    yield rig
    rig.announcer.close()


# --------------------------------------------------------------------------- contract


def test_is_an_announcer(speech_rig: SpeechRig) -> None:
    assert isinstance(speech_rig.announcer, Announcer)


def test_announce_returns_at_once_and_plays_later(speech_rig: SpeechRig) -> None:
    started = time.perf_counter()
    for number in ("A001", "A002", "A003"):
        speech_rig.announcer.announce(make_call(number))
    assert time.perf_counter() - started < 0.1  # queued, not spoken on the caller's thread
    assert speech_rig.announcer.wait_idle(timeout=30)
    assert len(speech_rig.played()) == 3


def test_every_announcement_starts_with_the_chime(speech_rig: SpeechRig) -> None:
    speech_rig.announcer.announce(make_call())
    assert speech_rig.announcer.wait_idle(timeout=30)
    (wav,) = speech_rig.played()
    audio = read_pcm(wav)
    tone = chime(audio.rate)
    assert audio.frames.startswith(tone.frames)
    assert rms(tone.frames[: len(tone.frames) // 2]) > 1000  # audible, not silence


def test_speech_or_chime_only(speech_rig: SpeechRig) -> None:
    speech_rig.announcer.announce(make_call("A007", 3))
    assert speech_rig.announcer.wait_idle(timeout=30)
    (wav,) = speech_rig.played()
    audio = read_pcm(wav)
    after_chime = audio.frames[len(chime(audio.rate).frames) :]
    if speech_rig.speaks:
        assert 1.5 <= audio.duration_s <= 8.0
        assert len(after_chime) / 2 / audio.rate >= 1.0
        assert rms(after_chime) > 500  # a voice, not padding
        assert speech_rig.announcer.stats.chime_only == 0
    else:
        assert after_chime == b""
        assert speech_rig.announcer.stats.chime_only == 1


def test_calls_are_played_in_order_and_never_overlap(speech_rig: SpeechRig) -> None:
    calls = [make_call("A001", 1), make_call("B015", 12), make_call("C120", 4)]
    for call in calls:
        speech_rig.announcer.announce(call)
    assert speech_rig.announcer.wait_idle(timeout=30)
    played = speech_rig.played()
    assert len(played) == 3
    if speech_rig.speaks:
        synthesizer = speech_rig.announcer.synthesizer
        for call, wav in zip(calls, played, strict=True):
            speech = Pcm.read(synthesizer.cache_path(speech_rig.announcer.phrase(call)))
            assert read_pcm(wav).frames.endswith(speech.frames)
        assert len({wav for wav in played}) == 3
    if speech_rig.name == "espeak-player":
        log_dir = Path(speech_rig.config.player[2])
        spans = [json.loads(line) for line in (log_dir / "plays.jsonl").read_text().splitlines()]
        for earlier, later in zip(spans, spans[1:], strict=False):
            assert earlier["end"] <= later["start"]


def test_close_finishes_the_queue_then_refuses(speech_rig: SpeechRig) -> None:
    speech_rig.announcer.announce(make_call())
    speech_rig.announcer.close()
    assert len(speech_rig.played()) == 1
    with pytest.raises(RuntimeError):
        speech_rig.announcer.announce(make_call())


# --------------------------------------------------------------------------- speech only


@pytest.fixture
def espeak_config(tmp_path: Path) -> SpeechConfig:
    if not HAS_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    return _config(tmp_path)


def test_cache_hit_on_repeat(espeak_config: SpeechConfig) -> None:
    announcer = make_announcer(espeak_config)
    try:
        announcer.announce(make_call("A007", 3))
        announcer.announce(make_call("A007", 3))  # a recall says the same words
        assert announcer.wait_idle(timeout=30)
        assert (announcer.synthesizer.synthesized, announcer.synthesizer.cache_hits) == (1, 1)
        cached = list((espeak_config.cache_dir / "speech").glob("*.wav"))
        assert len(cached) == 1
        first, second = announcer.output.written
        assert first.read_bytes() == second.read_bytes()
    finally:
        announcer.close()
    # a restarted display finds its cache on disk
    again = make_announcer(espeak_config)
    try:
        again.announce(make_call("A007", 3))
        assert again.wait_idle(timeout=30)
        assert (again.synthesizer.synthesized, again.synthesizer.cache_hits) == (0, 1)
    finally:
        again.close()


def test_rate_changes_the_speech(tmp_path: Path) -> None:
    if not HAS_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    durations = {}
    for rate in (110, 260):
        config = _config(tmp_path / str(rate), rate=rate, chime=False)
        announcer = make_announcer(config)
        announcer.announce(make_call("A007", 3))
        assert announcer.wait_idle(timeout=30)
        announcer.close()
        durations[rate] = read_pcm(announcer.output.written[0].read_bytes()).duration_s
    assert durations[260] < durations[110] * 0.75


def test_both_spanish_voices_work_and_are_cached_apart(tmp_path: Path) -> None:
    if not HAS_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    audio = {}
    for voice in ("roa/es-419", "roa/es"):
        config = _config(tmp_path, voice=voice, chime=False)
        announcer = make_announcer(config)
        announcer.announce(make_call("A007", 3))
        assert announcer.wait_idle(timeout=30)
        announcer.close()
        assert announcer.stats.chime_only == 0
        audio[voice] = announcer.output.written[0].read_bytes()
    assert audio["roa/es-419"] != audio["roa/es"]
    assert len(list((tmp_path / "cache" / "speech").glob("*.wav"))) == 2


def test_fallback_logs_once(tmp_path: Path, caplog) -> None:
    config = _config(tmp_path, voice="roa/xx-no-such-voice")
    with caplog.at_level(logging.WARNING, logger="hardware.speech"):
        announcer = make_announcer(config)
        for number in ("A001", "A002", "A003"):
            announcer.announce(make_call(number))
        assert announcer.wait_idle(timeout=30)
        announcer.close()
    assert announcer.stats.chime_only == 3
    assert caplog.text.count("chime only") == 1
    assert "roa/xx-no-such-voice" in caplog.text


def test_chime_is_generated_once_and_cached(espeak_config: SpeechConfig) -> None:
    announcer = make_announcer(espeak_config)
    announcer.announce(make_call())
    assert announcer.wait_idle(timeout=30)
    announcer.close()
    (cached,) = espeak_config.cache_dir.glob("chime-*.wav")
    assert Pcm.read(cached).frames == chime(Pcm.read(cached).rate).frames
    assert 0.5 <= Pcm.read(cached).duration_s <= 1.5


def test_full_queue_drops_instead_of_blocking(tmp_path: Path) -> None:
    log_dir = tmp_path / "player"
    log_dir.mkdir()
    config = _config(
        tmp_path,
        engine="none",
        output="player",
        player=[sys.executable, str(RECORDER), str(log_dir)],
        max_queue=1,
    )
    announcer = make_announcer(config)
    try:
        started = time.perf_counter()
        for number in range(1, 6):
            announcer.announce(make_call(f"A{number:03d}"))
        assert time.perf_counter() - started < 0.1
        assert announcer.wait_idle(timeout=30)
        assert announcer.stats.dropped >= 1
        assert announcer.stats.played + announcer.stats.dropped == 5
    finally:
        announcer.close()


def test_a_machine_player_is_found() -> None:
    command = find_player()
    if command is None:
        pytest.skip("no audio player installed (pw-play, paplay, aplay or sox play)")
    assert shutil.which(command[0])


def test_a_failing_player_does_not_stop_the_announcer(tmp_path: Path, caplog) -> None:
    """A real player on a machine without a sound card fails; calls keep being processed."""
    config = _config(tmp_path, engine="none", output="player", player=["false"])
    announcer = make_announcer(config)
    with caplog.at_level(logging.WARNING, logger="hardware.speech"):
        announcer.announce(make_call("A001"))
        announcer.announce(make_call("A002"))
        assert announcer.wait_idle(timeout=30)
    announcer.close()
    assert announcer.stats.played == 2
    assert caplog.text.count("audio player false failed") == 1


def test_unwritable_cache_still_chimes_and_retries_speech(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    config = SpeechConfig(cache_dir=blocker, output="file", file_dir=tmp_path / "out")
    announcer = make_announcer(config)
    with caplog.at_level(logging.WARNING, logger="hardware.speech"):
        announcer.announce(make_call("A001"))
        announcer.announce(make_call("A002"))
        assert announcer.wait_idle(timeout=30)
    announcer.close()
    assert announcer.stats.played == 2 and announcer.stats.chime_only == 2
    assert announcer.speech_available  # not given up: a fixed cache brings speech back
    assert caplog.text.count("speech failed, chime only for this call") == 2
    for path in announcer.output.written:
        assert read_pcm(path.read_bytes()).frames == chime().frames


def test_repeat_says_the_call_again_after_a_pause(espeak_config: SpeechConfig) -> None:
    config = espeak_config.model_copy(update={"repeat": 2})
    announcer = make_announcer(config)
    announcer.announce(make_call("A007", 3))
    assert announcer.wait_idle(timeout=30)
    announcer.close()
    audio = read_pcm(announcer.output.written[0].read_bytes())
    speech = Pcm.read(announcer.synthesizer.cache_path(announcer.phrase(make_call("A007", 3))))
    pause = b"\x00\x00" * int(0.6 * audio.rate)
    assert audio.frames == chime(audio.rate).frames + speech.frames + pause + speech.frames
    assert announcer.synthesizer.synthesized == 1
