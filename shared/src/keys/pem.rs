//! PEM framing, written by hand so every buffer that holds key material is zeroizing, and so reading
//! tolerates what copy-paste and JSON do to keys (`\n` escapes, `\r\n`, indentation, odd line widths).

use base64::Engine;
use zeroize::Zeroizing;

use super::KeyError;
use super::base64_strict;

/// One decoded PEM block: its label (`PRIVATE KEY`, `RSA PRIVATE KEY`, …) and its DER body.
pub(crate) struct PemBlock {
    pub label: String,
    pub der: Zeroizing<Vec<u8>>,
}

/// True when the input looks like PEM text rather than DER (DER starts with a SEQUENCE tag, 0x30).
/// Explanatory text before the BEGIN line (RFC 7468 §5.2, e.g. `Bag Attributes`) is allowed.
pub(crate) fn looks_like_pem(input: &[u8]) -> bool {
    input.first() != Some(&0x30) && input.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Undoes what JSON and copy-paste do to PEM: literal `\n` / `\r` escapes, CRLF, surrounding
/// whitespace and surrounding double quotes. The copy is zeroizing because it is the key.
pub(crate) fn normalise_text(input: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| KeyError::Malformed("PEM text is not valid UTF-8".into()))?;
    let trimmed = text.trim().trim_matches('"').trim();
    let mut out = Zeroizing::new(String::with_capacity(trimmed.len() + 1));
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('n')) => {
                chars.next();
                out.push('\n');
            }
            '\\' if matches!(chars.peek(), Some('r')) => {
                chars.next();
            }
            // Some JSON encoders escape '/', which occurs in base64.
            '\\' if matches!(chars.peek(), Some('/')) => {
                chars.next();
                out.push('/');
            }
            '\r' => {}
            other => out.push(other),
        }
    }
    out.push('\n');
    Ok(out)
}

/// Decodes the first PEM block in already-normalised text.
pub(crate) fn decode(text: &str) -> Result<PemBlock, KeyError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN "));
    let first = lines.next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or_else(|| KeyError::Malformed("missing PEM '-----BEGIN ...-----' line".into()))?
        .to_string();
    if !label
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
    {
        return Err(KeyError::Malformed("unrecognised PEM label".into()));
    }
    let end = format!("-----END {label}-----");

    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            // RFC 1421 headers only appear in OpenSSL's legacy PEM encryption.
            if line.starts_with("Proc-Type") || line.starts_with("DEK-Info") {
                return Err(KeyError::UnsupportedEncryption(
                    "legacy OpenSSL PEM encryption (Proc-Type/DEK-Info); convert it with \
                     `openssl pkcs8 -topk8 -v2 aes256`"
                        .into(),
                ));
            }
            return Err(KeyError::Malformed("unexpected header line in PEM".into()));
        }
        body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
    }
    if !ended {
        return Err(KeyError::Malformed(format!(
            "PEM block '{label}' has no matching END line"
        )));
    }
    if body.is_empty() {
        return Err(KeyError::Malformed(format!("PEM block '{label}' is empty")));
    }
    let der = base64_strict::decode(&body)
        .map_err(|_| KeyError::Malformed(format!("PEM block '{label}' is not valid base64")))?;
    Ok(PemBlock { label, der })
}

/// Encodes DER as PEM with 64-character lines and a trailing newline (what OpenSSL writes).
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_newlines_crlf_and_quotes_are_normalised() {
        let raw = b"  \"-----BEGIN X-----\\r\\nAAEC\\nAw==\\n-----END X-----\"  ";
        let text = normalise_text(raw).unwrap();
        let block = decode(&text).unwrap();
        assert_eq!(block.label, "X");
        assert_eq!(&block.der[..], &[0, 1, 2, 3]);

        let crlf = normalise_text(b"-----BEGIN X-----\r\nAAECAw==\r\n-----END X-----\r\n").unwrap();
        assert_eq!(&decode(&crlf).unwrap().der[..], &[0, 1, 2, 3]);
    }

    #[test]
    fn round_trip_wraps_at_64_columns() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PUBLIC KEY", &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        let block = decode(&pem).unwrap();
        assert_eq!(block.label, "PUBLIC KEY");
        assert_eq!(&block.der[..], &der[..]);
    }

    #[test]
    fn broken_frames_are_malformed() {
        for bad in [
            "no pem here\n",
            "-----BEGIN X-----\nAAEC\n",
            "-----BEGIN X-----\n-----END X-----\n",
            "-----BEGIN X-----\nAA!C\n-----END X-----\n",
            "-----BEGIN X-----\nAAECAw==\n-----END Y-----\n",
        ] {
            assert!(matches!(decode(bad), Err(KeyError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn legacy_pem_encryption_is_reported_as_unsupported() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                   DEK-Info: AES-256-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            decode(pem),
            Err(KeyError::UnsupportedEncryption(_))
        ));
    }

    #[test]
    fn pem_detection_ignores_leading_whitespace_and_quotes() {
        assert!(looks_like_pem(b"\n  \"-----BEGIN PRIVATE KEY-----"));
        assert!(looks_like_pem(
            b"Bag Attributes\n-----BEGIN PRIVATE KEY-----"
        ));
        assert!(!looks_like_pem(&[0x30, 0x82, 0x01]));
    }
}
