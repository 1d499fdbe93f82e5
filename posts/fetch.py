"""Downloading a remote image safely, for the image pipeline to check and save again:
public addresses only (each redirect checked again, the checked address the one
connected to), one deadline for the whole fetch, a size cap, and bytes that start
like an image whatever the server calls them."""

import http.client
import io
import ipaddress
import logging
import re
import socket
import ssl
import time
from importlib.metadata import PackageNotFoundError, version
from typing import NamedTuple
from urllib.parse import quote, unquote, urljoin, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK_BYTES = 64 * 1024
NAME_LENGTH = 100
try:
    USER_AGENT = f"Kiji/{version('kiji')} (+image import)"
except PackageNotFoundError:  # running from a checkout that was never installed
    USER_AGENT = "Kiji (+image import)"
REQUEST_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1",
    # Anything but identity would be decompressed into more than the size cap measured.
    "Accept-Encoding": "identity",
    "Connection": "close",
}
# Not public, though Python 3.11's is_global says they are: IETF protocol assignments
# and IPv6's old site-local range.
NOT_PUBLIC = [ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("fec0::/10")]
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Characters left as they are when a path or query is quoted for the request line:
# reserved and unreserved ones and "%", so escapes already there are kept.
URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


class FetchError(Exception):
    """A remote image that could not or may not be fetched; the message says why."""


class Fetched(NamedTuple):
    """A fetched image: its bytes, the URL they came from after any redirects, the media
    type they start like and a file name taken from that URL."""

    content: bytes
    url: str
    content_type: str
    name: str


class _Deadline:
    """A point in time that the whole fetch must finish by."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


def fetch_image(url, *, max_bytes=None, timeout=None, max_redirects=None):
    """The image at `url` as a Fetched; FetchError for anything unsafe or not an image."""
    max_bytes = settings.KIJI_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    timeout = settings.KIJI_FETCH_TIMEOUT if timeout is None else timeout
    max_redirects = settings.KIJI_FETCH_MAX_REDIRECTS if max_redirects is None else max_redirects
    deadline = _Deadline(timeout)
    shown = _without_userinfo(url)
    current, seen = url, {url}
    try:
        for hops in range(max_redirects + 1):
            answer = _get(shown, current, deadline, max_bytes, redirected=hops > 0)
            if isinstance(answer, Fetched):
                return answer
            current = urljoin(current, answer)
            if current in seen:
                raise FetchError(f"{shown}: redirects in a loop")
            seen.add(current)
        times = "time" if max_redirects == 1 else "times"
        raise FetchError(f"{shown}: redirects more than {max_redirects} {times}")
    except TimeoutError:
        raise FetchError(f"{shown}: took longer than {timeout:g} s") from None
    except ssl.SSLCertVerificationError as error:
        raise FetchError(f"{shown}: its certificate could not be verified ({error.verify_message})") from None
    except ssl.SSLError as error:
        raise FetchError(f"{shown}: the secure connection failed ({error.reason or error})") from None
    except http.client.RemoteDisconnected:
        raise FetchError(f"{shown}: the server closed the connection without answering") from None
    except http.client.HTTPException as error:
        raise FetchError(f"{shown}: the server's answer is not valid HTTP ({type(error).__name__})") from None
    except OSError as error:
        raise FetchError(f"{shown}: the connection failed ({error.strerror or error})") from None


def _without_userinfo(url):
    """`url` for messages, without a user name or password it may hold."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _get(original, url, deadline, max_bytes, *, redirected):
    """One request: a Fetched for an image, or where a redirect points."""
    host, port, target = _check_url(original, url, redirected=redirected)
    addresses = _resolve(original, host, port, deadline, redirected=redirected)
    connection_class = _PinnedHTTPSConnection if urlsplit(url).scheme == "https" else _PinnedConnection
    connection = connection_class(host, port, addresses, deadline)
    status, body = None, bytearray()
    try:
        connection.request("GET", target, headers=REQUEST_HEADERS)
        # Read the answer here rather than through getresponse(), so that each receive
        # waits only until the deadline, however slowly the server trickles bytes.
        response = http.client.HTTPResponse(_DeadlineSocket(connection.sock, deadline), method="GET")
        response.begin()
        status = response.status
        if status in REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise FetchError(f"{original}: the server answered {status} without saying where to")
            return location
        if status != 200:
            raise FetchError(f"{original}: the server answered {status}")
        _read_body(original, response, max_bytes, body)
    finally:
        connection.close()
        if status is not None:
            logger.info("fetch %s: %s, %d bytes", url, status, len(body))
    content = bytes(body)
    content_type = _image_type(original, content, response.getheader("Content-Type", ""))
    return Fetched(content=content, url=url, content_type=content_type, name=_file_name(url))


