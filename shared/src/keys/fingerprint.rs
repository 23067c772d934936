//! `SHA256:` fingerprints as Snowflake shows them in `RSA_PUBLIC_KEY_FP`.

use sha2::{Digest, Sha256};

use super::base64_strict;
use super::{Fingerprint, KeyError};

const PREFIX: &str = "SHA256:";

/// Hashes the DER SubjectPublicKeyInfo. Hashing the inner PKCS#1 key instead gives a plausible
/// but wrong value that Snowflake never matches.
pub(crate) fn of_spki_der(spki_der: &[u8]) -> Fingerprint {
    let digest = Sha256::digest(spki_der);
    Fingerprint(format!("{PREFIX}{}", base64_strict::encode(&digest)))
}

/// Accepts exactly `SHA256:` + canonical padded base64 of 32 bytes (43 characters + `=`).
pub(crate) fn parse(s: &str) -> Result<Fingerprint, KeyError> {
    let invalid = || {
        KeyError::Malformed(
            "fingerprint must be 'SHA256:' followed by 44 characters of padded base64".into(),
        )
    };
    let b64 = s.strip_prefix(PREFIX).ok_or_else(invalid)?;
    if b64.len() != 44 || !b64.ends_with('=') || b64.ends_with("==") {
        return Err(invalid());
    }
    let bytes = base64_strict::decode(b64).map_err(|_| invalid())?;
    if bytes.len() != 32 {
        return Err(invalid());
    }
    Ok(Fingerprint(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_prefixed_padded_standard_base64_of_sha256() {
        let fp = of_spki_der(b"abc");
        // SHA-256("abc") = ba7816bf…, standard base64 with padding.
        assert_eq!(
            fp.as_str(),
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(parse(fp.as_str()).unwrap(), fp);
    }

    #[test]
    fn parse_rejects_near_misses() {
        let good = "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        assert!(parse(good).is_ok());
        for bad in [
            "",
            "SHA256:",
            "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
            "SHA256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= ",
            " SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=AAAA",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAF'0=",
            "MD5:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
        ] {
            assert!(
                matches!(parse(bad), Err(KeyError::Malformed(_))),
                "accepted {bad:?}"
            );
        }
    }
}
