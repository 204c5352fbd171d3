#!/usr/bin/env python3
"""Prints a JWS compact token for the benchmarks: make_token.py ALG PRIVATE_KEY_PEM KID EXP,
or the JWKS of two keys: make_token.py --jwks RSA_KEY_PEM P256_KEY_PEM (kids "rs" and "es"),
or N distinct tokens as Authorization header lines (each with its own "jti", so a cache of
verified tokens misses): make_token.py --many N ALG PRIVATE_KEY_PEM KID EXP. --many signs with
python3-cryptography (one openssl process per token would take minutes).

Signs with the openssl CLI (RS256: PKCS#1 v1.5; ES256: the DER ECDSA signature converted to
JOSE's fixed-size r||s). Standard library only.
"""
import base64
import json
import subprocess
import sys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_to_raw(der: bytes, size: int) -> bytes:
    """An ECDSA-Sig-Value (SEQUENCE of two INTEGERs) as r||s, each `size` bytes."""
    assert der[0] == 0x30
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[pos] == 0x02
        length = der[pos + 1]
        value = der[pos + 2 : pos + 2 + length].lstrip(b"\x00")
        out += value.rjust(size, b"\x00")
        pos += 2 + length
    return out


def openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], capture_output=True, check=True).stdout


def jwks(rsa_key: str, ec_key: str) -> str:
    modulus = openssl("rsa", "-in", rsa_key, "-noout", "-modulus").decode().strip()
    n = bytes.fromhex(modulus.split("=", 1)[1])
    # The DER SubjectPublicKeyInfo of a P-256 key ends with the uncompressed point 04||x||y.
    point = openssl("ec", "-in", ec_key, "-pubout", "-outform", "DER")[-65:]
    assert point[0] == 4
    keys = [
        {"kty": "RSA", "kid": "rs", "n": b64url(n), "e": "AQAB"},
        {"kty": "EC", "kid": "es", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:])},
    ]
    return json.dumps({"keys": keys})


def many(count: int, alg: str, key_file: str, kid: str, exp: int) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    with open(key_file, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    lines = []
    for i in range(count):
        claims = b64url(json.dumps({"sub": "bench", "exp": exp, "jti": str(i)}).encode())
        signing_input = f"{header}.{claims}".encode()
        if alg == "ES256":
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        lines.append(f"Authorization: Bearer {header}.{claims}.{b64url(sig)}")
    print("\n".join(lines))


def main() -> None:
    if sys.argv[1] == "--jwks":
        print(jwks(sys.argv[2], sys.argv[3]))
        return
    if sys.argv[1] == "--many":
        many(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
        return
    alg, key, kid, exp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    claims = b64url(json.dumps({"sub": "bench", "exp": exp}).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key],
        input=signing_input,
        capture_output=True,
        check=True,
    ).stdout
    if alg == "ES256":
        sig = der_to_raw(sig, 32)
    print(f"{header}.{claims}.{b64url(sig)}")


if __name__ == "__main__":
    main()
