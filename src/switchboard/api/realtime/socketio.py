"""Socket.IO on python-socketio, fed by the bus.

One room per topic. A client joins a room only after `TopicAccess` allows it; the first
local member of a room starts one bus subscription for it on this replica, whose events
are emitted to the room's local members only (`ignore_queue`), so that with the Redis
manager every replica serves its own sockets and no client gets an event twice. Faces
register their own event handlers on `hub.sio`.

A connection lives only as long as its credential and the server: every
`recheck_seconds` each socket's handshake is authenticated again, and once the app
starts draining, every socket gets one `stream.closed` event (`{reason}`) and is
disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import socketio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.auth import Handshake
from switchboard.api.cors import origin_allowed
from switchboard.api.draining import Draining, draining_of
from switchboard.api.realtime.auth import Authenticator
from switchboard.api.realtime.guard import CLOSED, credential_problem
from switchboard.api.realtime.sse import event_body
from switchboard.core.accounts.principal import Principal
from switchboard.core.errors import NotFound, SwitchboardError
from switchboard.core.events.access import TopicAccess
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event

log = structlog.get_logger(__name__)

SocketIOFormatter = Callable[[Event], tuple[str, Any] | None]
OriginCheck = Callable[[str | None, dict[str, Any]], bool]
"""python-socketio's callable `cors_allowed_origins`: (origin, environ) -> allowed."""
"""One event as (event name, payload); None skips it."""


def default_socketio_format(event: Event) -> tuple[str, Any]:
    """The event's type as the Socket.IO event name, its neutral JSON shape as payload."""
    return event.type, event_body(event)


def manager_channel(bus: EventBus) -> str:
    """The Redis manager's channel: under the bus's namespace (SWITCHBOARD_REDIS_PREFIX),
    so that deployments sharing one Redis never exchange Socket.IO messages."""
    namespace = getattr(bus, "namespace", None) or "switchboard"
    return f"{namespace}:socketio"


