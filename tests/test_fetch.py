"""Fetching remote images: public addresses only, one deadline, a size cap, image bytes."""

import gzip
import http.server
import ipaddress
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from posts.fetch import FetchError, fetch_image
from tests.conftest import image_bytes

PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html>\n<html><head><title>Not found</title></head><body>Sorry</body></html>"
# A public address on the fake internet below, which leads to the test server.
PUBLIC_ADDRESS = "1.2.3.4"
POLLINATIONS_PATH = (
    "/prompt/"
    + "A%20cozy%20desk%20with%20a%20mechanical%20keyboard%2C%20a%20GPU%20and%20warm%20lamp%20light%2C%20"
    * 6
    + "?width=1024&height=576&nologo=true"
)


def send(handler, body, content_type="image/png", status=200, headers=(), length=True):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location, status=302, headers=()):
    return lambda handler: send(handler, b"", "text/html", status, [("Location", location), *headers])


def stall(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(len(PNG)))
    handler.end_headers()
    handler.wfile.flush()
    handler.server.stop.wait(5)


def trickle(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for byte in (PNG * 20)[:1000]:
        if handler.server.stop.wait(0.05):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def declared_huge(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(int(14.2 * 1024 * 1024)))
    handler.end_headers()
    handler.wfile.write(PNG)
    handler.wfile.flush()
    handler.server.stop.wait(5)


def endless(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.end_headers()
    handler.wfile.write(PNG)
    while not handler.server.stop.is_set():
        handler.wfile.write(bytes(64 * 1024))


ROUTES = {
    "/cover.png": lambda handler: send(handler, PNG),
    "/photo": lambda handler: send(handler, JPEG, "application/octet-stream"),
    "/page.png": lambda handler: send(handler, HTML),
    "/drawing.svg": lambda handler: send(handler, SVG, "image/svg+xml"),
    "/missing.png": lambda handler: send(handler, HTML, "text/html", status=404),
    "/hop/1": redirect("/hop/2", headers=[("Set-Cookie", "session=secret; Path=/")]),
    "/hop/2": redirect("/cover.png", status=301),
    "/loop/a": redirect("/loop/b"),
    "/loop/b": redirect("/loop/a", status=307),
    "/to-file": redirect("file:///etc/passwd"),
    "/gzip": lambda handler: send(handler, gzip.compress(PNG), headers=[("Content-Encoding", "gzip")]),
    "/short": lambda handler: send(handler, PNG, headers=[("Content-Length", "1000")], length=False),
    "/stall": stall,
    "/trickle": trickle,
    "/huge": declared_huge,
    "/endless": endless,
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append((self.command, self.path, self.headers))
        path = self.path.partition("?")[0]
        if path == "/to-loopback":
            route = redirect(f"http://127.0.0.1:{self.server.server_port}/cover.png")
        elif path.startswith(("/prompt/", "/named/")):
            route = ROUTES["/cover.png"]
        else:
            route = ROUTES[path]
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetch gave up on this answer, as the test wants

    def log_message(self, format, *args):
        pass


def serve(wrap=None):
    """A ThreadingHTTPServer on 127.0.0.1, serving ROUTES in a thread; `wrap` its socket."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if wrap:
        server.socket = wrap(server.socket)
    server.requests = []
    server.stop = threading.Event()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def close(server):
    server.stop.set()
    server.shutdown()
    server.server_close()


def paths(server):
    return [path for method, path, headers in server.requests]


@pytest.fixture
def server():
    server = serve()
    yield server
    close(server)


@pytest.fixture
def local(server, settings):
    """The test server, reachable: private addresses allowed, as only tests allow them."""
    settings.KIJI_FETCH_ALLOW_PRIVATE = True
    return lambda path: f"http://127.0.0.1:{server.server_port}{path}"


class FakeInternet:
    """Lookups and connections, faked: `images.example` has PUBLIC_ADDRESS, which leads to
    the test servers on 127.0.0.1; other names are not found and other addresses refuse."""

    def __init__(self, monkeypatch):
        self.answers = {"images.example": [PUBLIC_ADDRESS]}
        self.lookups = []
        self.connections = []
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

        def getaddrinfo(host, port, *args, **kwargs):
            self.lookups.append(host)
            if host in self.answers:
                # The first answer, then the last one for every later lookup.
                addresses = self.answers[host]
                address = addresses.pop(0) if len(addresses) > 1 else addresses[0]
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
            if host == "localhost" or _is_address(host):
                return real_getaddrinfo(host, port, *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        def connect(sock, address):
            self.connections.append(address[0])
            if address[0] == PUBLIC_ADDRESS:
                return real_connect(sock, ("127.0.0.1", address[1]))
            if address[0] == "127.0.0.1":
                return real_connect(sock, address)
            raise ConnectionRefusedError(111, "Connection refused")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)


def _is_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@pytest.fixture
def internet(monkeypatch, settings):
    """The fake internet, with private addresses refused as in production."""
    settings.KIJI_FETCH_ALLOW_PRIVATE = False
    return FakeInternet(monkeypatch)


def test_an_image_is_fetched_with_its_bytes_type_and_name(local):
    fetched = fetch_image(local("/cover.png"))

    assert fetched.content == PNG
    assert fetched.content_type == "image/png"
    assert fetched.name == "cover.png"
    assert fetched.url == local("/cover.png")


def test_the_bytes_decide_the_type_whatever_the_server_calls_them(local):
    fetched = fetch_image(local("/photo"))

    assert fetched.content == JPEG
    assert fetched.content_type == "image/jpeg"
    assert fetched.name == "photo"


def test_the_request_is_a_get_from_kiji_that_asks_for_no_compression(local, server):
    fetch_image(local("/cover.png"))

    [(method, path, headers)] = server.requests
    assert method == "GET"
    assert headers["User-Agent"].startswith("Kiji/") and headers["User-Agent"].endswith("(+image import)")
    assert headers["Accept-Encoding"] == "identity"
    assert headers["Host"] == f"127.0.0.1:{server.server_port}"


def test_a_chain_of_redirects_is_followed_to_the_image_without_sending_cookies_back(local, server):
    fetched = fetch_image(local("/hop/1"))

    assert fetched.content == PNG
    assert fetched.url == local("/cover.png")
    assert paths(server) == ["/hop/1", "/hop/2", "/cover.png"]
    assert all("Cookie" not in headers for method, path, headers in server.requests)


def test_a_redirect_loop_is_refused(local):
    with pytest.raises(FetchError, match="redirects in a loop"):
        fetch_image(local("/loop/a"))


def test_more_redirects_than_the_setting_allows_are_refused(local, server, settings):
    settings.KIJI_FETCH_MAX_REDIRECTS = 1

    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/hop/1"))

    assert str(refusal.value) == f"{local('/hop/1')}: redirects more than 1 time"
    assert paths(server) == ["/hop/1", "/hop/2"]


def test_a_redirect_to_a_file_url_is_refused(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/to-file"))

    assert str(refusal.value) == (
        f"{local('/to-file')}: redirects to file:///etc/passwd, which is not an http or https URL"
    )


@pytest.mark.parametrize("url", ["ftp://images.example/cover.png", "file:///etc/passwd", "javascript:alert(1)"])
def test_only_http_and_https_urls_are_fetched(url, internet):
    with pytest.raises(FetchError) as refusal:
        fetch_image(url)

    assert str(refusal.value) == f"{url}: is not an http or https URL"
    assert internet.lookups == []


def test_a_url_with_a_user_name_and_password_is_refused_without_showing_them(local, server):
    with pytest.raises(FetchError) as refusal:
        fetch_image(f"http://editor:hunter2@127.0.0.1:{server.server_port}/cover.png")

    assert str(refusal.value) == f"{local('/cover.png')}: has a user name or password in it, which is not allowed"
    assert "hunter2" not in str(refusal.value)
    assert server.requests == []


def test_a_url_over_2048_characters_is_refused(local, server):
    url = local("/named/" + "a" * 2048)

    with pytest.raises(FetchError, match="is longer than 2,048 characters"):
        fetch_image(url)
    assert server.requests == []


def test_a_long_generated_image_url_is_fetched_and_given_a_short_safe_name(local, server):
    url = local(POLLINATIONS_PATH)
    assert 560 < len(url) < 2048

    fetched = fetch_image(url)

    assert fetched.content == PNG
    assert fetched.name.startswith("A-cozy-desk-with-a-mechanical-keyboard-a-GPU-and-warm-lamp-light-A-cozy")
    assert len(fetched.name) <= 100
    assert paths(server) == [POLLINATIONS_PATH]


@pytest.mark.parametrize(
    "path, name",
    [
        ("/named/covers/2024/gpu.webp", "gpu.webp"),
        ("/named/", "image"),
        ("/named/..%2F..%2Fetc%2Fpasswd", "etc-passwd"),
        ("/named/%E3%82%AB%E3%83%90%E3%83%BC%20%E7%94%BB%E5%83%8F.png", "カバー-画像.png"),
        ("/named/%00evil%0A.png", "evil-.png"),
        ("/named/" + "x" * 150 + ".jpeg", "x" * 95 + ".jpeg"),
    ],
)
def test_the_file_name_comes_from_the_last_part_of_the_path_made_safe(path, name, local):
    assert fetch_image(local(path)).name == name


@pytest.mark.parametrize(
    "url, address",
    [
        ("http://localhost/cover.png", "127.0.0.1"),
        ("http://[::1]/cover.png", "::1"),
        ("http://10.0.0.1/cover.png", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://100.64.0.1/cover.png", "100.64.0.1"),
        ("http://224.0.0.1/cover.png", "224.0.0.1"),
        ("http://0.0.0.0/cover.png", "0.0.0.0"),
        ("http://[::ffff:192.168.0.1]/cover.png", "::ffff:192.168.0.1"),
        ("http://[2002:c0a8:1::1]/cover.png", "2002:c0a8:1::1"),
    ],
)
def test_private_addresses_are_refused_before_any_connection(url, address, internet):
    with pytest.raises(FetchError) as refusal:
        fetch_image(url)

    assert str(refusal.value).endswith(f": is at a private address ({address}), which is not allowed")
    assert internet.connections == []


def test_the_test_server_itself_is_refused_unless_private_addresses_are_allowed(server, internet):
    url = f"http://127.0.0.1:{server.server_port}/cover.png"

    with pytest.raises(FetchError, match=r"is at a private address \(127\.0\.0\.1\)"):
        fetch_image(url)
    assert internet.connections == []
    assert server.requests == []


def test_a_redirect_to_a_private_address_is_refused(server, internet):
    url = f"http://images.example:{server.server_port}/to-loopback"

    with pytest.raises(FetchError) as refusal:
        fetch_image(url)

    assert str(refusal.value) == f"{url}: redirects to a private address (127.0.0.1), which is not allowed"
    assert paths(server) == ["/to-loopback"]


def test_a_host_is_looked_up_once_and_the_checked_address_is_the_one_connected_to(server, internet):
    # DNS rebinding: the name turns private right after it has been checked.
    internet.answers["images.example"] = [PUBLIC_ADDRESS, "10.0.0.1"]

    fetched = fetch_image(f"http://images.example:{server.server_port}/cover.png")

    assert fetched.content == PNG
    assert internet.lookups == ["images.example"]
    assert internet.connections == [PUBLIC_ADDRESS]
    [(method, path, headers)] = server.requests
    assert headers["Host"] == f"images.example:{server.server_port}"


def test_a_host_that_cannot_be_found_is_refused(internet):
    with pytest.raises(FetchError) as refusal:
        fetch_image("https://nowhere.example/cover.png")

    assert str(refusal.value) == "https://nowhere.example/cover.png: the host nowhere.example could not be found"


def test_a_missing_image_is_refused_with_the_status(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/missing.png"))

    assert str(refusal.value) == f"{local('/missing.png')}: the server answered 404"


def test_an_html_page_served_as_png_is_refused(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/page.png"))

    assert str(refusal.value) == f"{local('/page.png')}: is an HTML page, not an image"


def test_an_svg_is_refused_because_it_can_carry_scripts(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/drawing.svg"))

    assert str(refusal.value) == f"{local('/drawing.svg')}: is an SVG drawing, which can carry scripts"


def test_a_compressed_answer_is_refused(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/gzip"))

    assert str(refusal.value) == f"{local('/gzip')}: the server sent it compressed (gzip), which is not allowed"


def test_an_image_declared_over_the_limit_is_refused_before_its_body_is_read(local):
    # The server sends a few bytes and then waits: reading on would run into the deadline.
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/huge"), timeout=3)

    assert str(refusal.value) == f"{local('/huge')}: is 14.2 MB, over the 10 MB limit"


def test_an_answer_of_no_declared_length_is_read_no_further_than_the_limit(local, settings):
    settings.KIJI_MAX_UPLOAD_BYTES = 256 * 1024

    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/endless"), timeout=3)

    assert str(refusal.value) == f"{local('/endless')}: is over the 256 KB limit"


def test_an_answer_cut_short_is_refused(local):
    with pytest.raises(FetchError) as refusal:
        fetch_image(local("/short"))

    assert str(refusal.value) == f"{local('/short')}: the server stopped after {len(PNG)} of 1,000 bytes"


@pytest.mark.parametrize("path", ["/stall", "/trickle"])
def test_a_server_too_slow_runs_into_one_deadline_for_the_whole_fetch(path, local):
    # /trickle sends a byte every 0.05 s: no single read waits long, the whole does.
    started = time.monotonic()

    with pytest.raises(FetchError) as refusal:
        fetch_image(local(path), timeout=0.5)

    assert str(refusal.value) == f"{local(path)}: took longer than 0.5 s"
    assert time.monotonic() - started < 1


def test_the_deadline_setting_applies_when_no_timeout_is_given(local, settings):
    settings.KIJI_FETCH_TIMEOUT = 0.3

    with pytest.raises(FetchError, match="took longer than 0.3 s"):
        fetch_image(local("/stall"))


def test_each_fetch_is_logged_with_its_status_and_size_but_not_its_body(local, caplog):
    with caplog.at_level(logging.INFO, logger="posts.fetch"):
        fetch_image(local("/hop/2"))
        with pytest.raises(FetchError):
            fetch_image(local("/page.png"))

    assert [record.getMessage() for record in caplog.records] == [
        f"fetch {local('/hop/2')}: 301, 0 bytes",
        f"fetch {local('/cover.png')}: 200, {len(PNG)} bytes",
        f"fetch {local('/page.png')}: 200, {len(HTML)} bytes",
    ]


@pytest.fixture
def certificate(tmp_path):
    """(certificate, key) files of a self-signed certificate for images.example."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=images.example",
         "-addext", "subjectAltName=DNS:images.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate):
    """The test server over TLS with the certificate; `server.names` lists the SNI names it was sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names = []
    context.sni_callback = lambda sock, name, context: names.append(name)
    server = serve(wrap=lambda sock: context.wrap_socket(sock, server_side=True))
    server.names = names
    yield server
    close(server)


def test_https_verifies_the_certificate_for_the_host_name_at_the_checked_address(
    tls_server, certificate, internet, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    fetched = fetch_image(f"https://images.example:{tls_server.server_port}/cover.png")

    assert fetched.content == PNG
    assert tls_server.names == ["images.example"]
    assert internet.connections == [PUBLIC_ADDRESS]


def test_https_with_a_certificate_nobody_vouches_for_is_refused(tls_server, internet):
    url = f"https://images.example:{tls_server.server_port}/cover.png"

    with pytest.raises(FetchError, match="its certificate could not be verified"):
        fetch_image(url)
    assert tls_server.requests == []
