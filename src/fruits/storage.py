"""Files and folders through Hadoop's FileSystem API, so one code path serves local folders,
`s3://` (EMRFS on EMR) and `s3a://`.

Usage: `store = Storage(spark)`; `store.write_text(uri, text)`; `store.read_text(uri)`;
`store.replace(staged_uri, final_uri)` after writing a dataset to `store.staging_uri(final_uri)`;
`store.concatenate(store.list_files(folder, "part-"), uri, header=b"...")` joins files into one.
Writing to a staging folder and then replacing means a failed or retried job never leaves a
half-written output: the previous output stays whole until the new one is complete. `replace`
is a delete then a rename, not atomic: on S3 a rename copies object by object, so a reader may
see the output missing or partly there meanwhile (fruits.steps.run_folder says how runs cope).
"""
from __future__ import annotations

import errno
import os
import secrets
import tempfile
from contextlib import contextmanager, suppress

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from fruits.errors import FruitsError

# Hadoop/S3A exceptions a user can act on, by Java class name suffix.
STORAGE_ERRORS = {
    "UnknownStoreException": "bucket not found",
    "NoSuchBucketException": "bucket not found",
    "AccessDeniedException": "access denied",
    "FileNotFoundException": "not found",
}


@contextmanager
def storage_errors(uri: str):
    """Turns the storage layer's known Java exceptions about `uri` into one-line FruitsErrors."""
    try:
        yield
    except Py4JJavaError as error:
        name = error.java_exception.getClass().getName()
        for suffix, meaning in STORAGE_ERRORS.items():
            if name.endswith(suffix):
                raise FruitsError(f"{meaning}: {uri} ({error.java_exception.getMessage()})") from None
        raise


NO_SPACE = "No space left on device"  # Java's IOException text for ENOSPC, on the driver and in a task's failure


@contextmanager
def no_space_left(where: str):
    """Turns a write that found its device full, on the driver or in a Spark task, into one line
    naming `where` (the step's output, and its feature store), instead of Java's traceback."""
    try:
        yield
    except Py4JJavaError as error:
        cause = error.java_exception
        while cause is not None and NO_SPACE not in str(cause.toString()):
            cause = cause.getCause()
        if cause is None:
            raise
        raise FruitsError(f"no space left on the device of {where}: free some, then run the step again "
                          "(a step moves an output into place only once it is complete)") from None
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise FruitsError(f"no space left on the device of {where}: free some, then run the step again "
                          "(a step moves an output into place only once it is complete)") from None


def join_uri(prefix: str, *parts: str) -> str:
    """`join_uri("s3://b/results/run1/", "pca", "model")` -> "s3://b/results/run1/pca/model"."""
    return "/".join([prefix.rstrip("/"), *(part.strip("/") for part in parts)])


