#!/usr/bin/env python3
"""HTTPS with `trent serve --tls-cert/--tls-key`, through boto3 and the trent CLI (issue 20 item 7,
issue 17 item 7).

A CA and a server certificate for 127.0.0.1 are made here with Python `cryptography`. Over
TLS: the SDK trusting that CA works (CreateKey, Encrypt, Decrypt), and `aws:SecureTransport` is
true, so a key policy that denies everything without TLS allows it; a client that does not
trust the CA, and plain HTTP to the TLS port, get nothing. Without TLS the same policy denies.
Bad TLS settings stop the server with a clear message. Run under `cargo test` by
crates/trent/tests/it/e2e_scripts.rs, or:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/tls.py
"""

import datetime
import http.client
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto3_basic import ACCOUNT, REGION, Server, expect_eq, step  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

# Denies every KMS action on the key unless the request came over TLS.
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ],
}


def certificates(work):
    """(CA file, certificate file, key file): a CA and a certificate it signed for 127.0.0.1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trent test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    work = Path(work)
    files = work / "ca.pem", work / "cert.pem", work / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def kms(server, verify):
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    ).client(
        "kms",
        endpoint_url=server.endpoint,
        verify=verify,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def trent_cli(binary, endpoint, *args, **env):
    """The `trent` CLI against `endpoint` as the development identity, with extra environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRENT_", "AWS_"))}
    clean.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION, **env)
    return subprocess.run(
        [binary, *args, "--endpoint-url", endpoint], capture_output=True, text=True, timeout=60, env=clean
    )


def refused_start(binary, work, *args):
    """`trent serve` with `args` must exit non-zero at once; returns its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
    done = subprocess.run(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(Path(work) / "refused"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    if done.returncode == 0:
        raise AssertionError(f"trent serve {args} started")
    if "panicked" in done.stderr:
        raise AssertionError(done.stderr)
    return done.stderr


def run(binary, work):
    ca, cert, key = certificates(work)
    step("HTTPS with a certificate the client trusts")
    server = Server(binary, Path(work) / "data", work, extra_args=("--tls-cert", str(cert), "--tls-key", str(key)))
    try:
        if not server.endpoint.startswith("https://127.0.0.1:"):
            raise AssertionError(f"the server does not say https: {server.endpoint}")
        client = kms(server, str(ca))
        key_id = client.create_key(Policy=json.dumps(TLS_ONLY))["KeyMetadata"]["KeyId"]
        blob = client.encrypt(KeyId=key_id, Plaintext=b"over TLS")["CiphertextBlob"]
        expect_eq("decrypt over TLS", b"over TLS", client.decrypt(CiphertextBlob=blob)["Plaintext"])

        step("a client that does not trust the CA, and plain HTTP to the TLS port, get nothing")
        try:
            kms(server, True).list_keys()
            raise AssertionError("a client without the CA was served")
        except botocore.exceptions.SSLError:
            pass
        plain = server.endpoint.replace("https://", "http://") + "/health"
        try:
            urllib.request.urlopen(plain, timeout=10).read()
            raise AssertionError("plain HTTP was served on the TLS port")
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            pass
        trusting = ssl.create_default_context(cafile=str(ca))
        health = urllib.request.urlopen(server.endpoint + "/health", context=trusting, timeout=10)
        expect_eq("still serving", b'{"status":"ok"}', health.read())
        if "plain HTTP" in server.log():
            raise AssertionError("a TLS server warned about plain HTTP")

        step("the trent CLI over https: with --ca-bundle or AWS_CA_BUNDLE, and refused without")
        cli = lambda *args, **env: trent_cli(binary, server.endpoint, *args, **env)  # noqa: E731
        for done in (cli("access", key_id, "--ca-bundle", str(ca)), cli("access", key_id, AWS_CA_BUNDLE=str(ca))):
            if done.returncode != 0 or key_id not in done.stdout:
                raise AssertionError(f"trent access over https: {done.stdout}{done.stderr}")
        done = cli("access", key_id)
        if done.returncode != 2 or "TLS to " + server.endpoint not in done.stderr:
            raise AssertionError(f"trent access trusted an unknown CA: {done.stdout}{done.stderr}")
    finally:
        server.stop()

    step("the same data without TLS: aws:SecureTransport is false, the policy denies")
    server = Server(binary, Path(work) / "data", work)
    try:
        try:
            kms(server, True).decrypt(CiphertextBlob=blob)
            raise AssertionError("decrypt without TLS was allowed")
        except botocore.exceptions.ClientError as e:
            expect_eq("without TLS", "AccessDeniedException", e.response["Error"]["Code"])
            if "explicit deny in a resource-based policy" not in e.response["Error"]["Message"]:
                raise AssertionError(e.response["Error"]["Message"]) from None
    finally:
        server.stop()

    step("bad TLS settings stop the server with a clear message")
    stderr = refused_start(binary, work, "--tls-cert", str(cert))
    if "--tls-key" not in stderr:
        raise AssertionError(stderr)
    stderr = refused_start(binary, work, "--tls-cert", str(Path(work) / "missing.pem"), "--tls-key", str(key))
    if "cannot read the TLS certificate chain" not in stderr:
        raise AssertionError(stderr)
    stderr = refused_start(binary, work, "--tls-cert", str(key), "--tls-key", str(key))
    if "holds no certificate" not in stderr:
        raise AssertionError(stderr)
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = Path(work) / "other.pem"
    wrong.write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    stderr = refused_start(binary, work, "--tls-cert", str(cert), "--tls-key", str(wrong))
    if "cannot be used together" not in stderr:
        raise AssertionError(stderr)
    if "PRIVATE KEY" in stderr or other.private_numbers().private_value.to_bytes(32, "big").hex() in stderr:
        raise AssertionError(f"the key is in the message: {stderr}")


def main():
    binary = os.environ.get("TRENT_BIN") or str(Path(__file__).resolve().parents[2] / "target/debug/trent")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-tls.") as work:
        run(binary, work)
    print("PASS: tests/e2e/tls.py")


if __name__ == "__main__":
    main()
