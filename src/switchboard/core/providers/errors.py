"""Errors of the providers domain."""

from switchboard.core.errors import Invalid, NotFound


class ProviderNotConfigured(NotFound):
    """Neither the user nor the operator has set this provider up."""

    default_code = "provider_not_configured"


class UnknownProvider(Invalid):
    """A provider name switchboard does not know."""

    default_code = "unknown_provider"


class UnsafeUpstreamUrl(Invalid):
    """A base URL that the outbound policy refuses."""

    default_code = "unsafe_url"


class KeyBoundElsewhere(Invalid):
    """A stored key whose saved origin differs from where it would now be sent."""

    default_code = "key_origin_mismatch"


class CapabilityMissing(Invalid):
    """A call a provider's kind cannot serve (images from Anthropic, say)."""

    default_code = "unsupported_capability"
