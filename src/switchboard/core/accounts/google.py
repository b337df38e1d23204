"""Google sign-in: Google as one configured ID-token issuer (`oidc.IssuerConfig`).

Google's tokens are RS256 only and must carry a verified e-mail (PluginMind has always
relied on one). Google owns gmail.com and googlemail.com addresses, the addresses of a
Google-hosted domain when the token's `hd` claim names that domain, and those of the
domains the operator lists in SWITCHBOARD_GOOGLE_EMAIL_DOMAINS: only there does a Google
e-mail link to an existing account (`oidc.vouches_for_email`, the rule every issuer
shares; see `identities`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchboard.core.accounts.oidc import DEFAULT_CACHE_SECONDS, IdTokenInvalid, IssuerConfig

GOOGLE = "google"
# What Google links are stored under (the form Google documents; tokens may use either).
GOOGLE_ISSUER = "https://accounts.google.com"
GOOGLE_EMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class GoogleTokenInvalid(IdTokenInvalid):
    """The Google ID token is malformed, forged, expired, or not meant for us."""

    default_code = "google_token_invalid"

    def __init__(self, message: str = "Invalid Google ID token") -> None:
        super().__init__(message)


def google_issuer(
    *,
    client_id: str | None,
    jwks_url: str,
    issuers: Sequence[str],
    cache_seconds: float = DEFAULT_CACHE_SECONDS,
    clock_skew_seconds: int = 0,
    email_domains: Iterable[str] = (),
) -> IssuerConfig:
    """Google as an issuer: our OAuth client id is the audience. `email_domains` are
    domains Google is authoritative for besides Gmail's and a token's matching `hd`
    (SWITCHBOARD_GOOGLE_EMAIL_DOMAINS: Workspace domains whose tokens may lack `hd`)."""
    return IssuerConfig(
        name=GOOGLE,
        label="Google",
        issuers=tuple(issuers) or (GOOGLE_ISSUER,),
        audience=client_id,
        jwks_url=jwks_url,
        algorithms=("RS256",),
        clock_skew_seconds=clock_skew_seconds,
        cache_seconds=cache_seconds,
        require_email=True,
        email_domains=GOOGLE_EMAIL_DOMAINS | frozenset(email_domains),
        hosted_domain_claim="hd",
        canonical_issuer=GOOGLE_ISSUER,
    )
