//! ML-DSA (FIPS 204) interop with RustCrypto's `ml-dsa`: Trent's signatures
//! verify offline from the SPKI, Trent's PKCS#8 (seed form) parses in the
//! oracle to the same public key, and the oracle's signatures verify in
//! Trent.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use crate::support::{flip_bit, key};
use ml_dsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ml_dsa::{Keypair, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signer, Verifier};
use trent_crypto::{
    KeySpec, MessageType, SigningAlgorithm, public_key_spki_der, sign, verify_with_public_key,
};

const MESSAGE: &[u8] = b"post-quantum message";
const ALG: SigningAlgorithm = SigningAlgorithm::MlDsaShake256;

fn check<P: MlDsaParams>(spec: KeySpec)
where
    ml_dsa::VerifyingKey<P>: DecodePublicKey + EncodePublicKey,
    ml_dsa::SigningKey<P>: DecodePrivateKey,
{
    let m = key(spec);
    let spki = public_key_spki_der(m).unwrap();

    let vk = ml_dsa::VerifyingKey::<P>::from_public_key_der(&spki).unwrap();
    let ours = sign(m, ALG, MESSAGE, MessageType::Raw).unwrap();
    let sig = ml_dsa::Signature::<P>::try_from(ours.as_slice()).unwrap();
    assert!(vk.verify(MESSAGE, &sig).is_ok(), "{spec}");
    assert!(vk.verify(b"other", &sig).is_err(), "{spec}");
    let flipped = flip_bit(&ours, 1000);
    if let Ok(bad) = ml_dsa::Signature::<P>::try_from(flipped.as_slice()) {
        assert!(vk.verify(MESSAGE, &bad).is_err(), "{spec}");
    }

    let sk = ml_dsa::SigningKey::<P>::from_pkcs8_der(&m.to_bytes()).unwrap();
    let their_vk = sk.verifying_key();
    assert_eq!(
        their_vk.to_public_key_der().unwrap().as_bytes(),
        spki.as_slice(),
        "{spec}"
    );
    let theirs: ml_dsa::Signature<P> = sk.sign(MESSAGE);
    let theirs = theirs.encode();
    assert!(
        verify_with_public_key(
            spec,
            &spki,
            ALG,
            MESSAGE,
            MessageType::Raw,
            theirs.as_slice()
        )
        .unwrap()
    );
}

#[test]
fn ml_dsa_44() {
    check::<MlDsa44>(KeySpec::MlDsa44);
}

#[test]
fn ml_dsa_65() {
    check::<MlDsa65>(KeySpec::MlDsa65);
}

#[test]
fn ml_dsa_87() {
    check::<MlDsa87>(KeySpec::MlDsa87);
}
