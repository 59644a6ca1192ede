"""The AWS emulator: a moto server on 127.0.0.1 (a free port) with Step Functions executing
definitions for real and the EMR integrations installed (emr_integration.py).

Usage: `with MotoServer() as moto: moto.client("s3")`; `moto.endpoint` is its URL. moto's
backends live in this process: one server at a time, and it starts empty.
`MotoServer(tls=(cert, key))` also serves HTTPS, on another port with the same state, and
`endpoint` is then that one (tls.py makes the pair); the Step Functions interpreter keeps
calling EMR over plain HTTP on $MOTO_PORT, inside this process."""
from __future__ import annotations

import json
import logging
import os
import socket
import urllib.request
from pathlib import Path

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from fruits.rehearsal import emr_integration

REGION = "eu-west-3"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TlsMotoServer(ThreadedMotoServer):
    """moto's threaded server with a certificate (werkzeug's ssl_context)."""

    def __init__(self, port: int, cert: Path, key: Path):
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._ssl_context = (str(cert), str(key))

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, DomainDispatcherApplication(create_backend_app), True,
                                   request_handler=MotoRequestHandler, ssl_context=self._ssl_context)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    def __init__(self, region: str = REGION, tls: tuple[Path, Path] | None = None):
        self.port = free_port()
        self.region, self.endpoint = region, f"http://127.0.0.1:{self.port}"
        self._servers = [ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)]
        self.ca_bundle: str | None = None
        if tls is not None:
            tls_port = free_port()
            self._servers.append(TlsMotoServer(tls_port, *tls))
            self.endpoint, self.ca_bundle = f"https://127.0.0.1:{tls_port}", str(tls[0])
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> "MotoServer":
        emr_integration.install()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        settings = {"MOTO_PORT": str(self.port), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": self.region}
        for name, value in settings.items():  # the interpreter calls EMR at localhost:$MOTO_PORT
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        for server in self._servers:
            server.start()
        plain = f"http://127.0.0.1:{self.port}"
        # moto's backends are global to the process: start every server empty, so one suite's
        # resources (a state machine of the same name, say) never leak into the next.
        urllib.request.urlopen(urllib.request.Request(f"{plain}/moto-api/reset", method="POST"), timeout=10).close()
        request = urllib.request.Request(f"{plain}/moto-api/config", method="POST",
                                         data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
        urllib.request.urlopen(request, timeout=10).close()
        return self

    def __exit__(self, *exc) -> None:
        for server in self._servers:
            server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region, verify=self.ca_bundle,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
