#!/usr/bin/env python3
"""No secret leaves Trent (issue 20 item 5): a run that handles every kind of secret, then a
search of what the server wrote for each of them.

The run (boto3, server logging at `debug`): an IAM user's access-key secret, the secret and
session token of an assumed-role session, Encrypt/Decrypt plaintexts, GenerateDataKey and
GenerateDataKeyPair plaintexts, GenerateRandom output, HMAC and signing messages, imported key
material, grant tokens, and failures that carry secrets in their requests (a wrong encryption
context, a wrong signature, a bad session token). Searched, in raw, base64 and hex form: the
server's log, the audit log, and the database files (where material and secrets must only be
sealed; grant tokens, which the database must be able to look up, are searched in the logs
only). Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs, or:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/secrets_never_leave.py
"""

import base64
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto3_basic import ACCOUNT, REGION, Server, expect_eq, step  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402


def client(server, service, key, secret, token=None):
    return boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=REGION,
    ).client(
        service,
        endpoint_url=server.endpoint,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded")


def forms(value):
    """The ways a secret could be written out: as it is, base64, hex."""
    raw = value if isinstance(value, bytes) else value.encode()
    return {
        "raw": raw,
        "base64": base64.b64encode(raw),
        "hex": raw.hex().encode(),
    }


def run(binary, work):
    data = Path(work) / "data"
    found = {}  # name -> value
    step("start the server (debug logging)")
    server = Server(binary, data, work, log_level="debug")
    try:
        iam = client(server, "iam", "test", "test")
        sts = client(server, "sts", "test", "test")

        step("IAM: a user with an access key; an assumed-role session")
        iam.create_user(UserName="secretive")
        iam.put_user_policy(
            UserName="secretive",
            PolicyName="assume",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="secretive")["AccessKey"]
        found["user secret"] = key["SecretAccessKey"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/secretive"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName="worker",
            PolicyName="kms",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
        )
        user_sts = client(server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
        creds = user_sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker", RoleSessionName="secretive-session")["Credentials"]
        found["session secret"] = creds["SecretAccessKey"]
        found["session token"] = creds["SessionToken"]
        kms = client(server, "kms", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        root_kms = client(server, "kms", "test", "test")

        step("cryptography with secrets in and out")
        key_id = root_kms.create_key()["KeyMetadata"]["KeyId"]
        plaintext = secrets.token_hex(24).encode()
        found["plaintext"] = plaintext
        context = {"purpose": "secret-" + secrets.token_hex(8)}
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
        expect_eq("decrypt", plaintext, kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])
        found["data key"] = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["Plaintext"]
        pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
        found["data key pair private key"] = pair["PrivateKeyPlaintext"]
        found["random bytes"] = kms.generate_random(NumberOfBytes=32)["Plaintext"]
        mac_key = root_kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        message = ("mac message " + secrets.token_hex(16)).encode()
        found["MAC message"] = message
        kms.generate_mac(KeyId=mac_key, Message=message, MacAlgorithm="HMAC_SHA_256")
        sign_key = root_kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        signed = ("signed message " + secrets.token_hex(16)).encode()
        found["signed message"] = signed
        kms.sign(KeyId=sign_key, Message=signed, SigningAlgorithm="ECDSA_SHA_256")

        step("imported key material")
        external = root_kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = root_kms.get_parameters_for_import(
            KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
        material = secrets.token_bytes(32)
        found["imported material"] = material
        public = serialization.load_der_public_key(params["PublicKey"])
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        root_kms.import_key_material(
            KeyId=external,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=public.encrypt(material, oaep),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )

        step("a grant token")
        grant_token = root_kms.create_grant(
            KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Decrypt"]
        )["GrantToken"]

        step("failures that carry secrets")
        expect_eq(
            "wrong context",
            "InvalidCiphertextException",
            error_code(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"purpose": "other"}),
        )
        forged = client(server, "kms", key["AccessKeyId"], "not-" + key["SecretAccessKey"])
        expect_eq("wrong secret", "InvalidSignatureException", error_code(forged.list_keys))
        bad_token = client(server, "kms", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"] + "x")
        code = error_code(bad_token.list_keys)
        if code not in ("UnrecognizedClientException", "InvalidSignatureException"):
            raise AssertionError(f"a bad session token: {code}")
        oversized = b"x" * 4097 + plaintext
        expect_eq("oversized plaintext", "ValidationException", error_code(kms.encrypt, KeyId=key_id, Plaintext=oversized))
    finally:
        server.stop()

    step("search what the server wrote")
    places = {
        "server log": server.log_path.read_bytes(),
        "audit log": (data / "audit.log").read_bytes(),
    }
    database = b"".join(p.read_bytes() for p in sorted(data.glob("trent.db*")))
    if not database:
        raise AssertionError("no database files to search")
    checked = 0
    for name, value in found.items():
        for form, needle in forms(value).items():
            for place, text in [*places.items(), ("database", database)]:
                checked += 1
                if needle in text:
                    raise AssertionError(f"the {name} ({form}) is in the {place}")
    for form, needle in forms(grant_token).items():
        for place, text in places.items():
            checked += 1
            if needle in text:
                raise AssertionError(f"the grant token ({form}) is in the {place}")
    # The search is not vacuous: the logs hold what they should.
    if b"listening on http://" not in places["server log"]:
        raise AssertionError("the server log is empty")
    if key_id.encode() not in places["audit log"]:
        raise AssertionError("the audit log does not name the key")
    print(f"   {len(found) + 1} secrets, {checked} searches, nothing found", flush=True)


def main():
    binary = os.environ.get("TRENT_BIN") or str(Path(__file__).resolve().parents[2] / "target/debug/trent")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-secrets.") as work:
        run(binary, work)
    print("PASS: tests/e2e/secrets_never_leave.py")


if __name__ == "__main__":
    main()
