"""A development CA and server certificates, or the production pair the stand names.

Certificates go to ``tls/`` (public), private keys to ``secrets/`` (mode 0600). Like
the other secrets they are kept across runs and remade only on request.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trackerdcs.deploy.secrets import SECRETS_DIR, write_private

log = logging.getLogger(__name__)

TLS_DIR = "tls"
CA_DAYS = 3650
SERVER_DAYS = 825  # the longest browsers accept


@dataclass(frozen=True)
class ServerPair:
    """Where one server's certificate chain and key were written."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tracker DCS (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_ca(root: Path, *, regenerate: bool = False) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The deployment's CA: ``tls/ca.crt`` and ``secrets/ca.key``, made when missing."""
    cert_path, key_path = root / TLS_DIR / "ca.crt", root / SECRETS_DIR / "ca.key"
    if not regenerate and cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Tracker DCS development CA"))
        .issuer_name(_name("Tracker DCS development CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("tls: new development CA in %s", cert_path)
    return cert, key


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_server(root: Path, name: str, hosts: list[str], *, regenerate: bool = False) -> ServerPair:
    """``tls/<name>.crt`` and ``secrets/<name>.key`` signed by the CA, for ``hosts``."""
    pair = ServerPair(root / TLS_DIR / f"{name}.crt", root / SECRETS_DIR / f"{name}.key")
    if not regenerate and pair.cert.exists() and pair.key.exists() and _covers(pair.cert, hosts):
        return pair
    ca_cert, ca_key = ensure_ca(root)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(pair.key, _key_pem(key))
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("tls: new %s certificate for %s", name, ", ".join(hosts))
    return pair


def install_pair(root: Path, name: str, cert: Path, key: Path) -> ServerPair:
    """Copy a production certificate chain and key into the deployment."""
    pair = ServerPair(root / TLS_DIR / f"{name}.crt", root / SECRETS_DIR / f"{name}.key")
    pair.cert.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cert, pair.cert)
    write_private(pair.key, key.read_bytes())
    return pair


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _covers(cert_path: Path, hosts: list[str]) -> bool:
    """Whether an existing certificate names every host (the stand's server name may have changed)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    return set(hosts) <= have
