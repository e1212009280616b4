"""Helpers of the kill -9 tests (collections and tables): run a writer subprocess that acks
each command on a line, kill it, read what it acknowledged, copy what the crash left."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def crash_image(path: Path, dest: Path) -> Path:
    """A copy of the workspace's files as they are now: what a crash would leave (every
    acknowledged write is on disk already).  Reading it back leaves ``path`` alone (closing
    a workspace compacts its log)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(path, dest)
    return dest


def generation(directory: Path) -> int:
    """The snapshot generation of a collection's or table's directory."""
    gens = [int(p.name[len("snapshot-"):-len(".parquet")])
            for p in directory.glob("snapshot-*.parquet")]
    return max(gens, default=0)


def file_names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def run_writer(args: list[str], stderr_path: Path, *, wait_acks: int, delay: float,
               final: bool) -> tuple[list[str], int]:
    """Run ``python args...``; unless ``final``, SIGKILL it ``delay`` seconds after its
    ``wait_acks``-th acknowledgement line. Return its lines and its return code (a writer
    that ends on its own must exit cleanly)."""
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=err,
                                text=True, encoding="utf-8")
        lines: list[str] = []
        try:
            if not final:
                while len(lines) < wait_acks:
                    line = proc.stdout.readline()  # type: ignore[union-attr]
                    if not line:
                        break
                    lines.append(line)
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
            lines.extend(proc.stdout.readlines())  # type: ignore[union-attr]
        finally:
            proc.kill()
            proc.stdout.close()  # type: ignore[union-attr]
            returncode = proc.wait()
    if final or returncode != -signal.SIGKILL:
        assert returncode == 0, stderr_path.read_text()
    return lines, returncode


def parse_acks(lines: list[str], start: int, gen: int, *, allowed_errors: frozenset[str]
               ) -> tuple[int, list[int], int]:
    """Check the acknowledgement lines of a writer that started at generation ``gen``;
    return the index of the last acknowledged command, the indexes of the commands after
    which the log was compacted, and the last generation acknowledged."""
    last = start - 1
    compacted = []
    for line in lines:
        if not line.endswith("\n"):
            break  # cut by the kill: not acknowledged
        ack = json.loads(line)
        assert ack["i"] == last + 1
        assert set(ack["errors"]) <= allowed_errors, ack
        if ack["gen"] != gen:
            assert ack["gen"] == gen + 1
            compacted.append(ack["i"])
        gen = ack["gen"]
        last = ack["i"]
    return last, compacted, gen
