"""Fixtures shared by the whole suite."""

import gc

import pytest

from switchboard.logs import configure_logging

# JSON lines, as in production: the console renderer's pretty tracebacks cost seconds
# per logged exception.
configure_logging("INFO", "json")

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
    "tests.fixtures.upstreams.fixtures",
    "tests.fixtures.upstreams.vendor_fixtures",
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection built, as the serving process freezes what start-up built.

    The modules and test items live until the run ends. Left to the garbage collector,
    each full collection walked them all, 0.2-0.5 s on a slow machine and growing: long
    enough for the 1 s Redis timeouts of the code under test to fire in the middle of a
    test's set-up.
    """
    gc.collect()
    gc.freeze()
