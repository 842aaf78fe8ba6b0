//! ECC interop with RustCrypto (`p256`, `p384`, `p521`, `k256`,
//! `ed25519-dalek`): ECDSA/Ed25519 signatures verified offline, ECDH agreed
//! on both sides, PKCS#8 data key pairs.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use crate::support::{flip_bit, key};
use ecdsa_oracles::*;
use sha2::Digest as _;
use trent_crypto::{
    CryptoError, KeySpec, MessageType, PrivateKeyMaterial, SigningAlgorithm, derive_shared_secret,
    generate_data_key_pair, public_key_spki_der, sign, verify_with_public_key,
};

const MESSAGE: &[u8] = b"an ECC message";

/// One oracle call per curve: (verify RAW, verify DIGEST) of a DER signature.
mod ecdsa_oracles {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::pkcs8::DecodePublicKey;

    pub fn p256_verify(spki: &[u8], msg: &[u8], digest: Option<&[u8]>, sig: &[u8]) -> bool {
        let vk = p256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
        let Ok(sig) = p256::ecdsa::Signature::from_der(sig) else {
            return false;
        };
        match digest {
            None => vk.verify(msg, &sig).is_ok(),
            Some(d) => vk.verify_prehash(d, &sig).is_ok(),
        }
    }

    pub fn p384_verify(spki: &[u8], msg: &[u8], digest: Option<&[u8]>, sig: &[u8]) -> bool {
        let vk = p384::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
        let Ok(sig) = p384::ecdsa::Signature::from_der(sig) else {
            return false;
        };
        match digest {
            None => vk.verify(msg, &sig).is_ok(),
            Some(d) => vk.verify_prehash(d, &sig).is_ok(),
        }
    }

    pub fn p521_verify(spki: &[u8], msg: &[u8], digest: Option<&[u8]>, sig: &[u8]) -> bool {
        let pk = p521::PublicKey::from_public_key_der(spki).unwrap();
        let vk = p521::ecdsa::VerifyingKey::from_affine(*pk.as_affine()).unwrap();
        let Ok(sig) = p521::ecdsa::Signature::from_der(sig) else {
            return false;
        };
        match digest {
            None => vk.verify(msg, &sig).is_ok(),
            Some(d) => vk.verify_prehash(d, &sig).is_ok(),
        }
    }

    /// k256 accepts only low-S signatures (a Bitcoin/Ethereum rule, not an
    /// ECDSA one); KMS does not normalize S, and neither does Trent, so
    /// normalize before handing the signature to the oracle.
    pub fn k256_verify(spki: &[u8], msg: &[u8], digest: Option<&[u8]>, sig: &[u8]) -> bool {
        let vk = k256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
        let Ok(sig) = k256::ecdsa::Signature::from_der(sig) else {
            return false;
        };
        let sig = sig.normalize_s().unwrap_or(sig);
        match digest {
            None => vk.verify(msg, &sig).is_ok(),
            Some(d) => vk.verify_prehash(d, &sig).is_ok(),
        }
    }
}

type Oracle = fn(&[u8], &[u8], Option<&[u8]>, &[u8]) -> bool;

fn ecdsa_cases() -> [(KeySpec, SigningAlgorithm, Vec<u8>, Oracle); 4] {
    [
        (
            KeySpec::EccNistP256,
            SigningAlgorithm::EcdsaSha256,
            sha2::Sha256::digest(MESSAGE).to_vec(),
            p256_verify,
        ),
        (
            KeySpec::EccNistP384,
            SigningAlgorithm::EcdsaSha384,
            sha2::Sha384::digest(MESSAGE).to_vec(),
            p384_verify,
        ),
        (
            KeySpec::EccNistP521,
            SigningAlgorithm::EcdsaSha512,
            sha2::Sha512::digest(MESSAGE).to_vec(),
            p521_verify,
        ),
        (
            KeySpec::EccSecgP256k1,
            SigningAlgorithm::EcdsaSha256,
            sha2::Sha256::digest(MESSAGE).to_vec(),
            k256_verify,
        ),
    ]
}

#[test]
fn ecdsa_signatures_verify_offline() {
    for (spec, alg, digest, oracle) in ecdsa_cases() {
        let spki = public_key_spki_der(key(spec)).unwrap();
        // ECDSA is randomized: check several signatures per key.
        for _ in 0..8 {
            let raw = sign(key(spec), alg, MESSAGE, MessageType::Raw).unwrap();
            assert!(oracle(&spki, MESSAGE, None, &raw), "{spec} RAW");
            assert!(
                oracle(&spki, MESSAGE, Some(&digest), &raw),
                "{spec} RAW as prehash"
            );
            let dig = sign(key(spec), alg, &digest, MessageType::Digest).unwrap();
            assert!(oracle(&spki, MESSAGE, Some(&digest), &dig), "{spec} DIGEST");
            assert!(!oracle(&spki, b"other", None, &raw), "{spec} other message");
            assert!(
                !oracle(&spki, MESSAGE, None, &flip_bit(&raw, raw.len() * 8 - 3)),
                "{spec} flipped"
            );
        }
    }
}

