//! Key-pair core without external tools: generation, every write/read round trip, every input
//! form we can build ourselves, bad input, and redaction. OpenSSL interop lives in `keys_openssl.rs`.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use snowkey_shared::keys::{Fingerprint, KeyError, KeySize, Passphrase, PrivateKey, PublicKey};

const PASSPHRASE: &str = "correct horse battery staple";

/// One RSA-2048 key per test binary: generation is the slow part.
fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::default()).expect("generate RSA-2048"))
}

/// Encrypting runs PBKDF2 with the production iteration count, so do it once.
fn encrypted_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        key()
            .to_encrypted_pkcs8_pem(&Passphrase::new(PASSPHRASE))
            .expect("encrypt")
            .to_string()
    })
}

/// The base64 lines of a PEM, joined: the text that must never show up in an error or Debug output.
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// Fails if any 16-character window of `secret` appears in `text`.
fn assert_no_secret(text: &str, secret: &str) {
    let bytes = secret.as_bytes();
    for window in bytes.windows(16).step_by(8) {
        let needle = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(needle),
            "secret fragment leaked into: {text}"
        );
    }
}

#[test]
fn default_generation_is_rsa_2048_with_consistent_public_half() {
    let key = key();
    assert_eq!(KeySize::default(), KeySize::Rsa2048);
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.public_key().bits(), 2048);
    assert_eq!(key.fingerprint(), key.public_key().fingerprint());
}

#[test]
fn larger_sizes_generate_and_small_ones_are_refused() {
    for bits in [3072, 4096] {
        let key = PrivateKey::generate(KeySize::from_bits(bits).unwrap()).unwrap();
        assert_eq!(key.bits(), bits);
    }
    for bits in [0, 512, 1024, 2047, 2049, 8192] {
        let err = KeySize::from_bits(bits).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedKeySize(b) if b == bits));
        assert!(err.to_string().contains("2048"), "{err}");
    }
}

#[test]
fn two_generated_keys_differ() {
    let other = PrivateKey::generate(KeySize::Rsa2048).unwrap();
    assert_ne!(other.fingerprint(), key().fingerprint());
}

#[test]
fn unencrypted_pkcs8_pem_round_trips() {
    let pem = key().to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    let back = PrivateKey::from_pem(&pem, None).unwrap();
    assert_eq!(back.pkcs8_der(), key().pkcs8_der());
    assert_eq!(back.fingerprint(), key().fingerprint());
}

#[test]
fn pkcs8_der_round_trips() {
    let back = PrivateKey::from_bytes(key().pkcs8_der(), None).unwrap();
    assert_eq!(back.fingerprint(), key().fingerprint());
}

#[test]
fn encrypted_pkcs8_round_trips_and_needs_the_right_passphrase() {
    let pem = encrypted_pem();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let back = PrivateKey::from_pem(pem, Some(&Passphrase::new(PASSPHRASE))).unwrap();
    assert_eq!(back.pkcs8_der(), key().pkcs8_der());

    let missing = PrivateKey::from_pem(pem, None).unwrap_err();
    assert!(
        matches!(missing, KeyError::PassphraseRequired),
        "{missing:?}"
    );
    let wrong = PrivateKey::from_pem(pem, Some(&Passphrase::new("not it"))).unwrap_err();
    assert!(matches!(wrong, KeyError::DecryptionFailed), "{wrong:?}");
}

#[test]
fn encryption_is_pbes2_pbkdf2_sha256_aes256cbc_with_a_high_iteration_count() {
    use pkcs8::der::Decode;
    use pkcs8::pkcs5::pbes2::{EncryptionScheme as Cipher, Kdf, Pbkdf2Prf};

    let der = STANDARD.decode(pem_body(encrypted_pem())).unwrap();
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der).unwrap();
    let pbes2 = info.encryption_algorithm.pbes2().expect("PBES2");
    let Kdf::Pbkdf2(kdf) = &pbes2.kdf else {
        panic!("KDF is not PBKDF2")
    };
    assert_eq!(kdf.prf, Pbkdf2Prf::HmacWithSha256);
    assert!(kdf.iteration_count >= 600_000, "{}", kdf.iteration_count);
    assert!(matches!(pbes2.encryption, Cipher::Aes256Cbc { .. }));
}

#[test]
fn each_encryption_uses_a_fresh_salt_and_iv() {
    // Same key, same passphrase: only a random salt and IV can make the output differ.
    let again = key()
        .to_encrypted_pkcs8_pem(&Passphrase::new(PASSPHRASE))
        .unwrap();
    assert_ne!(again.as_str(), encrypted_pem());
}

#[test]
fn an_empty_passphrase_is_refused_for_encryption() {
    let err = key()
        .to_encrypted_pkcs8_pem(&Passphrase::new(""))
        .unwrap_err();
    assert!(matches!(err, KeyError::UnsupportedEncryption(_)), "{err:?}");
}

