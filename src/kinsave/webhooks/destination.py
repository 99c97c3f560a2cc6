"""Where a webhook may go: public internet addresses only, unless the settings allow private ones.

A shop's webhook URL is chosen by the shop, and kinsave sends to it from inside the platform's
network: without this check a URL like http://169.254.169.254/ or http://10.0.0.5:6379/ turns
the sender into a probe of kinsave's own network (server-side request forgery). A URL is checked
when it is registered, and again at each delivery *after* DNS resolution, on the address the
sender then connects to, so a name that later resolves elsewhere (DNS rebinding) gains nothing.

`is_public`, `literal_refusal` and `first_refused` are pure; `resolve` is the one function here
that does I/O (DNS).
"""

import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

import httpx

NAT64 = IPv6Network("64:ff9b::/96")  # IPv6 addresses that a NAT64 gateway maps to IPv4 ones


def is_public(address: IPv4Address | IPv6Address) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local
    (cloud metadata), shared (CGNAT), reserved, multicast and unspecified ones, including IPv4
    ones hidden inside IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_refusal(url: str) -> str | None:
    """Why the URL's host is refused without asking DNS (an address literal, localhost), or None."""
    host = httpx.URL(url).host
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    try:
        address = ip_address(host)
    except ValueError:
        return None  # a name: only DNS can tell
    return None if is_public(address) else f"{host} is not a public address"


def first_refused(host: str, addresses: list[str]) -> str | None:
    """Why the resolved host is refused, or None. One private address among public ones is
    enough: the sender could be led to it."""
    for address in addresses:
        if not is_public(ip_address(address.split("%")[0])):  # drop an IPv6 zone (fe80::1%eth0)
            return f"{host} resolves to {address}, which is not a public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order. Raises OSError (I/O)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    return addresses


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)
