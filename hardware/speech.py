"""Spoken calls for the waiting-room display: Spanish phrasing of a call, a chime, speech from
espeak-ng through pyttsx3 (cached by text), one queue so announcements never overlap, and the
audio played by a real player (pw-play, paplay, aplay, sox play) or written to a directory.

pyttsx3 is imported lazily and all synthesis runs on one process-wide thread: its espeak
driver keeps global state (one synth callback per process), so it is never used concurrently.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import logging
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from contracts.messages import CallView

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # what espeak-ng (and so pyttsx3) produces
CHIME_VERSION = 1  # bump when the chime's sound changes, so caches regenerate it


# --------------------------------------------------------------------------- phrasing


class NumberReading(StrEnum):
    DIGITS = "digits"  # "A cero cero siete": unambiguous, the ticket as printed
    NATURAL = "natural"  # "A siete": shorter


_UNITS = (
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés "
    "veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve"
).split()
_TENS = {
    3: "treinta",
    4: "cuarenta",
    5: "cincuenta",
    6: "sesenta",
    7: "setenta",
    8: "ochenta",
    9: "noventa",
}
_HUNDREDS = {
    1: "ciento",
    2: "doscientos",
    3: "trescientos",
    4: "cuatrocientos",
    5: "quinientos",
    6: "seiscientos",
    7: "setecientos",
    8: "ochocientos",
    9: "novecientos",
}

# How each letter is said, so a lone letter is never heard as a word ("Y" alone is read "i").
DEFAULT_LETTER_NAMES: dict[str, str] = {
    "A": "A",
    "B": "be",
    "C": "ce",
    "D": "de",
    "E": "E",
    "F": "efe",
    "G": "ge",
    "H": "hache",
    "I": "I",
    "J": "jota",
    "K": "ka",
    "L": "ele",
    "M": "eme",
    "N": "ene",
    "Ñ": "eñe",
    "O": "O",
    "P": "pe",
    "Q": "cu",
    "R": "erre",
    "S": "ese",
    "T": "te",
    "U": "U",
    "V": "ve corta",
    "W": "doble ve",
    "X": "equis",
    "Y": "i griega",
    "Z": "zeta",
}


def number_words(number: int) -> str:
    """Spanish cardinal for 0 <= number < 1,000,000, as counted aloud ("veintiuno", "cien",
    "ciento uno", "veintiún mil")."""
    if not 0 <= number < 1_000_000:
        raise ValueError(f"number out of range: {number}")
    if number < 30:
        return _UNITS[number]
    if number < 100:
        tens, units = divmod(number, 10)
        return _TENS[tens] if units == 0 else f"{_TENS[tens]} y {_UNITS[units]}"
    if number == 100:
        return "cien"
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return _HUNDREDS[hundreds] if rest == 0 else f"{_HUNDREDS[hundreds]} {number_words(rest)}"
    thousands, rest = divmod(number, 1000)
    if thousands == 1:
        head = "mil"
    else:
        multiplier = number_words(thousands)
        # before "mil" the "uno" is shortened: "veintiún mil", "treinta y un mil"
        if multiplier.endswith("veintiuno"):
            multiplier = multiplier[: -len("veintiuno")] + "veintiún"
        elif multiplier.endswith("uno"):
            multiplier = multiplier[:-1]
        head = f"{multiplier} mil"
    return head if rest == 0 else f"{head} {number_words(rest)}"


_TICKET_NUMBER = re.compile(r"^([A-ZÑ]{1,3})-?(\d{1,6})$")


def phrase_for_call(
    number: str,
    counter_number: int,
    counter_label: str = "ventanilla",
    reading: NumberReading | str = NumberReading.DIGITS,
    letter_names: dict[str, str] | None = None,
) -> str:
    """What is said for a call: ``phrase_for_call("A007", 3)`` is
    "Turno A cero cero siete, ventanilla tres"; natural reading gives "Turno A siete, ...".
    """
    reading = NumberReading(reading)
    match = _TICKET_NUMBER.match(number.strip().upper())
    if not match:
        raise ValueError(f"número de turno inválido: {number!r}")
    letters, digits = match.groups()
    names = letter_names or DEFAULT_LETTER_NAMES
    spoken_letters = " ".join(names.get(letter, letter) for letter in letters)
    if reading is NumberReading.DIGITS:
        spoken_number = " ".join(_UNITS[int(digit)] for digit in digits)
    else:
        spoken_number = number_words(int(digits))
    return f"Turno {spoken_letters} {spoken_number}, {counter_label} {number_words(counter_number)}"


# --------------------------------------------------------------------------- configuration


class SpeechOutputKind(StrEnum):
    PLAYER = "player"  # a real audio player on this machine
    FILE = "file"  # write each announcement's WAV into file_dir (headless, demo, tests)


class SpeechConfig(BaseModel):
    """How a display speaks. ``engine="none"`` (or a missing engine/voice) means chime only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["pyttsx3", "none"] = "pyttsx3"
    driver: str = "espeak"  # pyttsx3 driver (espeak-ng on Linux)
    voice: str = "roa/es-419"  # or "roa/es"
    rate: int = Field(default=150, ge=80, le=400)  # words per minute
    volume: float = Field(default=1.0, ge=0.0, le=1.0)
    reading: NumberReading = NumberReading.DIGITS
    counter_label: str = Field(default="ventanilla", min_length=1, max_length=40)
    letter_names: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LETTER_NAMES))
    chime: bool = True
    repeat: int = Field(default=1, ge=1, le=3)  # say the call this many times (noisy rooms)
    cache_dir: Path = Path("var/speech-cache")
    output: SpeechOutputKind = SpeechOutputKind.PLAYER
    player: list[str] | None = None  # None: first of pw-play, paplay, aplay, play found
    file_dir: Path = Path("var/announcements")
    max_queue: int = Field(default=100, ge=1, le=10_000)