#[test]
fn pkcs1_rsa_private_key_pem_is_read() {
    let info = pkcs8::PrivateKeyInfoRef::try_from(key().pkcs8_der()).unwrap();
    let pkcs1 = STANDARD.encode(info.private_key.as_bytes());
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{pkcs1}\n-----END RSA PRIVATE KEY-----\n");
    let back = PrivateKey::from_pem(&pem, None).unwrap();
    assert_eq!(back.fingerprint(), key().fingerprint());
    // PKCS#1 DER too.
    let back = PrivateKey::from_bytes(info.private_key.as_bytes(), None).unwrap();
    assert_eq!(back.fingerprint(), key().fingerprint());
}

#[test]
fn pem_mangled_by_json_crlf_and_copy_paste_is_read() {
    let pem = key().to_pkcs8_pem();
    let json_quoted = serde_json::to_string(pem.as_str()).unwrap();
    assert!(
        json_quoted.contains("\\n"),
        "precondition: escaped newlines"
    );
    let json_bare = json_quoted.trim_matches('"').to_string();
    let slash_escaped = json_bare.replace('/', "\\/");
    let crlf = pem.replace('\n', "\r\n");
    let escaped_crlf = pem.replace('\n', "\\r\\n");
    let indented = pem
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>();
    let with_preamble = format!("Bag Attributes\n    localKeyID: 01\n{}", pem.as_str());
    let body_only = pem_body(&pem);
    for (form, text) in [
        ("JSON string with quotes", json_quoted.as_str()),
        ("JSON-escaped newlines", &json_bare),
        ("JSON-escaped slashes", &slash_escaped),
        ("CRLF", &crlf),
        ("escaped CRLF", &escaped_crlf),
        ("indented", &indented),
        ("explanatory text before BEGIN", &with_preamble),
        ("base64 body without delimiters", &body_only),
    ] {
        let back = PrivateKey::from_pem(text, None).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(back.fingerprint(), key().fingerprint(), "{form}");
    }
}

#[test]
fn encrypted_pem_with_escaped_newlines_is_read() {
    let escaped = encrypted_pem().replace('\n', "\\n");
    let back = PrivateKey::from_pem(&escaped, Some(&Passphrase::new(PASSPHRASE))).unwrap();
    assert_eq!(back.fingerprint(), key().fingerprint());
}

#[test]
fn public_key_pem_and_snowflake_body_round_trip() {
    let public = key().public_key();
    let pem = public.to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(PublicKey::from_pem(&pem).unwrap(), public);
    assert_eq!(
        PublicKey::from_pem(&pem.replace('\n', "\\n")).unwrap(),
        public
    );

    let body = public.to_snowflake_body();
    assert!(!body.contains('\n') && !body.contains('-'));
    assert_eq!(body, pem_body(&pem), "body is the PEM without framing");
    assert_eq!(PublicKey::from_snowflake_body(&body).unwrap(), public);
    assert_eq!(PublicKey::from_spki_der(public.spki_der()).unwrap(), public);
}

#[test]
fn fingerprint_is_sha256_of_spki_der_in_padded_standard_base64() {
    let public = key().public_key();
    let expected = format!(
        "SHA256:{}",
        STANDARD.encode(Sha256::digest(public.spki_der()))
    );
    let fp = public.fingerprint();
    assert_eq!(fp.as_str(), expected);
    assert_eq!(fp.to_string(), expected);
    assert_eq!(fp.as_str().len(), 51);
    assert!(fp.as_str().ends_with('='));
    assert_eq!(Fingerprint::parse(&expected).unwrap(), fp);
}

#[test]
fn fingerprint_json_is_a_plain_string_and_is_validated_on_read() {
    let fp = key().fingerprint();
    let json = serde_json::to_string(&fp).unwrap();
    assert_eq!(json, format!("\"{fp}\""));
    assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
    for bad in ["\"null\"", "\"SHA256:abc\"", "\"' OR 1=1 --\""] {
        assert!(serde_json::from_str::<Fingerprint>(bad).is_err(), "{bad}");
    }
}

#[test]
fn snowflake_body_validation_is_strict() {
    let body = key().public_key().to_snowflake_body();
    let unpadded = body.trim_end_matches('=').to_string();
    let url_safe = body.replace('+', "-").replace('/', "_");
    let cases = [
        ("empty", String::new()),
        ("trailing newline", format!("{body}\n")),
        ("inner newline", format!("{}\n{}", &body[..64], &body[64..])),
        ("leading space", format!(" {body}")),
        ("PEM delimiters", key().public_key().to_pem()),
        ("missing padding", unpadded),
        ("url-safe alphabet", url_safe),
        ("SQL quote", format!("{body}'; DROP USER x; --")),
        ("truncated", body[..body.len() - 4].to_string()),
        ("not a key", STANDARD.encode(b"hello world, not a key")),
    ];
    for (case, text) in cases {
        if text == body {
            continue; // an alphabet substitution that changed nothing
        }
        let err = PublicKey::from_snowflake_body(&text).unwrap_err();
        assert!(matches!(err, KeyError::Malformed(_)), "{case}: {err:?}");
    }
}

