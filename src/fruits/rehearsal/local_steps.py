"""Runs the EMR steps that the state machine adds, for real, on the local Spark: the step's own
`spark-submit` arguments, with four local changes (the master is `local[*]` instead of YARN, so
`--deploy-mode cluster` becomes `client`; S3A serves `s3://`, pointed at the emulator over TLS and
writing SSE-KMS as the security configuration makes EMRFS do; the driver stays on 127.0.0.1; its
JVM compiles with C1 only, as the embedded Spark's does, fruits.session.EMBEDDED_JVM_OPTIONS).
spark-submit itself fetches the staged job and `fruits.zip` from the bucket.

Usage: `with LocalSteps(Emulator(...), moto.client("s3"), work_dir / "steps") as steps,
EmrStepDriver(run_step=steps): ...`.
Like EMR, each step's stdout and stderr go to LOG_URI/CLUSTER/steps/STEP/ (gzipped), and a failed
step gets FailureDetails with the job's own error line. `stop()` kills a running step at once.
"""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from fruits.errors import FruitsError
from fruits.rehearsal.tls import TRUSTSTORE_PASSWORD
from fruits.s3a import JARS_DIR, s3a_conf
from fruits.session import EMBEDDED_JVM_OPTIONS, LOG_CONFIG

def spark_home() -> Path:
    import pyspark
    return Path(pyspark.__file__).parent


@dataclass(frozen=True)
class Emulator:
    """Where the steps find S3: the endpoint, the Java trust store for its certificate, and the
    KMS key that EMR's security configuration writes with."""
    endpoint: str
    truststore: Path
    kms_key_arn: str
    region: str = "eu-west-3"


def local_command(step_args: list[str], emulator: Emulator, master: str, scratch: Path, jars_dir: Path = JARS_DIR) -> list[str]:
    """The step's `spark-submit ...` as this machine runs it (see the module docstring)."""
    if not step_args or step_args[0] != "spark-submit":
        raise ValueError(f"not a spark-submit step: {' '.join(step_args[:3])}")
    conf = s3a_conf(emulator.endpoint, jars_dir, region=emulator.region)
    jars = conf.pop("spark.jars")
    conf.update({  # as the platform's EMR security configuration: SSE-KMS with the platform's key
        "spark.hadoop.fs.s3a.server-side-encryption-algorithm": "SSE-KMS",
        "spark.hadoop.fs.s3a.server-side-encryption.key": emulator.kms_key_arn})
    java_options = (f"{EMBEDDED_JVM_OPTIONS} -Dlog4j2.configurationFile=file:{LOG_CONFIG} -Djavax.net.ssl.trustStore={emulator.truststore} "
                    f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD} -Djavax.net.ssl.trustStoreType=PKCS12")
    conf.update({"spark.pyspark.python": sys.executable, "spark.driver.host": "127.0.0.1",
                 "spark.driver.bindAddress": "127.0.0.1", "spark.local.dir": str(scratch),
                 "spark.driver.memory": os.environ.get("FRUITS_DRIVER_MEMORY", "4g"), "spark.ui.enabled": "false"})
    command = [str(spark_home() / "bin" / "spark-submit"), "--master", master, "--jars", jars,
               "--driver-class-path", jars.replace(",", os.pathsep),  # spark-submit's own JVM fetches s3:// files
               "--driver-java-options", java_options]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    rest = list(step_args[1:])
    for index, argument in enumerate(rest[:-1]):
        if argument == "--deploy-mode":
            rest[index + 1] = "client"
    return command + rest


def error_line(stdout: str, stderr: str) -> str:
    """The job's own one-line error (`NAME: error: ...`; spark-submit passes the Python driver's
    stderr to its stdout), else the last line of stderr."""
    ours = [line.strip() for line in (stdout + "\n" + stderr).splitlines() if ": error: " in line]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return (ours or lines or ["no output"])[-1][:1000]


class LocalSteps:
    def __init__(self, emulator: Emulator, s3, folder: Path, master: str = "local[*]", announce=print):
        """`s3`: the emulator's S3 client (MotoServer.client("s3")), where the step logs go."""
        self.emulator, self.s3, self.folder, self.master, self.announce = emulator, s3, folder, master, announce
        self.ran: list[dict] = []  # {"step", "exit", "log"} per attempt, in order
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def __enter__(self) -> "LocalSteps":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __call__(self, cluster, step) -> str:
        """EmrStepDriver's run_step: run the step, store its logs, return COMPLETED or FAILED."""
        attempt = self.folder / f"{len(self.ran) + 1:02d}-{step.name.lower().replace(' ', '-')}"
        attempt.mkdir(parents=True, exist_ok=True)
        try:
            command = local_command(list(step.args), self.emulator, self.master, attempt / "spark-scratch")
        except (ValueError, FruitsError) as error:  # the step fails; the driver's thread must go on
            return self._finish(cluster, step, attempt, 1, "", f"rehearsal: error: {error}")
        self.announce(f"  EMR step '{step.name}' ({step.id}) runs on the local Spark; log: {attempt}/stderr")
        environment = {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
                       "SPARK_LOCAL_IP": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        with self._lock:
            if self._stopped:
                return "CANCELLED"
            with open(attempt / "stdout", "w") as stdout, open(attempt / "stderr", "w") as stderr:
                # Its own process group, so that stop() ends the JVM and its Python workers together.
                self._process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment,
                                                 start_new_session=True)
        exit_status = self._process.wait()
        with self._lock:
            self._process = None
        return self._finish(cluster, step, attempt, exit_status, (attempt / "stdout").read_text(),
                            (attempt / "stderr").read_text())

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()

    def _finish(self, cluster, step, attempt: Path, exit_status: int, stdout: str, stderr: str) -> str:
        log_uri = self._store_logs(cluster, step, stdout, stderr)
        self.ran.append({"step": step.name, "exit": exit_status, "log": log_uri})
        if exit_status == 0:
            return "COMPLETED"
        step.failure_details = {"Reason": "Unknown Error.", "Message": error_line(stdout, stderr), "LogFile": log_uri + "stderr.gz"}
        return "FAILED"

    def _store_logs(self, cluster, step, stdout: str, stderr: str) -> str:
        """EMR's layout: LOG_URI/CLUSTER_ID/steps/STEP_ID/{stdout,stderr}.gz; returns the folder URI."""
        location = urlparse(cluster.log_uri or "")
        prefix = f"{location.path.strip('/')}/{cluster.id}/steps/{step.id}/".lstrip("/")
        for name, text in (("stdout", stdout), ("stderr", stderr)):
            self.s3.put_object(Bucket=location.netloc, Key=prefix + name + ".gz", Body=gzip.compress(text.encode()),
                               ServerSideEncryption="aws:kms", SSEKMSKeyId=self.emulator.kms_key_arn)
        return f"s3://{location.netloc}/{prefix}"