#[test]
fn offline_ecdsa_signatures_verify_in_trent() {
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    let sk = p256::ecdsa::SigningKey::random(&mut rand::thread_rng());
    let spki = sk.verifying_key().to_public_key_der().unwrap();
    let sig: p256::ecdsa::Signature = sk.sign(MESSAGE);
    let der = sig.to_der();
    let ok = verify_with_public_key(
        KeySpec::EccNistP256,
        spki.as_bytes(),
        SigningAlgorithm::EcdsaSha256,
        MESSAGE,
        MessageType::Raw,
        der.as_bytes(),
    )
    .unwrap();
    assert!(ok);

    // Same `signature`/`pkcs8` traits as above: they cover k256 too.
    let sk = k256::ecdsa::SigningKey::random(&mut rand::thread_rng());
    let spki = sk.verifying_key().to_public_key_der().unwrap();
    let sig: k256::ecdsa::Signature = sk.sign(MESSAGE);
    assert!(
        verify_with_public_key(
            KeySpec::EccSecgP256k1,
            spki.as_bytes(),
            SigningAlgorithm::EcdsaSha256,
            MESSAGE,
            MessageType::Raw,
            sig.to_der().as_bytes(),
        )
        .unwrap()
    );
}

#[test]
fn ed25519_signatures_verify_offline_and_back() {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
    use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
    let m = key(KeySpec::EccNistEdwards25519);
    let spki = public_key_spki_der(m).unwrap();
    let vk = VerifyingKey::from_public_key_der(&spki).unwrap();
    let raw = sign(
        m,
        SigningAlgorithm::Ed25519Sha512,
        MESSAGE,
        MessageType::Raw,
    )
    .unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&raw).unwrap();
    assert!(vk.verify_strict(MESSAGE, &sig).is_ok());
    assert!(vk.verify_strict(b"other", &sig).is_err());

    // Ed25519 is deterministic: the oracle, given the same private key,
    // makes the identical signature, and Trent verifies the oracle's.
    let sk = SigningKey::from_pkcs8_der(&m.to_bytes()).unwrap();
    let theirs = sk.sign(MESSAGE);
    assert_eq!(theirs.to_bytes().as_slice(), raw.as_slice());
    let other = SigningKey::from_bytes(&[7; 32]);
    use ed25519_dalek::pkcs8::EncodePublicKey;
    let other_spki = other.verifying_key().to_public_key_der().unwrap();
    assert!(
        verify_with_public_key(
            KeySpec::EccNistEdwards25519,
            other_spki.as_bytes(),
            SigningAlgorithm::Ed25519Sha512,
            MESSAGE,
            MessageType::Raw,
            &other.sign(MESSAGE).to_bytes(),
        )
        .unwrap()
    );
}

#[test]
fn ecdh_agrees_with_the_oracle() {
    use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
    let mut rng = rand::thread_rng();

    let trent = key(KeySpec::EccNistP256);
    let theirs = p256::SecretKey::random(&mut rng);
    let their_spki = theirs.public_key().to_public_key_der().unwrap();
    let ours = derive_shared_secret(trent, their_spki.as_bytes()).unwrap();
    let trent_pub =
        p256::PublicKey::from_public_key_der(&public_key_spki_der(trent).unwrap()).unwrap();
    let expected = p256::ecdh::diffie_hellman(theirs.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), expected.raw_secret_bytes().as_slice());
    assert_eq!(ours.len(), 32);

    let trent = key(KeySpec::EccNistP384);
    let theirs = p384::SecretKey::random(&mut rng);
    let their_spki = p384::pkcs8::EncodePublicKey::to_public_key_der(&theirs.public_key()).unwrap();
    let ours = derive_shared_secret(trent, their_spki.as_bytes()).unwrap();
    let trent_pub: p384::PublicKey =
        p384::pkcs8::DecodePublicKey::from_public_key_der(&public_key_spki_der(trent).unwrap())
            .unwrap();
    let expected = p384::ecdh::diffie_hellman(theirs.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), expected.raw_secret_bytes().as_slice());

    let trent = key(KeySpec::EccNistP521);
    let theirs = p521::SecretKey::random(&mut rng);
    let their_spki = p521::pkcs8::EncodePublicKey::to_public_key_der(&theirs.public_key()).unwrap();
    let ours = derive_shared_secret(trent, their_spki.as_bytes()).unwrap();
    let trent_pub: p521::PublicKey =
        p521::pkcs8::DecodePublicKey::from_public_key_der(&public_key_spki_der(trent).unwrap())
            .unwrap();
    let expected = p521::ecdh::diffie_hellman(theirs.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), expected.raw_secret_bytes().as_slice());
    assert_eq!(ours.len(), 66);
}

