"""What the profiles domain raises."""

from __future__ import annotations

from switchboard.core.errors import Conflict, Invalid, NotFound


class ProfileNotFound(NotFound):
    """No such profile, or it belongs to someone else."""

    default_code = "profile_not_found"


class ProfileModelNotFound(NotFound):
    """The profile has no such model."""

    default_code = "profile_model_not_found"


class ProfileModelExists(Conflict):
    """The model is already on the profile."""

    default_code = "profile_model_exists"


class ProviderFixed(Invalid):
    """A profile's provider is part of what its key is bound to: it does not change."""

    default_code = "provider_fixed"
