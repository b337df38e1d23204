"""Socket.IO on python-socketio, fed by the bus.

One server at `/socket.io` speaks every enabled face's dialect: a dialect names how its
sockets authenticate, how bus events become Socket.IO events, the client events it
handles (registered on `hub.sio`) and the rooms a socket joins as it connects. A socket
speaks each dialect whose authentication accepts its handshake (or only the one it names
with `dialect` in its `auth` payload or query), and gets each event once per room it is
in, in the words of that room's dialect.

One room per (dialect, topic). A client joins a room only after `TopicAccess` allows it;
the first local member of a room starts one bus subscription for it on this replica,
whose events are emitted to the room's local members only (`ignore_queue`), so that with
the Redis manager every replica serves its own sockets and no client gets an event twice.

A connection lives only as long as its credential and the server: every
`recheck_seconds` each socket's handshake is authenticated again, and once the app
starts draining, every socket gets one `stream.closed` event (`{reason}`) and is
disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
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
from switchboard.core.errors import NotFound, SwitchboardError, Unauthenticated
from switchboard.core.events.access import TopicAccess
from switchboard.core.events.ports import EventBus
from switchboard.core.events.schemas import Event

log = structlog.get_logger(__name__)

SocketIOFormatter = Callable[[Event], tuple[str, Any] | None]
"""One event as (event name, payload); None skips it."""
OriginCheck = Callable[[str | None, dict[str, Any]], bool]
"""python-socketio's callable `cors_allowed_origins`: (origin, environ) -> allowed."""
OnConnect = Callable[["SocketIOHub", str, Principal], Awaitable[None]]
"""Work for a socket that was just accepted in a dialect (joining its own rooms)."""


def default_socketio_format(event: Event) -> tuple[str, Any]:
    """The event's type as the Socket.IO event name, its neutral JSON shape as payload."""
    return event.type, event_body(event)


