"""MS-WSMV 2.2.9.1 message encryption: the multipart framing around a pyspnego-sealed SOAP message.

pyspnego does the cryptography (``unwrap_winrm``/``wrap_winrm``); this module only frames. Both clients
use the single-part form for NTLM/Negotiate over HTTP (the 16 KiB multi-part form is CredSSP's).
"""

from __future__ import annotations

import re
import struct
import typing as t

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_LENGTH = re.compile(rb"Length=(\d+)")


class EncryptionError(Exception):
    pass


def is_encrypted(content_type: str | None) -> bool:
    return bool(content_type) and content_type.lower().startswith("multipart/encrypted")


def unwrap(context: t.Any, body: bytes) -> bytes:
    """Return the plaintext SOAP of an encrypted request body."""
    parts = body.split(_BOUNDARY)
    # ['', '\r\n\tContent-Type: ...OriginalContent...Length=N\r\n', '\r\n\tContent-Type: application/octet-stream\r\n<blob>', '--\r\n']
    if len(parts) < 3:
        raise EncryptionError("malformed multipart/encrypted body")
    match = _LENGTH.search(parts[1])
    if not match:
        raise EncryptionError("no OriginalContent length")
    expected = int(match.group(1))
    blob_part = parts[2]
    marker = b"application/octet-stream\r\n"
    idx = blob_part.find(marker)
    if idx < 0:
        raise EncryptionError("no octet-stream part")
    blob = blob_part[idx + len(marker):]
    header_len = struct.unpack("<I", blob[:4])[0]
    header = blob[4:4 + header_len]
    data = blob[4 + header_len:]
    plain = context.unwrap_winrm(header, data)
    if len(plain) != expected:
        raise EncryptionError("decrypted length does not match OriginalContent")
    return plain


def wrap(context: t.Any, plain: bytes) -> bytes:
    """Return the encrypted body for a plaintext SOAP response."""
    header, data, _padding = context.wrap_winrm(plain)
    return b"".join([
        _BOUNDARY, b"\r\n\tContent-Type: ", PROTOCOL.encode(), b"\r\n",
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=", str(len(plain)).encode(), b"\r\n",
        _BOUNDARY, b"\r\n\tContent-Type: application/octet-stream\r\n",
        struct.pack("<I", len(header)), header, data,
        _BOUNDARY, b"--\r\n",
    ])
