"""The serving program's process set-up."""

from __future__ import annotations

import subprocess
import sys

from switchboard.cli.server import YOUNG_GENERATION_THRESHOLD

# Run in a child: a frozen collector is permanent for the process that froze it.
PROBE = """
import gc
from switchboard.cli.server import tune_garbage_collector
before = gc.get_freeze_count()
tune_garbage_collector()
print(before, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_tuning_freezes_start_up_objects_and_widens_the_young_generation() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    before, after, young = map(int, out)
    assert before == 0
    assert after > 1000  # at least the modules' own objects are frozen
    assert young == YOUNG_GENERATION_THRESHOLD
