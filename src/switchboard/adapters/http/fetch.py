"""`safe_fetch`: a bounded GET of a user-influenced URL (catalogues, images, JWKS).

Each hop is checked for syntax here and for its addresses at connect time; redirects are
followed by hand (at most `max_redirects`) so each target is checked again; caller
headers (credentials) are dropped as soon as a redirect leaves the original origin, and a
redirect away from a trusted origin loses the trust. Bytes are capped after decoding and
the whole fetch is capped in time. Errors are core kinds whose messages never quote the
upstream body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

import anyio
import httpx2

from switchboard.adapters.http.errors import blocked_error, parse_retry_after, status_error
from switchboard.core.errors import (
    Invalid,
    SwitchboardError,
    Timeout,
    UpstreamRejected,
    UpstreamUnavailable,
)
from switchboard.kit.netpolicy import BlockedUrl, check_url_syntax

if TYPE_CHECKING:
    from switchboard.adapters.http.clients import OutboundClients

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def safe_fetch(
    clients: OutboundClients,
    url: str,
    *,
    trusted: bool = False,
    max_bytes: int = 5 * 1024 * 1024,
    timeout: float = 15.0,  # noqa: ASYNC109 (a budget for the whole fetch)
    headers: dict[str, str] | None = None,
    max_redirects: int = 3,
) -> bytes:
    """The body of `url`, or a core error (Invalid for a refused URL)."""
    try:
        with anyio.fail_after(timeout):
            return await _follow(
                clients,
                url,
                trusted=trusted,
                max_bytes=max_bytes,
                timeout=timeout,
                headers=headers,
                max_redirects=max_redirects,
            )
    except BlockedUrl as exc:
        raise blocked_error(exc) from None
    except TimeoutError:
        raise Timeout("the remote server did not answer in time") from None


async def _follow(
    clients: OutboundClients,
    url: str,
    *,
    trusted: bool,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 (per-hop client timeout; the caller caps the total)
    headers: dict[str, str] | None,
    max_redirects: int,
) -> bytes:
    origin = check_url_syntax(url)
    send_headers = {"accept-encoding": "identity", **(headers or {})}
    current = url
    for _hop in range(max_redirects + 1):
        client = clients.httpx2_client(trusted=trusted, timeout=timeout)
        location, body = await _get_once(client, current, send_headers, max_bytes)
        if location is None:
            return body
        target = urljoin(current, location)
        if check_url_syntax(target) != origin:
            # Credentials belong to the origin they were given for, and so does trust.
            send_headers = {"accept-encoding": "identity"}
            trusted = False
        current = target
    raise UpstreamRejected("the remote server redirected too many times", code="too_many_redirects")


async def _get_once(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> tuple[str | None, bytes]:
    """One GET: (redirect location, b"") or (None, body)."""
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise UpstreamRejected("the remote server sent a redirect without a target")
                return location, b""
            if response.status_code >= 300:
                raise status_error(
                    response.status_code,
                    what="the remote server",
                    retry_after=parse_retry_after(dict(response.headers)),
                )
            return None, await _read_capped(response, max_bytes)
    except httpx2.TimeoutException:
        raise Timeout("the remote server did not answer in time") from None
    except httpx2.InvalidURL:
        raise Invalid("URL is not valid", code="url_not_allowed") from None
    except httpx2.HTTPError:
        raise UpstreamUnavailable("the remote server could not be reached") from None


async def _read_capped(response: httpx2.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decoded: the cap holds after decompression
        size += len(chunk)
        if size > max_bytes:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> SwitchboardError:
    return UpstreamRejected("the remote response is too large", code="response_too_large")
