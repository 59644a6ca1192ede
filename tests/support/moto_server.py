"""A moto server on 127.0.0.1 (a free port) with Step Functions executing definitions for real
and the EMR integrations installed. Usage: `with MotoServer() as moto: moto.client("s3")`."""
from __future__ import annotations

import json
import logging
import os
import urllib.request

import boto3
from moto.server import ThreadedMotoServer

from tests.support import moto_emr
from tests.support.ports import free_port

REGION = "eu-west-3"


class MotoServer:
    def __init__(self, region: str = REGION):
        self.port = free_port()
        self.region, self.endpoint = region, f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> "MotoServer":
        moto_emr.install()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        settings = {"MOTO_PORT": str(self.port), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": self.region}
        for name, value in settings.items():  # the interpreter calls EMR at localhost:$MOTO_PORT
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        self._server.start()
        # moto's backends are global to the process: start every server empty, so one suite's
        # resources (a state machine of the same name, say) never leak into the next.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10).close()
        request = urllib.request.Request(f"{self.endpoint}/moto-api/config", method="POST",
                                         data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
        urllib.request.urlopen(request, timeout=10).close()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
