"""A .keras archive is unpacked to be checked (fruits.cloud.weights_check) before `fruits stage`
uploads it: a small archive holding a huge model.weights.h5 (a 2 MB file of 2 GiB of zeros took
4.1 GiB of memory and 10 s) is refused once it unpacks beyond any MobileNetV2's weights, and one
whose directory lies about the member's size (declared 1,000 bytes) is not inflated whole before
its CRC fails: the check reads it by chunks. Memory is the peak resident size (VmHWM) of a
process of its own (not ru_maxrss, which keeps the forking pytest process's across exec)."""
from __future__ import annotations

import struct
import subprocess
import sys
import zipfile

import pytest

from fruits.cloud.weights_check import MAX_ARCHIVE_WEIGHTS_BYTES, require_mobilenet_v2_weights
from fruits.errors import FruitsError

UNPACKED = MAX_ARCHIVE_WEIGHTS_BYTES + 32 * 1024 * 1024
PEAK_MEMORY = """
import sys
from pathlib import Path
from fruits.cloud.weights_check import require_mobilenet_v2_weights
try:
    require_mobilenet_v2_weights(Path(sys.argv[1]))
except Exception as error:
    print(type(error).__name__, error)
print(next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


@pytest.fixture(scope="module")
def zeros_archive(tmp_path_factory):
    """A .keras archive (a zip of about 300 KB) whose model.weights.h5 is UNPACKED bytes of zeros."""
    path = tmp_path_factory.mktemp("bomb") / "model.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        with archive.open("model.weights.h5", "w") as member:
            block = bytes(1 << 24)
            for _ in range(UNPACKED // len(block)):
                member.write(block)
    return path


def lying_about_its_size(archive, target):
    """A copy of `archive` whose member says it unpacks to 1,000 bytes (local header and directory)."""
    data = bytearray(archive.read_bytes())
    struct.pack_into("<I", data, data.find(b"PK\x03\x04", data.find(b"model.weights.h5") - 40) + 22, 1000)
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 1000)
    target.write_bytes(data)
    with zipfile.ZipFile(target) as check:
        assert check.getinfo("model.weights.h5").file_size == 1000
    return target


def test_an_archive_that_unpacks_beyond_the_bound_is_refused(zeros_archive):
    with pytest.raises(FruitsError, match=f"its model.weights.h5 unpacks to more than {MAX_ARCHIVE_WEIGHTS_BYTES // 2**20} MiB"):
        require_mobilenet_v2_weights(zeros_archive)


def test_an_archive_that_lies_about_its_size_is_not_inflated_whole(zeros_archive, tmp_path):
    liar = lying_about_its_size(zeros_archive, tmp_path / "liar.keras")
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(liar)], capture_output=True, text=True, timeout=120)
    refusal, peak = result.stdout.strip().splitlines()
    assert refusal.startswith("FruitsError") and "is not a .keras archive with model.weights.h5 (Bad CRC-32" in refusal
    assert int(peak) < UNPACKED // 2**20, f"peak memory {peak} MiB for a member of {UNPACKED // 2**20} MiB"
