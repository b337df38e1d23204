"""ComfyUI's REST calls on the shared, policy-enforcing aiohttp client.

Every answer is JSON read under a size cap; every failure leaves as a core error kind.
A server that cannot be connected to is `WorkflowEngineUnreachable` ("cannot connect to
ComfyUI at host:port"), whatever the reason (refused, no route, a name that does not
resolve): that is what an operator needs to read first.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import urlencode

import aiohttp

from switchboard.adapters.http import (
    AIO_ERRORS,
    OutboundClients,
    aio_error,
    blocked_error,
    status_error,
)
from switchboard.core.errors import Invalid, SwitchboardError, Timeout, UpstreamUnavailable
from switchboard.core.workflows.errors import WorkflowEngineUnreachable
from switchboard.kit.netpolicy import BlockedUrl, check_url_syntax

from .wire import ENGINE

# /object_info of a server with many custom nodes runs to tens of megabytes.
MAX_JSON_BYTES = 64 * 1024 * 1024
_CHUNK = 256 * 1024


def where(base_url: str) -> str:
    """`host:port` of a base URL, as errors name the server (never a path or query)."""
    try:
        origin = check_url_syntax(base_url)
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    return f"{host}:{origin.port}"


class ComfyHttp:
    """JSON requests to one ComfyUI server, and bounded fetches of its files."""

    def __init__(
        self,
        clients: OutboundClients,
        base_url: str,
        *,
        trusted: bool,
        headers: dict[str, str],
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.where = where(self.base_url)
        self.headers = headers
        # The WebSocket handshake is a GET without a body: no content type.
        self.socket_headers = {k: v for k, v in headers.items() if k != "content-type"}
        self.trusted = trusted
        self.timeout = timeout
        self._clients = clients
        self._client = clients.aio_client(trusted=trusted)
        self._timeouts = aiohttp.ClientTimeout(
            total=timeout, sock_connect=connect_timeout, sock_read=timeout
        )

    async def get(self, path: str) -> Any:
        """The JSON answer of `GET path`."""
        _, body = await self.call("GET", path)
        return body

    async def post(
        self, path: str, body: Any, *, refusals: Collection[int] = ()
    ) -> tuple[int, Any]:
        """`POST path` with a JSON body: (status, JSON answer or None).

        Statuses in `refusals` are returned for the caller to read; other error
        statuses raise.
        """
        try:
            data = json.dumps(body).encode()
        except (TypeError, ValueError):
            raise Invalid(f"The request to {ENGINE} is not JSON.", param="workflow") from None
        return await self.call("POST", path, data, refusals=refusals)

    async def call(
        self, method: str, path: str, data: bytes | None = None, *, refusals: Collection[int] = ()
    ) -> tuple[int, Any]:
        """One request: (status, parsed JSON or None for an empty body)."""
        try:
            url = self.base_url + path
            request = self._client.request(
                method, url, data=data, headers=self.headers, timeout=self._timeouts
            )
            async with request as response:
                if response.status >= 300 and response.status not in refusals:
                    raise status_error(response.status, what=f"{ENGINE} at {self.where}")
                raw = await _read_capped(response, MAX_JSON_BYTES)
                return response.status, _parse(raw, self.where)
        except AIO_ERRORS as exc:
            raise self.transport_error(exc) from None

    async def fetch(self, path: str, query: dict[str, str], max_bytes: int) -> bytes:
        """The bytes of `GET path?query`, at most `max_bytes` (`safe_fetch`'s cap)."""
        try:
            return await self._clients.safe_fetch(
                f"{self.base_url}{path}?{urlencode(query)}",
                trusted=self.trusted,
                max_bytes=max_bytes,
                timeout=self.timeout,
                headers=self.headers,
                max_redirects=0,
            )
        except UpstreamUnavailable as exc:
            if exc.upstream_status is None:  # not an answer: the server is away
                raise WorkflowEngineUnreachable(ENGINE, self.where) from None
            raise

    def transport_error(self, exc: BaseException) -> SwitchboardError:
        """The core error for what aiohttp (or the policy under it) raised."""
        error = aio_error(exc, f"{ENGINE} at {self.where}")
        if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(error, Timeout):
            return WorkflowEngineUnreachable(ENGINE, self.where)
        return error


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise UpstreamUnavailable(
                f"{ENGINE} sent an answer over {max_bytes} bytes", code="upstream_malformed"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes, where: str) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise UpstreamUnavailable(
            f"{ENGINE} at {where} sent a malformed response", code="upstream_malformed"
        ) from None
