#!/usr/bin/env python3
"""End-to-end test with boto3 against the real `trent serve` binary.

Flow: create key and alias, encrypt, decrypt, encryption-context mismatch, GenerateDataKey used for
local AES-256-GCM (the `cryptography` package), Decrypt of the data key, restart the server on the
same data dir and decrypt again (persistence), disable -> DisabledException, schedule deletion ->
KMSInvalidStateException.

Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs (which sets TRENT_BIN), or by hand
after `cargo build -p trent`, with the venv that scripts/test creates:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/boto3_basic.py
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as e:
    sys.exit(f"boto3_basic.py: {e}; run scripts/test (it installs boto3 and cryptography in .venv)")

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "000000000000"
REGION = "us-east-1"
ALIAS = "alias/trent-e2e-boto3"
CONTEXT = {"purpose": "e2e", "tool": "boto3"}
LISTENING = re.compile(r"listening on (https?://127\.0\.0\.1:\d+), data dir ")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def step(what):
    print(f"== {what}", flush=True)


def expect_eq(what, expected, actual):
    if expected != actual:
        raise AssertionError(f"{what}:\n  expected: {expected!r}\n  actual:   {actual!r}")


class Server:
    """`trent serve` on 127.0.0.1:0 with the given data dir; stderr goes to a log file."""

    starts = 0

    def __init__(self, binary, data_dir, work, extra_args=(), log_level="info"):
        Server.starts += 1
        self.log_path = Path(work) / f"server.{Server.starts}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRENT_")}
        env["RUST_LOG"] = log_level
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *extra_args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )
        deadline = time.monotonic() + 30
        while True:
            match = LISTENING.search(self.log())
            if match:
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited during startup:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not log its address within 30 s:\n{self.log()}")
            time.sleep(0.05)
        self.endpoint = match.group(1)
        print(f"   server {Server.starts}: pid {self.proc.pid} on {self.endpoint}", flush=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def kms(self, access_key="test", secret_key="test", region=REGION):
        return boto3.session.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        ).client(
            "kms",
            endpoint_url=self.endpoint,
            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def stop(self):
        """SIGTERM; the server must exit 0 within 10 s after logging that it stopped."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("server did not stop within 10 s of SIGTERM") from None
        expect_eq("server exit status after SIGTERM", 0, rc)
        if not self.log().rstrip().endswith("stopped"):
            raise AssertionError(f"server log does not end with 'stopped':\n{self.log()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def expect_error(code, message, call, **kwargs):
    """`call(**kwargs)` must fail with exactly this error code and message.

    The wire error of InvalidCiphertextException has no message member; botocore reports "".
    """
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        error = e.response["Error"]
        expect_eq(f"{call.__name__} error code", code, error.get("Code"))
        expect_eq(f"{call.__name__} error message", message, error.get("Message"))
        expect_eq(f"{call.__name__} HTTP status", 400, e.response["ResponseMetadata"]["HTTPStatusCode"])
        return
    raise AssertionError(f"{call.__name__} succeeded; expected {code}")


def run(binary, work):
    data = Path(work) / "data"
    servers = []

    def start():
        servers.append(Server(binary, data, work))
        return servers[-1]

    try:
        step("start the server on a fresh data dir")
        server = start()
        kms = server.kms()

        step("create a key and an alias")
        meta = kms.create_key(Description="trent e2e boto3")["KeyMetadata"]
        key_id = meta["KeyId"]
        if not UUID.match(key_id):
            raise AssertionError(f"CreateKey returned a KeyId that is not a UUID: {key_id!r}")
        arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
        expect_eq("CreateKey Arn", arn, meta["Arn"])
        expect_eq("CreateKey KeyState", "Enabled", meta["KeyState"])
        expect_eq("CreateKey KeySpec", "SYMMETRIC_DEFAULT", meta["KeySpec"])
        expect_eq("CreateKey KeyUsage", "ENCRYPT_DECRYPT", meta["KeyUsage"])
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
        aliases = kms.list_aliases(KeyId=key_id)["Aliases"]
        expect_eq(
            "ListAliases for the key",
            [(ALIAS, f"arn:aws:kms:{REGION}:{ACCOUNT}:{ALIAS}", key_id)],
            [(a["AliasName"], a["AliasArn"], a.get("TargetKeyId")) for a in aliases],
        )

        step("encrypt and decrypt through the alias")
        plaintext = bytes(range(256)) + os.urandom(1000)
        enc = kms.encrypt(KeyId=ALIAS, Plaintext=plaintext, EncryptionContext=CONTEXT)
        expect_eq("Encrypt KeyId", arn, enc["KeyId"])
        expect_eq("Encrypt EncryptionAlgorithm", "SYMMETRIC_DEFAULT", enc["EncryptionAlgorithm"])
        blob = enc["CiphertextBlob"]
        if plaintext in blob:
            raise AssertionError("the ciphertext blob contains the plaintext")
        dec = kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
        expect_eq("Decrypt KeyId", arn, dec["KeyId"])
        expect_eq("Decrypt Plaintext", plaintext, dec["Plaintext"])
        again = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=CONTEXT)
        if again["CiphertextBlob"] == blob:
            raise AssertionError("two encryptions of the same plaintext gave the same blob")

        step("encryption-context mismatch -> InvalidCiphertextException")
        for wrong in ({}, {"purpose": "e2e"}, {**CONTEXT, "tool": "other"}, {**CONTEXT, "extra": "x"}):
            expect_error(
                "InvalidCiphertextException", "", kms.decrypt, CiphertextBlob=blob, EncryptionContext=wrong
            )
        tampered = bytearray(blob)
        tampered[-1] ^= 0x01
        expect_error(
            "InvalidCiphertextException",
            "",
            kms.decrypt,
            CiphertextBlob=bytes(tampered),
            EncryptionContext=CONTEXT,
        )

        step("GenerateDataKey, local AES-256-GCM, Decrypt of the data key")
        dk = kms.generate_data_key(KeyId=ALIAS, KeySpec="AES_256", EncryptionContext=CONTEXT)
        expect_eq("GenerateDataKey KeyId", arn, dk["KeyId"])
        data_key = dk["Plaintext"]
        expect_eq("data key length", 32, len(data_key))
        nonce = os.urandom(12)
        message = b"envelope-encrypted payload \x00\xff" * 100
        sealed = AESGCM(data_key).encrypt(nonce, message, b"trent-e2e")
        unwrapped = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=CONTEXT)
        expect_eq("Decrypt of the data key: KeyId", arn, unwrapped["KeyId"])
        expect_eq("Decrypt of the data key: Plaintext", data_key, unwrapped["Plaintext"])
        expect_eq(
            "local AES-GCM round trip",
            message,
            AESGCM(unwrapped["Plaintext"]).decrypt(nonce, sealed, b"trent-e2e"),
        )
        expect_error("InvalidCiphertextException", "", kms.decrypt, CiphertextBlob=dk["CiphertextBlob"])
        wrapped_only = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
        if "Plaintext" in wrapped_only:
            raise AssertionError("GenerateDataKeyWithoutPlaintext returned a Plaintext")
        expect_eq(
            "Decrypt of a GenerateDataKeyWithoutPlaintext key: length",
            16,
            len(kms.decrypt(CiphertextBlob=wrapped_only["CiphertextBlob"])["Plaintext"]),
        )

        step("restart the server on the same data dir and decrypt again")
        server.stop()
        server = start()
        kms = server.kms()
        expect_eq(
            "Decrypt after restart",
            plaintext,
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"],
        )
        expect_eq(
            "data key after restart",
            data_key,
            kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=CONTEXT)["Plaintext"],
        )
        expect_eq("alias after restart", key_id, kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"])

        step("disable the key -> DisabledException")
        kms.disable_key(KeyId=key_id)
        expect_eq(
            "state after DisableKey", "Disabled", kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        )
        disabled = f"{arn} is disabled."
        expect_error("DisabledException", disabled, kms.encrypt, KeyId=ALIAS, Plaintext=b"x")
        expect_error(
            "DisabledException", disabled, kms.decrypt, CiphertextBlob=blob, EncryptionContext=CONTEXT
        )
        expect_error("DisabledException", disabled, kms.generate_data_key, KeyId=key_id, KeySpec="AES_256")

        step("schedule deletion -> KMSInvalidStateException")
        kms.enable_key(KeyId=key_id)
        sched = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        expect_eq("ScheduleKeyDeletion KeyState", "PendingDeletion", sched["KeyState"])
        expect_eq("ScheduleKeyDeletion PendingWindowInDays", 7, sched["PendingWindowInDays"])
        offset = sched["DeletionDate"].timestamp() - time.time() - 7 * 86400
        if abs(offset) > 300:
            raise AssertionError(
                f"DeletionDate {sched['DeletionDate']} is not 7 days from now: off by {offset:.0f} s"
            )
        pending = f"{arn} is pending deletion."
        expect_error("KMSInvalidStateException", pending, kms.encrypt, KeyId=ALIAS, Plaintext=b"x")
        expect_error(
            "KMSInvalidStateException", pending, kms.decrypt, CiphertextBlob=blob, EncryptionContext=CONTEXT
        )
        expect_error(
            "KMSInvalidStateException", pending, kms.generate_data_key, KeyId=key_id, KeySpec="AES_256"
        )
        server.stop()
    except BaseException:
        for s in servers:
            s.kill()
        if servers:
            print(
                f"--- server log ({servers[-1].log_path}) ---\n{servers[-1].log()[-5000:]}", file=sys.stderr
            )
        raise


def main():
    binary = os.environ.get("TRENT_BIN") or str(ROOT / "target" / "debug" / "trent")
    if not os.access(binary, os.X_OK):
        sys.exit(f"boto3_basic.py: TRENT_BIN={binary} is not an executable (run cargo build -p trent)")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-boto3.") as work:
        run(binary, work)
    print("PASS: tests/e2e/boto3_basic.py")


if __name__ == "__main__":
    main()
