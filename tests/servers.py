"""Real servers for the tests that need more than one process: a database of their own,
and gunicorn started on a free loopback port with the production settings; nodes that
can be killed, the task worker, a private Redis and an S3 server (moto) beside them; a
browser that signs in and fills forms, and a load balancer that retries on another node."""

import http.client
import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from contextlib import contextmanager
from email.message import Message
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_database(tmp_path, name):
    """A DATABASE_URL of a new, empty database: a SQLite file, or on the PostgreSQL
    server that DATABASE_URL names (the tests' own run there), a database made for this."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        return
    import psycopg

    parts = urlsplit(url)
    database = f"kiji_{name}_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{database}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def environment(database_url, tmp_path, **extra):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.server_settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": "locmem://",
        "REDIS_URL": "",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MEDIA_STORAGE": "filesystem",
        "TASKS_BACKEND": "immediate",
        "PYTHONPATH": str(ROOT),
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(env, *args, script=None):
    """Run manage.py in a process of its own; what it printed. `script` runs in `shell -c`."""
    command = [PYTHON, str(ROOT / "manage.py"), *args]
    if script is not None:
        command += ["shell", "-c", script]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def gunicorn(env, workers=2, port=None):
    """gunicorn serving Kiji on 127.0.0.1; yields its base URL."""
    port = port or free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "cms.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(base, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {process.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"{base}/robots.txt", timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer in time")


def get(url, timeout=5):
    """(status, body text) of a GET with no keep-alive, so any worker may answer."""
    request = urllib.request.Request(url, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# Processes a test may kill, stop and start again: gunicorn nodes, the task worker, a
# private Redis, an S3-compatible object store. Each runs in a process group of its own
# and writes to a log file (a pipe nobody reads would fill and stall it).


class Node:
    """gunicorn serving Kiji on a free loopback port: a master and its workers."""

    def __init__(self, env, log_path, workers=2, port=None):
        self.env, self.log_path, self.workers = env, Path(log_path), workers
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        return self.spawn().wait_ready()

    def spawn(self):
        """Start gunicorn without waiting for it (nodes can then boot side by side)."""
        command = [PYTHON, "-m", "gunicorn", "cms.wsgi", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--log-level", "warning"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.base}/robots.txt", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"gunicorn on {self.base} did not answer:\n{log_tail(self.log_path)}")

    def kill(self):
        """SIGKILL the master and every worker at once, as a machine that dies."""
        _signal_group(self.process, signal.SIGKILL)

    def stop(self):
        _signal_group(self.process, signal.SIGTERM)


def _signal_group(process, signum, wait=10):
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signum)
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def log_tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def task_worker(env, log_path):
    """`manage.py db_worker` beside the servers, as in production."""
    command = [PYTHON, str(ROOT / "manage.py"), "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        _signal_group(process, signal.SIGTERM)


class RedisServer:
    """A private redis-server on its own port, with nothing saved to disk, that a test
    may stop and start again on the same port."""

    def __init__(self, log_path, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = Path(log_path)
        self.process = None

    def start(self):
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_port(self.port, self.process, "redis-server", self.log_path)
        return self

    def stop(self):
        _signal_group(self.process, signal.SIGKILL)


def _wait_for_port(port, process, name, log_path, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    _signal_group(process, signal.SIGKILL)
    raise AssertionError(f"{name} did not listen on port {port}:\n{log_tail(log_path)}")


# Credentials for a local S3-compatible server, which accepts any.
S3_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "kiji-test", "AWS_SECRET_ACCESS_KEY": "kiji-test-secret"}


@contextmanager
def object_store(log_path, bucket="kiji-media"):
    """moto's S3 server on a free loopback port with a bucket anyone may read, as
    public media need; yields the settings' variables (MEDIA_STORAGE=s3 …) for it."""
    import boto3

    port = free_port()
    command = [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, process, "moto_server", log_path)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_boto_credentials())
        client.create_bucket(Bucket=bucket)
        public_read = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
        }
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read))
        yield {
            "MEDIA_STORAGE": "s3",
            "MEDIA_S3_BUCKET": bucket,
            "MEDIA_S3_ENDPOINT_URL": endpoint,
            "MEDIA_S3_REGION": "us-east-1",
            **S3_TEST_CREDENTIALS,
        }
    finally:
        _signal_group(process, signal.SIGTERM, wait=5)


