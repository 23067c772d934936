//! The PKCS#8 encryption envelope (`ENCRYPTED PRIVATE KEY`): writing PBES2 + PBKDF2-HMAC-SHA256 +
//! AES-256-CBC like `openssl pkcs8 -topk8 -v2 aes256`, and reading every PBES2 variant OpenSSL writes.

use pkcs8::der::asn1::{AnyRef, OctetStringRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::pkcs5::pbes2::{self, Kdf};
use pkcs8::pkcs5::{self, EncryptionScheme};
use pkcs8::{AlgorithmIdentifierRef, EncryptedPrivateKeyInfoRef, ObjectIdentifier};
use zeroize::Zeroizing;

use super::{KeyError, Passphrase};

/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256; every Snowflake client decrypts it (~70 ms here).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Refuse work factors far beyond any real key so a hostile file cannot stall a rotation.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_N: u64 = 1 << 20;
const MAX_SCRYPT_R_TIMES_P: u32 = 64;

const PBES2_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

/// If the DER is an `EncryptedPrivateKeyInfo` (of any scheme), the scheme's OID.
pub(crate) fn encryption_oid(der: &[u8]) -> Option<ObjectIdentifier> {
    let any = AnyRef::from_der(der).ok()?;
    any.sequence(|r| {
        let alg = AlgorithmIdentifierRef::decode(r)?;
        let _data = <&OctetStringRef>::decode(r)?;
        Ok::<_, pkcs8::der::Error>(alg.oid)
    })
    .ok()
}

/// Decrypts to the inner PKCS#8 DER. A wrong passphrase shows up either as bad CBC padding or as
/// plaintext that is not DER; both become `DecryptionFailed`.
pub(crate) fn decrypt(
    der: &[u8],
    scheme_oid: ObjectIdentifier,
    passphrase: &Passphrase,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if scheme_oid != PBES2_OID {
        return Err(KeyError::UnsupportedEncryption(format!(
            "PBES1/PKCS#12 scheme {scheme_oid} is obsolete; re-encrypt with \
             `openssl pkcs8 -topk8 -v2 aes256`"
        )));
    }
    let info = EncryptedPrivateKeyInfoRef::try_from(der).map_err(|_| {
        KeyError::UnsupportedEncryption(
            "PBES2 with a key-derivation function or cipher this reader does not support \
             (supported: PBKDF2-HMAC-SHA2 or scrypt with AES-CBC or 3DES); re-encrypt with \
             `openssl pkcs8 -topk8 -v2 aes256`"
                .into(),
        )
    })?;
    check_work_factor(&info.encryption_algorithm)?;
    let mut buf = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let len = info
        .encryption_algorithm
        .decrypt_in_place(passphrase.expose().as_bytes(), &mut buf)
        .map_err(map_pkcs5_error)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn check_work_factor(scheme: &EncryptionScheme) -> Result<(), KeyError> {
    let too_costly = match scheme.pbes2().map(|p| &p.kdf) {
        Some(Kdf::Pbkdf2(p)) => p.iteration_count > MAX_PBKDF2_ITERATIONS,
        Some(Kdf::Scrypt(p)) => {
            p.cost_parameter > MAX_SCRYPT_N
                || u32::from(p.block_size) * u32::from(p.parallelization) > MAX_SCRYPT_R_TIMES_P
        }
        _ => false,
    };
    if too_costly {
        return Err(KeyError::UnsupportedEncryption(
            "key-derivation work factor is implausibly high".into(),
        ));
    }
    Ok(())
}

fn map_pkcs5_error(err: pkcs5::Error) -> KeyError {
    match err {
        pkcs5::Error::UnsupportedAlgorithm { oid } => {
            KeyError::UnsupportedEncryption(format!("algorithm {oid} is not supported"))
        }
        pkcs5::Error::AlgorithmParametersInvalid { oid } => {
            KeyError::UnsupportedEncryption(format!("invalid parameters for algorithm {oid}"))
        }
        pkcs5::Error::NoPbes1CryptSupport => {
            KeyError::UnsupportedEncryption("PBES1 encryption is obsolete".into())
        }
        _ => KeyError::DecryptionFailed,
    }
}

/// Encrypts PKCS#8 DER into `EncryptedPrivateKeyInfo` DER with a fresh salt and IV.
pub(crate) fn encrypt(
    pkcs8_der: &[u8],
    passphrase: &Passphrase,
    iterations: u32,
) -> Result<Vec<u8>, KeyError> {
    if passphrase.expose().is_empty() {
        return Err(KeyError::UnsupportedEncryption(
            "an empty passphrase does not protect the key; supply a non-empty one".into(),
        ));
    }
    let failed = |what: &str| KeyError::Generation(format!("PKCS#8 encryption failed: {what}"));
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| failed("no randomness"))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| failed("no randomness"))?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
        .map_err(|_| failed("invalid PBES2 parameters"))?;

    // Room for up to one block of PKCS#7 padding; encrypted in place so plaintext lives only here.
    let mut buf = Zeroizing::new(Vec::with_capacity(pkcs8_der.len() + 16));
    buf.extend_from_slice(pkcs8_der);
    buf.extend_from_slice(&[0u8; 16]);
    let ciphertext = params
        .encrypt_in_place(passphrase.expose().as_bytes(), &mut buf, pkcs8_der.len())
        .map_err(|_| failed("cipher error"))?;
    let info = EncryptedPrivateKeyInfoRef {
        encryption_algorithm: EncryptionScheme::from(params),
        encrypted_data: OctetStringRef::new(ciphertext).map_err(|_| failed("encoding"))?,
    };
    info.to_der().map_err(|_| failed("encoding"))
}
