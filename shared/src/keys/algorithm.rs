//! Which algorithm a key is for, and how big it is: the checks every input path shares.

use pkcs8::ObjectIdentifier;

use super::KeyError;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Largest modulus aws-lc-rs accepts; beyond it signing would fail later with a vaguer error.
const MAX_BITS: u32 = 8192;

/// Accepts `rsaEncryption` only and names the algorithm otherwise, so the user knows what they gave us.
pub(crate) fn require_rsa(oid: ObjectIdentifier) -> Result<(), KeyError> {
    if oid == RSA_ENCRYPTION {
        return Ok(());
    }
    let name = match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "EC".to_string(),
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        "1.3.101.110" => "X25519".to_string(),
        "1.3.101.111" => "X448".to_string(),
        "1.2.840.10040.4.1" => "DSA".to_string(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS-restricted RSA".to_string(),
        other => format!("algorithm OID {other}"),
    };
    Err(KeyError::NotRsa(name))
}

/// Bit length of a big-endian unsigned modulus (leading zero bytes ignored).
pub(crate) fn modulus_bits(modulus: &[u8]) -> u32 {
    let Some(first) = modulus.iter().position(|b| *b != 0) else {
        return 0;
    };
    let significant = u32::try_from(modulus.len() - first).unwrap_or(u32::MAX / 8);
    significant * 8 - modulus[first].leading_zeros()
}

/// Snowflake requires at least 2048 bits; aws-lc-rs handles at most 8192.
pub(crate) fn check_bits(bits: u32) -> Result<u32, KeyError> {
    if bits < 2048 {
        Err(KeyError::KeyTooSmall(bits))
    } else if bits > MAX_BITS {
        Err(KeyError::UnsupportedKeySize(bits))
    } else {
        Ok(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_significant_bits() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0; 3]), 0);
        let mut m2048 = vec![0xC1; 256];
        m2048.insert(0, 0);
        assert_eq!(modulus_bits(&m2048), 2048);
    }

    #[test]
    fn size_limits() {
        assert!(matches!(check_bits(1024), Err(KeyError::KeyTooSmall(1024))));
        assert!(matches!(check_bits(2047), Err(KeyError::KeyTooSmall(2047))));
        assert_eq!(check_bits(2048).unwrap(), 2048);
        assert_eq!(check_bits(8192).unwrap(), 8192);
        assert!(matches!(
            check_bits(16384),
            Err(KeyError::UnsupportedKeySize(16384))
        ));
    }

    #[test]
    fn non_rsa_algorithms_are_named() {
        let ec = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        let ed = ObjectIdentifier::new_unwrap("1.3.101.112");
        assert!(matches!(require_rsa(ec), Err(KeyError::NotRsa(n)) if n == "EC"));
        assert!(matches!(require_rsa(ed), Err(KeyError::NotRsa(n)) if n == "Ed25519"));
        assert!(require_rsa(RSA_ENCRYPTION).is_ok());
    }
}
