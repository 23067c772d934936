//! Public-key validation and fingerprints, written independently of the product's key code so
//! that a bug there cannot hide behind the same bug here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use spki::der::Decode;

/// The smallest RSA modulus Snowflake accepts.
pub const MIN_RSA_BITS: usize = 2048;

/// A public key that passed the same checks as `ALTER USER … SET RSA_PUBLIC_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    /// The base64 body exactly as it was set (what DESC USER shows).
    pub body: String,
    /// `SHA256:` + base64(sha256(SPKI DER)).
    pub fingerprint: String,
    /// The PKCS#1 RSAPublicKey inside the SPKI, which signature verification takes.
    pub pkcs1_der: Vec<u8>,
}

/// Why a key was rejected. Snowflake shows one message for all of these; the reason is kept
/// for the emulator's own log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    #[error("value carries PEM delimiters")]
    PemDelimiters,
    #[error("value is not strict standard base64 (single line, padded)")]
    NotBase64,
    #[error("value is not a DER SubjectPublicKeyInfo")]
    NotSpki,
    #[error("key algorithm is not rsaEncryption")]
    NotRsa,
    #[error("RSA modulus has {0} bits, fewer than 2048")]
    TooSmall(usize),
}

/// Checks `body` the way Snowflake's key policy does and returns the key with its fingerprint.
pub fn validate_public_key(body: &str) -> Result<RegisteredKey, KeyRejection> {
    if body.contains("-----") || body.contains("BEGIN PUBLIC KEY") {
        return Err(KeyRejection::PemDelimiters);
    }
    // Strict: the standard alphabet with padding, no whitespace or newlines (⚠ sources disagree
    // on newlines; the product must send one line either way).
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        return Err(KeyRejection::NotBase64);
    }
    let der = STANDARD.decode(body).map_err(|_| KeyRejection::NotBase64)?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(|_| KeyRejection::NotSpki)?;
    if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
        return Err(KeyRejection::NotRsa);
    }
    let pkcs1_der = spki
        .subject_public_key
        .as_bytes()
        .ok_or(KeyRejection::NotSpki)?
        .to_vec();
    let rsa = pkcs1::RsaPublicKeyRef::from_der(&pkcs1_der).map_err(|_| KeyRejection::NotSpki)?;
    let bits = modulus_bits(rsa.modulus.as_bytes());
    if bits < MIN_RSA_BITS {
        return Err(KeyRejection::TooSmall(bits));
    }
    Ok(RegisteredKey {
        body: body.to_string(),
        fingerprint: fingerprint_of_spki(&der),
        pkcs1_der,
    })
}

/// `SHA256:` + standard base64 (padded) of the SHA-256 of the SPKI DER, as Snowflake shows it.
pub fn fingerprint_of_spki(spki_der: &[u8]) -> String {
    format!("SHA256:{}", STANDARD.encode(Sha256::digest(spki_der)))
}

/// Bit length of a big-endian unsigned integer with leading zeros stripped.
fn modulus_bits(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_from_the_top_bit() {
        assert_eq!(modulus_bits(&[0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0]), 9);
        assert_eq!(modulus_bits(&[]), 0);
    }

    #[test]
    fn whitespace_and_pem_are_rejected() {
        assert_eq!(
            validate_public_key("MIIB IjAN"),
            Err(KeyRejection::NotBase64)
        );
        assert_eq!(
            validate_public_key("MIIB\nIjAN"),
            Err(KeyRejection::NotBase64)
        );
        assert_eq!(
            validate_public_key("-----BEGIN PUBLIC KEY-----MIIB"),
            Err(KeyRejection::PemDelimiters)
        );
        assert_eq!(validate_public_key("TWFu"), Err(KeyRejection::NotSpki));
        assert_eq!(validate_public_key(""), Err(KeyRejection::NotBase64));
    }
}
