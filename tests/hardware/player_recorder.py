"""A stand-in audio player for the speech tests (headless machines have no sound card): run as
``python player_recorder.py LOG_DIR WAV``, it takes a moment as a real player would, keeps a copy
of the WAV and logs when it started and ended, so tests can check calls never overlap."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path


def main() -> None:
    log_dir, wav = Path(sys.argv[1]), Path(sys.argv[-1])
    started = time.time()
    time.sleep(0.15)
    copy = log_dir / f"{started:.6f}.wav"
    shutil.copyfile(wav, copy)
    ended = time.time()
    with (log_dir / "plays.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"start": started, "end": ended, "file": copy.name}) + "\n")


if __name__ == "__main__":
    main()
