"""A throw-away TLS certificate for the emulator on 127.0.0.1, so that the rehearsal speaks TLS
like the platform (its bucket policy denies plain HTTP), and the Java S3 client accepts SSE-KMS,
which it refuses over plain HTTP.

Usage: `cert, key = self_signed_certificate(folder)`; `truststore = java_truststore(cert, folder)`
(Java: -Djavax.net.ssl.trustStore=... -Djavax.net.ssl.trustStorePassword=TRUSTSTORE_PASSWORD;
Python: AWS_CA_BUNDLE=cert). The key never leaves the folder and is valid for one day.
"""
from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from pathlib import Path

from fruits.errors import FruitsError

TRUSTSTORE_PASSWORD = "rehearsal"  # protects nothing secret: the store holds one public certificate


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fruits rehearsal emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "emulator.pem", folder / "emulator.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def java_truststore(cert: Path, folder: Path) -> Path:
    """A PKCS12 trust store holding only `cert`, made with the JDK's keytool."""
    keytool = shutil.which("keytool")
    if keytool is None:
        raise FruitsError("keytool (from the JDK that runs Spark) is not on PATH")
    store = folder / "truststore.p12"
    store.unlink(missing_ok=True)
    result = subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "fruits-rehearsal", "-file", str(cert),
                             "-keystore", str(store), "-storetype", "PKCS12", "-storepass", TRUSTSTORE_PASSWORD],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise FruitsError(f"keytool could not build the trust store: {result.stderr.strip() or result.stdout.strip()}")
    return store
