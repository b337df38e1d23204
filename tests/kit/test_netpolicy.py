"""The outbound URL/IP policy: syntax, address classes, origins and resolution."""

from __future__ import annotations

import pytest

from switchboard.kit.netpolicy import (
    BlockedUrl,
    ParsedOrigin,
    check_url_syntax,
    embedded_ipv4,
    is_forbidden_ip,
    origin_of,
    resolve_and_check,
)


class TestCheckUrlSyntax:
    def test_http_and_https_pass_with_default_ports(self) -> None:
        assert check_url_syntax("http://Example.COM/v1") == ParsedOrigin("http", "example.com", 80)
        assert check_url_syntax("https://api.x.ai") == ParsedOrigin("https", "api.x.ai", 443)

    def test_explicit_port_and_ipv6(self) -> None:
        assert check_url_syntax("http://[::1]:8080/") == ParsedOrigin("http", "::1", 8080)

    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/_FLUSHALL",
            "ftp://example.com/",
            "dict://127.0.0.1:11211/",
            "javascript:alert(1)",
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "https://example.com@169.254.169.254/",
            "http:///nohost",
            "http://",
            "",
            "http://example.com:99999/",
            "http://exa mple.com/",
            "http://example.com/\r\nHost: evil",
            "http://example.com\\@169.254.169.254/",
            "http://example.com\x00.evil/",
        ],
    )
    def test_refused(self, url: str) -> None:
        with pytest.raises(BlockedUrl):
            check_url_syntax(url)

    def test_message_does_not_echo_the_url(self) -> None:
        with pytest.raises(BlockedUrl) as caught:
            check_url_syntax("http://sk-secret@example.com/")
        assert "sk-secret" not in str(caught.value)


class TestOriginOf:
    @pytest.mark.parametrize(
        ("url", "origin"),
        [
            ("https://API.OpenAI.com/v1", "https://api.openai.com:443"),
            ("https://api.openai.com:443/v1/", "https://api.openai.com:443"),
            ("http://localhost:11434", "http://localhost:11434"),
            ("http://example.com", "http://example.com:80"),
            ("http://[::1]:8000/v1", "http://[::1]:8000"),
        ],
    )
    def test_canonical(self, url: str, origin: str) -> None:
        assert origin_of(url) == origin

    def test_path_change_keeps_origin_and_host_change_does_not(self) -> None:
        assert origin_of("https://a.example/v1") == origin_of("https://a.example/other")
        assert origin_of("https://a.example/v1") != origin_of("https://a.example.evil/v1")
        assert origin_of("https://a.example/v1") != origin_of("http://a.example/v1")


ALWAYS_FORBIDDEN = [
    "169.254.169.254",
    "169.254.0.1",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "fe80::1",
    "fe80::1%eth0",
    "fd00:ec2::254",
    "100.100.100.200",
    "192.0.0.192",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "2002:a9fe:a9fe::",  # 6to4 around the metadata address
    "64:ff9b::a9fe:a9fe",  # NAT64 around the metadata address
    "not-an-ip",
]
PRIVATE = [
    "127.0.0.1",
    "127.0.0.2",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "::1",
    "fd00::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64 around 10.0.0.1
    "198.18.0.1",
    "192.0.2.1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]


class TestIsForbiddenIp:
    @pytest.mark.parametrize("ip", ALWAYS_FORBIDDEN)
    def test_always_forbidden_even_when_private_is_allowed(self, ip: str) -> None:
        assert is_forbidden_ip(ip, allow_private=False)
        assert is_forbidden_ip(ip, allow_private=True)

    @pytest.mark.parametrize("ip", PRIVATE)
    def test_private_needs_consent(self, ip: str) -> None:
        assert is_forbidden_ip(ip, allow_private=False)
        assert not is_forbidden_ip(ip, allow_private=True)

    @pytest.mark.parametrize("ip", PUBLIC)
    def test_public_is_fine(self, ip: str) -> None:
        assert not is_forbidden_ip(ip, allow_private=False)

    def test_unwraps_embedded_ipv4(self) -> None:
        import ipaddress

        assert str(embedded_ipv4(ipaddress.IPv6Address("::ffff:1.2.3.4"))) == "1.2.3.4"
        assert str(embedded_ipv4(ipaddress.IPv6Address("64:ff9b::102:304"))) == "1.2.3.4"
        assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


def _resolver(answers: list[str]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(answers)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


class TestResolveAndCheck:
    async def test_all_answers_allowed(self) -> None:
        resolve = _resolver(["8.8.8.8", "2606:4700:4700::1111"])
        got = await resolve_and_check("dns.example", 443, False, resolve=resolve)
        assert got == ["8.8.8.8", "2606:4700:4700::1111"]

    async def test_one_bad_answer_blocks_the_name(self) -> None:
        resolve = _resolver(["8.8.8.8", "127.0.0.1"])
        with pytest.raises(BlockedUrl):
            await resolve_and_check("rebind.example", 80, False, resolve=resolve)

    async def test_metadata_answer_blocks_even_trusted(self) -> None:
        resolve = _resolver(["10.0.0.5", "169.254.169.254"])
        with pytest.raises(BlockedUrl):
            await resolve_and_check("internal.example", 80, True, resolve=resolve)

    async def test_literal_skips_the_resolver(self) -> None:
        resolve = _resolver(["8.8.8.8"])
        assert await resolve_and_check("127.0.0.1", 80, True, resolve=resolve) == ["127.0.0.1"]
        assert resolve.calls == []  # type: ignore[attr-defined]
        with pytest.raises(BlockedUrl):
            await resolve_and_check("::ffff:127.0.0.1", 80, False, resolve=resolve)

    async def test_no_answer_is_an_os_error(self) -> None:
        with pytest.raises(OSError):
            await resolve_and_check("empty.example", 80, False, resolve=_resolver([]))

    async def test_localhost_resolves_to_loopback_and_is_blocked(self) -> None:
        with pytest.raises(BlockedUrl):
            await resolve_and_check("localhost", 80, False)
        assert await resolve_and_check("localhost", 80, True)

    @pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "017700000001"])
    async def test_odd_ipv4_spellings_resolve_to_loopback_and_are_blocked(self, host: str) -> None:
        try:
            answers = await resolve_and_check(host, 80, True)
        except OSError:
            pytest.skip(f"this resolver does not accept {host!r}")
        assert answers == ["127.0.0.1"]
        with pytest.raises(BlockedUrl):
            await resolve_and_check(host, 80, False)
