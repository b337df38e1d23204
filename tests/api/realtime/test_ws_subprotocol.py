"""A browser's WebSocket cannot set headers: it offers `bearer, <token>` as subprotocols.

Through a real server with the `websockets` client: the token authenticates, the server
selects `bearer` (never echoing the token), and a wrong token is refused as any other.
"""

from __future__ import annotations

from typing import cast

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from switchboard.api.realtime.websocket import CLOSE_UNAUTHORIZED
from switchboard.core.events.schemas import Event, user_topic
from tests.api.realtime.conftest import RealtimeServer
from tests.api.realtime.test_websocket import close_code, receive, url


def offer(token: str) -> list[Subprotocol]:
    return [cast(Subprotocol, "bearer"), cast(Subprotocol, token)]


async def test_the_token_offered_as_a_subprotocol_authenticates(
    realtime_server: RealtimeServer,
) -> None:
    user = await realtime_server.user()
    topic = user_topic(user.id)
    async with connect(url(realtime_server, topic), subprotocols=offer(user.api_key)) as ws:
        assert ws.subprotocol == "bearer"
        await realtime_server.wait_for_subscribers(topic, 1)
        await realtime_server.publish(Event(topic=topic, type="job.started", data={}))
        assert (await receive(ws))["type"] == "job.started"


async def test_a_wrong_token_offered_as_a_subprotocol_is_refused(
    realtime_server: RealtimeServer,
) -> None:
    user = await realtime_server.user()
    topic = user_topic(user.id)
    async with connect(url(realtime_server, topic), subprotocols=offer("sb-wrong")) as ws:
        assert ws.subprotocol == "bearer"
        assert await close_code(ws) == CLOSE_UNAUTHORIZED