#[test]
fn ecdh_between_two_trent_keys_is_symmetric() {
    for spec in [
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
    ] {
        let a = PrivateKeyMaterial::generate(spec).unwrap();
        let b = PrivateKeyMaterial::generate(spec).unwrap();
        let ab = derive_shared_secret(&a, &public_key_spki_der(&b).unwrap()).unwrap();
        let ba = derive_shared_secret(&b, &public_key_spki_der(&a).unwrap()).unwrap();
        assert_eq!(ab, ba, "{spec}");
    }
}

#[test]
fn ecdh_rejects_bad_peers_and_specs() {
    let p256 = key(KeySpec::EccNistP256);
    let p384_spki = public_key_spki_der(key(KeySpec::EccNistP384)).unwrap();
    assert!(matches!(
        derive_shared_secret(p256, &p384_spki),
        Err(CryptoError::InvalidPublicKey)
    ));
    let k256_spki = public_key_spki_der(key(KeySpec::EccSecgP256k1)).unwrap();
    assert!(matches!(
        derive_shared_secret(p256, &k256_spki),
        Err(CryptoError::InvalidPublicKey)
    ));
    // A bare uncompressed point is not an SPKI.
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let sec1 = p256::SecretKey::random(&mut rand::thread_rng())
        .public_key()
        .to_encoded_point(false);
    assert!(matches!(
        derive_shared_secret(p256, sec1.as_bytes()),
        Err(CryptoError::InvalidPublicKey)
    ));
    for junk in [&b""[..], &[0x30, 0x03, 0x02, 0x01, 0x00][..]] {
        assert!(matches!(
            derive_shared_secret(p256, junk),
            Err(CryptoError::InvalidPublicKey)
        ));
    }
    // A flipped bit in the peer's point leaves the curve (or changes the secret).
    let peer =
        public_key_spki_der(&PrivateKeyMaterial::generate(KeySpec::EccNistP256).unwrap()).unwrap();
    let good = derive_shared_secret(p256, &peer).unwrap();
    let bad = flip_bit(&peer, peer.len() * 8 - 1);
    assert!(
        derive_shared_secret(p256, &bad)
            .map(|s| s != good)
            .unwrap_or(true)
    );

    for spec in [
        KeySpec::EccSecgP256k1,
        KeySpec::EccNistEdwards25519,
        KeySpec::Rsa2048,
        KeySpec::Hmac256,
        KeySpec::SymmetricDefault,
    ] {
        assert!(
            matches!(
                derive_shared_secret(key(spec), &p384_spki),
                Err(CryptoError::IncompatibleAlgorithm {
                    algorithm: "ECDH",
                    ..
                })
            ),
            "{spec}"
        );
    }
}

#[test]
fn ecc_data_key_pairs_parse_offline() {
    use p256::pkcs8::DecodePrivateKey;
    let pair = generate_data_key_pair(KeySpec::EccNistP256).unwrap();
    let sk = p256::SecretKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
    assert_eq!(
        p256::pkcs8::EncodePublicKey::to_public_key_der(&sk.public_key())
            .unwrap()
            .as_bytes(),
        pair.public_key_spki_der.as_slice()
    );
    let pair = generate_data_key_pair(KeySpec::EccNistP384).unwrap();
    let sk = p384::SecretKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
    assert_eq!(
        p384::pkcs8::EncodePublicKey::to_public_key_der(&sk.public_key())
            .unwrap()
            .as_bytes(),
        pair.public_key_spki_der.as_slice()
    );
    let pair = generate_data_key_pair(KeySpec::EccNistP521).unwrap();
    let sk = p521::SecretKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
    assert_eq!(
        p521::pkcs8::EncodePublicKey::to_public_key_der(&sk.public_key())
            .unwrap()
            .as_bytes(),
        pair.public_key_spki_der.as_slice()
    );
    let pair = generate_data_key_pair(KeySpec::EccSecgP256k1).unwrap();
    let sk = k256::SecretKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
    assert_eq!(
        k256::pkcs8::EncodePublicKey::to_public_key_der(&sk.public_key())
            .unwrap()
            .as_bytes(),
        pair.public_key_spki_der.as_slice()
    );
    let pair = generate_data_key_pair(KeySpec::EccNistEdwards25519).unwrap();
    let sk = ed25519_dalek::SigningKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
    assert_eq!(
        ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_der(&sk.verifying_key())
            .unwrap()
            .as_bytes(),
        pair.public_key_spki_der.as_slice()
    );
}

#[test]
fn data_key_pair_specs() {
    assert!(matches!(
        generate_data_key_pair(KeySpec::Sm2),
        Err(CryptoError::Unsupported(_))
    ));
    for spec in [
        KeySpec::SymmetricDefault,
        KeySpec::Hmac256,
        KeySpec::MlDsa44,
    ] {
        assert!(matches!(
            generate_data_key_pair(spec),
            Err(CryptoError::IncompatibleAlgorithm { .. })
        ));
    }
    // Fresh every time.
    let a = generate_data_key_pair(KeySpec::EccNistP256).unwrap();
    let b = generate_data_key_pair(KeySpec::EccNistP256).unwrap();
    assert_ne!(a.public_key_spki_der, b.public_key_spki_der);
}
