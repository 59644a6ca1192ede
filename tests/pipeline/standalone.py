"""A Spark standalone cluster on 127.0.0.1 (one master, N one-core workers), started from the
pyspark package's own `spark-class`, for tests that need separate executors.

Usage: `with StandaloneCluster(tmp_path, workers=2) as cluster: ... cluster.master_url ...`
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fruits.rehearsal.emulator import free_port
from fruits.session import EMBEDDED_JVM_OPTIONS


class StandaloneCluster:
    def __init__(self, folder: Path, workers: int = 2, worker_memory: str = "3g"):
        self.folder, self.workers, self.worker_memory = folder, workers, worker_memory
        self.port, self.ui_port = free_port(), free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self._processes: list[subprocess.Popen] = []

    def _start(self, name: str, *arguments: str) -> None:
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        spark_class = str(spark_home / "bin" / "spark-class")
        environment = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1",
                       "PYSPARK_PYTHON": sys.executable,
                       # the master's and workers' JVMs compile with C1 only, as the embedded Spark's (fruits.session)
                       "SPARK_DAEMON_JAVA_OPTS": EMBEDDED_JVM_OPTIONS}
        log = open(self.folder / f"{name}.log", "wb")
        self._processes.append(subprocess.Popen([spark_class, *arguments], stdout=log, stderr=subprocess.STDOUT,
                                                env=environment, start_new_session=True))

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)

    def _wait_for(self, condition, what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition(self.status()):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"standalone cluster: {what} not ready after {seconds} s (logs in {self.folder})")

    def __enter__(self) -> "StandaloneCluster":
        self._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", str(self.port), "--webui-port", str(self.ui_port))
        self._wait_for(lambda s: s.get("status") == "ALIVE", "master")
        for index in range(self.workers):
            work_dir = self.folder / f"worker-{index}"
            work_dir.mkdir(exist_ok=True)
            self._start(f"worker-{index}", "org.apache.spark.deploy.worker.Worker", self.master_url,
                        "--host", "127.0.0.1", "--cores", "1", "--memory", self.worker_memory,
                        "--webui-port", str(free_port()), "--work-dir", str(work_dir))
        self._wait_for(lambda s: sum(w["state"] == "ALIVE" for w in s.get("workers", [])) == self.workers, "workers")
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