@dataclass(frozen=True, slots=True)
class SocketIODialect:
    """One face's words on the shared Socket.IO server."""

    name: str
    authenticate: Authenticator
    format: SocketIOFormatter = default_socketio_format
    # Joins the rooms a socket gets without asking (the face's own events on connect).
    on_connect: OnConnect | None = None
    # Adds the dialect's client events (`subscribe`, ...) to the hub's server.
    register: Callable[[SocketIOHub], None] | None = None


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
        dialects: Sequence[SocketIODialect],
        *,
        redis_url: str | None = None,
        channel: str | None = None,
        namespace: str = "/",
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
        if not dialects or len({d.name for d in dialects}) != len(dialects):
            raise ValueError("a Socket.IO hub needs dialects with distinct names")
        self._bus = bus
        self._access = access
        self._dialects = {dialect.name: dialect for dialect in dialects}
        self._max_queue = max_queue
        self._members: dict[_Room, set[str]] = {}  # room -> local sids
        self._joined: dict[str, set[_Room]] = {}  # sid -> rooms
        self._forwarders: dict[_Room, asyncio.Task[None]] = {}
        self._ready: dict[_Room, asyncio.Future[None]] = {}
        self.recheck_seconds = recheck_seconds
        self._handshakes: dict[str, _Admitted] = {}  # sid -> how it authenticated
        self._rechecks: asyncio.Task[None] | None = None
        self._draining: Draining | None = None
        self._undo_drain: Callable[[], None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self._connect, namespace=namespace)
        self.sio.on("disconnect", self._disconnect, namespace=namespace)
        for dialect in dialects:
            if dialect.register is not None:
                dialect.register(self)

    def asgi_app(self, socketio_path: str = "socket.io") -> ASGIApp:
        """The ASGI app to mount (or to wrap the main app with)."""
        return _lowercase_header_names(socketio.ASGIApp(self.sio, socketio_path=socketio_path))

    async def principal(self, sid: str) -> Principal:
        """Who is connected as `sid` (authenticated at connect)."""
        session = await self.sio.get_session(sid, namespace=self.namespace)
        principal: Principal = session["principal"]
        return principal

    async def may_subscribe(self, principal: Principal, topic: str) -> bool:
        """Whether `principal` may receive `topic`'s events (without joining its room)."""
        return await self._access.may_subscribe(principal, topic)

    def speaks(self, sid: str, dialect: str) -> bool:
        """Whether `sid` was accepted in `dialect` (its handlers answer only those)."""
        admitted = self._handshakes.get(sid)
        return admitted is not None and dialect in admitted.dialects

    async def join(self, sid: str, topic: str, dialect: str) -> None:
        """Put `sid` in `topic`'s room of `dialect` if its principal may see the topic;
        `NotFound` otherwise."""
        await self._access.authorize(await self.principal(sid), topic)
        room = _Room(dialect, topic)
        # Count the member before waiting for the forwarder, so that a last member leaving
        # meanwhile does not stop the forwarder this join is waiting for.
        self._members.setdefault(room, set()).add(sid)
        self._joined.setdefault(sid, set()).add(room)
        try:
            await self._ensure_forwarder(room)
        except BaseException:
            self._joined.get(sid, set()).discard(room)
            self._forget(sid, room)
            raise
        if room in self._joined.get(sid, set()):  # not disconnected while we waited
            await self.sio.enter_room(sid, room.name, namespace=self.namespace)

    async def leave(self, sid: str, topic: str, dialect: str) -> None:
        """Take `sid` out of `topic`'s room of `dialect` (a no-op when it was not in it)."""
        room = _Room(dialect, topic)
        if room not in self._joined.get(sid, set()):
            return
        self._joined[sid].discard(room)
        await self.sio.leave_room(sid, room.name, namespace=self.namespace)
        self._forget(sid, room)

    def topics_of(self, sid: str, dialect: str) -> set[str]:
        """The topics `sid` has joined in `dialect`."""
        return {room.topic for room in self._joined.get(sid, set()) if room.dialect == dialect}

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
        for sid, admitted in list(self._handshakes.items()):
            check = partial(self._authenticate, admitted.handshake, admitted.dialects)
            reason = await credential_problem(check)
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
            principal, dialects = await self._admit(handshake)
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
        self._handshakes[sid] = _Admitted(handshake, dialects)
        # Before the client hears it is connected: once it is, its rooms are live.
        try:
            for name in dialects:
                on_connect = self._dialects[name].on_connect
                if on_connect is not None:
                    await on_connect(self, sid, principal)
        except SwitchboardError as exc:
            # The bus is away: refuse now rather than connect a socket that hears nothing.
            await self._disconnect(sid)
            raise socketio.exceptions.ConnectionRefusedError(
                {"message": exc.message, "code": exc.code}
            ) from None

    async def _admit(self, handshake: Handshake) -> tuple[Principal, tuple[str, ...]]:
        """The principal, and every dialect (of those the handshake asks for) that
        accepts the handshake; the first refusal when none does."""
        asked = _asked_dialects(handshake)
        candidates = [name for name in self._dialects if asked is None or name in asked]
        principal: Principal | None = None
        accepted: list[str] = []
        refusal: SwitchboardError | None = None
        for name in candidates:
            try:
                found = await self._dialects[name].authenticate(handshake)
            except SwitchboardError as exc:
                refusal = refusal or exc
                continue
            if principal is None or found.user_id == principal.user_id:
                principal = principal or found
                accepted.append(name)
        if principal is None:
            raise refusal or Unauthenticated("Authentication required")
        return principal, tuple(accepted)

    async def _authenticate(self, handshake: Handshake, dialects: Sequence[str]) -> Principal:
        """The handshake's principal in the first of `dialects` that still accepts it."""
        refusal: SwitchboardError = Unauthenticated("Authentication required")
        for name in dialects:
            try:
                return await self._dialects[name].authenticate(handshake)
            except SwitchboardError as exc:
                refusal = exc
        raise refusal

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
        for room in self._joined.pop(sid, set()):
            self._forget(sid, room)

    # -- forwarding ---------------------------------------------------------------------
    def _forget(self, sid: str, room: _Room) -> None:
        members = self._members.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self._members[room]
                self._stop_forwarder(room)

    async def _ensure_forwarder(self, room: _Room) -> None:
        ready = self._ready.get(room)
        if ready is None:
            ready = asyncio.get_running_loop().create_future()
            self._ready[room] = ready
            self._forwarders[room] = asyncio.create_task(
                self._forward(room, ready), name=f"socketio-forward:{room.name}"
            )
        await asyncio.shield(ready)

    def _stop_forwarder(self, room: _Room) -> None:
        self._ready.pop(room, None)
        task = self._forwarders.pop(room, None)
        if task is not None:
            task.cancel()

    async def _forward(self, room: _Room, ready: asyncio.Future[None]) -> None:
        try:
            sub = await self._bus.subscribe([room.topic], max_queue=self._max_queue)
        except SwitchboardError as exc:
            if self._ready.get(room) is ready:
                self._ready.pop(room, None)
                self._forwarders.pop(room, None)
            ready.set_exception(exc)
            return
        except asyncio.CancelledError:
            ready.cancel()  # stopped while subscribing: joiners waiting give up too
            raise
        ready.set_result(None)
        format = self._dialects[room.dialect].format
        try:
            async for event in sub:
                frame = format(event)
                if frame is not None:
                    await self.sio.emit(
                        frame[0],
                        frame[1],
                        room=room.name,
                        namespace=self.namespace,
                        ignore_queue=True,
                    )
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(sub.close())


