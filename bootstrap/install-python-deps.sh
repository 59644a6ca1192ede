#!/usr/bin/env bash
# EMR bootstrap action, run on every node before Spark starts: installs the jobs' pinned Python
# dependencies (requirements/cluster.lock, the same file the tests install) into Python 3.11,
# then fails the bootstrap (so the cluster fails fast) if any of them cannot be imported at the
# locked version. EMR's own Spark is never installed or replaced: a lock that pins pyspark is
# refused. Safe to run twice (pip leaves satisfied pins alone).
#
# Usage: install-python-deps.sh LOCK      (LOCK: s3://... or a local path)
# Settings (for tests): FRUITS_PYTHON (default /usr/bin/python3.11), FRUITS_DNF (default dnf),
# FRUITS_NO_SUDO=1.
set -euo pipefail

lock_source="${1:?usage: install-python-deps.sh LOCK (s3:// URI or local path of cluster.lock)}"
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
  s3://*) aws s3 cp --only-show-errors "$lock_source" "$lock" ;;
  *) cp "$lock_source" "$lock" ;;
esac

if grep -qiE '^(py)?spark([=<>~ ]|$)' "$lock"; then
  echo "bootstrap: refusing $lock_source: it pins pyspark, and EMR provides Spark itself" >&2
  exit 1
fi

if ! "$python" -m pip --version >/dev/null 2>&1; then
  $sudo "$python" -m ensurepip --upgrade
fi
echo "bootstrap: installing $(grep -c '==' "$lock") pinned packages into $("$python" --version 2>&1)"
$sudo "$python" -m pip install --quiet --disable-pip-version-check --no-input -r "$lock"

# Smoke test: every locked package at its locked version, and the jobs' imports work.
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
for module in ("tensorflow", "keras", "numpy", "pandas", "pyarrow", "PIL", "matplotlib"):
    try:
        __import__(module)
    except Exception as error:  # any import failure must fail the bootstrap
        wrong.append(f"import {module}: {error}")
if wrong:
    sys.exit("bootstrap: smoke test failed: " + "; ".join(wrong))
print("bootstrap: smoke test passed")
PY
