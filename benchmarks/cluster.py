"""Kiji on more than one machine, for real: two gunicorn nodes sharing one database, one
Redis and one object store, with the task worker beside them.

One run
  (a) starts moto's S3 server on a free loopback port and makes a bucket anyone may read,
  (b) makes a fresh PostgreSQL database (SQLite file when PostgreSQL is not there) and
      migrates it,
  (c) starts node A and node B (gunicorn, 2 workers each) with the same environment:
      DATABASE_URL, CACHE_URL (Redis), MEDIA_STORAGE=s3 with the bucket, and
      TASKS_BACKEND=database with one `manage.py db_worker` beside them, as in
      production (README, "More than one machine"),
  (d) makes an editor (a new user with a random password, in the Editor group) and a
      draft post,
  (e) signs in to node A's admin over HTTP, publishes the post there, and polls node B
      until every worker there shows it: the delay from the commit (watched from outside,
      in the database), against a bound of 1 s; then the same for an edit,
  (f) uploads an image through node A's editor endpoint, puts it in the post and fetches
      it from the object store by the link node B's page gives: status, bytes, type,
      pixels against the original; and the cover copies the task worker made,
  (g) sends readers' requests through a small loopback proxy (GETs to node A; one that
      fails there is sent once more to node B), kills node A (SIGKILL to its master and
      workers) meanwhile, and counts the requests that failed,
  (h) prints a summary and stops everything (servers, moto, database) on the way out,
      also after an error or Ctrl-C.

    make cluster-demo
    make cluster-demo ARGS="--database-url postgres://postgres@127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/12"

Exits 1 if a check fails. tests/test_cluster.py runs the same scenario as assertions.
"""

import argparse
import io
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import (
    Browser,
    Node,
    RedisServer,
    RetryingProxy,
    environment,
    manage,
    object_store,
    own_database,
    replace_fields,
    task_worker,
)

WITHIN = 1.0  # seconds: the bound for a change on one node to show on another
SETUP = """
import json
from django.contrib.auth.models import Group, User
from posts.models import Post
editor = User.objects.create_user({username!r}, password={password!r}, is_staff=True)
editor.groups.add(Group.objects.get(name="Editor"))
post = Post.objects.create(title={title!r}, slug="cluster-demo", body="## 3行要約\\n\\n- 二台で配信する。\\n",
                           status="draft", author=editor)
print(json.dumps({{"pk": post.pk, "path": post.get_absolute_url()}}))
"""


class Cluster:
    """Everything of one run, started on entry and stopped on exit (LIFO: the nodes
    first, then the worker, the database, Redis, the object store)."""

    def __init__(self, work, redis_url=None, log=print):
        self.work, self.redis_url, self.log = Path(work), redis_url, log
        self.stack = ExitStack()

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc):
        self.stack.close()

    def _start(self):
        work, log = self.work, self.log
        self.s3 = self.stack.enter_context(object_store(work / "moto.log"))
        self.media_url = f"{self.s3['MEDIA_S3_ENDPOINT_URL']}/{self.s3['MEDIA_S3_BUCKET']}/"
        log(f"object store: moto on {self.media_url}")
        self.database_url = self.stack.enter_context(own_database(work, "cluster"))
        log(f"database: {self.database_label}")
        if self.redis_url is None:
            self.redis = RedisServer(work / "redis.log").start()
            self.stack.callback(self.redis.stop)
            self.redis_url = self.redis.url
        else:
            import redis

            redis.Redis.from_url(self.redis_url, socket_connect_timeout=2).flushdb()  # this run's own database
        log(f"cache: Redis at {self.redis_url}")
        self.env = environment(
            self.database_url,
            work,
            CACHE_URL=self.redis_url,
            PAGE_CACHE_SECONDS=86400,
            CACHE_VERSION_TRUST=0.25,
            TASKS_BACKEND="database",
            LOG_LEVEL="WARNING",
            **self.s3,
        )
        manage(self.env, "migrate", "--noinput")
        self.username, self.password = f"editor-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
        self.title = "二台構成の記事"
        made = json.loads(
            manage(self.env, script=SETUP.format(username=self.username, password=self.password, title=self.title))
            .strip()
            .splitlines()[-1]
        )
        self.post_pk, self.post_path = made["pk"], made["path"]
        log(f"editor {self.username} and a draft post ({self.post_path}) made")
        self.stack.enter_context(task_worker(self.env, work / "worker.log"))
        self.a, self.b = Node(self.env, work / "node-a.log"), Node(self.env, work / "node-b.log")
        for server in (self.a, self.b):
            self.stack.callback(server.stop)
            server.spawn()
        self.a.wait_ready(), self.b.wait_ready()
        log(f"node A on {self.a.base}, node B on {self.b.base} (2 gunicorn workers each), db_worker beside them")
        self.editor = Browser(self.a.base)
        signed_in = self.editor.log_in(self.username, self.password)
        if signed_in.status != 302:
            raise AssertionError(f"signing in on node A: {signed_in.status}\n{signed_in.text[:2000]}")

    @property
    def database_label(self):
        url = self.database_url
        return (
            f"PostgreSQL, database {url.rsplit('/', 1)[-1]}"
            if url.startswith("postgres")
            else f"SQLite, {url.removeprefix('sqlite:///')}"
        )


