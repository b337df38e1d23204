"""What `switchboard serve` prints before it serves: where it listens, the docs, the
mounted faces and, on a first start, the next step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard import __version__

LOOPBACK = ("127.0.0.1", "::1")
# Where the faces' Socket.IO server answers (`api.faces.SOCKETIO_PATH`).
SOCKETIO_PATH = "/socket.io"


# What the banner reads of `api.faces.EnabledFace`, which the CLI does not import (it
# would load the web framework into every command).
class _Router(Protocol):
    @property
    def routes(self) -> Sequence[object]: ...


class _Mount(Protocol):
    @property
    def path(self) -> str: ...


class FaceSpec(Protocol):
    """A face's name, routers, mounts and whether it speaks on the Socket.IO server."""

    @property
    def name(self) -> str: ...

    @property
    def routers(self) -> Sequence[_Router]: ...

    @property
    def mounts(self) -> Sequence[_Mount]: ...

    @property
    def socketio(self) -> object: ...


class EnabledFace(Protocol):
    """A mounted face."""

    @property
    def spec(self) -> FaceSpec: ...


@dataclass(frozen=True, slots=True)
class Startup:
    """What serve found while preparing: the database and whether anyone uses it yet."""

    migrated: int
    first_start: bool


def face_prefix(spec: FaceSpec) -> str:
    """The path every route of `spec` starts with (`/` when they share none)."""
    paths = [getattr(route, "path", "/") for router in spec.routers for route in router.routes]
    split = [path.strip("/").split("/") for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        common.append(parts[0])
    # A face of one route would claim the whole path: its parent is where it lives.
    if len(set(paths)) == 1 and common:
        common.pop()
    return "/" + "/".join(common)


def banner(
    base_url: str,
    *,
    data_dir: str,
    docs_enabled: bool,
    faces: Sequence[EnabledFace],
    startup: Startup,
) -> list[str]:
    """The lines serve prints (plain text: they end up in logs)."""
    lines = [
        f"switchboard {__version__} on {base_url}",
        f"Data directory: {data_dir}",
        "Database:       "
        + (f"{startup.migrated} migration(s) applied" if startup.migrated else "up to date"),
        "API docs:       "
        + (
            f"{base_url}/docs"
            if docs_enabled
            else "off (SWITCHBOARD_ENABLE_SWAGGER_DOCS=true serves /docs)"
        ),
        "Faces:",
    ]
    width = max((len(face.spec.name) for face in faces), default=0)
    for face in faces:
        sockets = [SOCKETIO_PATH] if face.spec.socketio is not None else []
        paths = [face_prefix(face.spec), *(mount.path for mount in face.spec.mounts), *sockets]
        where = ", ".join(base_url + path for path in paths)
        lines.append(f"  {face.spec.name:<{width}}  {where}")
    if startup.first_start:
        lines += [
            "Next: create a user: switchboard user create EMAIL",
            "      then an API key: switchboard apikey create --user EMAIL --name NAME",
        ]
    return lines


def shown_host(host: str) -> str:
    """How to write `host` in a URL a person can open."""
    if host in LOOPBACK:
        return "localhost"
    return f"[{host}]" if ":" in host else host
