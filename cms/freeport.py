"""`python -m cms.freeport PORT`: exit 0, silently, if 127.0.0.1:PORT is free; else say
why Kiji cannot use it and what to do, and exit 1 (2 for a PORT that is no port).

`make run` asks before it starts anything, so that a port taken by another program
(an earlier `make run`, say) gets a sentence instead of a traceback from runserver,
before "Kiji is ready" is printed.
"""

import errno
import socket
import sys

HOST = "127.0.0.1"
# How far above a taken port to look for a free one to suggest.
NEARBY = 20


def problem(port):
    """Why Kiji cannot listen on HOST:`port` (an OSError's errno), or None if it can."""
    with socket.socket() as probe:
        # As runserver binds: a port left in TIME_WAIT by a server that just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            return error.errno or errno.EADDRINUSE
    return None


def free_port_near(port):
    """A free port just above `port` (or any free one the system picks)."""
    for candidate in range(port + 1, min(port + NEARBY, 65535) + 1):
        if problem(candidate) is None:
            return candidate
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def message(port, reason):
    """What to tell a person whose PORT Kiji cannot use."""
    if reason == errno.EACCES:
        return (
            f"Port {port} needs administrator rights on this system, so Kiji did not start.\n"
            f"Use a port from 1024 up: make run PORT={free_port_near(max(port, 8000) - 1)}"
        )
    suggestion = free_port_near(port)
    return (
        f"Port {port} on {HOST} is already in use, so Kiji did not start.\n"
        f"Another program holds it (an earlier `make run`, or another server). Stop it "
        f"(`ss -ltnp 'sport = :{port}'` or `lsof -i :{port}` shows which), or start Kiji "
        f"on a free port: make run PORT={suggestion}"
    )


def main(argv):
    """The command line: the exit status."""
    given = argv[0].strip() if argv else ""
    if not given.isdigit() or not 1 <= int(given) <= 65535:
        shown = f"“{given}”" if given else "empty"
        print(f"PORT is {shown}; it must be a whole number from 1 to 65535, e.g. make run PORT=8001", file=sys.stderr)
        return 2
    port = int(given)
    reason = problem(port)
    if reason is None:
        return 0
    print(message(port, reason), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
