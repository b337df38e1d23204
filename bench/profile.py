"""Sample a server under load with py-spy and name the hot spots.

py-spy is installed on first use into `bench/.venv-tools` (kept out of the project's
environment). It records collapsed stacks (`--format raw`); this module sums them into
the functions with the most self time and the most inclusive time.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.procs import pinned

TOOLS_VENV = Path(__file__).resolve().parent / ".venv-tools"


def ensure_py_spy() -> Path | None:
    """py-spy's binary, installing it into its own venv when missing; None if that fails."""
    binary = TOOLS_VENV / "bin" / "py-spy"
    if binary.exists():
        return binary
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        pip = [str(TOOLS_VENV / "bin" / "pip"), "install", "-q", "py-spy"]
        subprocess.run(pip, check=True, timeout=600)
    except (subprocess.SubprocessError, OSError):
        return None
    return binary if binary.exists() else None


def start_recording(binary: Path, pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Record `pid` for `seconds` at 250 Hz without pausing it; py-spy runs on core 1."""
    cmd = [
        str(binary), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
        "--format", "raw", "--nonblocking", "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(pinned(cmd, 1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`, shortening site-packages paths."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def hot_spots(collapsed: Path, top: int = 25) -> dict[str, list[tuple[str, float]]]:
    """The top functions by self and by inclusive share of samples (percent)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"self": share(own), "inclusive": share(inclusive), "samples": [("total", float(total))]}
