#!/usr/bin/env python3
"""GetKeyLastUsage with boto3 against the real `trent serve` binary (aws-sdk-kms for Rust, at the
newest version this toolchain builds, predates the operation).

What counts as a use: successful cryptographic operations, both keys of ReEncrypt, also with
`--authz off`; what does not: reads and failures. The request ID and CloudTrail event ID it
reports are those of the audit record; the usage survives a restart (written when the server
stops). Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs, or:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/key_last_usage.py
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto3_basic import ROOT, Server, expect_eq, step  # noqa: E402

import botocore.exceptions  # noqa: E402


def last_use(kms, key_id):
    """(operation, request ID, event ID, timestamp) of the key's last use, or None."""
    out = kms.get_key_last_usage(KeyId=key_id)
    expect_eq("KeyId", key_id, out["KeyId"])
    expect_eq("TrackingStartDate is the creation date", out["KeyCreationDate"], out["TrackingStartDate"])
    usage = out.get("KeyLastUsage")
    if not usage:
        return None
    return usage["Operation"], usage["KmsRequestId"], usage["CloudTrailEventId"], usage["Timestamp"]


def audit_event_id(data, request_id):
    for line in (data / "audit.log").read_text().splitlines():
        record = json.loads(line)
        if record["requestID"] == request_id:
            return record["eventID"]
    raise AssertionError(f"no audit record for {request_id}")


def run(binary, work):
    data = Path(work) / "data"
    servers = []
    try:
        step("start the server; two keys, never used")
        server = Server(binary, data, work)
        servers.append(server)
        kms = server.kms()
        a = kms.create_key()["KeyMetadata"]["KeyId"]
        b = kms.create_key()["KeyMetadata"]["KeyId"]
        expect_eq("unused key", None, last_use(kms, a))

        step("Encrypt is a use, with the audit record's IDs")
        out = kms.encrypt(KeyId=a, Plaintext=b"x")
        request_id = out["ResponseMetadata"]["RequestId"]
        op, used_request, event_id, at = last_use(kms, a)
        expect_eq("operation", "Encrypt", op)
        expect_eq("KmsRequestId", request_id, used_request)
        expect_eq("CloudTrailEventId", audit_event_id(data, request_id), event_id)
        if abs(at.timestamp() - time.time()) > 60:
            raise AssertionError(f"Timestamp {at} is not now")
        blob = out["CiphertextBlob"]

        step("reads and failed calls are not uses")
        kms.describe_key(KeyId=a)
        kms.get_key_policy(KeyId=a, PolicyName="default")
        try:
            kms.decrypt(CiphertextBlob=blob, KeyId=b)
            raise AssertionError("Decrypt with the wrong key succeeded")
        except botocore.exceptions.ClientError as e:
            expect_eq("wrong key", "IncorrectKeyException", e.response["Error"]["Code"])
        expect_eq("still the Encrypt", request_id, last_use(kms, a)[1])
        expect_eq("b unused", None, last_use(kms, b))

        step("ReEncrypt uses both keys")
        out = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=b)
        re_encrypt = out["ResponseMetadata"]["RequestId"]
        for key in (a, b):
            op, used_request, _, _ = last_use(kms, key)
            expect_eq("operation", "ReEncrypt", op)
            expect_eq("request", re_encrypt, used_request)
        try:
            kms.get_key_last_usage(KeyId="alias/none")
            raise AssertionError("an alias was accepted")
        except botocore.exceptions.ClientError as e:
            expect_eq("alias", "InvalidArnException", e.response["Error"]["Code"])

        step("written when the server stops; --authz off still counts uses")
        before = last_use(kms, b)
        server.stop()
        server = Server(binary, data, work, ["--authz", "off"])
        servers.append(server)
        kms = server.kms()
        expect_eq("after restart", before, last_use(kms, b))
        kms.generate_data_key(KeyId=b, NumberOfBytes=32)
        expect_eq("GenerateDataKey", "GenerateDataKey", last_use(kms, b)[0])
        server.stop()
    except BaseException:
        for s in servers:
            s.kill()
        if servers:
            print(f"--- server log ({servers[-1].log_path}) ---\n{servers[-1].log()[-5000:]}", file=sys.stderr)
        raise


def main():
    binary = os.environ.get("TRENT_BIN") or str(ROOT / "target" / "debug" / "trent")
    if not os.access(binary, os.X_OK):
        sys.exit(f"key_last_usage.py: TRENT_BIN={binary} is not an executable (run cargo build -p trent)")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-usage.") as work:
        run(binary, work)
    print("PASS: tests/e2e/key_last_usage.py")


if __name__ == "__main__":
    main()
