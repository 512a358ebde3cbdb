"""Which webhook URLs may be called (server-side request forgery guard).

A URL is checked when a subscription is created or changed (a 422 for the caller) and
again before every attempt, because what a host name resolves to can change. The check
resolves the host and refuses private, loopback, link-local, multicast, reserved,
unspecified and other non-global addresses, unless the organization allows them (org
setting `webhooks_allow_private`). The attempt then connects to the address that was
checked (the URL's host is replaced by it; `Host` and TLS SNI keep the name), so a DNS
answer that changes between the check and the connection cannot redirect the request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

MAX_URL_LENGTH = 2048
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message is safe to show to the caller."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where an attempt goes: the URL to request, plus headers and transport extensions
    that keep the original host name for `Host` and TLS."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def parse(url: str) -> httpx.URL:
    """Syntax only: absolute http(s) URL with a host and without credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() for c in url):
        raise UnsafeUrl("must not contain whitespace")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeUrl("not a valid URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeUrl("must be an http or https URL")
    if not parsed.host:
        raise UnsafeUrl("must name a host")
    if parsed.userinfo:
        raise UnsafeUrl("must not carry credentials; receivers authenticate the signature")
    if parsed.fragment:
        raise UnsafeUrl("must not have a fragment")
    return parsed


def is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip in NAT64:
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("the host name does not resolve") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeUrl("the host name does not resolve")
    return addresses


def _port(parsed: httpx.URL) -> int:
    return parsed.port or (443 if parsed.scheme == "https" else 80)


async def check(url: str, allow_private: bool) -> httpx.URL:
    """Validate a subscription's URL; raises `UnsafeUrl` with a reason for the caller."""
    parsed = parse(url)
    if not allow_private:
        await _public_addresses(parsed)
    return parsed


async def _public_addresses(parsed: httpx.URL) -> list[IPAddress]:
    addresses = await resolve(parsed.host, _port(parsed))
    # Every address must be public: a name answering with one public and one private
    # address would otherwise let the connection pick the private one.
    if not all(is_public(ip) for ip in addresses):
        raise UnsafeUrl(
            "resolves to a private, loopback, link-local or reserved address; "
            "the organization does not allow those (settings.webhooks_allow_private)"
        )
    return addresses


async def target(url: str, allow_private: bool) -> Target:
    """The checked destination of one attempt, pinned to the address that was checked."""
    parsed = parse(url)
    if allow_private:
        return Target(url=str(parsed))
    ip = (await _public_addresses(parsed))[0]
    if _literal(parsed.host) is not None:
        return Target(url=str(parsed))
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    pinned = parsed.copy_with(host=str(ip))
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(url=str(pinned), headers={"Host": host_header}, extensions=extensions)