@dataclass(frozen=True, slots=True)
class _Room:
    """One topic's events in one dialect's words."""

    dialect: str
    topic: str

    @property
    def name(self) -> str:
        return f"{self.dialect}|{self.topic}"


@dataclass(frozen=True, slots=True)
class _Admitted:
    """How a socket authenticated, and the dialects it was accepted in."""

    handshake: Handshake
    dialects: tuple[str, ...]


def _asked_dialects(handshake: Handshake) -> set[str] | None:
    """The dialects a client names (`dialect` in its auth payload or query, comma
    separated); None when it names none."""
    auth = handshake.socketio_auth
    named = auth.get("dialect") if isinstance(auth, dict) else None
    named = named if isinstance(named, str) else handshake.connection.query_params.get("dialect")
    if not named:
        return None
    return {name.strip() for name in named.split(",") if name.strip()}


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
    hub: SocketIOHub,
    dialect: str,
    *,
    subscribe: str = "subscribe",
    unsubscribe: str = "unsubscribe",
) -> None:
    """Generic client events of `dialect`: `subscribe`/`unsubscribe` with
    `{"topic": ...}`, acknowledged with `{"ok": true, "topic": ...}` or
    `{"ok": false, "error": {"code": ...}}`."""

    async def on_subscribe(sid: str, data: object = None) -> dict[str, Any]:
        topic = data.get("topic") if isinstance(data, dict) else None
        try:
            if not isinstance(topic, str) or not hub.speaks(sid, dialect):
                raise NotFound("Topic not found", code="topic_not_found")
            await hub.join(sid, topic, dialect)
        except SwitchboardError as exc:
            return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        return {"ok": True, "topic": topic}

    async def on_unsubscribe(sid: str, data: object = None) -> dict[str, Any]:
        topic = data.get("topic") if isinstance(data, dict) else None
        if isinstance(topic, str):
            await hub.leave(sid, topic, dialect)
        return {"ok": True, "topic": topic}

    hub.sio.on(subscribe, on_subscribe, namespace=hub.namespace)
    hub.sio.on(unsubscribe, on_unsubscribe, namespace=hub.namespace)