def _check_url(original, url, *, redirected):
    """(host, port, request target) of `url`; FetchError unless it may be fetched."""

    def refused(problem, *, show=True):
        if not redirected:
            return FetchError(f"{original}: {problem}")
        target = f"{url}, which" if show else "a URL that"
        return FetchError(f"{original}: redirects to {target} {problem}")

    if len(url) > MAX_URL_LENGTH:
        raise refused(f"is longer than {MAX_URL_LENGTH:,} characters", show=False)
    if any(ord(character) < 32 or ord(character) == 127 for character in url):
        raise refused("has control characters in it", show=False)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refused("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise refused("is not an http or https URL")
    if "@" in parts.netloc:
        raise refused("has a user name or password in it, which is not allowed", show=False)
    if not parts.hostname:
        raise refused("has no host name")
    target = quote(parts.path or "/", safe=URL_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=URL_SAFE)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def _resolve(original, host, port, deadline, *, redirected):
    """[(family, socket address)] of `host`, each checked to be public unless the
    KIJI_FETCH_ALLOW_PRIVATE setting allows any."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"{original}: the host {host} could not be found") from None
    deadline.remaining()
    if not settings.KIJI_FETCH_ALLOW_PRIVATE:
        for *_, sockaddr in found:
            if not _is_public(ipaddress.ip_address(sockaddr[0])):
                where = "redirects to" if redirected else "is at"
                raise FetchError(f"{original}: {where} a private address ({sockaddr[0]}), which is not allowed")
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in found]


def _is_public(address):
    """Whether `address`, or the IPv4 address an IPv6 one stands for, is reachable on the
    public internet."""
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return (
        address.is_global
        and not (address.is_multicast or address.is_reserved or address.is_unspecified)
        and not any(address in network for network in NOT_PUBLIC if network.version == address.version)
    )


def _open_socket(addresses, deadline):
    """A socket connected to the first of `addresses` that answers."""
    error = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(sockaddr)
            return sock
        except OSError as failure:
            sock.close()
            error = failure
    raise error


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to addresses checked beforehand, not to a fresh lookup of the host name,
    which DNS rebinding could point somewhere else."""

    def __init__(self, host, port, addresses, deadline):
        super().__init__(host, port, timeout=deadline.remaining())
        self._addresses = addresses
        self._deadline = deadline

    def connect(self):
        self.sock = _open_socket(self._addresses, self._deadline)


class _PinnedHTTPSConnection(_PinnedConnection):
    """HTTPS to checked addresses, the certificate verified for the host name (sent as SNI)."""

    default_port = 443

    def connect(self):
        super().connect()
        self.sock.settimeout(self._deadline.remaining())
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


class _DeadlineSocket:
    """What http.client reads an answer from: a socket whose receives wait only until
    the deadline."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode):
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock, deadline):
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)


def _read_body(original, response, max_bytes, body):
    """The body of `response` into the bytearray `body`, read no further than `max_bytes`."""
    encoding = response.getheader("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(f"{original}: the server sent it compressed ({encoding}), which is not allowed")
    declared = response.length
    if declared is not None and declared > max_bytes:
        raise FetchError(f"{original}: is {_size(declared)}, over the {_size(max_bytes)} limit")
    while chunk := response.read(min(CHUNK_BYTES, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"{original}: is over the {_size(max_bytes)} limit")
    if declared is not None and len(body) < declared:
        raise FetchError(f"{original}: the server stopped after {len(body):,} of {declared:,} bytes")


def _image_type(original, content, claimed_type):
    """The media type `content` starts like; FetchError unless it is an image Kiji takes."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    start = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in start:
        raise FetchError(f"{original}: is an SVG drawing, which can carry scripts")
    if start.startswith(b"<") and (b"<html" in start or b"<!doctype html" in start):
        raise FetchError(f"{original}: is an HTML page, not an image")
    if not content:
        raise FetchError(f"{original}: is empty")
    claimed_type = claimed_type.partition(";")[0].strip()[:100]
    claimed = f" (the server calls it {claimed_type})" if claimed_type else ""
    raise FetchError(f"{original}: is not a JPEG, PNG, GIF, WebP or AVIF image{claimed}")


def _file_name(url):
    """A safe file name of at most NAME_LENGTH characters from the last part of the
    path of `url`; "image" when it has none."""
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^\w.]+", "-", last).strip(".-")
    if len(name) > NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = stem[: NAME_LENGTH - len(extension) - 1].rstrip(".-") + "." + extension
        else:
            name = name[:NAME_LENGTH].rstrip(".-")
    return name or "image"


def _size(count):
    """A byte count for messages: 900 bytes, 12.5 KB, 14.2 MB."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count:,} bytes"
