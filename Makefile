# Kiji: `make run` for a demo site on SQLite, `make test` for the whole suite.
PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The demo always runs on its own SQLite file, whatever DATABASE_URL says.
RUN_ENV := DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3

.PHONY: run test bench-import bench-pages bench-serve bench-stampede bench-explain cluster-demo clean messages

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The task worker runs beside the server (related posts, cover copies, stored pages);
# both stop with Ctrl-C.
run: $(VENV)/.installed
	@$(PY) -m cms.freeport "$(PORT)"
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py load_demo --port $(PORT)
	@$(RUN_ENV) $(PY) manage.py db_worker --queue-name default & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# SQLite first, with the browser tests; then again, without them, on the database
# DATABASE_URL names, if any, with the 2,000-post import (KIJI_SCALE_TEST) there.
test: $(VENV)/.installed-test
	DATABASE_URL= CACHE_URL= REDIS_URL= KIJI_SCALE_TEST= $(PY) -m pytest
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== again on $${DATABASE_URL%%@*}@…"; \
		$(PY) -m pytest --ignore=tests/e2e; \
	fi

# Times import_hugo on a generated site: `make bench-import N=500 ARGS="--json"`.
# ARGS="--database-url postgres://…" runs on that empty database and flushes it.
bench-import: $(VENV)/.installed
	$(PY) benchmarks/import_hugo.py $(if $(N),--posts $(N)) $(ARGS)

# Times every kind of public page with the page cache off and on.
bench-pages: $(VENV)/.installed
	$(PY) benchmarks/pages.py $(ARGS)

# Readers' pages under gunicorn beside a trivial Django view, on SQLite and PostgreSQL
# + Redis; the import takes minutes, so `ARGS="--reuse /tmp/kiji-serve"` keeps it.
bench-serve: $(VENV)/.installed
	$(PY) benchmarks/serve.py $(ARGS)

# Cached pages while an import brings 300 new posts, on the site bench-serve --keep left:
# `make bench-stampede ARGS="--reuse /tmp/kiji-serve"`.
bench-stampede: $(VENV)/.installed
	$(PY) benchmarks/stampede.py $(ARGS)

# The plans of the queries behind an article, the home, a tag page and a search, on a
# filled database: `make bench-explain ARGS="--database-url postgres://…"`.
bench-explain: $(VENV)/.installed
	$(PY) benchmarks/explain.py $(ARGS)

# Two nodes sharing PostgreSQL (SQLite when it is not there), Redis and media on S3
# (moto's server, from the test tools): a publish on A seen on B, an upload on A served
# by B's link, and node A killed while a proxy retries its requests on B.
# ARGS="--database-url sqlite --redis-url private" needs neither server.
cluster-demo: $(VENV)/.installed-test
	$(PY) benchmarks/cluster.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info staticfiles test-artifacts

# After changing translatable text: update locale/ja/LC_MESSAGES/django.po, translate
# the new entries, run this again to compile. Needs GNU gettext.
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l ja --ignore=.venv --ignore=tests --no-obsolete
	DEBUG=1 $(PY) manage.py compilemessages -l ja --ignore=.venv