# --------------------------------------------------------------------------- audio


@dataclass(frozen=True)
class Pcm:
    """16-bit mono PCM."""

    frames: bytes
    rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.frames) / 2 / self.rate

    def to_wav(self) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.rate)
            out.writeframes(self.frames)
        return buffer.getvalue()

    @classmethod
    def read(cls, path: Path) -> Pcm:
        with wave.open(str(path), "rb") as source:
            if source.getnchannels() != 1 or source.getsampwidth() != 2:
                raise ValueError(f"{path}: expected 16-bit mono WAV")
            return cls(source.readframes(source.getnframes()), source.getframerate())


def silence(seconds: float, rate: int = SAMPLE_RATE) -> Pcm:
    return Pcm(b"\x00\x00" * int(seconds * rate), rate)


def chime(rate: int = SAMPLE_RATE) -> Pcm:
    """Two-tone "ding-dong" (E6 then C6) with soft edges, then a short pause before speech."""
    samples = array.array("h")
    for frequency, seconds in ((1318.5, 0.22), (1046.5, 0.38)):
        count = int(seconds * rate)
        fade = int(0.02 * rate)
        for index in range(count):
            envelope = min(1.0, index / fade, (count - index) / fade)
            decay = math.exp(-2.5 * index / count)
            value = 0.45 * envelope * decay * math.sin(2 * math.pi * frequency * index / rate)
            samples.append(int(value * 32767))
    if samples.itemsize != 2:  # pragma: no cover - array('h') is 16-bit on every platform we run
        raise RuntimeError("16-bit samples required")
    if sys.byteorder != "little":  # pragma: no cover
        samples.byteswap()
    return Pcm(samples.tobytes() + silence(0.25, rate).frames, rate)