#[test]
fn non_rsa_keys_are_refused_by_name() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair};

    let rng = SystemRandom::new();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let ed = Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap();
    for (name, der) in [("EC", ec.as_ref()), ("Ed25519", ed.as_ref())] {
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der)
        );
        for input in [pem.as_bytes(), der] {
            let err = PrivateKey::from_bytes(input, None).unwrap_err();
            assert!(matches!(&err, KeyError::NotRsa(n) if n == name), "{err:?}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

#[test]
fn malformed_input_gives_a_malformed_error() {
    let pem = key().to_pkcs8_pem();
    let body = pem_body(&pem);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("whitespace", b"  \n ".to_vec()),
        ("random text", b"this is not a key".to_vec()),
        ("truncated PEM", pem.as_bytes()[..pem.len() / 2].to_vec()),
        (
            "body cut short",
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                &body[..body.len() / 2]
            )
            .into_bytes(),
        ),
        (
            "mismatched END",
            pem.replace("END PRIVATE KEY", "END PUBLIC KEY").into_bytes(),
        ),
        (
            "invalid base64",
            pem.replacen("MII", "M!I", 1).into_bytes(),
        ),
        ("truncated DER", key().pkcs8_der()[..100].to_vec()),
        ("public key PEM", key().public_key().to_pem().into_bytes()),
        ("OpenSSH", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n".to_vec()),
        ("binary garbage", vec![0xff, 0x00, 0x13, 0x37]),
    ];
    for (case, input) in cases {
        let err = PrivateKey::from_bytes(&input, None).unwrap_err();
        assert!(matches!(err, KeyError::Malformed(_)), "{case}: {err:?}");
        assert_no_secret(&err.to_string(), &body);
        assert_no_secret(&format!("{err:?}"), &body);
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let huge = vec![b'A'; 1024 * 1024];
    let err = PrivateKey::from_bytes(&huge, None).unwrap_err();
    assert!(matches!(err, KeyError::Malformed(_)), "{err:?}");
}

#[test]
fn debug_output_shows_no_secret() {
    let pem = key().to_pkcs8_pem();
    let debug = format!("{:?}", key());
    assert!(debug.contains("redacted"), "{debug}");
    assert!(debug.contains(key().fingerprint().as_str()), "{debug}");
    assert_no_secret(&debug, &pem_body(&pem));
    assert_no_secret(&format!("{debug:#?}"), &pem_body(&pem));

    let passphrase = Passphrase::new(PASSPHRASE);
    let debug = format!("{passphrase:?} {:#?}", Some(&passphrase));
    assert!(!debug.contains("horse"), "{debug}");

    // Errors from decrypting carry neither the passphrase nor the ciphertext.
    let err = PrivateKey::from_pem(encrypted_pem(), Some(&Passphrase::new("hunter2"))).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("hunter2"), "{text}");
        assert_no_secret(&text, &pem_body(encrypted_pem()));
    }
}

#[test]
fn secret_types_wipe_themselves_on_drop() {
    // Compile-time: dropping these types zeroizes their memory.
    fn wipes_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wipes_on_drop::<PrivateKey>();
    wipes_on_drop::<Passphrase>();
    wipes_on_drop::<zeroize::Zeroizing<String>>(); // what the PEM writers return
}

#[test]
fn jwt_signing_key_produces_rs256_tokens_the_public_key_verifies() {
    use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        exp: u64,
    }
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = Claims {
        sub: "ACCOUNT.USER".into(),
        exp,
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &key().jwt_encoding_key(),
    )
    .unwrap();
    let decoding = DecodingKey::from_rsa_pem(key().public_key().to_pem().as_bytes()).unwrap();
    let data =
        jsonwebtoken::decode::<Claims>(&token, &decoding, &Validation::new(Algorithm::RS256))
            .unwrap();
    assert_eq!(data.claims.sub, "ACCOUNT.USER");

    let other = PrivateKey::generate(KeySize::Rsa2048).unwrap();
    let wrong = DecodingKey::from_rsa_pem(other.public_key().to_pem().as_bytes()).unwrap();
    assert!(
        jsonwebtoken::decode::<Claims>(&token, &wrong, &Validation::new(Algorithm::RS256)).is_err()
    );
}
