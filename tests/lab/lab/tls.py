"""A certificate authority and one server certificate, generated when the lab starts.

The server certificate names every host of the topology (short name, FQDN, address) plus localhost,
so a client may validate it against ``ca.pem``. Channel binding (``tls-server-end-point``) is the
SHA-256 of the server certificate, the hash its signature uses.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclasses.dataclass
class TlsMaterial:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    cert_file: str
    key_file: str
    ca_file: str
    channel_binding: bytes         # b"tls-server-end-point:" + hash, the GSS application data

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xphone.connect lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def generate(directory: str, names: list[str], addresses: list[str]) -> TlsMaterial:
    """Write ca.pem, lab-cert.pem and lab-key.pem (mode 0600) to ``directory``."""
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(_name("xphone.connect lab CA")).issuer_name(_name("xphone.connect lab CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in dict.fromkeys(n for n in names + ["localhost"] if n):
        sans.append(x509.DNSName(name))
    for addr in dict.fromkeys(addresses + ["127.0.0.1"]):
        sans.append(x509.IPAddress(ipaddress.ip_address(addr)))
    cert = (
        x509.CertificateBuilder().subject_name(_name(names[0] if names else "localhost")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ca_file = os.path.join(directory, "ca.pem")
    cert_file = os.path.join(directory, "lab-cert.pem")
    key_file = os.path.join(directory, "lab-key.pem")
    with open(ca_file, "wb") as f:
        f.write(ca_pem)
    with open(cert_file, "wb") as f:
        f.write(cert_pem + ca_pem)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return TlsMaterial(ca_pem, cert_pem, key_pem, cert_file, key_file, ca_file, b"tls-server-end-point:" + digest)
