"""switchboard: a self-hosted AI backend serving five LLM app APIs and the OpenAI API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("switchboard")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
