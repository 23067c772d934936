//! Reading private keys in every form users bring, down to one canonical PKCS#8 DER.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use pkcs8::PrivateKeyInfoRef;
use pkcs8::der::Decode;
use zeroize::Zeroizing;

use super::algorithm::{check_bits, modulus_bits, require_rsa};
use super::{KeyError, Passphrase, PrivateKey, base64_strict, encrypt, pem, public};

/// Far above any RSA-8192 PEM; stops a mistaken multi-megabyte secret from being parsed.
const MAX_INPUT_BYTES: usize = 64 * 1024;

pub(crate) fn from_bytes(
    input: &[u8],
    passphrase: Option<&Passphrase>,
) -> Result<PrivateKey, KeyError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(KeyError::Malformed(
            "key input is larger than 64 KiB".into(),
        ));
    }
    let der = to_der(input)?;
    from_der(&der, passphrase)
}

/// PEM (in any of its mangled forms), raw DER, or a bare base64 DER body.
fn to_der(input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if pem::looks_like_pem(input) {
        let text = pem::normalise_text(input)?;
        let block = pem::decode(&text)?;
        return match block.label.as_str() {
            "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "RSA PRIVATE KEY" => Ok(block.der),
            "EC PRIVATE KEY" => Err(KeyError::NotRsa("EC".into())),
            "DSA PRIVATE KEY" => Err(KeyError::NotRsa("DSA".into())),
            "OPENSSH PRIVATE KEY" => Err(KeyError::Malformed(
                "OpenSSH private key format is not supported; convert it with \
                 `ssh-keygen -p -m PKCS8 -f FILE`"
                    .into(),
            )),
            label if label.contains("PUBLIC KEY") => Err(KeyError::Malformed(
                "this is a public key; a private key is needed".into(),
            )),
            label => Err(KeyError::Malformed(format!(
                "unexpected PEM block '{label}' where a private key was expected"
            ))),
        };
    }
    if input.first() == Some(&0x30) {
        return Ok(Zeroizing::new(input.to_vec()));
    }
    // A PEM body without its delimiter lines, as some secret stores hold it.
    let text = pem::normalise_text(input)
        .map_err(|_| KeyError::Malformed("not a PEM, DER or base64 private key".into()))?;
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    base64_strict::decode(&compact)
        .map_err(|_| KeyError::Malformed("not a PEM, DER or base64 private key".into()))
}

fn from_der(der: &[u8], passphrase: Option<&Passphrase>) -> Result<PrivateKey, KeyError> {
    if let Ok(info) = PrivateKeyInfoRef::try_from(der) {
        return from_pkcs8_info(&info);
    }
    if let Some(scheme) = encrypt::encryption_oid(der) {
        let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
        let plain = encrypt::decrypt(der, scheme, passphrase)?;
        let info =
            PrivateKeyInfoRef::try_from(&plain[..]).map_err(|_| KeyError::DecryptionFailed)?;
        return from_pkcs8_info(&info);
    }
    if pkcs1::RsaPrivateKeyRef::from_der(der).is_ok() {
        return from_pkcs1(der);
    }
    Err(KeyError::Malformed(
        "not a PKCS#8 or PKCS#1 private key".into(),
    ))
}

fn from_pkcs8_info(info: &PrivateKeyInfoRef<'_>) -> Result<PrivateKey, KeyError> {
    require_rsa(info.algorithm.oid)?;
    from_pkcs1(info.private_key.as_bytes())
}

/// Size checks first (for a precise error), then aws-lc-rs validates the key (RSA_check_key) and
/// re-serialises it, so every input form ends as the same canonical PKCS#8 v1 DER.
fn from_pkcs1(pkcs1_der: &[u8]) -> Result<PrivateKey, KeyError> {
    let rsa = pkcs1::RsaPrivateKeyRef::from_der(pkcs1_der)
        .map_err(|_| KeyError::Malformed("not a PKCS#1 RSAPrivateKey".into()))?;
    check_bits(modulus_bits(rsa.modulus.as_bytes()))?;
    if rsa.other_prime_infos.is_some() {
        return Err(KeyError::Malformed(
            "multi-prime RSA keys are not supported".into(),
        ));
    }
    let pair = aws_lc_rs::rsa::KeyPair::from_der(pkcs1_der)
        .map_err(|_| KeyError::Malformed("RSA private key failed validation".into()))?;
    from_key_pair(&pair)
}

pub(crate) fn from_key_pair(pair: &aws_lc_rs::rsa::KeyPair) -> Result<PrivateKey, KeyError> {
    let pkcs8 = pair
        .as_der()
        .map_err(|_| KeyError::Generation("could not serialise the key as PKCS#8".into()))?;
    let spki = pair
        .public_key()
        .as_der()
        .map_err(|_| KeyError::Generation("could not serialise the public key".into()))?;
    Ok(PrivateKey {
        pkcs8_der: Zeroizing::new(pkcs8.as_ref().to_vec()),
        public: public::from_spki_der(spki.as_ref())?,
    })
}
