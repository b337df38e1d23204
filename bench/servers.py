"""The servers under test: the fake upstream, switchboard, and LiteLLM's proxy."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import free_port, start, stop, wait_ready

BENCH_DIR = Path(__file__).resolve().parent
LITELLM_VENV = BENCH_DIR / ".venv-litellm"
UPSTREAM_KEY = "sk-bench-upstream"
LITELLM_MASTER_KEY = "sk-" + secrets.token_hex(32)
# Far above anything the bench can send: the limiter still runs, it just never says 429.
RATE_LIMIT = "100000000/minute"


@dataclass
class Server:
    """A running server: its process, base URL, the key and model a client should use."""

    name: str
    proc: subprocess.Popen[bytes]
    base_url: str
    api_key: str
    model: str
    log: Path

    def stop(self) -> None:
        """Stop it."""
        stop(self.proc)


async def start_fake(workdir: Path, core: int | None) -> Server:
    """The fake upstream, on `core`."""
    port = free_port()
    log = workdir / "fake_upstream.log"
    cmd = [sys.executable, "-m", "bench.fake_upstream", "--port", str(port)]
    proc = start(cmd, _env(), log, core)
    base = f"http://127.0.0.1:{port}"
    await wait_ready(f"{base}/v1/models", proc, within=20)
    return Server("direct", proc, base, UPSTREAM_KEY, "fake", log)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BENCH_DIR.parent) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _switchboard_bin() -> str:
    found = Path(sys.executable).with_name("switchboard")
    return str(found) if found.exists() else (shutil.which("switchboard") or "switchboard")


def switchboard_env(data_dir: Path, upstream: Server) -> dict[str, str]:
    """Environment for switchboard: temp data dir, the fake as the operator's OpenAI."""
    return _env(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        OPENAI_API_KEY=UPSTREAM_KEY,
        OPENAI_BASE_URL=f"{upstream.base_url}/v1",
        SWITCHBOARD_RATE_LIMIT_DEFAULT=RATE_LIMIT,
        # The bench's one user holds up to 1,000 streams at once (slow_streams): the cap
        # of streams per user would turn those scenarios into a 429 benchmark.
        SWITCHBOARD_MAX_STREAMS_PER_USER="0",
    )


def create_api_key(env: dict[str, str]) -> str:
    """A user and an API key, made through the CLI; returns the key."""
    exe = _switchboard_bin()
    email = "bench@example.com"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [exe, *args], env=env, capture_output=True, text=True, timeout=180, check=True
        )
        return done.stdout

    cli("user", "create", email, "--password", "a-long-password-1")
    out = cli("apikey", "create", "--user", email, "--name", "bench")
    return out.strip().splitlines()[-1].strip()


async def start_switchboard(workdir: Path, upstream: Server, core: int | None) -> Server:
    """`switchboard serve` with one worker on `core`, a fresh data dir, a user and a key."""
    data_dir = workdir / "switchboard-data"
    data_dir.mkdir(exist_ok=True)
    env = switchboard_env(data_dir, upstream)
    key = create_api_key(env)
    port = free_port()
    log = workdir / "switchboard.log"
    cmd = [_switchboard_bin(), "serve", "--port", str(port), "--workers", "1"]
    proc = start(cmd, env, log, core)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    await wait_ready(f"{base}/v1/models", proc, within=120, headers=auth)
    return Server("switchboard", proc, base, key, "openai/fake", log)


def ensure_litellm(log: Path) -> tuple[Path | None, str]:
    """LiteLLM's proxy in its own venv, installed on first use; (binary or None, note)."""
    binary = LITELLM_VENV / "bin" / "litellm"
    if binary.exists():
        return binary, "already installed"
    with log.open("ab") as out:
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(LITELLM_VENV)],
                check=True,
                stdout=out,
                stderr=out,
            )
            pip = [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"]
            subprocess.run(pip, check=True, stdout=out, stderr=out, timeout=1200)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"install failed ({type(exc).__name__}); see {log}"
    return (binary, "installed") if binary.exists() else (None, "installed but no litellm binary")


def _litellm_config(workdir: Path, upstream: Server, models: tuple[str, ...]) -> Path:
    config = workdir / "litellm.yaml"
    entries = [
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream.base_url}/v1\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        for model in models
    ]
    config.write_text("model_list:\n" + "".join(entries))
    return config


async def start_litellm(
    binary: Path, workdir: Path, upstream: Server, core: int | None, models: tuple[str, ...]
) -> Server:
    """LiteLLM's proxy with default settings on `core`: one worker, no database.

    Recent releases refuse to start without a master key, so it gets one (which also
    turns authentication on, as it is on switchboard's side); clients send it as Bearer.
    """
    port = free_port()
    log = workdir / "litellm.log"
    config = _litellm_config(workdir, upstream, models)
    cmd = [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTHON"))}
    env["LITELLM_MASTER_KEY"] = LITELLM_MASTER_KEY
    proc = start(cmd, env, log, core)
    base = f"http://127.0.0.1:{port}"
    await wait_ready(f"{base}/health/liveliness", proc, within=180)
    return Server("litellm", proc, base, LITELLM_MASTER_KEY, "fake", log)
