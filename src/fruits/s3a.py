"""Spark settings to read and write S3 from a local Spark through Hadoop's S3A connector, at a
given endpoint (the moto emulator in tests and in the offline rehearsal). `s3://` URIs, as the
EMR steps use them, are served by S3A too, so the steps' own arguments work unchanged.

Usage: `build_session(..., extra_conf=s3a_conf("http://127.0.0.1:5000", jars_dir=".tools/jars"))`
(the jars come from `make .tools/jars/.installed`). On EMR none of this is needed: EMRFS serves s3://.
"""
from __future__ import annotations

from pathlib import Path

from fruits.errors import FruitsError
from fruits.project import checkout_path

S3A_JARS = ("hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar")
JARS_DIR = checkout_path(".tools/jars")  # where `make .tools/jars/.installed` puts them


def s3a_conf(endpoint_url: str, jars_dir: str | Path, access_key: str = "testing", secret_key: str = "testing",
             region: str = "eu-west-3") -> dict[str, str]:
    jars = [Path(jars_dir) / name for name in S3A_JARS]
    missing = [str(jar) for jar in jars if not jar.is_file()]
    if missing:
        raise FruitsError(f"S3A jars not found: {', '.join(missing)}. Run: make .tools/jars/.installed")
    conf = {
        "spark.jars": ",".join(str(jar.resolve()) for jar in jars),
        "spark.hadoop.fs.s3a.endpoint": endpoint_url,
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(endpoint_url.startswith("https")).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": access_key,
        "spark.hadoop.fs.s3a.secret.key": secret_key,
        "spark.hadoop.fs.s3a.attempts.maximum": "3",
        "spark.hadoop.fs.s3a.retry.limit": "3",
    }
    for scheme in ("s3", "s3n"):  # EMR-style URIs, served here by S3A
        conf[f"spark.hadoop.fs.{scheme}.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
    return conf
