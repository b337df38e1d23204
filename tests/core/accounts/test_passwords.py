"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from switchboard.core.accounts.passwords import Passwords


class TestHash:
    def test_default_is_argon2id(self) -> None:
        hashed = Passwords().hash("hunter22")
        assert hashed.startswith("$argon2id$")

    def test_salted(self, passwords: Passwords) -> None:
        assert passwords.hash("same password") != passwords.hash("same password")

    def test_hash_never_contains_the_password(self, passwords: Passwords) -> None:
        assert "hunter22" not in passwords.hash("hunter22")


class TestVerify:
    def test_right_password(self, passwords: Passwords) -> None:
        assert passwords.verify(passwords.hash("hunter22"), "hunter22")

    def test_wrong_password(self, passwords: Passwords) -> None:
        assert not passwords.verify(passwords.hash("hunter22"), "hunter23")

    def test_malformed_hash_is_a_mismatch_not_an_error(self, passwords: Passwords) -> None:
        assert not passwords.verify("not-a-hash", "hunter22")
        assert not passwords.verify("", "hunter22")

    def test_unicode(self, passwords: Passwords) -> None:
        assert passwords.verify(passwords.hash("pässwörd🔑"), "pässwörd🔑")

    async def test_async_variants(self, passwords: Passwords) -> None:
        hashed = await passwords.hash_async("hunter22")
        assert await passwords.verify_async(hashed, "hunter22")
        assert not await passwords.verify_async(hashed, "nope-nope")

    async def test_no_hash_is_a_dummy_verification_that_fails(self, passwords: Passwords) -> None:
        assert not await passwords.verify_async(None, "hunter22")


class TestNeedsRehash:
    def test_current_parameters(self, passwords: Passwords) -> None:
        assert not passwords.needs_rehash(passwords.hash("hunter22"))

    def test_weaker_parameters(self, passwords: Passwords) -> None:
        stronger = Passwords(PasswordHasher(time_cost=CHEAPEST.time_cost + 1, memory_cost=8))
        assert stronger.needs_rehash(passwords.hash("hunter22"))

    def test_malformed_hash(self, passwords: Passwords) -> None:
        assert passwords.needs_rehash("not-a-hash")


class TestDummyVerify:
    def test_runs_and_reuses_one_dummy_hash(self, passwords: Passwords) -> None:
        passwords.dummy_verify("anything")
        first = passwords._dummy_hash
        passwords.dummy_verify("something else")
        assert first is not None
        assert passwords._dummy_hash == first

    def test_dummy_hash_uses_the_configured_parameters(self, passwords: Passwords) -> None:
        passwords.dummy_verify("anything")
        assert passwords._dummy_hash is not None
        assert not passwords.needs_rehash(passwords._dummy_hash)
