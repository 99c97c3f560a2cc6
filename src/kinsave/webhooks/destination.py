"""Where a webhook may go: public internet addresses only, unless the settings allow private ones.

A shop's webhook URL is chosen by the shop, and kinsave sends to it from inside the platform's
network: without this check a URL like http://169.254.169.254/ or http://10.0.0.5:6379/ turns
the sender into a probe of kinsave's own network (server-side request forgery). A URL is checked
when it is registered, and again at each delivery *after* DNS resolution, on the address the
sender then connects to, so a name that later resolves elsewhere (DNS rebinding) gains nothing.

`check_url` is total: any text either passes or raises KinsaveError `webhook_url_invalid` (not a
plain http(s) URL: control characters or spaces, full-width or other compatibility characters,
backslashes, unbalanced brackets, bad IDNA, labels over 63 or names over 253 characters, numeric
hosts spelled any way but a.b.c.d) or `webhook_url_not_public`. Parsers disagree on
`0177.0.0.1` (octal 127.0.0.1 to the resolver, decimal 177.0.0.1 to others) or `010.0.0.1`, so
no such spelling is ever sent to: it is refused as not public when the resolver's reading is
private, else as invalid.

`is_public`, `check_url`, `literal_refusal` and `first_refused` are pure; `resolve` is the one
function here that does I/O (DNS).
"""

import re
import socket
import unicodedata
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

import httpx
import idna

from kinsave.errors import KinsaveError, register_codes

register_codes({"webhook_url_invalid": 422, "webhook_url_not_public": 422})

NAT64 = IPv6Network("64:ff9b::/96")  # IPv6 addresses that a NAT64 gateway maps to IPv4 ones
MAX_URL_LENGTH = 2000
MAX_NAME_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")


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


def check_url(url: str, *, allow_private_urls: bool) -> httpx.URL:
    """The parsed URL, or KinsaveError webhook_url_invalid / webhook_url_not_public; no DNS.

    Total: whatever the text, nothing else is raised."""
    target = _parse(url)
    host = target.raw_host.decode("ascii").lower()
    if ":" in host:
        address: IPv4Address | IPv6Address = _ipv6_literal(host)
    else:
        name = _checked_name(host)
        numeric = _numeric_host(name)
        if numeric is None:
            if not allow_private_urls and (name == "localhost" or name.endswith(".localhost")):
                raise _not_public(f"{name} is this machine")
            return target
        address = numeric
        if str(address) != name:
            if allow_private_urls or is_public(address):
                raise _invalid(f"{name} is an ambiguous spelling of an address: write a.b.c.d")
            raise _not_public(f"{name} is {address}, which is not a public address")
    if not allow_private_urls and not is_public(address):
        raise _not_public(f"{host} is not a public address")
    return target


def literal_refusal(url: str) -> str | None:
    """Why the URL is refused without asking DNS (invalid, an address literal, localhost), or
    None."""
    try:
        check_url(url, allow_private_urls=False)
    except KinsaveError as error:
        return error.message
    return None


def _parse(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"longer than {MAX_URL_LENGTH} characters")
    for character in url:
        if unicodedata.category(character)[0] in "CZ":
            raise _invalid(f"contains a control, format or space character ({character!r})")
    if "\\" in url:
        raise _invalid("contains a backslash")  # read as "/" by browsers, not by every parser
    if unicodedata.normalize("NFKC", url) != url:
        raise _invalid("contains full-width or other compatibility characters")
    try:
        target = httpx.URL(url)
        target.raw_host.decode("ascii")
        port = target.port
    except (httpx.InvalidURL, ValueError) as error:  # IDNAError and UnicodeError are ValueErrors
        raise _invalid(f"not a URL: {error}") from None
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise _invalid("not an http:// or https:// URL with a host")
    if port is not None and not 1 <= port <= 65535:
        raise _invalid(f"port {port} is out of range")
    return target


def _ipv6_literal(host: str) -> IPv6Address:
    try:
        address = ip_address(host)
    except ValueError:
        raise _invalid(f"[{host}] is not an IPv6 address") from None
    if not isinstance(address, IPv6Address) or address.scope_id:
        raise _invalid(f"[{host}] is not a plain IPv6 address")
    return address


def _checked_name(host: str) -> str:
    """The host name without its final dot, if every label is a valid DNS label."""
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > MAX_NAME_LENGTH:
        raise _invalid(f"the host name is empty or over {MAX_NAME_LENGTH} characters")
    for label in name.split("."):
        if len(label) > 63:
            raise _invalid("a label of the host name is over 63 characters")
        if not _LABEL.fullmatch(label):
            raise _invalid(f"{label!r} is not a valid host name label")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, ValueError):
                raise _invalid(f"{label!r} is not a valid IDNA label") from None
    return name


def _numeric_host(name: str) -> IPv4Address | None:
    """The IPv4 address a resolver's inet_aton reads in a name whose last label is a number
    (127.1, 0x7f.1, 2130706433, 0177.0.0.1), or None for a name; invalid if no address."""
    parts = name.split(".")
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    values = [_number(part) for part in parts]
    if len(values) > 4 or any(value > 255 for value in values[:-1]):
        raise _invalid(f"{name} is not an IPv4 address")
    last_bits = 8 * (5 - len(values))
    if values[-1] >= 1 << last_bits:
        raise _invalid(f"{name} is not an IPv4 address")
    total = values[-1]
    for index, value in enumerate(values[:-1]):
        total |= value << (24 - 8 * index)
    return IPv4Address(total)


def _number(part: str) -> int:
    try:
        if part.startswith("0x"):
            return int(part[2:] or "0", 16)
        return int(part, 8) if len(part) > 1 and part.startswith("0") else int(part, 10)
    except ValueError:
        raise _invalid(f"{part!r} is not a number") from None


def _invalid(reason: str) -> KinsaveError:
    return KinsaveError("webhook_url_invalid", f"webhook URL refused: {reason}")


def _not_public(reason: str) -> KinsaveError:
    return KinsaveError("webhook_url_not_public", f"webhook URL refused: {reason}")


def first_refused(host: str, addresses: list[str]) -> str | None:
    """Why the resolved host is refused, or None. One private address among public ones is
    enough: the sender could be led to it."""
    for address in addresses:
        if not is_public(ip_address(address.split("%")[0])):  # drop an IPv6 zone (fe80::1%eth0)
            return f"{host} resolves to {address}, which is not a public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order. Raises OSError (I/O)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as error:  # a name the resolver cannot encode: no address either
        raise OSError(f"{host} cannot be resolved: {error}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    return addresses


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)
