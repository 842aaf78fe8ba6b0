#!/usr/bin/env python3
"""Importing key material with boto3 and Python `cryptography` against the real `trent serve`
binary, wrapping the way AWS's documentation describes it:

- an ECC_NIST_P384 signing key: a private key made by `cryptography`, PKCS#8 DER, wrapped with
  RSA_AES_KEY_WRAP_SHA_1 (RSA-OAEP-SHA-1 of an AES-256 key, then AES key wrap with padding);
  Trent's signature verifies with that key's public half;
- a symmetric key wrapped with RSAES_OAEP_SHA_1: on-demand rotation of imported material
  (ImportType NEW_KEY_MATERIAL, KeyMaterialDescription, ListKeyRotations with the import members,
  RotateKeyOnDemand), ciphertexts of both generations decrypting;
- an HMAC_512 key: GenerateMac equal to `cryptography`'s HMAC with the same key.

Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs, or:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/import_key_material.py
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto3_basic import ROOT, Server, expect_eq, step  # noqa: E402

import botocore.exceptions  # noqa: E402
from cryptography.hazmat.primitives import hashes, hmac, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding  # noqa: E402
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding  # noqa: E402


def oaep(algorithm):
    return padding.OAEP(mgf=padding.MGF1(algorithm=algorithm), algorithm=algorithm, label=None)


def import_material(kms, key_id, material, wrapping, **extra):
    """GetParametersForImport with `wrapping`, wrap `material` here, ImportKeyMaterial."""
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=wrapping, WrappingKeySpec="RSA_2048")
    public = serialization.load_der_public_key(params["PublicKey"])
    sha = hashes.SHA1() if wrapping.endswith("SHA_1") else hashes.SHA256()
    if wrapping.startswith("RSA_AES_KEY_WRAP"):
        aes_key = os.urandom(32)
        wrapped = public.encrypt(aes_key, oaep(sha)) + aes_key_wrap_with_padding(aes_key, material)
    else:
        wrapped = public.encrypt(material, oaep(sha))
    return kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        **extra,
    )


def external(kms, **spec):
    return kms.create_key(Origin="EXTERNAL", **spec)["KeyMetadata"]["KeyId"]


def run(binary, work):
    server = Server(binary, Path(work) / "data", work)
    try:
        kms = server.kms()

        step("ECC_NIST_P384 material wrapped with RSA_AES_KEY_WRAP_SHA_1")
        key = external(kms, KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")
        private = ec.generate_private_key(ec.SECP384R1())
        pkcs8 = private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        out = import_material(kms, key, pkcs8, "RSA_AES_KEY_WRAP_SHA_1")
        expect_eq("no KeyMaterialId for asymmetric keys", None, out.get("KeyMaterialId"))
        signature = kms.sign(KeyId=key, Message=b"hello", SigningAlgorithm="ECDSA_SHA_384")["Signature"]
        private.public_key().verify(signature, b"hello", ec.ECDSA(hashes.SHA384()))

        step("symmetric key wrapped with RSAES_OAEP_SHA_1, rotated on demand")
        key = external(kms)
        first = import_material(kms, key, os.urandom(32), "RSAES_OAEP_SHA_1")["KeyMaterialId"]
        old = kms.encrypt(KeyId=key, Plaintext=b"old")["CiphertextBlob"]
        second = import_material(
            kms, key, os.urandom(32), "RSAES_OAEP_SHA_256",
            ImportType="NEW_KEY_MATERIAL", KeyMaterialDescription="2027 batch",
        )["KeyMaterialId"]
        rotations = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
        expect_eq(
            "material before the rotation",
            [(first, "CURRENT", "IMPORTED", None), (second, "PENDING_ROTATION", "IMPORTED", "2027 batch")],
            [(r["KeyMaterialId"], r["KeyMaterialState"], r["ImportState"], r.get("KeyMaterialDescription"))
             for r in rotations],
        )
        kms.rotate_key_on_demand(KeyId=key)
        expect_eq("current after rotation", second, kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"])
        rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
        expect_eq("one rotation", [(second, "ON_DEMAND")], [(r["KeyMaterialId"], r["RotationType"]) for r in rotations])
        new = kms.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]
        expect_eq("old ciphertext", b"old", kms.decrypt(CiphertextBlob=old)["Plaintext"])
        expect_eq("new ciphertext", b"new", kms.decrypt(CiphertextBlob=new)["Plaintext"])

        step("HMAC_512 material: the same MAC as cryptography's")
        key = external(kms, KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")
        secret = os.urandom(64)
        import_material(kms, key, secret, "RSAES_OAEP_SHA_256")
        mac = kms.generate_mac(KeyId=key, Message=b"data", MacAlgorithm="HMAC_SHA_512")["Mac"]
        h = hmac.HMAC(secret, hashes.SHA512())
        h.update(b"data")
        expect_eq("MAC", h.finalize(), mac)

        step("an HMAC key too short for HMAC_512 is refused")
        key = external(kms, KeySpec="HMAC_512", KeyUsage="GENERATE_VERIFY_MAC")
        try:
            import_material(kms, key, os.urandom(32), "RSAES_OAEP_SHA_256")
            raise AssertionError("a 32-byte HMAC_512 key was accepted")
        except botocore.exceptions.ClientError as e:
            expect_eq("short HMAC key", "IncorrectKeyMaterialException", e.response["Error"]["Code"])
        expect_eq("still pending import", "PendingImport", kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"])
        server.stop()
    except BaseException:
        server.kill()
        print(f"--- server log ({server.log_path}) ---\n{server.log()[-5000:]}", file=sys.stderr)
        raise


def main():
    binary = os.environ.get("TRENT_BIN") or str(ROOT / "target" / "debug" / "trent")
    if not os.access(binary, os.X_OK):
        sys.exit(f"import_key_material.py: TRENT_BIN={binary} is not an executable (run cargo build -p trent)")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-import.") as work:
        run(binary, work)
    print("PASS: tests/e2e/import_key_material.py")


if __name__ == "__main__":
    main()