def cached_chime(cache_dir: Path, rate: int = SAMPLE_RATE) -> Pcm:
    """The chime, generated once per rate and kept in the cache directory."""
    path = cache_dir / f"chime-v{CHIME_VERSION}-{rate}.wav"
    if path.exists():
        try:
            return Pcm.read(path)
        except (OSError, wave.Error, EOFError, ValueError):
            log.warning("chime cache %s unreadable; regenerating", path)
    tone = chime(rate)
    try:
        _atomic_write(path, tone.to_wav())
    except OSError as exc:  # an unwritable cache must not silence the display
        log.warning("chime not cached in %s: %s", cache_dir, exc)
    return tone


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


# --------------------------------------------------------------------------- synthesis


class SpeechUnavailable(RuntimeError):
    """No speech engine or voice here: announcements fall back to the chime alone."""


class SynthesisFailed(RuntimeError):
    """One utterance could not be synthesized (the engine itself is there): that call is
    chimed only, the next one tries speech again."""


_tts_executor: ThreadPoolExecutor | None = None
_tts_executor_lock = threading.Lock()
# pyttsx3 caches engines weakly; a collected engine's driver unregisters espeak's (global)
# synth callback, even under a newer engine. Keep each engine alive for the process.
_tts_engines: dict[str, object] = {}
SYNTHESIS_TIMEOUT_S = 30.0


def _tts_thread() -> ThreadPoolExecutor:
    """The one thread of this process that touches pyttsx3."""
    global _tts_executor
    with _tts_executor_lock:
        if _tts_executor is None:
            _tts_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alegra-tts")
        return _tts_executor


class Pyttsx3Synthesizer:
    """Text -> WAV with pyttsx3 (espeak-ng driver), one ``runAndWait`` per file, results cached
    in ``cache_dir`` under a hash of engine, voice, rate, volume and text."""

    def __init__(self, config: SpeechConfig) -> None:
        self.config = config
        self.cache_dir = Path(config.cache_dir)
        self.synthesized = 0
        self.cache_hits = 0

    def cache_path(self, text: str) -> Path:
        config = self.config
        key = f"pyttsx3|{config.driver}|{config.voice}|{config.rate}|{config.volume}|{text}"
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.cache_dir / "speech" / f"{digest}.wav"

    def speech(self, text: str) -> Pcm:
        """The speech for ``text``, from the cache or synthesized now. Raises SpeechUnavailable
        (no engine or voice: give up speaking) or SynthesisFailed / OSError (this text only)."""
        path = self.cache_path(text)
        if path.exists():
            try:
                pcm = Pcm.read(path)
            except (OSError, wave.Error, EOFError, ValueError):
                log.warning("speech cache %s unreadable; synthesizing again", path.name)
            else:
                self.cache_hits += 1
                return pcm
        future: Future[Path] = _tts_thread().submit(self._synthesize, text, path)
        future.result()
        self.synthesized += 1
        return Pcm.read(path)

    def _drain_espeak(self) -> None:
        """Wait until espeak-ng's own command queue is empty. The driver's runAndWait starts by
        calling espeak_Cancel while espeak reports activity, and a cancel restores the previous
        utterance's rate and voice: the settings just made (asynchronous commands in espeak's
        retrieval mode) must have landed before the text is queued."""
        if self.config.driver != "espeak":
            return
        from pyttsx3.drivers import _espeak

        _espeak.Synchronize()

    def _synthesize(self, text: str, path: Path) -> Path:
        try:
            import pyttsx3

            engine = _tts_engines.get(self.config.driver)
            if engine is None:
                engine = pyttsx3.init(self.config.driver)
                # a new engine queues settings until its first loop; an empty run makes later
                # setProperty calls apply at once, in order, before the text is queued
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.runAndWait()
                _tts_engines[self.config.driver] = engine
        except Exception as exc:  # ImportError, missing libespeak-ng (OSError), init failure
            raise SpeechUnavailable(f"pyttsx3 driver {self.config.driver!r}: {exc}") from exc
        voices = {voice.id.lower() for voice in engine.getProperty("voices")}
        if self.config.voice.lower() not in voices:
            raise SpeechUnavailable(f"voice {self.config.voice!r} is not installed")
        errors: list[BaseException] = []
        finished = threading.Event()
        error_token = engine.connect(
            "error", lambda name=None, exception=None: errors.append(exception)
        )
        done_token = engine.connect(
            "finished-utterance", lambda name=None, completed=None: finished.set()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.stem}.{os.getpid()}.part.wav")
        try:
            self._drain_espeak()
            engine.setProperty("voice", self.config.voice)
            engine.setProperty("rate", self.config.rate)
            engine.setProperty("volume", self.config.volume)
            self._drain_espeak()
            engine.save_to_file(text, str(temporary))
            # the espeak driver prints "Audio saved to ..." on stdout; keep app output clean
            with contextlib.redirect_stdout(io.StringIO()):
                engine.runAndWait()
                # espeak-ng in retrieval mode synthesizes on its own thread and runAndWait can
                # return before the file is written: wait for the end of the utterance, or the
                # next call's settings and file name would apply to this one's audio.
                if not finished.wait(SYNTHESIS_TIMEOUT_S) and not errors:
                    engine.stop()
                    errors.append(TimeoutError("no end of utterance from the engine"))
            self._drain_espeak()
        finally:
            engine.disconnect(error_token)
            engine.disconnect(done_token)
        if errors:
            temporary.unlink(missing_ok=True)
            raise SynthesisFailed(f"speech synthesis failed: {errors[0]}")
        if not temporary.exists() or temporary.stat().st_size <= 44:
            temporary.unlink(missing_ok=True)
            raise SynthesisFailed("speech synthesis produced no audio")
        os.replace(temporary, path)
        return path