class SocketIOHub:
    """A python-socketio server whose rooms are bus topics, and the forwarding behind them."""

    def __init__(
        self,
        bus: EventBus,
        access: TopicAccess,
        authenticate: Authenticator,
        *,
        redis_url: str | None = None,
        channel: str | None = None,
        namespace: str = "/",
        format: SocketIOFormatter = default_socketio_format,
        cors_allowed_origins: str | list[str] | OriginCheck = origin_allowed,
        max_queue: int = 1000,
        recheck_seconds: float = 15.0,
    ) -> None:
        manager = (
            socketio.AsyncRedisManager(redis_url, channel=channel or manager_channel(bus))
            if redis_url
            else None
        )
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            # By default the app's origin policy (api.cors): SWITCHBOARD_CORS_ORIGINS and
            # the server's own origin, for the polling and websocket transports alike.
            cors_allowed_origins=cors_allowed_origins,
        )
        self.namespace = namespace
        self._bus = bus
        self._access = access
        self._authenticate = authenticate
        self._format = format
        self._max_queue = max_queue
        self._members: dict[str, set[str]] = {}  # topic -> local sids
        self._joined: dict[str, set[str]] = {}  # sid -> topics
        self._forwarders: dict[str, asyncio.Task[None]] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self.recheck_seconds = recheck_seconds
        self._handshakes: dict[str, Handshake] = {}  # sid -> how it authenticated
        self._rechecks: asyncio.Task[None] | None = None
        self._draining: Draining | None = None
        self._undo_drain: Callable[[], None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self._connect, namespace=namespace)
        self.sio.on("disconnect", self._disconnect, namespace=namespace)

    def asgi_app(self, socketio_path: str = "socket.io") -> ASGIApp:
        """The ASGI app to mount (or to wrap the main app with)."""
        return _lowercase_header_names(socketio.ASGIApp(self.sio, socketio_path=socketio_path))

    async def principal(self, sid: str) -> Principal:
        """Who is connected as `sid` (authenticated at connect)."""
        session = await self.sio.get_session(sid, namespace=self.namespace)
        principal: Principal = session["principal"]
        return principal

    async def join(self, sid: str, topic: str) -> None:
        """Put `sid` in `topic`'s room if its principal may see it; `NotFound` otherwise."""
        await self._access.authorize(await self.principal(sid), topic)
        # Count the member before waiting for the forwarder, so that a last member leaving
        # meanwhile does not stop the forwarder this join is waiting for.
        self._members.setdefault(topic, set()).add(sid)
        self._joined.setdefault(sid, set()).add(topic)
        try:
            await self._ensure_forwarder(topic)
        except BaseException:
            self._joined.get(sid, set()).discard(topic)
            self._forget(sid, topic)
            raise
        if topic in self._joined.get(sid, set()):  # not disconnected while we waited
            await self.sio.enter_room(sid, topic, namespace=self.namespace)

    async def leave(self, sid: str, topic: str) -> None:
        """Take `sid` out of `topic`'s room (a no-op when it was not in it)."""
        if topic not in self._joined.get(sid, set()):
            return
        self._joined[sid].discard(topic)
        await self.sio.leave_room(sid, topic, namespace=self.namespace)
        self._forget(sid, topic)

    def topics_of(self, sid: str) -> set[str]:
        """The topics `sid` has joined."""
        return set(self._joined.get(sid, set()))

    async def end(self, sid: str, reason: str) -> None:
        """Send `sid` one `stream.closed` event with `reason`, then disconnect it."""
        self._handshakes.pop(sid, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            await self.sio.emit(
                CLOSED, {"reason": reason}, to=sid, namespace=self.namespace, ignore_queue=True
            )
            await self.sio.disconnect(sid, namespace=self.namespace, ignore_queue=True)

    async def recheck(self) -> None:
        """Authenticate every socket's handshake again; end those that no longer hold."""
        for sid, handshake in list(self._handshakes.items()):
            reason = await credential_problem(partial(self._authenticate, handshake))
            if reason is not None:
                await self.end(sid, reason)

    async def aclose(self) -> None:
        """Stop every forwarder (their subscriptions close) and the Redis manager."""
        if self._rechecks is not None:
            self._rechecks.cancel()
            await asyncio.gather(self._rechecks, return_exceptions=True)
        if self._undo_drain is not None:
            self._undo_drain()
        tasks = list(self._forwarders.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._forwarders.clear()
        self._ready.clear()
        await self._close_manager()

    async def _close_manager(self) -> None:
        # python-socketio's Redis manager listens in a task of its own, on connections of
        # its own, and offers no way to stop: cancel the task, then close its clients.
        manager = self.sio.manager
        listener = getattr(manager, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        for client in (getattr(manager, "pubsub", None), getattr(manager, "redis", None)):
            if client is not None:
                await client.aclose()

    # -- connection lifecycle -----------------------------------------------------------
    async def _connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        # python-engineio keeps the ASGI scope of the handshake request in the environ.
        handshake = Handshake.from_scope(environ["asgi.scope"], auth or {})
        try:
            principal = await self._authenticate(handshake)
        except SwitchboardError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                {"message": "Unauthorized", "code": exc.code}
            ) from None
        self._watch(handshake)
        if self._draining is not None and self._draining.is_set():
            raise socketio.exceptions.ConnectionRefusedError(
                {"message": "The server is shutting down", "code": self._draining.reason}
            )
        await self.sio.save_session(sid, {"principal": principal}, namespace=self.namespace)
        self._handshakes[sid] = handshake

    def _watch(self, handshake: Handshake) -> None:
        """Start the re-checks, and follow the app's draining (known from the first
        handshake's scope: the hub is built before there is an app to ask)."""
        if self._rechecks is None:
            self._rechecks = asyncio.create_task(self._recheck_forever(), name="socketio-recheck")
        app = handshake.scope.get("app")
        if self._draining is None and app is not None:
            draining = draining_of(app)
            self._draining = draining
            self._undo_drain = draining.on_set(lambda: self._spawn(self._end_all(draining.reason)))

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            await self.recheck()

    async def _end_all(self, reason: str) -> None:
        await asyncio.gather(*(self.end(sid, reason) for sid in list(self._handshakes)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="socketio-drain")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _disconnect(self, sid: str, *_: object) -> None:
        self._handshakes.pop(sid, None)
        for topic in self._joined.pop(sid, set()):
            self._forget(sid, topic)

    # -- forwarding ---------------------------------------------------------------------
    def _forget(self, sid: str, topic: str) -> None:
        members = self._members.get(topic)
        if members is not None:
            members.discard(sid)
            if not members:
                del self._members[topic]
                self._stop_forwarder(topic)

    async def _ensure_forwarder(self, topic: str) -> None:
        ready = self._ready.get(topic)
        if ready is None:
            ready = asyncio.get_running_loop().create_future()
            self._ready[topic] = ready
            self._forwarders[topic] = asyncio.create_task(
                self._forward(topic, ready), name=f"socketio-forward:{topic}"
            )
        await asyncio.shield(ready)

    def _stop_forwarder(self, topic: str) -> None:
        self._ready.pop(topic, None)
        task = self._forwarders.pop(topic, None)
        if task is not None:
            task.cancel()

    async def _forward(self, topic: str, ready: asyncio.Future[None]) -> None:
        try:
            sub = await self._bus.subscribe([topic], max_queue=self._max_queue)
        except SwitchboardError as exc:
            if self._ready.get(topic) is ready:
                self._ready.pop(topic, None)
                self._forwarders.pop(topic, None)
            ready.set_exception(exc)
            return
        except asyncio.CancelledError:
            ready.cancel()  # stopped while subscribing: joiners waiting give up too
            raise
        ready.set_result(None)
        try:
            async for event in sub:
                frame = self._format(event)
                if frame is not None:
                    await self.sio.emit(
                        frame[0], frame[1], room=topic, namespace=self.namespace, ignore_queue=True
                    )
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(sub.close())


def _lowercase_header_names(app: ASGIApp) -> ASGIApp:
    """python-engineio sends header names as written ("Access-Control-Allow-Origin"),
    where ASGI wants them lower case; the CORS middleware around it then added its own
    beside engineio's instead of replacing it, and browsers refuse two."""

    async def lowercased(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_lowercased(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name.lower(), value) for name, value in message.get("headers", ())
                ]
            await send(message)

        await app(scope, receive, send_lowercased)

    return lowercased


def register_topic_events(
    hub: SocketIOHub, *, subscribe: str = "subscribe", unsubscribe: str = "unsubscribe"
) -> None:
    """Generic client events: `subscribe`/`unsubscribe` with `{"topic": ...}`, acknowledged
    with `{"ok": true, "topic": ...}` or `{"ok": false, "error": {"code": ...}}`."""

    async def on_subscribe(sid: str, data: object = None) -> dict[str, Any]:
        topic = data.get("topic") if isinstance(data, dict) else None
        try:
            if not isinstance(topic, str):
                raise NotFound("Topic not found", code="topic_not_found")
            await hub.join(sid, topic)
        except SwitchboardError as exc:
            return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        return {"ok": True, "topic": topic}

    async def on_unsubscribe(sid: str, data: object = None) -> dict[str, Any]:
        topic = data.get("topic") if isinstance(data, dict) else None
        if isinstance(topic, str):
            await hub.leave(sid, topic)
        return {"ok": True, "topic": topic}

    hub.sio.on(subscribe, on_subscribe, namespace=hub.namespace)
    hub.sio.on(unsubscribe, on_unsubscribe, namespace=hub.namespace)
