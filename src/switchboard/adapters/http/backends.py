"""Network backends that connect only to policy-checked, pinned addresses.

httpcore's connection calls `connect_tcp(host, port)` and later `start_tls` with the
request's host name, so resolving and checking here, then dialling the checked IP, keeps
TLS verification and SNI on the name while DNS rebinding cannot swap the address. One
class per HTTP stack: the SDKs use httpcore2 (openai, anthropic, google-genai) or
httpcore (ollama), and each stack expects its own exception types and stream class, so
each backend is `_Pinned` with its stack's names filled in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, Protocol, TypeVar

import httpcore
import httpcore2

from switchboard.adapters.http.policy import OutboundPolicy, ResolveError

SocketOptions = Iterable[
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
]

_Stream = TypeVar("_Stream")
_Stream_co = TypeVar("_Stream_co", covariant=True)


class _Dialer(Protocol[_Stream_co]):
    """The part of a stack's own `AnyIOBackend` that `_Pinned` calls."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = ...,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = ...,
        socket_options: SocketOptions | None = ...,
    ) -> _Stream_co: ...

    async def sleep(self, seconds: float) -> None: ...


class _Pinned(Generic[_Stream]):
    """Resolve, check every answer, connect to a checked IP; never a unix socket."""

    _connect_error: ClassVar[type[Exception]]
    _connect_timeout: ClassVar[type[Exception]]

    def __init__(self, policy: OutboundPolicy, inner: _Dialer[_Stream], *, trusted: bool) -> None:
        self._policy = policy
        self._inner = inner
        self._trusted = trusted

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: SocketOptions | None = None,
    ) -> _Stream:
        try:
            addresses = await self._policy.addresses(
                host, port, trusted=self._trusted, timeout=timeout
            )
        except ResolveError as exc:
            error = self._connect_timeout if exc.timed_out else self._connect_error
            raise error(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (self._connect_error, self._connect_timeout) as exc:
                last = exc
        raise last if last is not None else self._connect_error("no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: SocketOptions | None = None,
    ) -> _Stream:
        # Outbound calls go to network origins only.
        raise self._connect_error("unix sockets are not allowed for outbound calls")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedBackend2(_Pinned[httpcore2.AsyncNetworkStream], httpcore2.AsyncNetworkBackend):
    """httpcore2 backend: resolve, check every answer, connect to a checked IP."""

    _connect_error = httpcore2.ConnectError
    _connect_timeout = httpcore2.ConnectTimeout

    def __init__(self, policy: OutboundPolicy, *, trusted: bool) -> None:
        super().__init__(policy, httpcore2.AnyIOBackend(), trusted=trusted)


class PinnedBackend(_Pinned[httpcore.AsyncNetworkStream], httpcore.AsyncNetworkBackend):
    """httpcore (legacy httpx) backend with the same policy as `PinnedBackend2`."""

    _connect_error = httpcore.ConnectError
    _connect_timeout = httpcore.ConnectTimeout

    def __init__(self, policy: OutboundPolicy, *, trusted: bool) -> None:
        super().__init__(policy, httpcore.AnyIOBackend(), trusted=trusted)