def _boto_credentials():
    return {"aws_access_key_id": S3_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": S3_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip


# A person at a browser, and a load balancer in front of two nodes, over real HTTP.


class Response(NamedTuple):
    status: int
    headers: Message
    body: bytes

    @property
    def text(self):
        return self.body.decode(errors="replace")


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the caller sees the 302 itself


class Browser:
    """Cookies, CSRF tokens and forms on one site, one connection per request (so any
    worker may answer); redirects are returned, not followed."""

    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _KeepRedirects)

    def request(self, path, data=None, headers=None, timeout=15):
        request = urllib.request.Request(
            path if "://" in path else self.base + path, data=data, headers={"Connection": "close", **(headers or {})}
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, path, **kwargs):
        return self.request(path, **kwargs)

    def csrf_token(self):
        return next((cookie.value for cookie in self.cookies if cookie.name == "csrftoken"), "")

    def post(self, path, fields, files=None):
        """POST `fields` ([(name, value)] or a dict) with the CSRF token, as a form;
        with `files` ({name: (filename, bytes, type)}) as multipart/form-data."""
        fields = list(fields.items() if isinstance(fields, dict) else fields)
        fields.append(("csrfmiddlewaretoken", self.csrf_token()))
        if files is None:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            body, kind = _multipart(fields, files)
        return self.request(path, data=body, headers={"Content-Type": kind, "Referer": self.base + path})

    def log_in(self, username, password):
        """Sign in to the admin; the response to the password (302 when it was right)."""
        self.get("/admin/login/")
        return self.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})

    def form(self, path, form_id):
        """The fields of form `form_id` on the page at `path`, as a browser would send them."""
        page = self.get(path)
        if page.status != 200:
            raise AssertionError(f"GET {path}: {page.status}")
        parser = _FormFields(form_id)
        parser.feed(page.text)
        if not parser.found:
            raise AssertionError(f"GET {path}: no form #{form_id}")
        return parser.fields


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n")  # fmt: skip
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _FormFields(HTMLParser):
    """[(name, value)] of the successful controls of one form: inputs (checked boxes
    only), textareas and selected options; no buttons, no files."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.found = form_id, False, False
        self.fields, self.select, self.textarea = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            self.found |= self.inside
        elif not self.inside or not attrs.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" in attrs:
                self.fields.append((attrs["name"], attrs.get("value", "on")))
            elif kind not in ("checkbox", "radio", "submit", "button", "image", "reset", "file"):
                self.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "textarea":
            self.textarea = [attrs["name"], ""]
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields.append((self.select, attrs.get("value", "")))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, value = self.textarea
            self.fields.append((name, value.removeprefix("\n")))  # as browsers drop it
            self.textarea = None


def replace_fields(fields, **values):
    """`fields` with each name in `values` given that one value."""
    return [(name, value) for name, value in fields if name not in values] + list(values.items())


class RetryingProxy:
    """A load balancer of a few dozen lines on a free loopback port: each GET goes to
    the first backend; when that connection fails (refused, reset, closed before the
    answer), it is sent once more, to the second. `retried` counts those by what failed
    (ConnectionRefusedError: the node was gone; a reset or RemoteDisconnected: it died
    with the request)."""

    def __init__(self, primary, secondary):
        self.backends = [urlsplit(primary).netloc, urlsplit(secondary).netloc]
        self.retried = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
                for attempt, backend in enumerate(proxy.backends):
                    try:
                        status, reply, body = _forward(backend, self.path, headers)
                        break
                    except (OSError, http.client.HTTPException) as error:
                        if attempt:
                            self.send_error(502, "both nodes failed")
                            return
                        with proxy.lock:
                            proxy.retried[type(error).__name__] += 1
                self.send_response(status)
                for name, value in reply:
                    if name.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                        self.send_header(name, value)
                self.send_header("X-Kiji-Node", backend)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _forward(backend, path, headers):
    connection = http.client.HTTPConnection(backend, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()
