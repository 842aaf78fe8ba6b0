#!/usr/bin/env bash
# Importing key material with the `aws` CLI and the OpenSSL command line, step by step as AWS's
# documentation ("Importing key material for AWS KMS keys") tells users to do it, against the
# real `trent serve` binary:
#   1. a symmetric key: 32 random bytes from `openssl rand`, wrapped with `openssl pkeyutl`
#      (RSAES_OAEP_SHA_256 under an RSA_3072 wrapping key), imported to expire; Encrypt/Decrypt;
#      DeleteImportedKeyMaterial, then the same bytes imported again and the earlier ciphertext
#      decrypting; the material surviving a restart;
#   2. an RSA_2048 signing key: a private key from `openssl genpkey` in PKCS#8 DER, wrapped with
#      RSA_AES_KEY_WRAP_SHA_256 (an AES-256 key wrapped by `openssl pkeyutl`, the material by
#      `openssl enc -id-aes256-wrap-pad`) under an RSA_4096 wrapping key; a signature made by
#      Trent verified by `openssl dgst` with the public half of that same private key.
#
# Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs, or by hand:
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/import_key_material.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if ! command -v openssl >/dev/null; then
    echo "SKIPPED: tests/e2e/import_key_material.sh needs the openssl command line" >&2
    exit 0
fi

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
kms() {
    aws --endpoint-url "$endpoint" kms "$@"
}
hex() { # file -> lowercase hex on one line
    od -An -v -tx1 "$1" | tr -d ' \n'
}
# GetParametersForImport: writes $dir/WrappingPublicKey.bin and $dir/ImportToken.bin.
parameters() { # key-id algorithm wrapping-key-spec dir
    mkdir -p "$4"
    kms get-parameters-for-import --key-id "$1" --wrapping-algorithm "$2" \
        --wrapping-key-spec "$3" --output json >"$4/parameters.json"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["PublicKey"])' \
        "$4/parameters.json" | openssl enc -d -base64 -A -out "$4/WrappingPublicKey.bin"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ImportToken"])' \
        "$4/parameters.json" | openssl enc -d -base64 -A -out "$4/ImportToken.bin"
}
oaep_sha256() { # in out public-key
    openssl pkeyutl -encrypt -in "$1" -out "$2" -inkey "$3" -keyform DER -pubin \
        -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
}

start_server "$work/data"

step "symmetric key: RSAES_OAEP_SHA_256 with an RSA_3072 wrapping key"
key=$(kms create-key --origin EXTERNAL --description "imported" --query KeyMetadata.KeyId \
    --output text)
expect_eq "new EXTERNAL key state" PendingImport \
    "$(kms describe-key --key-id "$key" --query KeyMetadata.KeyState --output text)"
p="$work/sym"
parameters "$key" RSAES_OAEP_SHA_256 RSA_3072 "$p"
openssl rand -out "$p/PlaintextKeyMaterial.bin" 32
oaep_sha256 "$p/PlaintextKeyMaterial.bin" "$p/EncryptedKeyMaterial.bin" "$p/WrappingPublicKey.bin"
valid_to=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
material_id=$(kms import-key-material --key-id "$key" \
    --encrypted-key-material "fileb://$p/EncryptedKeyMaterial.bin" \
    --import-token "fileb://$p/ImportToken.bin" \
    --expiration-model KEY_MATERIAL_EXPIRES --valid-to "$valid_to" \
    --query KeyMaterialId --output text)
expect_eq "KeyMaterialId is 64 hex digits" 64 "$(tr -cd 'a-f0-9' <<<"$material_id" | wc -c)"
expect_eq "state, expiration model, current material after import" \
    "Enabled	KEY_MATERIAL_EXPIRES	$material_id" \
    "$(kms describe-key --key-id "$key" --output text \
        --query '[KeyMetadata.KeyState, KeyMetadata.ExpirationModel, KeyMetadata.CurrentKeyMaterialId]')"
printf 'secret data' >"$work/plain.txt"
kms encrypt --key-id "$key" --plaintext "fileb://$work/plain.txt" --query CiphertextBlob \
    --output text | openssl enc -d -base64 -A -out "$work/cipher.bin"
decrypted() {
    kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" --query Plaintext --output text |
        openssl enc -d -base64 -A
}
expect_eq "decrypt with imported material" "secret data" "$(decrypted)"