# --------------------------------------------------------------------------- outputs


class AudioOutput(Protocol):
    def play(self, wav: bytes, *, label: str) -> None:
        """Play (or store) one announcement; returns when it is done."""
        ...


_PLAYERS: tuple[tuple[str, ...], ...] = (
    ("pw-play",),
    ("paplay",),
    ("aplay", "-q"),
    ("play", "-q"),
)


def find_player() -> list[str] | None:
    """The first audio player installed here (PipeWire, PulseAudio, ALSA, then sox)."""
    for command in _PLAYERS:
        if shutil.which(command[0]):
            return list(command)
    return None


class PlayerOutput:
    """Plays each announcement with a player command; the WAV path is appended to the command
    (or replaces a ``{wav}`` argument). Blocks until the player exits, so calls never overlap."""

    def __init__(self, command: list[str] | None, scratch_dir: Path) -> None:
        self.command = command or find_player()
        self.scratch_dir = scratch_dir
        self._warned = False
        if self.command is None:
            log.warning("no audio player found (pw-play, paplay, aplay, play): calls are silent")

    def play(self, wav: bytes, *, label: str) -> None:
        if self.command is None:
            return
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.scratch_dir, prefix="play-", suffix=".wav")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(wav)
            if "{wav}" in self.command:
                argv = [name if part == "{wav}" else part for part in self.command]
            else:
                argv = [*self.command, name]
            seconds = (len(wav) - 44) / 2 / SAMPLE_RATE
            result = subprocess.run(argv, capture_output=True, timeout=seconds + 15, check=False)
            if result.returncode != 0 and not self._warned:
                self._warned = True
                log.warning(
                    "audio player %s failed (%s): %s",
                    argv[0],
                    result.returncode,
                    result.stderr.decode(errors="replace").strip()[:200],
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("audio player %s failed: %s", self.command[0], exc)
        finally:
            Path(name).unlink(missing_ok=True)


class FileSink:
    """Writes each announcement as ``<sequence>-<label>.wav`` in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.written: list[Path] = []
        self._sequence = 0

    def play(self, wav: bytes, *, label: str) -> None:
        self._sequence += 1
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", label)[:60]
        path = self.directory / f"{self._sequence:06d}-{safe}.wav"
        _atomic_write(path, wav)
        self.written.append(path)


# --------------------------------------------------------------------------- announcer


@runtime_checkable
class Announcer(Protocol):
    def announce(self, call: CallView) -> None:
        """Queue the call and return at once."""
        ...

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued call was played; False if ``timeout`` passed first."""
        ...

    def close(self) -> None:
        """Finish what is queued, then stop the worker."""
        ...


@dataclass
class AnnouncerStats:
    announced: int = 0
    played: int = 0
    chime_only: int = 0
    dropped: int = 0


_STOP = object()


class QueuedAnnouncer:
    """One worker thread plays the calls in the order they came: chime, then speech."""

    def __init__(
        self,
        config: SpeechConfig,
        output: AudioOutput,
        synthesizer: Pyttsx3Synthesizer | None,
    ) -> None:
        self.config = config
        self.output = output
        self.synthesizer = synthesizer
        self.stats = AnnouncerStats()
        self.speech_available = synthesizer is not None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.max_queue)
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="alegra-announcer", daemon=True)
        self._worker.start()
        if synthesizer is None:
            log.warning("speech disabled by configuration: announcements are chime only")

    def phrase(self, call: CallView) -> str:
        return phrase_for_call(
            call.number,
            call.counter_number,
            counter_label=self.config.counter_label,
            reading=self.config.reading,
            letter_names=self.config.letter_names,
        )

    def announce(self, call: CallView) -> None:
        if self._closed:
            raise RuntimeError("announcer is closed")
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(call)
        except queue.Full:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
            self.stats.dropped += 1
            log.warning("announcement queue full: call %s not spoken", call.number)
            return
        self.stats.announced += 1

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._worker.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                assert isinstance(item, CallView)
                self._play(item)
            except Exception:
                log.exception("announcement failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _play(self, call: CallView) -> None:
        text = self.phrase(call)
        speech: Pcm | None = None
        if self.synthesizer is not None and self.speech_available:
            try:
                speech = self.synthesizer.speech(text)
            except SpeechUnavailable as exc:
                # logged once: after this the display keeps chiming without retrying each call
                self.speech_available = False
                log.warning("speech engine unavailable, chime only from now on: %s", exc)
            except Exception as exc:  # noqa: BLE001 - SynthesisFailed, unwritable cache...
                log.warning(
                    "call %s: speech failed, chime only for this call: %s", call.number, exc
                )
        rate = speech.rate if speech else SAMPLE_RATE
        parts: list[bytes] = []
        if self.config.chime or speech is None:
            parts.append(cached_chime(Path(self.config.cache_dir), rate).frames)
        if speech is not None:
            for time_said in range(self.config.repeat):
                if time_said:
                    parts.append(silence(0.6, rate).frames)
                parts.append(speech.frames)
        else:
            self.stats.chime_only += 1
        self.output.play(
            Pcm(b"".join(parts), rate).to_wav(), label=f"{call.number}-{call.counter_id}"
        )
        self.stats.played += 1


def make_announcer(config: SpeechConfig, *, output: AudioOutput | None = None) -> QueuedAnnouncer:
    """The announcer ``config`` describes; ``output`` overrides where the audio goes."""
    if output is None:
        if config.output is SpeechOutputKind.FILE:
            output = FileSink(Path(config.file_dir))
        else:
            output = PlayerOutput(config.player, Path(config.cache_dir) / "play")
    synthesizer = Pyttsx3Synthesizer(config) if config.engine == "pyttsx3" else None
    return QueuedAnnouncer(config, output, synthesizer)


__all__ = [
    "Announcer",
    "AnnouncerStats",
    "AudioOutput",
    "FileSink",
    "NumberReading",
    "Pcm",
    "PlayerOutput",
    "Pyttsx3Synthesizer",
    "QueuedAnnouncer",
    "SpeechConfig",
    "SpeechOutputKind",
    "SpeechUnavailable",
    "SynthesisFailed",
    "chime",
    "find_player",
    "make_announcer",
    "number_words",
    "phrase_for_call",
]
