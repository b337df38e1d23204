"""Log output: JSON lines from structlog and the standard library alike, in order."""

from __future__ import annotations

import json
import subprocess
import sys

# A child process: logging is configured once per process, and this checks real stderr.
PROBE = """
import logging, structlog
from switchboard.logs import configure_logging
configure_logging("INFO", "json")
structlog.get_logger("probe").info("first", n=1)
logging.getLogger("stdlib").warning("second %s", 2)
structlog.get_logger("probe").debug("hidden")
structlog.get_logger("probe").info("third", path=object.__name__)
"""


def test_json_lines_from_both_loggers_arrive_whole_and_in_order() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["first", "second 2", "third"]
    assert lines[0]["n"] == 1 and lines[0]["level"] == "info"
    assert lines[1]["level"] == "warning"
    assert all("timestamp" in line for line in lines)