def until(condition, seconds=10, streak=10):
    """Poll `condition` until it holds `streak` times in a row (each request on a new
    connection, so every worker of the node answers some); when it first held."""
    deadline, held, first = time.monotonic() + seconds, 0, None
    while time.monotonic() < deadline:
        if condition():
            first = first or time.time()
            held += 1
            if held == streak:
                return first
        else:
            held, first = 0, None
    raise AssertionError(f"not seen within {seconds} s")


def page(base, path):
    return Browser(base).get(path)


def shows(base, path, text, seen):
    """Whether the page at `path` is there and holds `text`. `seen` keeps the longest
    answer ("slowest", seconds) and the time the page says the post was saved ("saved")."""
    started = time.monotonic()
    answer = page(base, path)
    seen["slowest"] = max(seen.get("slowest", 0.0), time.monotonic() - started)
    if answer.status != 200 or text not in answer.text:
        return False
    seen["saved"] = saved_at(answer.text)
    return True


def saved_at(html):
    """When the post was saved, from the page's JSON-LD (`updated_at`, to the
    microsecond): a moment before its transaction committed."""
    return datetime.fromisoformat(re.search(r'"dateModified":"([^"]+)"', html).group(1)).timestamp()


class CommitWatch(threading.Thread):
    """Watch the database from outside (its own connection, every few milliseconds)
    for the moment a change to the post is committed: `column` holding `value`."""

    def __init__(self, database_url, post_pk, column, value):
        super().__init__(daemon=True)
        self.database_url, self.column = database_url, column
        self.params = (post_pk, value)
        self.at, self.error = None, None
        self.watching, self.done = threading.Event(), threading.Event()

    def run(self):
        sql = f"SELECT 1 FROM posts_post WHERE id = %s AND {self.column} = %s"
        try:
            if self.database_url.startswith("postgres"):
                import psycopg

                connection = psycopg.connect(self.database_url, autocommit=True)
            else:
                import sqlite3

                connection = sqlite3.connect(self.database_url.removeprefix("sqlite:///"), isolation_level=None)
                sql = sql.replace("%s", "?")
            try:
                while True:
                    last = self.done.is_set()  # one more look after the request was answered
                    if connection.execute(sql, self.params).fetchone():
                        self.at = time.time()
                        return
                    self.watching.set()
                    if last:
                        return
                    time.sleep(0.003)
            finally:
                connection.close()
        except Exception as error:  # noqa: BLE001 - told by __exit__
            self.error = error
        finally:
            self.watching.set()

    def __enter__(self):
        self.start()
        self.watching.wait(10)  # the change is not made before the watch has looked once
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join(10)
        if self.error is not None:
            raise AssertionError(f"watching the database: {self.error!r}")


