//! RSA key pairs for Snowflake key-pair authentication.
//!
//! CONTRACT (other modules code against these signatures; keep them stable):
//! - [`KeySize`], [`PrivateKey`], [`PublicKey`], [`Fingerprint`], [`Passphrase`], [`KeyError`].
//! - Secret material is zeroized on drop and never printed by `Debug`/`Display`.

use std::fmt;

mod algorithm;
mod base64_strict;
mod encrypt;
mod fingerprint;
mod generate;
mod pem;
mod public;
mod read;

/// PBKDF2-HMAC-SHA256 iterations used when we encrypt a private key.
pub use encrypt::PBKDF2_ITERATIONS;

/// Supported RSA modulus sizes. Snowflake requires at least 2048 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySize {
    #[default]
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeySize {
    pub fn bits(self) -> u32 {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa3072 => 3072,
            KeySize::Rsa4096 => 4096,
        }
    }

    /// Refuses anything but 2048, 3072 or 4096.
    pub fn from_bits(bits: u32) -> Result<Self, KeyError> {
        match bits {
            2048 => Ok(KeySize::Rsa2048),
            3072 => Ok(KeySize::Rsa3072),
            4096 => Ok(KeySize::Rsa4096),
            other => Err(KeyError::UnsupportedKeySize(other)),
        }
    }
}

/// Errors while generating, reading or writing keys. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unsupported RSA key size {0} bits: use 2048, 3072 or 4096")]
    UnsupportedKeySize(u32),
    #[error("RSA key of {0} bits is too small: Snowflake requires at least 2048")]
    KeyTooSmall(u32),
    #[error("the key is not an RSA key ({0}); Snowflake key-pair rotation here supports RSA only")]
    NotRsa(String),
    #[error("the private key is encrypted but no passphrase was given")]
    PassphraseRequired,
    #[error("could not decrypt the private key: wrong passphrase or corrupt key")]
    DecryptionFailed,
    #[error("unsupported key encryption: {0}")]
    UnsupportedEncryption(String),
    #[error("malformed key: {0}")]
    Malformed(String),
    #[error("key generation failed: {0}")]
    Generation(String),
}

/// A passphrase protecting an encrypted private key. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct Passphrase(secrecy::SecretString);

impl Passphrase {
    pub fn new(value: impl Into<String>) -> Self {
        // `String::into_boxed_str` may reallocate and free the old buffer unwiped; copy into an
        // exact-size box instead and wipe the original (spare capacity included).
        let value = zeroize::Zeroizing::new(value.into());
        Passphrase(secrecy::SecretString::from(Box::<str>::from(
            value.as_str(),
        )))
    }
    /// Deliberately explicit: every call site that reads the secret is greppable.
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

/// The inner `SecretString` wipes itself on drop.
impl zeroize::ZeroizeOnDrop for Passphrase {}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// `SHA256:` + standard base64 (padded) of SHA-256 over the DER SubjectPublicKeyInfo,
/// exactly what Snowflake shows in `RSA_PUBLIC_KEY_FP`.
/// Deserialising validates like [`Fingerprint::parse`], so a fingerprint read from JSON is well formed.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Parses `SHA256:<44 chars of base64>`; anything else is rejected.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        fingerprint::parse(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(fp: Fingerprint) -> String {
        fp.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RSA public key (SubjectPublicKeyInfo).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki_der: Vec<u8>,
    bits: u32,
}

impl PublicKey {
    /// From SPKI DER. Rejects non-RSA keys and keys under 2048 bits.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        public::from_spki_der(der)
    }
    /// From `-----BEGIN PUBLIC KEY-----` PEM (also tolerates `\n`-escaped newlines).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        public::from_pem(pem)
    }
    /// From the single-line base64 body that `ALTER USER … SET RSA_PUBLIC_KEY` takes.
    /// Strict: only `[A-Za-z0-9+/]` with canonical `=` padding, because the body goes into SQL.
    pub fn from_snowflake_body(body: &str) -> Result<Self, KeyError> {
        public::from_snowflake_body(body)
    }
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der).to_string()
    }
    /// Single-line standard base64 of the SPKI DER, no PEM delimiters.
    pub fn to_snowflake_body(&self) -> String {
        base64_strict::encode(&self.spki_der)
    }
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint::of_spki_der(&self.spki_der)
    }
    pub fn bits(&self) -> u32 {
        self.bits
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// An RSA private key. Holds its PKCS#8 DER in zeroizing memory; `Debug` shows only the fingerprint.
pub struct PrivateKey {
    pkcs8_der: zeroize::Zeroizing<Vec<u8>>,
    /// Derived once when the key is read or generated; public, so not secret.
    public: PublicKey,
}

impl PrivateKey {
    pub fn generate(size: KeySize) -> Result<Self, KeyError> {
        generate::generate(size)
    }
    /// Reads every form users bring: PKCS#8 PEM/DER, encrypted PKCS#8 (PBES2 with PBKDF2 or scrypt,
    /// AES-CBC or 3DES), PKCS#1 `BEGIN RSA PRIVATE KEY`, and PEM with `\n`-escaped newlines.
    /// A passphrase given for an unencrypted key is ignored.
    pub fn from_bytes(input: &[u8], passphrase: Option<&Passphrase>) -> Result<Self, KeyError> {
        read::from_bytes(input, passphrase)
    }
    /// Convenience for text (PEM) input.
    pub fn from_pem(input: &str, passphrase: Option<&Passphrase>) -> Result<Self, KeyError> {
        Self::from_bytes(input.as_bytes(), passphrase)
    }
    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> zeroize::Zeroizing<String> {
        pem::encode("PRIVATE KEY", &self.pkcs8_der)
    }
    /// Encrypted PKCS#8 PEM: PBES2, PBKDF2-HMAC-SHA256 (high iteration count), AES-256-CBC.
    pub fn to_encrypted_pkcs8_pem(
        &self,
        passphrase: &Passphrase,
    ) -> Result<zeroize::Zeroizing<String>, KeyError> {
        let der = encrypt::encrypt(&self.pkcs8_der, passphrase, encrypt::PBKDF2_ITERATIONS)?;
        Ok(pem::encode("ENCRYPTED PRIVATE KEY", &der))
    }
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8_der
    }
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }
    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint()
    }
    pub fn bits(&self) -> u32 {
        self.public.bits()
    }
    /// The signing key for `jsonwebtoken` (RS256).
    /// `EncodingKey::from_rsa_der` wants PKCS#1 `RSAPrivateKey`, so the PKCS#8 wrapper is peeled off.
    pub fn jwt_encoding_key(&self) -> jsonwebtoken::EncodingKey {
        use pkcs8::PrivateKeyInfoRef;
        match PrivateKeyInfoRef::try_from(&self.pkcs8_der[..]) {
            Ok(info) => jsonwebtoken::EncodingKey::from_rsa_der(info.private_key.as_bytes()),
            // Unreachable: the DER was produced by aws-lc-rs. An empty key fails at signing time.
            Err(_) => jsonwebtoken::EncodingKey::from_rsa_der(&[]),
        }
    }
}

/// The PKCS#8 DER is `Zeroizing`; the public half is not secret.
impl zeroize::ZeroizeOnDrop for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<redacted>, {})", self.fingerprint())
    }
}
