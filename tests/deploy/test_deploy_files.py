"""The deploy files would work (issue 12, item 16): the compose file renders, its
services start in production mode with what they need, workers have a healthcheck, the
media volume is writable by the image's user, and nginx forwards what the replicas
believe and hides /metrics.

`docker compose config` renders the file where Docker's compose plugin exists; the same
checks then run on the YAML as PyYAML reads it (merge keys and anchors resolved), so they
run everywhere.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.bootstrap import check_settings, secret_keys
from switchboard.config import Settings
from switchboard.worker import check as worker_check

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NGINX = DEPLOY / "nginx.conf"
DOCKERFILE = DEPLOY / "Dockerfile"
# What an operator's .env provides (deploy/env.example); ${VAR:?...} needs these.
DOT_ENV = {
    "POSTGRES_PASSWORD": "a-database-password",
    "SWITCHBOARD_SECRET_KEY": "x" * 64,
}
APPS = ("migrate", "api-1", "api-2", "worker-1", "worker-2")
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} against `env`."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if ":?" in match.group(0):
            raise AssertionError(f"{name} must be set: {default}")
        return default or ""

    return _VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as a mapping (anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with the operator's .env substituted."""
    return {k: interpolate(str(v), DOT_ENV) for k, v in service["environment"].items()}


def _has_compose() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=30, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="no docker compose here: the YAML checks stand")
def test_docker_compose_renders_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in DOT_ENV.items()))
    rendered = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "worker-1" in rendered.stdout


def test_every_service_is_declared_with_its_volumes(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {"postgres", "redis", "proxy", *APPS}
    assert set(compose["volumes"]) == {"postgres", "redis", "media"}


@pytest.mark.parametrize("name", [n for n in APPS if n != "migrate"] + ["postgres", "redis"])
def test_long_running_services_have_a_healthcheck(compose: dict[str, Any], name: str) -> None:
    check = services(compose)[name]["healthcheck"]["test"]
    assert check[0] == "CMD" and len(check) > 1


@pytest.mark.parametrize("name", ["worker-1", "worker-2"])
def test_a_workers_healthcheck_asks_for_its_heartbeat(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = services(compose)[name]
    assert worker["command"][:2] == ["switchboard", "worker"]
    test: list[str] = worker["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "switchboard.worker"]
    # The module takes these arguments (2 would be its usage error); here no worker beats.
    monkeypatch.delenv("SWITCHBOARD_REDIS_URL", raising=False)
    assert worker_check(test[4:]) == 1


@pytest.mark.parametrize("name", APPS)
def test_every_variable_is_a_setting_switchboard_reads(compose: dict[str, Any], name: str) -> None:
    known = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = getattr(alias, "choices", [alias]) if alias else [f"SWITCHBOARD_{field_name}"]
        known |= {str(n).upper() for n in names}
    assert set(environment(services(compose)[name])) <= known


@pytest.mark.parametrize("name", APPS)
def test_the_environment_makes_a_production_server_that_starts(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(key)
    for key, value in environment(services(compose)[name]).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.env == "production"
    assert not settings.local_trust_enabled
    assert not settings.docs_enabled
    check_settings(settings)  # no ConfigError: no wildcard origin, no local trust "on"
    assert secret_keys(settings) == [DOT_ENV["SWITCHBOARD_SECRET_KEY"]]


def test_replicas_trust_the_proxy_alone(compose: dict[str, Any]) -> None:
    proxy_address = services(compose)["proxy"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    for name in APPS:
        trusted = environment(services(compose)[name])["SWITCHBOARD_TRUSTED_PROXIES"]
        assert trusted.split(",") == [proxy_address]


def test_the_media_volume_is_writable_by_the_images_user(compose: dict[str, Any]) -> None:
    dockerfile = DOCKERFILE.read_text()
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)[-1]
    for name in APPS:
        service = services(compose)[name]
        media_dir = environment(service)["SWITCHBOARD_MEDIA_DIR"]
        assert f"media:{media_dir}" in service["volumes"]
        # A named volume starts as a copy of the image's directory, owner included.
        chowned = re.search(rf"chown {user}:{user} [^\n]*{re.escape(media_dir)}\b", dockerfile)
        assert chowned, f"the Dockerfile must create {media_dir} owned by {user}"
        # ... before the image switches to that user (root is needed for chown).
        assert dockerfile.index(chowned.group(0)) < dockerfile.rindex(f"USER {user}")


# -- nginx ----------------------------------------------------------------------------------


def nginx_blocks() -> dict[str, list[str]]:
    """Each `location` block's directives (one per line, comments dropped)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in NGINX.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("location "):
            current = blocks.setdefault(line.removesuffix("{").strip(), [])
        elif line == "}":
            current = None
        elif line and current is not None:
            current.append(line.rstrip(";"))
    return blocks


def test_nginx_forwards_host_with_its_port_and_the_forwarding_headers() -> None:
    proxied = nginx_blocks()["location /"]
    headers = {
        parts[1].lower(): parts[2]
        for parts in (line.split() for line in proxied)
        if parts[0] == "proxy_set_header"
    }
    assert headers["host"] == "$http_host"  # $host drops the port
    assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
    assert headers["x-forwarded-proto"] == "$scheme"
    assert headers["x-forwarded-host"] == "$http_host"


def test_nginx_never_serves_metrics() -> None:
    metrics = nginx_blocks()["location = /metrics"]
    assert metrics in (["return 404"], ["deny all"])