def visible(cluster, text, sent, answered, committed):
    """Poll node B for `text` on the post's page; the delays from the commit (seen from
    outside), from the save (the post's updated_at, which the page gives), from the
    request and from A's answer, and B's slowest answer meanwhile."""
    seen = {}
    first = until(lambda: shows(cluster.b.base, cluster.post_path, text, seen))
    committed = min(committed, answered)  # the watch looks every few ms; A answers after its commit
    return {
        "delay_ms": (first - committed) * 1000,
        "from_save_ms": (first - seen["saved"]) * 1000,
        "from_request_ms": (first - sent) * 1000,
        "after_answer_ms": (first - answered) * 1000,
        "request_ms": (answered - sent) * 1000,
        "slowest_ms": seen["slowest"] * 1000,
    }


def publish(cluster):
    """Publish the draft with node A's admin action; how long until node B shows it."""
    for _ in range(10):  # node B's workers have the draft's 404 and the home page in their caches
        assert page(cluster.b.base, cluster.post_path).status == 404
        page(cluster.b.base, "/")
    with CommitWatch(cluster.database_url, cluster.post_pk, "status", "published") as commit:
        sent = time.time()
        answer = cluster.editor.post(
            "/admin/posts/post/",
            {"action": "publish_now", "_selected_action": cluster.post_pk, "index": 0, "select_across": 0},
        )
        answered = time.time()
    if answer.status != 302 or commit.at is None:
        raise AssertionError(f"publishing on node A: {answer.status}\n{answer.text[:2000]}")
    return visible(cluster, cluster.title, sent, answered, commit.at)


def upload_image(cluster, content, filename="figure.png"):
    """The URL node A's editor endpoint gives for an uploaded image."""
    answer = cluster.editor.post(
        "/admin/posts/post/upload-image/", {}, files={"image": (filename, content, "image/png")}
    )
    if answer.status != 200:
        raise AssertionError(f"upload on node A: {answer.status} {answer.text[:500]}")
    code = json.loads(answer.body)["image_code"]
    return re.fullmatch(r"!\[\]\((.+)\)", code).group(1)


def edit(cluster, title, body_addition="", cover=None):
    """Save the post in node A's change form with a new title, maybe Markdown added to
    its body and a new cover (JPEG bytes); how long until node B shows the new title."""
    path = f"/admin/posts/post/{cluster.post_pk}/change/"
    fields = cluster.editor.form(path, "post_form")
    body = dict(fields)["body"].rstrip() + "\n\n" + body_addition + "\n"
    with CommitWatch(cluster.database_url, cluster.post_pk, "title", title) as commit:
        sent = time.time()
        answer = cluster.editor.post(
            path,
            replace_fields(fields, title=title, body=body, _save="Save"),
            files={"cover": ("cover.jpg", cover, "image/jpeg")} if cover else {},
        )
        answered = time.time()
    if answer.status != 302 or commit.at is None:
        errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', answer.text, re.DOTALL)
        raise AssertionError(f"saving on node A: {answer.status} {errors or answer.text[:2000]}")
    cluster.title = title
    return visible(cluster, title, sent, answered, commit.at)


def fetch(url):
    answer = Browser("").get(url)
    return {"url": url, "status": answer.status, "type": answer.headers.get("Content-Type"), "bytes": len(answer.body),
            "cache_control": answer.headers.get("Cache-Control"), "body": answer.body}  # fmt: skip


def upload_served_by_other_node(cluster, original):
    """Upload `original` (PNG bytes) on node A, add it to the post there, and fetch it by
    the link on node B's page: the answer, and whether its pixels are the original's."""
    from PIL import Image

    url = upload_image(cluster, original)
    changed = edit(cluster, "二台構成の記事（画像つき）", f"![]({url})")
    html = page(cluster.b.base, cluster.post_path).text
    links = [unescape(src) for src in re.findall(r'<img src="([^"]+)"', html)]
    linked = next((link for link in links if link == url), None)
    if linked is None:
        raise AssertionError(f"node B's page does not link {url}; it links {links}")
    got = fetch(linked)
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(got["body"])) as after:
        same = before.size == after.size and before.convert("RGB").tobytes() == after.convert("RGB").tobytes()
    return {**got, "same_pixels": same, "edit": changed}