class Storage:
    """Thin wrapper over org.apache.hadoop.fs.FileSystem for the URIs the jobs read and write."""

    def __init__(self, spark: SparkSession):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs_path(self, uri: str):
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        with storage_errors(uri):
            fs, path = self._fs_path(uri)
            return bool(fs.exists(path))

    def delete(self, uri: str) -> None:
        fs, path = self._fs_path(uri)
        if fs.exists(path):
            fs.delete(path, True)

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def read_bytes(self, uri: str) -> bytes:
        """The file's bytes, copied by Hadoop to a private local file and read from there: through
        py4j's socket a 9 MB file (an ONNX graph) took 0.5 s, this way 0.02 s."""
        with tempfile.TemporaryDirectory(prefix="fruits-read-") as folder:
            local = os.path.join(folder, "file")
            self.copy_to_local(uri, local)
            with open(local, "rb") as handle:
                return handle.read()

    def write_text(self, uri: str, text: str) -> None:
        self.write_bytes(uri, text.encode("utf-8"))

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Writes `data` to a staging file, then moves it into place. A write that fails (a full
        device) removes its staging file and checksum at once, and the file at `uri` keeps its old
        bytes. (Written with Hadoop's checksum, which local reads check; a local stream whose last
        flush failed keeps its file open, so that space returns only when the JVM ends.)"""
        staged = self.staging_uri(uri)
        with storage_errors(uri):
            fs, path = self._fs_path(staged)
            try:
                stream = fs.create(path, True)
                try:
                    stream.write(bytearray(data))
                finally:
                    stream.close()
            except BaseException:
                with suppress(Exception):  # a JVM that is gone (Ctrl-C) must not hide the first error
                    fs.delete(path, False)
                raise
        self.replace(staged, uri)

    def list_files(self, folder_uri: str, name_prefix: str = "") -> list[str]:
        """URIs of the files directly in `folder_uri` whose names start with `name_prefix`, by name."""
        with storage_errors(folder_uri):
            fs, path = self._fs_path(folder_uri)
            statuses = fs.listStatus(path)
        names = sorted(status.getPath().getName() for status in statuses if status.isFile())
        return [join_uri(folder_uri, name) for name in names if name.startswith(name_prefix)]

    def concatenate(self, sources: list[str], target_uri: str, header: bytes = b"") -> None:
        """Writes `header`, then each source file's bytes in order, to `target_uri`. The bytes go
        from stream to stream in the JVM, never through Python. Writes in place: put the target
        in a staging folder."""
        fs, path = self._fs_path(target_uri)
        with storage_errors(target_uri):
            out = self._unchecksummed(fs, path).create(path, True)
            try:
                out.write(bytearray(header))
                for source in sources:
                    source_fs, source_path = self._fs_path(source)
                    stream = source_fs.open(source_path)
                    try:
                        self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, out, self._conf, False)
                    finally:
                        stream.close()
            finally:
                out.close()

    def _unchecksummed(self, fs, path):
        """The file system to write `path` through: for a local one, its raw file system. Hadoop's
        local (checksummed) stream does not close its files when its last flush fails, as on a full
        device: the JVM kept the file and its .crc open, their space held after the staging folder
        was removed. The raw stream closes its file whatever happens; a stale .crc is removed first."""
        checksummed = self._jvm.java.lang.Class.forName("org.apache.hadoop.fs.ChecksumFileSystem")
        if not checksummed.isInstance(fs):
            return fs
        fs.delete(fs.getChecksumFile(path), False)
        return fs.getRawFileSystem()

    def qualified(self, uri: str) -> str:
        """`uri` with a scheme, as Hadoop names the files under it: "/data/x/" -> "file:/data/x",
        "images" -> "file:/CWD/images"; one with a scheme is only normalised ("s3://b/p/" -> "s3://b/p"),
        so its filesystem need not be available here."""
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        if path.toUri().getScheme() is not None:
            return str(path.toString())
        return str(path.getFileSystem(self._conf).makeQualified(path).toString())

    def copy_to_local(self, uri: str, local_path: str) -> None:
        fs, path = self._fs_path(uri)
        if not fs.exists(path):
            raise FruitsError(f"not found: {uri}")
        fs.copyToLocalFile(False, path, self._jvm.org.apache.hadoop.fs.Path(local_path), True)

    @staticmethod
    def staging_uri(final_uri: str) -> str:
        """A hidden sibling (leading `_`, so Spark readers skip it) unique to this attempt."""
        parent, _, name = final_uri.rstrip("/").rpartition("/")
        return f"{parent}/_staging-{name}-{secrets.token_hex(4)}"

    def remove_staging(self, folder_uri: str) -> None:
        """Deletes the staging files and folders directly in `folder_uri` (an interrupted run's)."""
        fs, path = self._fs_path(folder_uri)
        if fs.exists(path):
            for status in fs.listStatus(path):
                if status.getPath().getName().startswith("_staging-"):
                    fs.delete(status.getPath(), True)

    def replace(self, staged_uri: str, final_uri: str) -> None:
        """Moves a complete staged file or folder over `final_uri` (whose old content goes)."""
        fs, final = self._fs_path(final_uri)
        _, staged = self._fs_path(staged_uri)
        if fs.exists(final):
            fs.delete(final, True)
        parent = final.getParent()
        if parent is not None and not fs.exists(parent):
            fs.mkdirs(parent)
        if not fs.rename(staged, final):
            raise FruitsError(f"could not move {staged_uri} to {final_uri}")
