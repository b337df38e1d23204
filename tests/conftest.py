"""Fixtures shared by the whole suite."""

from switchboard.logs import configure_logging

# JSON lines, as in production: the console renderer's pretty tracebacks cost seconds
# per logged exception.
configure_logging("INFO", "json")

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
    "tests.fixtures.upstreams.fixtures",
    "tests.fixtures.upstreams.vendor_fixtures",
    "tests.fixtures.upstreams.comfyui_fixtures",
]
