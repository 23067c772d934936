//! Reading RSA public keys: SPKI DER, PEM, and the one-line body `ALTER USER` takes.

use aws_lc_rs::encoding::AsDer;
use pkcs8::SubjectPublicKeyInfoRef;
use pkcs8::der::Decode;

use super::algorithm::{check_bits, modulus_bits, require_rsa};
use super::{KeyError, PublicKey, base64_strict, pem};

/// Upper bound for a body: an 8192-bit SPKI is about 1.4 KB, 1.9 KB in base64.
const MAX_BODY_CHARS: usize = 4096;

/// Validates an SPKI and re-encodes it canonically through aws-lc-rs, the same way
/// `openssl rsa -pubin -outform DER` does, so fingerprints match OpenSSL's.
pub(crate) fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
    let spki = SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|_| KeyError::Malformed("not a DER SubjectPublicKeyInfo".into()))?;
    require_rsa(spki.algorithm.oid)?;
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| KeyError::Malformed("public key BIT STRING is not byte-aligned".into()))?;
    let rsa = pkcs1::RsaPublicKeyRef::from_der(raw)
        .map_err(|_| KeyError::Malformed("not a PKCS#1 RSAPublicKey inside the SPKI".into()))?;
    let bits = check_bits(modulus_bits(rsa.modulus.as_bytes()))?;
    let canonical = aws_lc_rs::rsa::PublicKey::from_der(der)
        .ok()
        .and_then(|key| key.as_der().ok())
        .ok_or_else(|| KeyError::Malformed("RSA public key failed validation".into()))?;
    Ok(PublicKey {
        spki_der: canonical.as_ref().to_vec(),
        bits,
    })
}

/// `PUBLIC KEY` (SPKI) PEM; `RSA PUBLIC KEY` (PKCS#1) is converted rather than refused.
pub(crate) fn from_pem(input: &str) -> Result<PublicKey, KeyError> {
    let text = pem::normalise_text(input.as_bytes())?;
    let block = pem::decode(&text)?;
    match block.label.as_str() {
        "PUBLIC KEY" => from_spki_der(&block.der),
        "RSA PUBLIC KEY" => {
            let spki = aws_lc_rs::rsa::PublicKey::from_der(&block.der)
                .ok()
                .and_then(|key| key.as_der().ok())
                .ok_or_else(|| KeyError::Malformed("not a PKCS#1 RSA public key".into()))?;
            from_spki_der(spki.as_ref())
        }
        label if label.contains("PRIVATE KEY") => Err(KeyError::Malformed(
            "expected a public key but found a private key PEM block".into(),
        )),
        label => Err(KeyError::Malformed(format!(
            "expected a 'PUBLIC KEY' PEM block, found '{label}'"
        ))),
    }
}

/// Strict: the body is later placed inside a SQL string literal, so only the base64 alphabet and
/// canonical `=` padding pass; whitespace, PEM delimiters and quotes are refused, not cleaned up.
pub(crate) fn from_snowflake_body(body: &str) -> Result<PublicKey, KeyError> {
    if body.len() > MAX_BODY_CHARS {
        return Err(KeyError::Malformed("public key body is too long".into()));
    }
    let der = base64_strict::decode(body).map_err(|why| {
        KeyError::Malformed(format!(
            "public key body must be one line of padded standard base64 ({})",
            match why {
                base64_strict::Invalid::Empty => "it is empty",
                base64_strict::Invalid::Character => "found a character outside A-Z a-z 0-9 + / =",
                base64_strict::Invalid::Padding => "length or '=' padding is wrong",
            }
        ))
    })?;
    let key = from_spki_der(&der)?;
    // A non-canonical SPKI would hash to a different fingerprint than Snowflake computes.
    if key.spki_der != *der {
        return Err(KeyError::Malformed(
            "public key body is not a canonical DER SubjectPublicKeyInfo".into(),
        ));
    }
    Ok(key)
}
