"""`python -m cms.freeport PORT`: exit 0 if 127.0.0.1:PORT is free, else say what to do.

`make run` asks before it starts anything, so that a port taken by another program
(an earlier `make run`, say) gets a sentence instead of a traceback from runserver.
"""

import socket
import sys


def main(port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(
                f"Port {port} on 127.0.0.1 is already in use (another `make run`, or another server).\n"
                f"Stop that program, or start Kiji on another port: make run PORT={port + 1}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]))
