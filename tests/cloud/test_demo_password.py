"""The demo cluster's JupyterHub user gets a password of its own: every EMR cluster's default
user shares one documented password, which `fruits demo-start` left in place (and `demo-status`
printed). A random password per cluster is shown once by demo-start; only its SHA-512 crypt hash
reaches AWS, in the step that sets it (and that terminates the cluster if it fails).

Not reproduced by moto 5.2.5: the step never runs (no JupyterHub container): what is checked is
the request EMR receives, as recorded by the moto server."""
from __future__ import annotations

import json
import warnings

import pytest

from fruits.cloud.demo_cluster import PASSWORD_STEP, new_jupyter_password, password_step
from tests.cloud.test_demo_cluster import demo, demo_platform, nothing_left_running, run_job_flow_requests  # noqa: F401 (fixtures)

EMR_DEFAULT_PASSWORD = "jupyter"


def crypt_matches(password: str, password_hash: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, password_hash) == password_hash


def step_hash(request: dict) -> str:
    (step,) = [step for step in request["Steps"] if step["Name"] == PASSWORD_STEP]
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"
    script = step["HadoopJarStep"]["Args"][-1]
    return script.split("'jovyan:", 1)[1].split("'", 1)[0]


def test_each_password_is_new_and_only_its_hash_is_in_the_step():
    (first, first_hash), (second, _) = new_jupyter_password(), new_jupyter_password()
    assert first != second and len(first) >= 24
    step = json.dumps(password_step(first_hash))
    assert first not in step and crypt_matches(first, first_hash) and not crypt_matches(EMR_DEFAULT_PASSWORD, first_hash)


@pytest.mark.parametrize("hostile", ["x' ; rm -rf / ; echo '", "$6$salt$short", EMR_DEFAULT_PASSWORD])
def test_anything_but_a_sha512_crypt_hash_is_refused_from_the_step_s_script(hostile):
    with pytest.raises(ValueError):
        password_step(hostile)


def test_start_shows_the_password_once_and_emr_gets_only_its_hash(demo, run_job_flow_requests):  # noqa: F811
    started = demo("demo-start")
    assert started.returncode == 0, started.stderr
    (line,) = [line for line in started.stdout.splitlines() if line.startswith("  JupyterHub user jovyan, password ")]
    password = line.split("password ", 1)[1].split(" ", 1)[0]
    (request,) = run_job_flow_requests()
    sent = json.dumps(request)
    assert password not in sent and started.stdout.count(password) == 1
    password_hash = step_hash(request)
    assert crypt_matches(password, password_hash) and not crypt_matches(EMR_DEFAULT_PASSWORD, password_hash)
    status = demo("demo-status")
    assert status.returncode == 0 and password not in status.stdout and f"password {EMR_DEFAULT_PASSWORD}" not in status.stdout


def test_a_dry_run_s_request_never_has_the_default_password(demo):  # noqa: F811
    result = demo("demo-start", "--dry-run", endpoint="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    assert not crypt_matches(EMR_DEFAULT_PASSWORD, step_hash(json.loads(result.stdout)))
