"""The one rule, shared by Google and the OIDC issuer, of when an issuer's verified e-mail
proves who holds an existing account (issue 11, item 4)."""

from __future__ import annotations

import pytest

from switchboard.core.accounts.google import GOOGLE_EMAIL_DOMAINS, google_issuer
from switchboard.core.accounts.oidc import OIDC, IdTokenIdentity, IssuerConfig, vouches_for_email

OWNED = frozenset({"gmail.com", "corp.com"})


@pytest.mark.parametrize(
    ("email", "hosted", "vouched"),
    [
        ("ada@gmail.com", None, True),
        ("Ada@GMAIL.com", None, True),
        ("ada@corp.com", None, True),
        ("ada@x.io", None, False),
        ("ada@x.io", "x.io", True),
        ("ada@x.io", "other.io", False),
        # A sub-domain is another domain.
        ("ada@eu.corp.com", None, False),
        (None, "x.io", False),
        # Normalisation would change what the issuer verified: never vouched for.
        ("\uff41da@gmail.com", None, False),
        ("ada@\uff47mail.com", None, False),
    ],
)
def test_vouches_for_email(email: str | None, hosted: str | None, vouched: bool) -> None:
    assert vouches_for_email(email, owned_domains=OWNED, hosted_domain=hosted) is vouched


def test_both_issuers_use_it() -> None:
    identity = IdTokenIdentity(issuer="i", subject="s", email="ann@corp.com")
    tenant = IssuerConfig(
        name=OIDC, issuers=("i",), audience="a", jwks_url="u", email_domains=frozenset({"Corp.COM"})
    )
    google = google_issuer(client_id="a", jwks_url="u", issuers=[], email_domains=[" corp.com "])
    assert tenant.vouches_for(identity) and google.vouches_for(identity)
    # Gmail's domains stay Google's whatever the operator adds.
    assert google.email_domains == GOOGLE_EMAIL_DOMAINS | {"corp.com"}
    bare = google_issuer(client_id="a", jwks_url="u", issuers=[])
    assert not bare.vouches_for(identity)
