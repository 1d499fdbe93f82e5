"""What benchmarks/serve.py stands on: the prepared site, gunicorn servers, CPU read from
/proc, and wrk."""

import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
TICKS = os.sysconf("SC_CLK_TCK")
# Every variable cms/settings.py reads (README, "Configuration"): none may leak in from
# the caller's shell and change what is measured.
SETTINGS_PREFIXES = ("KIJI_", "SECURE_", "DJANGO_", "MEDIA_", "AWS_", "CSP_")
SETTINGS_VARIABLES = {
    "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "CONN_MAX_AGE",
    "CACHE_URL", "REDIS_URL", "STATIC_ROOT", "LANGUAGE_CODE", "TIME_ZONE",
    "PAGE_CACHE_SECONDS", "CACHE_VERSION_TRUST", "BROWSER_MAX_AGE", "CDN_MAX_AGE",
    "STALE_WHILE_REVALIDATE", "CDN_PURGE_HOOK", "TASKS_BACKEND", "LOG_LEVEL", "RECENT_PAGES", "TRUSTED_PROXY_COUNT",
}  # fmt: skip
SEARCH_WORDS = ["量子", "画像生成", "推論"]


def base_env(work):
    """Production settings on loopback, over plain HTTP, with the work folder's files."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith(SETTINGS_PREFIXES)
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cms.settings",
        DEBUG="0",
        SECRET_KEY="kiji-serve-benchmark-only",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        STATIC_ROOT=str(Path(work) / "static"),
        TASKS_BACKEND="database",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env, *args, what, nice=0):
    """Run a management command, at `nice` (as background work runs in production);
    stop the benchmark with its output if it fails."""
    started = time.perf_counter()
    command = ["nice", "-n", str(nice), *MANAGE, *args] if nice else [*MANAGE, *args]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        sys.exit(f"{what}: `manage.py {' '.join(args)}` failed (exit {done.returncode}):\n{tail}")
    return done.stdout, time.perf_counter() - started


def import_site(env, site, label, log):
    """Migrate, import the Hugo site (None: it is imported already, from a run with
    --reuse, so upgrade it as the README says) and run the task worker until its queue
    is empty."""
    _, seconds = manage(env, "migrate", "--noinput", what=label)
    if site is not None:
        log(f"{label}: migrated in {seconds:.0f} s; importing {site.name}/ …")
        _, seconds = manage(env, "import_hugo", str(site), "--verbosity", "0", what=label)
        log(f"{label}: imported in {seconds:.0f} s; running the task worker …")
    else:
        log(f"{label}: migrated in {seconds:.0f} s; rendering the stored pages again …")
        _, seconds = manage(env, "render_pages", what=label)
        log(f"{label}: rendered in {seconds:.0f} s; running the task worker …")
    _, seconds = manage(env, "db_worker", "--batch", "--no-startup-delay", "--no-reload", what=label)
    log(f"{label}: tasks done in {seconds:.0f} s")
    if env["DATABASE_URL"].startswith("postgres"):
        # As autovacuum does soon after a bulk load, on a production server: the planner
        # needs the tables' statistics, and index-only scans the visibility map. This
        # machine's shared server runs without autovacuum (benchmarks/search.py too).
        _, seconds = manage(env, "shell", "--no-imports", "-c", VACUUM, what=label)
        log(f"{label}: vacuumed and analysed in {seconds:.0f} s")


VACUUM = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE")
"""


PICK_PAGES = """
import json, statistics
from django.db.models import Count
from posts import search
from posts.models import Post, Tag
posts = list(
    Post.objects.published().exclude(cover="").exclude(cover_renditions={})
    .annotate(tag_count=Count("tags", distinct=True), related_count=Count("related_links", distinct=True))
    # Boxes are markers in the body since the product registry (an imported card is one).
    .exclude(box_markers=[])
    .filter(tag_count__gt=0, related_count__gt=0)
    .only("slug", "body_html").order_by("pk")
)
middle = statistics.median_low([len(post.body_html) for post in posts]) if posts else None
article = next((post for post in posts if len(post.body_html) == middle), None)
tag = Tag.objects.with_post_counts().order_by("-post_count", "pk").first()
words = {word: search.search(Post.objects.published(), word).count() for word in WORDS}
print(json.dumps({
    "posts": Post.objects.published().count(),
    "article": article and article.get_absolute_url(), "article_html_bytes": middle,
    "candidates": len(posts), "tag": tag and tag.get_absolute_url(), "tag_posts": tag and tag.post_count,
    "search_results": words,
}))
"""