def cover_copies(cluster, seconds=30):
    """Give the post a cover on node A; wait for node B's page to show the resized
    copies the task worker made, and fetch them from the object store. Also the slowest
    answer node B gave meanwhile."""
    changed = edit(cluster, "二台構成の記事（表紙つき）", cover=sample_image("JPEG", (1600, 900)))
    slowest = changed["slowest_ms"] / 1000

    def srcset():
        nonlocal slowest
        started = time.monotonic()
        html = page(cluster.b.base, cluster.post_path).text
        slowest = max(slowest, time.monotonic() - started)
        match = re.search(r'<source type="image/webp" srcset="([^"]+)"', html)
        return [unescape(part.split()[0]) for part in match.group(1).split(",")] if match else []

    seen = []

    def linked():
        seen[:] = srcset()
        return bool(seen)

    started = time.monotonic()
    until(linked, seconds=seconds, streak=3)
    waited = time.monotonic() - started
    # The links node B gave last, not a new page: a worker that saw the copies' change
    # later (within KIJI_CACHE_VERSION_TRUST) may still send the page from before it.
    answers = [fetch(url) for url in seen]
    return {
        "edit": changed,
        "waited_s": waited,
        "slowest_ms": slowest * 1000,
        "copies": [{key: value for key, value in answer.items() if key != "body"} for answer in answers],
    }


def kill_during_requests(cluster, seconds=3.0, kill_after=1.0, threads=3):
    """Readers' GETs through the retrying proxy (node A first, node B on a failed
    connection) while node A is killed; what they got."""
    paths = [cluster.post_path, "/", "/posts/", "/index.xml", "/sitemap.xml"]
    results, lock = Counter(), threading.Lock()
    failures = []
    with RetryingProxy(cluster.a.base, cluster.b.base) as proxy:
        deadline = time.monotonic() + seconds

        def read(offset):
            count = offset
            while time.monotonic() < deadline:
                path = paths[count % len(paths)]
                count += 1
                try:
                    answer = page(proxy.base, path)
                    outcome = (answer.status, answer.headers.get("X-Kiji-Node"))
                except OSError as error:
                    outcome = ("error", type(error).__name__)
                with lock:
                    results[outcome] += 1
                    if outcome[0] == "error" or outcome[0] >= 500:
                        failures.append((path, outcome))

        readers = [threading.Thread(target=read, args=(n,)) for n in range(threads)]
        for reader in readers:
            reader.start()
        time.sleep(kill_after)
        killed_at = time.monotonic()
        cluster.a.kill()
        kill_ms = (time.monotonic() - killed_at) * 1000
        for reader in readers:
            reader.join()
        retried = dict(proxy.retried)
    nodes = {cluster.a.base.split("//")[1]: "A", cluster.b.base.split("//")[1]: "B"}
    by = Counter()
    for (status, backend), count in results.items():
        by[f"{status} from {nodes.get(backend, backend)}"] += count
    return {"requests": sum(results.values()), "failed": len(failures), "failures": failures[:5],
            "retried": sum(retried.values()), "retried_after": retried, "by": dict(by), "kill_ms": kill_ms}  # fmt: skip


