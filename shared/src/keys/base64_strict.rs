//! Standard base64 with canonical padding and nothing else. Public-key bodies end up inside SQL
//! (`ALTER USER … SET RSA_PUBLIC_KEY='…'`), so anything outside `[A-Za-z0-9+/=]` is refused before
//! it can reach a statement.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

/// Requires `=` padding and zero trailing bits, so each byte string has exactly one accepted text.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Why a string is not strict base64. Deliberately carries no part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    Empty,
    Character,
    Padding,
}

/// Checks the alphabet and padding shape without decoding.
pub(crate) fn validate(text: &str) -> Result<(), Invalid> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(Invalid::Empty);
    }
    let body_len = bytes.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    if !bytes[..body_len]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    {
        return Err(Invalid::Character);
    }
    if !bytes.len().is_multiple_of(4) || bytes.len() - body_len > 2 {
        return Err(Invalid::Padding);
    }
    Ok(())
}

/// Decodes strict base64 into zeroizing memory (the input may be a private key).
pub(crate) fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>, Invalid> {
    validate(text)?;
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 4 * 3));
    STRICT
        .decode_vec(text, &mut out)
        .map_err(|_| Invalid::Padding)?;
    Ok(out)
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    STRICT.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_base64() {
        assert_eq!(&decode("AAECAw==").unwrap()[..], &[0, 1, 2, 3]);
        assert_eq!(&decode("AAEC").unwrap()[..], &[0, 1, 2]);
        assert_eq!(encode(&[0, 1, 2, 3]), "AAECAw==");
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(decode(""), Err(Invalid::Empty));
        assert_eq!(decode("AAECAw"), Err(Invalid::Padding), "missing padding");
        assert_eq!(decode("AAECA==="), Err(Invalid::Padding));
        assert_eq!(
            decode("AAE=CAw="),
            Err(Invalid::Character),
            "padding inside"
        );
        assert_eq!(decode("AAEC\nAw=="), Err(Invalid::Character), "newline");
        assert_eq!(decode("AAEC Aw=="), Err(Invalid::Character), "space");
        assert_eq!(
            decode("AAECAw==\n"),
            Err(Invalid::Character),
            "trailing newline"
        );
        assert_eq!(
            decode("AAEC_w=="),
            Err(Invalid::Character),
            "url-safe alphabet"
        );
        assert_eq!(decode("AA'C"), Err(Invalid::Character), "SQL quote");
        assert_eq!(
            decode("AAECAx=="),
            Err(Invalid::Padding),
            "non-zero trailing bits"
        );
    }
}