def pick_pages(env):
    """An article of median length with a cover, tags, a box and related posts; the tag
    with most posts; the first search word with a full page of results."""
    code = PICK_PAGES.replace("WORDS", repr(SEARCH_WORDS))
    out, _ = manage(env, "shell", "--no-imports", "-c", code, what="choosing the pages")
    found = json.loads(out.strip().splitlines()[-1])
    if not found["article"] or not found["tag"]:
        sys.exit(f"choosing the pages: the database has no suitable article or tag: {found}")
    word = next((w for w, n in found["search_results"].items() if n >= 10), None)
    if word is None:
        sys.exit(f"choosing the pages: no search word has a page of results: {found['search_results']}")
    found["search_word"] = word
    pages = {
        "article": found["article"],
        "home": "/",
        "tag": found["tag"],
        "search": "/search/?q=" + urllib.parse.quote(word),
    }
    return pages, found


# --- Services --------------------------------------------------------------------------


def postgres_problem(server_url):
    """Why PostgreSQL at `server_url` cannot be used, or None."""
    try:
        import psycopg

        psycopg.connect(f"{server_url}/postgres", connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means: skip, saying why
        return f"PostgreSQL at {server_url} is unreachable ({str(error).strip().splitlines()[0]})"
    return None


def redis_problem(url):
    """Why Redis at `url` cannot be used, or None."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        return f"Redis at {url} is unreachable ({error})"
    return None


def flush_redis(url):
    """Empty the one Redis database `url` names (the benchmark's own)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def postgres(server_url, sql, database="postgres"):
    """Run one statement with autocommit; the first column of its first row, if any."""
    import psycopg

    with psycopg.connect(f"{server_url}/{database}", autocommit=True) as connection:
        cursor = connection.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def service_versions(server_url, redis_url):
    versions = {}
    if server_url:
        versions["postgresql"] = postgres(server_url, "SELECT current_setting('server_version')")
    if redis_url:
        import redis

        versions["redis"] = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    return versions


# --- Servers ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`gunicorn <wsgi> --workers N` on a free loopback port, in a process group of its own."""

    running: ClassVar[list] = []  # every started server, so that an interrupted run stops them all

    def __init__(self, name, wsgi, env, workers, log_dir):
        self.name, self.wsgi, self.env, self.workers = name, wsgi, env, workers
        self.log_path = Path(log_dir) / f"gunicorn-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.log"
        self.process = None
        self.port = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path, timeout=60):
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", self.wsgi, "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        Server.running.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                status = fetch(self.base + ready_path)[0]
            except OSError:  # not listening yet
                time.sleep(0.2)
                continue
            if status == 200:
                return self
            break
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
        self.stop()
        raise RuntimeError(f"{self.name}: gunicorn did not answer {ready_path} with 200:\n{tail}")

    def stop(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        if self in Server.running:
            Server.running.remove(self)

    def pids(self):
        return [self.process.pid, *children(self.process.pid)]

    @classmethod
    def stop_all(cls):
        for server in list(cls.running):
            server.stop()


def fetch(url, gzip=True):
    """(status, headers, body) of one GET."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def warm(url, requests, seconds):
    """Send up to `requests` GETs, four at a time, for at most `seconds` (a slow page
    gets fewer); the last response's headers. Fails unless every answer is a 200."""
    deadline = time.monotonic() + seconds

    def one(_):
        return fetch(url)[0] if time.monotonic() < deadline else None

    with ThreadPoolExecutor(4) as pool:
        statuses = [status for status in pool.map(one, range(requests)) if status is not None]
    bad = [status for status in statuses if status != 200]
    if bad:
        raise RuntimeError(f"{url}: {len(bad)} of {len(statuses)} warm-up requests answered {sorted(set(bad))}")
    return fetch(url)[1]


# --- CPU from /proc --------------------------------------------------------------------


def children(pid):
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_ticks(pid):
    """utime + stime of a live process, in clock ticks; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def redis_pids():
    return [pid for pid in _all_pids() if _comm(pid) == "redis-server"]


class PostgresBackends:
    """The backends serving one database: children of the postmaster whose title names it."""

    def __init__(self, database):
        self.marker = f" {database} "
        parents = {pid: _parent(pid) for pid in _all_pids() if _comm(pid) == "postgres"}
        self.postmasters = [pid for pid, parent in parents.items() if parent not in parents]
        self.titles = {}

    def __call__(self):
        pids = []
        for postmaster in self.postmasters:
            for pid in children(postmaster):
                if pid not in self.titles:
                    self.titles[pid] = _cmdline(pid)
                if self.marker in self.titles[pid]:
                    pids.append(pid)
        return pids


def _parent(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


class Meter:
    """CPU seconds a changing set of processes spends between start() and stop(); a
    process born in between counts from its start, one that dies at its last sample."""

    def __init__(self, find_pids):
        self.find_pids = find_pids

    def start(self):
        self.first = {pid: ticks for pid in self.find_pids() if (ticks := cpu_ticks(pid)) is not None}
        self.last = dict(self.first)

    def sample(self):
        for pid in self.find_pids():
            ticks = cpu_ticks(pid)
            if ticks is not None:
                self.first.setdefault(pid, 0)
                self.last[pid] = ticks

    def stop(self):
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last) / TICKS

    def total(self):
        return sum(cpu_ticks(pid) or 0 for pid in self.find_pids())


def wait_idle(meter, quiet=0.5, timeout=120):
    """Wait until the processes spend no CPU for `quiet` seconds: requests wrk gave up
    on when it stopped are still queued in gunicorn's backlog and must not be counted
    in the next run."""
    deadline = time.monotonic() + timeout
    before = meter.total()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = meter.total()
        if now == before:
            return
        before = now


# --- wrk -------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def run_wrk(url, seconds, threads, connections, timeout, meters, interval=0.5):
    """Run wrk against `url` while sampling `meters`; wrk's figures and the CPU seconds
    each meter counted while wrk ran. Returns once the server is idle again."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s",
               "--latency", "-H", "Accept-Encoding: gzip", url]  # fmt: skip
    for meter in meters.values():
        meter.start()
    load = _Load()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            while process.poll() is None:
                time.sleep(interval)
                for meter in meters.values():
                    meter.sample()
        finally:
            if process.poll() is None:
                process.kill()
        cpu = {name: meter.stop() for name, meter in meters.items()}
        other = load.other_cores(sum(cpu.values()))
        output = process.stdout.read()
    wait_idle(meters["server"])
    if process.returncode:
        raise RuntimeError(f"wrk failed on {url} (exit {process.returncode}):\n{output}")
    return {**parse_wrk(output, url), "cpu_seconds": cpu, "other_cores": other}


def _busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _own_seconds():
    """CPU seconds of this process and of its waited-for children (wrk)."""
    return sum(usage.ru_utime + usage.ru_stime for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


class _Load:
    """How busy other work kept the machine: all CPU time less what the meters, wrk and
    this process spent, in CPUs."""

    def __init__(self):
        self.started, self.busy, self.own = time.monotonic(), _busy_seconds(), _own_seconds()

    def other_cores(self, measured):
        other = _busy_seconds() - self.busy - (_own_seconds() - self.own) - measured
        return max(other, 0.0) / (time.monotonic() - self.started)


def parse_wrk(output, url):
    def number(pattern, default=None):
        match = re.search(pattern, output)
        if match is None and default is None:
            raise RuntimeError(f"wrk on {url}: no {pattern!r} in its output:\n{output}")
        return match.groups() if match else default

    requests, read, read_unit = number(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read")
    latency = {}
    for percent in ("50", "99"):
        value, unit = number(rf"\n\s+{percent}%\s+([\d.]+)(\w+)")
        latency[percent] = float(value) * _UNITS[unit]
    errors = number(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", ("0",) * 4)
    return {
        "requests": int(requests),
        "requests_per_second": float(number(r"Requests/sec:\s+([\d.]+)")[0]),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "bytes_per_request": float(read) * _BYTES[read_unit] / max(int(requests), 1),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)", ("0",))[0]),
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, errors))),
    }


def tool_versions():
    wrk = subprocess.run(["wrk", "--version"], check=False, capture_output=True, text=True)
    import django
    import gunicorn

    return {
        "wrk": (wrk.stdout + wrk.stderr).split("Copyright")[0].removeprefix("wrk").strip(),
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "cpus": os.cpu_count(),
    }


def git_state():
    """The commit measured and how many files differ from it (read-only git)."""
    def git(*args):
        done = subprocess.run(["git", "--no-optional-locks", *args], check=False, cwd=ROOT, capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD").strip() or "unknown",
            "changed_files": len(git("status", "--short").splitlines())}  # fmt: skip


def require_wrk():
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk); there is nothing to measure with.")
