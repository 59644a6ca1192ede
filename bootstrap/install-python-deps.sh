#!/usr/bin/env bash
# EMR bootstrap action, run on every node before Spark starts: installs the jobs' pinned Python
# dependencies (requirements/cluster.lock, the same file the tests install) into Python 3.11 from
# the wheelhouse `fruits stage` uploaded, with no index: no node contacts PyPI. The wheelhouse is
# checked first (its SHA256SUMS, its lock, a wheel for every pin), and only the files it lists
# are offered to pip. Then the bootstrap fails (so the cluster fails fast) if any package cannot
# be imported at the locked version. EMR's own Spark is never installed or replaced: a lock that
# pins pyspark is refused. Safe to run twice (pip leaves satisfied pins alone).
#
# Usage: install-python-deps.sh LOCK WHEELHOUSE REGION   (LOCK and WHEELHOUSE each an s3:// URI or a
# local path; REGION the bucket's, e.g. eu-west-3)
# Settings (for tests): FRUITS_PYTHON (default /usr/bin/python3.11), FRUITS_DNF (default dnf),
# FRUITS_NO_SUDO=1.
set -euo pipefail

usage="usage: install-python-deps.sh LOCK WHEELHOUSE REGION (s3:// URIs or local paths of cluster.lock and of its wheelhouse, and the bucket's region)"
lock_source="${1:?$usage}"
wheelhouse_source="${2:?$usage}"
# The AWS CLI is given the bucket's region: it reads one from --region, its environment or its
# config file (docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html), and AWS documents
# none of these as set on EMR's nodes. Without one `aws s3` first asks us-east-1, which the private subnet cannot reach: its S3
# gateway endpoint serves its own region only
# (docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
region="${3:?$usage}"
if ! [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
  echo "bootstrap: '$region' is not an AWS region name (e.g. eu-west-3)" >&2
  exit 1
fi
python="${FRUITS_PYTHON:-/usr/bin/python3.11}"
dnf="${FRUITS_DNF:-dnf}"
sudo=""
if [ "$(id -u)" -ne 0 ] && [ -z "${FRUITS_NO_SUDO:-}" ]; then
  sudo="sudo"
fi

# EMR 7 runs on Amazon Linux 2023, whose default python3 is 3.9; its python3.11 and
# python3.11-pip packages are installed only on request (EMR 7.1+ offers Python 3.11 for Spark):
# docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-release-7x.html
# docs.aws.amazon.com/linux/al2023/ug/python.html
if ! [ -x "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "bootstrap: installing python3.11 and python3.11-pip with $dnf"
  if ! $sudo "$dnf" install -y -q python3.11 python3.11-pip; then
    echo "bootstrap: $python is missing and '$dnf install python3.11 python3.11-pip' failed" >&2
    exit 1
  fi
fi
if ! [ -x "$python" ]; then
  echo "bootstrap: $python is still missing after installing python3.11: the jobs need Python 3.11" >&2
  exit 1
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
lock="$workdir/cluster.lock"
case "$lock_source" in
  s3://*) aws s3 cp --region "$region" --only-show-errors "$lock_source" "$lock" ;;
  *) cp "$lock_source" "$lock" ;;
esac

if grep -qiE '^(py)?spark([=<>~ ]|$)' "$lock"; then
  echo "bootstrap: refusing $lock_source: it pins pyspark, and EMR provides Spark itself" >&2
  exit 1
fi

if ! "$python" -m pip --version >/dev/null 2>&1; then
  $sudo "$python" -m ensurepip --upgrade
fi
wheelhouse="$workdir/wheelhouse"
case "$wheelhouse_source" in
  s3://*) aws s3 cp --region "$region" --recursive --only-show-errors "${wheelhouse_source%/}/" "$wheelhouse" ;;
  *) wheelhouse="$wheelhouse_source" ;;
esac
if ! [ -f "$wheelhouse/SHA256SUMS" ]; then
  echo "bootstrap: $wheelhouse_source is not a complete wheelhouse (no SHA256SUMS, which fruits stage writes last)" >&2
  exit 1
fi

# The wheelhouse as `fruits stage` sealed it, for this lock, a wheel for every pin; the wheels
# it lists are linked into $verified, the only folder pip may read.
verified="$workdir/verified"
"$python" - "$lock" "$wheelhouse" "$verified" "$wheelhouse_source" "$lock_source" <<'PY'
import hashlib
import os
import re
import sys

lock, folder, verified, source, lock_source = sys.argv[1:6]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def fail(problem):
    sys.exit(f"bootstrap: the wheelhouse {source} {problem}")


files = {}
for line in open(os.path.join(folder, "SHA256SUMS")):
    match = re.fullmatch(r"([0-9a-f]{64}) [ *]([^/]+)", line.rstrip("\n"))
    if not match:
        fail(f"has a malformed SHA256SUMS line: {line.strip()!r}")
    files[match.group(2)] = match.group(1)
if files.get("cluster.lock") != sha256(lock):
    fail(f"was built for another lock than {lock_source}")
missing = sorted(name for name in files if not os.path.isfile(os.path.join(folder, name)))
changed = sorted(name for name in files if name not in missing and sha256(os.path.join(folder, name)) != files[name])
if missing or changed:
    found = [f"missing {', '.join(missing)}"] * bool(missing) + [f"changed {', '.join(changed)}"] * bool(changed)
    fail(f"does not match its SHA256SUMS: {'; '.join(found)}")
wheels = {(canonical(name.split("-")[0]), name.split("-")[1].lower()) for name in files if name.endswith(".whl")}
lacking = []
for line in open(lock):
    line = line.split("#", 1)[0].strip()
    if "==" in line:
        name, version = (part.strip() for part in line.split("==", 1))
        if (canonical(name), version.lower()) not in wheels:
            lacking.append(f"{name}=={version}")
if lacking:
    fail(f"has no wheel for {', '.join(lacking)}")
os.mkdir(verified)
for name in files:
    if name.endswith(".whl"):
        os.symlink(os.path.abspath(os.path.join(folder, name)), os.path.join(verified, name))
PY

# --no-deps: the lock is the whole environment. What `pip freeze` leaves out of it (setuptools,
# wheel, which tensorflow-cpu and astunparse declare) no job imports: the smoke test checks that.
echo "bootstrap: installing $(grep -c '==' "$lock") pinned packages into $("$python" --version 2>&1) from the wheelhouse, no index"
$sudo "$python" -m pip install --quiet --disable-pip-version-check --no-input --no-index --find-links "$verified" \
  --only-binary=:all: --no-deps -r "$lock"

# Smoke test: every locked package at its locked version, and the jobs' imports work.
echo "bootstrap: smoke test: the locked versions and the jobs' imports"
"$python" - "$lock" <<'PY'
import importlib.metadata as metadata
import sys

wrong = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if "==" not in line:
        continue
    name, version = (part.strip() for part in line.split("==", 1))
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        found = "missing"
    if found != version:
        wrong.append(f"{name} {found} (locked {version})")
for module in ("tensorflow", "keras", "numpy", "pandas", "pyarrow", "PIL", "matplotlib", "onnx", "onnxruntime"):
    try:
        __import__(module)
    except Exception as error:  # any import failure must fail the bootstrap
        wrong.append(f"import {module}: {error}")
if wrong:
    sys.exit("bootstrap: smoke test failed: " + "; ".join(wrong))
print("bootstrap: smoke test passed")
PY
