"""Access tokens: claims, expiry, pinned algorithm, required claims, key rotation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from switchboard.core.accounts.errors import TokenExpired, TokenInvalid
from switchboard.core.accounts.tokens import REQUIRED_CLAIMS, TokenSigner, derive_signing_key
from switchboard.kit.clock import utcnow
from tests.core.accounts.conftest import OLD_SECRET, SECRET

NEW_SECRET = "new-secret-0123456789-abcdefghijklmnopq"
USER_ID = "0b4c6c1e-7a43-4b0e-9d70-6f3f0d3c1a11"
SESSION_ID = "5f1f2c55-2b1c-4c57-8f0e-2a7d8e9c0b22"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(utcnow().timestamp())
    base: dict[str, Any] = {
        "iss": "switchboard",
        "sub": USER_ID,
        "sid": SESSION_ID,
        "typ": "access",
        "ver": 0,
        "jti": "abc",
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return base


def forge(payload: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, derive_signing_key(secret), algorithm=algorithm)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class TestIssue:
    def test_round_trip_carries_every_claim(self, signer: TokenSigner) -> None:
        issued = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=3)
        decoded = signer.decode(issued.token)
        assert decoded.user_id == USER_ID
        assert decoded.session_id == SESSION_ID
        assert decoded.token_version == 3
        assert decoded.jti == issued.jti
        assert decoded.expires_at == issued.expires_at
        assert decoded.expires_at - decoded.issued_at == timedelta(seconds=3600)

    def test_header_and_claims_are_as_documented(self, signer: TokenSigner) -> None:
        token = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0).token
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        payload = jwt.decode(token, options={"verify_signature": False})
        assert set(payload) == set(REQUIRED_CLAIMS)
        assert payload["typ"] == "access"
        assert payload["iss"] == "switchboard"

    def test_ttl_is_configurable(self) -> None:
        signer = TokenSigner([SECRET], ttl_seconds=60)
        issued = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0)
        assert issued.expires_at - issued.issued_at == timedelta(seconds=60)
        override = signer.issue(
            user_id=USER_ID, session_id=SESSION_ID, token_version=0, ttl_seconds=5
        )
        assert override.expires_at - override.issued_at == timedelta(seconds=5)

    def test_every_token_has_its_own_jti(self, signer: TokenSigner) -> None:
        first = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0)
        second = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0)
        assert first.jti != second.jti


class TestDecode:
    def test_expired(self, signer: TokenSigner) -> None:
        issued = signer.issue(
            user_id=USER_ID,
            session_id=SESSION_ID,
            token_version=0,
            now=utcnow() - timedelta(hours=2),
        )
        with pytest.raises(TokenExpired, match="Token has expired"):
            signer.decode(issued.token)

    def test_wrong_key(self, signer: TokenSigner) -> None:
        with pytest.raises(TokenInvalid, match="Invalid authentication token"):
            signer.decode(forge(claims(), secret=NEW_SECRET))

    def test_expired_token_with_wrong_key_is_invalid_not_expired(self, signer: TokenSigner) -> None:
        token = forge(claims(exp=int(utcnow().timestamp()) - 60), secret=NEW_SECRET)
        with pytest.raises(TokenInvalid):
            signer.decode(token)

    def test_raw_secret_is_not_the_signing_key(self, signer: TokenSigner) -> None:
        token = jwt.encode(claims(), SECRET, algorithm="HS256")
        with pytest.raises(TokenInvalid):
            signer.decode(token)

    @pytest.mark.parametrize("alg", ["none", "None", "NONE"])
    def test_alg_none(self, signer: TokenSigner, alg: str) -> None:
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims())}."
        with pytest.raises(TokenInvalid):
            signer.decode(token)

    def test_alg_none_from_pyjwt(self, signer: TokenSigner) -> None:
        token = jwt.encode(claims(), "", algorithm="none")
        with pytest.raises(TokenInvalid):
            signer.decode(token)

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    def test_other_hmac_algorithm_with_the_right_key(self, signer: TokenSigner) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(), algorithm="HS512"))

    @pytest.mark.parametrize("typ", ["refresh", "id", "", None, "ACCESS"])
    def test_wrong_typ(self, signer: TokenSigner, typ: str | None) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(typ=typ)))

    @pytest.mark.parametrize("missing", REQUIRED_CLAIMS)
    def test_missing_claim(self, signer: TokenSigner, missing: str) -> None:
        payload = claims()
        del payload[missing]
        with pytest.raises(TokenInvalid):
            signer.decode(forge(payload))

    def test_wrong_issuer(self, signer: TokenSigner) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(iss="someone-else")))

    @pytest.mark.parametrize("ver", [True, "0", 1.5, None])
    def test_token_version_must_be_an_integer(self, signer: TokenSigner, ver: Any) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(ver=ver)))

    @pytest.mark.parametrize("field", ["sub", "sid"])
    def test_subject_and_session_must_be_non_empty_strings(
        self, signer: TokenSigner, field: str
    ) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(**{field: ""})))

    def test_issued_in_the_future(self, signer: TokenSigner) -> None:
        future = int(utcnow().timestamp()) + 3600
        with pytest.raises(TokenInvalid):
            signer.decode(forge(claims(iat=future, exp=future + 600)))

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "sb-not-a-jwt", "x" * 5000])
    def test_garbage(self, signer: TokenSigner, garbage: str) -> None:
        with pytest.raises(TokenInvalid):
            signer.decode(garbage)

    def test_tampered_payload(self, signer: TokenSigner) -> None:
        token = signer.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0).token
        header, _, signature = token.split(".")
        forged = f"{header}.{b64(claims(sub='someone-else'))}.{signature}"
        with pytest.raises(TokenInvalid):
            signer.decode(forged)


class TestRotation:
    def test_old_tokens_verify_while_the_old_secret_is_listed(self) -> None:
        old = TokenSigner([OLD_SECRET])
        rotated = TokenSigner([NEW_SECRET, OLD_SECRET])
        token = old.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0).token
        assert rotated.decode(token).user_id == USER_ID

    def test_the_first_secret_signs(self) -> None:
        rotated = TokenSigner([NEW_SECRET, OLD_SECRET])
        token = rotated.issue(user_id=USER_ID, session_id=SESSION_ID, token_version=0).token
        assert TokenSigner([NEW_SECRET]).decode(token).user_id == USER_ID
        with pytest.raises(TokenInvalid):
            TokenSigner([OLD_SECRET]).decode(token)

    def test_removed_secret_no_longer_verifies(self) -> None:
        token = TokenSigner([OLD_SECRET]).issue(
            user_id=USER_ID, session_id=SESSION_ID, token_version=0
        )
        with pytest.raises(TokenInvalid):
            TokenSigner([NEW_SECRET]).decode(token.token)

    def test_expired_under_an_older_key_reports_expired(self) -> None:
        token = TokenSigner([OLD_SECRET]).issue(
            user_id=USER_ID,
            session_id=SESSION_ID,
            token_version=0,
            now=utcnow() - timedelta(hours=2),
        )
        with pytest.raises(TokenExpired):
            TokenSigner([NEW_SECRET, OLD_SECRET]).decode(token.token)


class TestConfiguration:
    def test_no_secrets(self) -> None:
        with pytest.raises(ValueError, match="at least one secret"):
            TokenSigner([])

    @pytest.mark.parametrize("weak", ["", "secret", "x" * 31])
    def test_weak_secret_is_refused(self, weak: str) -> None:
        with pytest.raises(ValueError, match="at least 32"):
            TokenSigner([SECRET, weak])

    def test_non_positive_ttl(self) -> None:
        with pytest.raises(ValueError):
            TokenSigner([SECRET], ttl_seconds=0)