step "DeleteImportedKeyMaterial, then the same bytes again"
kms delete-imported-key-material --key-id "$key" >/dev/null
expect_eq "state after delete" PendingImport \
    "$(kms describe-key --key-id "$key" --query KeyMetadata.KeyState --output text)"
expect_kms_error KMSInvalidStateException \
    "arn:aws:kms:us-east-1:000000000000:key/$key is pending import." \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin"
# Each import needs its own wrapping: new parameters, the same plaintext bytes.
parameters "$key" RSAES_OAEP_SHA_256 RSA_3072 "$p"
oaep_sha256 "$p/PlaintextKeyMaterial.bin" "$p/EncryptedKeyMaterial.bin" "$p/WrappingPublicKey.bin"
again=$(kms import-key-material --key-id "$key" \
    --encrypted-key-material "fileb://$p/EncryptedKeyMaterial.bin" \
    --import-token "fileb://$p/ImportToken.bin" \
    --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE --query KeyMaterialId --output text)
expect_eq "same material, same ID" "$material_id" "$again"
expect_eq "earlier ciphertext decrypts after re-import" "secret data" "$(decrypted)"

step "the material survives a restart"
stop_server
start_server "$work/data"
expect_eq "decrypt after restart" "secret data" "$(decrypted)"
expect_eq "expiration model after restart" KEY_MATERIAL_DOES_NOT_EXPIRE \
    "$(kms describe-key --key-id "$key" --query KeyMetadata.ExpirationModel --output text)"

step "RSA_2048 signing key: RSA_AES_KEY_WRAP_SHA_256 with an RSA_4096 wrapping key"
rsa_key=$(kms create-key --origin EXTERNAL --key-spec RSA_2048 --key-usage SIGN_VERIFY \
    --query KeyMetadata.KeyId --output text)
r="$work/rsa"
parameters "$rsa_key" RSA_AES_KEY_WRAP_SHA_256 RSA_4096 "$r"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$r/private.pem" 2>/dev/null
openssl pkcs8 -topk8 -inform PEM -outform DER -nocrypt -in "$r/private.pem" \
    -out "$r/PlaintextKeyMaterial.der"
openssl rand -out "$r/aes-key.bin" 32
openssl enc -id-aes256-wrap-pad -K "$(hex "$r/aes-key.bin")" -iv A65959A6 \
    -in "$r/PlaintextKeyMaterial.der" -out "$r/key-material-wrapped.bin"
oaep_sha256 "$r/aes-key.bin" "$r/aes-key-wrapped.bin" "$r/WrappingPublicKey.bin"
cat "$r/aes-key-wrapped.bin" "$r/key-material-wrapped.bin" >"$r/EncryptedKeyMaterial.bin"
kms import-key-material --key-id "$rsa_key" \
    --encrypted-key-material "fileb://$r/EncryptedKeyMaterial.bin" \
    --import-token "fileb://$r/ImportToken.bin" \
    --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE >/dev/null
printf 'signed message' >"$r/message.txt"
kms sign --key-id "$rsa_key" --message "fileb://$r/message.txt" --message-type RAW \
    --signing-algorithm RSASSA_PKCS1_V1_5_SHA_256 --query Signature --output text |
    openssl enc -d -base64 -A -out "$r/signature.bin"
openssl pkey -in "$r/private.pem" -pubout -out "$r/public.pem"
openssl dgst -sha256 -verify "$r/public.pem" -signature "$r/signature.bin" "$r/message.txt" \
    >/dev/null || fail "OpenSSL does not verify Trent's signature with the imported key"

step "a wrapping for another import is refused and changes nothing"
other=$(kms create-key --origin EXTERNAL --query KeyMetadata.KeyId --output text)
o="$work/other"
parameters "$other" RSAES_OAEP_SHA_256 RSA_2048 "$o"
expect_kms_error InvalidImportTokenException \
    "The import token is not valid for arn:aws:kms:us-east-1:000000000000:key/$other. It must come from a GetParametersForImport request for this KMS key." \
    import-key-material --key-id "$other" \
    --encrypted-key-material "fileb://$p/EncryptedKeyMaterial.bin" \
    --import-token "fileb://$p/ImportToken.bin" --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
expect_eq "state after the refused import" PendingImport \
    "$(kms describe-key --key-id "$other" --query KeyMetadata.KeyState --output text)"
echo "import_key_material.sh: all checks passed"
