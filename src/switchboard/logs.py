"""structlog set-up: JSON lines in production, readable colours in a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog


def _dumps_bytes(event: Any, **_: Any) -> bytes:
    # orjson is several times faster than json.dumps on the access log's small dicts;
    # anything it cannot encode natively is logged as its str().
    return orjson.dumps(event, default=str)


def _dumps(event: Any, **_: Any) -> str:
    return _dumps_bytes(event).decode()


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Route structlog and the standard library's logging through one renderer."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    # JSON lines are rendered to bytes and written as bytes, as structlog recommends for
    # speed: the access log writes one per request. The standard library's records go
    # through a text handler, so they keep the str renderer.
    native_renderer: Any = renderer
    logger_factory: Any = structlog.PrintLoggerFactory(file=sys.stderr)
    if as_json and hasattr(sys.stderr, "buffer"):  # a replaced stderr may be text only
        native_renderer = structlog.processors.JSONRenderer(serializer=_dumps_bytes)
        logger_factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, native_renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours (and print tokens in query strings).
    logging.getLogger("uvicorn.access").disabled = True
    # taskiq's receiver logs every message it runs at INFO; the job runner's own
    # `job_started` / `job_finished` lines say more (about 2% of a busy worker's CPU).
    logging.getLogger("taskiq.receiver.receiver").setLevel(logging.WARNING)
