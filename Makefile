# Kiji: `make run` for a demo site on SQLite, `make test` for the whole suite.
PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The demo always runs on its own SQLite file, whatever DATABASE_URL says.
RUN_ENV := DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3

.PHONY: run test bench-import bench-pages clean messages

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py load_demo
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:8000

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

clean:
	rm -rf $(VENV) *.egg-info staticfiles test-artifacts

# After changing translatable text: update locale/ja/LC_MESSAGES/django.po, translate
# the new entries, run this again to compile. Needs GNU gettext.
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l ja --ignore=.venv --ignore=tests --no-obsolete
	DEBUG=1 $(PY) manage.py compilemessages -l ja --ignore=.venv