def sample_image(kind="PNG", size=(640, 360)):
    """An image with detail in it (a gradient and a grid), as bytes of `kind`."""
    from PIL import Image, ImageDraw

    width, height = size
    across, down = Image.linear_gradient("L").rotate(90).resize(size), Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", [across, down, Image.effect_noise(size, 40)])
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 40):
        draw.line([(x, 0), (x, height)], fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def scenario(cluster, say=print):
    """Steps (e) to (g) on a running cluster: [(check, passed, what was measured)]."""
    checks = []
    bound = WITHIN * 1000
    say("publishing on node A …")
    published = publish(cluster)
    detail = (
        f"{published['delay_ms']:.0f} ms after the commit (bound {bound:.0f} ms); {published['from_save_ms']:.0f} ms "
        f"after the save, {published['after_answer_ms']:.0f} ms after A answered"
    )
    checks.append(("publish on A visible on every worker of B", published["delay_ms"] < bound, detail))

    say("uploading an image on node A and adding it to the post …")
    original = sample_image()
    served = upload_served_by_other_node(cluster, original)
    edited = served["edit"]
    detail = f"{edited['delay_ms']:.0f} ms after the commit; {edited['after_answer_ms']:.0f} ms after A answered"
    checks.append(("edit on A (title, image in the body) visible on B", edited["delay_ms"] < bound, detail))
    detail = (
        f"{served['status']} {served['type']}, {served['bytes']} bytes ({len(original)} uploaded, saved again; "
        f"pixels {'identical' if served['same_pixels'] else 'DIFFERENT'}), Cache-Control {served['cache_control']!r}"
        f"\n        {served['url']}"
    )
    good = served["status"] == 200 and served["type"] == "image/png" and served["same_pixels"]
    checks.append(("upload on A served by the link on B's page", good, detail))

    say("giving the post a cover on node A …")
    copies = cover_copies(cluster)
    kinds = Counter(f"{copy['status']} {copy['type']}" for copy in copies["copies"])
    detail = (
        f"{len(copies['copies'])} WebP copies on B's page {copies['waited_s']:.1f} s after the new title (which B "
        f"showed {copies['edit']['delay_ms']:.0f} ms after the commit); from the object store: {dict(kinds)}; "
        f"B's slowest page meanwhile {copies['slowest_ms']:.0f} ms"
    )
    good = bool(copies["copies"]) and all(copy["status"] == 200 for copy in copies["copies"])
    checks.append(("cover copies made by the task worker, linked by B", good, detail))

    say("killing node A during requests through the proxy …")
    killed = kill_during_requests(cluster)
    detail = (
        f"{killed['requests']} requests in 3 s, {killed['failed']} failed, {killed['retried']} retried on B "
        f"(after {killed['retried_after']}); answers {killed['by']}"
        + (f"; failures {killed['failures']}" if killed["failures"] else "")
    )
    checks.append(("node A killed: no request lost", killed["failed"] == 0 and killed["retried"] > 0, detail))
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to make the run's own database on (default: %(default)s); "
                             "'sqlite' for a SQLite file; an unreachable server means SQLite too")  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12",
                        help="a Redis database of this run's own, flushed first (default: %(default)s); "
                             "'private' or an unreachable one starts a redis-server of its own")  # fmt: skip
    args = parser.parse_args()
    # A `kill` of the run stops what it started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def say(message):
        print(f"· {message}", flush=True)

    os.environ["DATABASE_URL"] = postgres_or_sqlite(args.database_url, say)
    redis_url = reachable_redis(args.redis_url, say)
    work = Path(tempfile.mkdtemp(prefix="kiji-cluster-"))
    keep = False
    try:
        with Cluster(work, redis_url=redis_url, log=say) as cluster:
            checks = scenario(cluster, say)
            setup = f"{cluster.database_label}; Redis {cluster.redis_url}; media on S3 (moto) {cluster.media_url}"
    except KeyboardInterrupt:
        print("\ninterrupted: everything it started is stopped", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - whatever failed: say so, keep the logs
        keep = True
        if not isinstance(error, AssertionError):
            traceback.print_exc()
        print(f"\nFAILED: {error}\nlogs (gunicorn, worker, moto, Redis): {work}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nKiji on two nodes (2 gunicorn workers each) and one db_worker: {setup}\n")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print("\nstopped: both nodes, the worker, moto, Redis (if its own), the database (dropped)")
    return 0 if all(ok for _name, ok, _detail in checks) else 1


def postgres_or_sqlite(server_url, say):
    """The URL own_database makes the run's database beside: PostgreSQL if it answers."""
    if server_url == "sqlite":
        return ""
    try:
        import psycopg

        psycopg.connect(server_url, connect_timeout=3).close()
        return server_url
    except Exception as error:  # noqa: BLE001 - any failure: SQLite instead
        say(f"PostgreSQL at {server_url} does not answer ({str(error).strip().splitlines()[0]}): SQLite instead")
        return ""


def reachable_redis(url, say):
    """`url` if that Redis answers; None (a private redis-server) otherwise."""
    if url == "private":
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except Exception as error:  # noqa: BLE001 - any failure: a private one instead
        say(f"Redis at {url} does not answer ({error}): a private redis-server instead")
        return None


if __name__ == "__main__":
    sys.exit(main())
