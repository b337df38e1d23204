"""The built-in, offline `echo` provider."""

from switchboard.adapters.providers.echo.provider import EchoProvider

__all__ = ["EchoProvider"]
