"""`make run PORT=…` first asks `python -m cms.freeport PORT` whether the port is free:
silence and success when it is; when it is not, a sentence saying so and what to do,
before anything starts."""

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def freeport(*args):
    return subprocess.run(
        [sys.executable, "-m", "cms.freeport", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def taken_port():
    """A port another program listens on, as an earlier `make run` would."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_free_port_passes_silently():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = freeport(str(port))

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_taken_port_is_refused_with_what_to_do_and_a_free_port_to_use(taken_port):
    result = freeport(str(taken_port))

    assert result.returncode == 1
    assert result.stdout == ""
    assert f"Port {taken_port} on 127.0.0.1 is already in use, so Kiji did not start." in result.stderr
    assert f":{taken_port}" in result.stderr.split("\n", 1)[1]  # how to find the program holding it
    assert "Traceback" not in result.stderr
    [suggested] = re.findall(r"make run PORT=(\d+)", result.stderr)
    assert int(suggested) != taken_port and is_free(int(suggested))


@pytest.mark.parametrize("given", ["", "abc", "0", "70000", "80.5"])
def test_a_port_that_is_no_port_is_refused_with_an_example(given):
    result = freeport(given)

    assert result.returncode == 2
    assert "PORT is" in result.stderr and "make run PORT=8001" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_run_asks_before_it_migrates_or_prints_that_kiji_is_ready():
    run = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, timeout=30
    ).stdout.splitlines()

    check = next(number for number, line in enumerate(run) if "cms.freeport" in line)
    assert run[check].endswith('cms.freeport "8123"')
    assert check < next(number for number, line in enumerate(run) if "manage.py migrate" in line)
    assert check < next(number for number, line in enumerate(run) if "load_demo --port 8123" in line)
