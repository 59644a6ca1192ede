"""`free_port()`: a TCP port free on 127.0.0.1 right now, for servers the tests start."""
import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
