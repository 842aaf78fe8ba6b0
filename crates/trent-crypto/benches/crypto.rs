//! Per-request cryptographic cost of the hot KMS operations, with key
//! material already parsed (as the service holds it).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use trent_crypto::{
    EncryptionContext, KeySpec, MacAlgorithm, MessageType, PrivateKeyMaterial, RootKey,
    SigningAlgorithm, blob, generate_mac, sign, verify,
};

const MESSAGE: &[u8] = b"a typical 64-byte message to be signed by the key management svc";

fn material(spec: KeySpec) -> PrivateKeyMaterial {
    match PrivateKeyMaterial::generate(spec) {
        Ok(m) => m,
        Err(e) => panic!("generate {spec}: {e}"),
    }
}

fn signing(c: &mut Criterion) {
    let p256 = material(KeySpec::EccNistP256);
    let rsa = material(KeySpec::Rsa2048);
    let ecdsa = SigningAlgorithm::EcdsaSha256;
    let pss = SigningAlgorithm::RsassaPssSha256;
    let raw = MessageType::Raw;

    c.bench_function("sign ECDSA P-256", |b| {
        b.iter(|| sign(&p256, ecdsa, black_box(MESSAGE), raw))
    });
    c.bench_function("sign RSA-2048 PSS SHA-256", |b| {
        b.iter(|| sign(&rsa, pss, black_box(MESSAGE), raw))
    });

    let Ok(p256_sig) = sign(&p256, ecdsa, MESSAGE, raw) else {
        panic!("sign P-256")
    };
    let Ok(rsa_sig) = sign(&rsa, pss, MESSAGE, raw) else {
        panic!("sign RSA")
    };
    c.bench_function("verify ECDSA P-256", |b| {
        b.iter(|| verify(&p256, ecdsa, black_box(MESSAGE), raw, &p256_sig))
    });
    c.bench_function("verify RSA-2048 PSS SHA-256", |b| {
        b.iter(|| verify(&rsa, pss, black_box(MESSAGE), raw, &rsa_sig))
    });
}

fn mac(c: &mut Criterion) {
    let hmac = material(KeySpec::Hmac256);
    c.bench_function("generate MAC HMAC-SHA-256", |b| {
        b.iter(|| generate_mac(&hmac, MacAlgorithm::HmacSha256, black_box(MESSAGE)))
    });
}

fn symmetric(c: &mut Criterion) {
    let key = material(KeySpec::SymmetricDefault);
    let Some(aes) = key.as_symmetric() else {
        panic!("symmetric")
    };
    let ec: EncryptionContext = [("purpose".to_string(), "bench".to_string())].into();
    let plaintext = [7u8; 32];
    c.bench_function("encrypt blob 32 B", |b| {
        b.iter(|| {
            blob::encrypt(
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                1,
                aes,
                black_box(&plaintext),
                &ec,
            )
        })
    });
    let Ok(ct) = blob::encrypt(
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        1,
        aes,
        &plaintext,
        &ec,
    ) else {
        panic!("encrypt")
    };
    c.bench_function("decrypt blob 32 B", |b| {
        b.iter(|| blob::decrypt(black_box(&ct), aes, &ec))
    });

    // Unsealing and parsing material: the cost of a key-cache miss.
    let Ok(root) = RootKey::generate() else {
        panic!("root key")
    };
    let rsa = material(KeySpec::Rsa2048);
    let Ok(sealed) = root.seal(&rsa.to_bytes(), b"key/k/v1") else {
        panic!("seal")
    };
    c.bench_function("unseal + parse RSA-2048 material", |b| {
        b.iter(|| {
            root.unseal(black_box(&sealed), b"key/k/v1")
                .and_then(|bytes| PrivateKeyMaterial::from_bytes(KeySpec::Rsa2048, &bytes))
        })
    });
}

criterion_group! {
    name = benches;
    // Short runs: the machine is small and shared.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = signing, mac, symmetric
}
criterion_main!(benches);
