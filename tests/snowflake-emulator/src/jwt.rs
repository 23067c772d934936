//! Key-pair JWT verification as Snowflake does it (reference §1): RS256 only, the user named in
//! `iss` by LOGIN_NAME, the `iss` fingerprint against the slot whose key verifies, `sub`, the
//! account, and the time window. Each rejection keeps Snowflake's specific reason code.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::Value;

use crate::state::User;

/// The reason codes of reference §1.5 (what SYSTEM$GET_LOGIN_FAILURE_DETAILS reports).
pub mod codes {
    pub const GENERIC: &str = "390144";
    pub const USER_IN_ISSUER: &str = "394300";
    pub const MISSING_TIMES: &str = "394301";
    pub const ISSUE_TIME: &str = "394302";
    pub const EXPIRATION_TIME: &str = "394303";
    pub const FINGERPRINT: &str = "394304";
    pub const ALGORITHM: &str = "394305";
    pub const SIGNATURE: &str = "394306";
    pub const ACCOUNT: &str = "394307";
    /// ⚠ Snowflake's "User access disabled"; the client still sees 390144 here.
    pub const USER_DISABLED: &str = "390101";
}

/// Tokens are valid for at most one hour after `iat`, whatever `exp` says (reference §1.1).
const MAX_LIFETIME_SECS: f64 = 3600.0;
/// Epoch values above this are milliseconds (reference §1.1).
const MILLIS_THRESHOLD: f64 = 1e12;

/// Why a token was refused: the specific code and a human detail that never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub code: &'static str,
    pub detail: String,
}

/// What the verifier needs besides the token.
pub struct AuthContext<'a> {
    pub account: &'a str,
    /// The request's Host header, checked when it names an account.
    pub host: Option<&'a str>,
    pub now_secs: f64,
    pub clock_skew_secs: u64,
    pub enforce_iat_within_60s: bool,
}

fn fail(code: &'static str, detail: impl Into<String>) -> AuthFailure {
    AuthFailure {
        code,
        detail: detail.into(),
    }
}

/// Base64url as JWTs use it; trailing padding is tolerated.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Verifies `token` and returns the index of the user it logs in.
pub fn verify(token: &str, ctx: &AuthContext<'_>, users: &[User]) -> Result<usize, AuthFailure> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(fail(codes::GENERIC, "token does not have three parts"));
    };
    let header = decode_json(header_b64)
        .ok_or_else(|| fail(codes::GENERIC, "header is not base64url JSON"))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "RS256" {
        return Err(fail(codes::ALGORITHM, format!("alg is {alg:?}, not RS256")));
    }
    let claims = decode_json(payload_b64)
        .ok_or_else(|| fail(codes::GENERIC, "payload is not base64url JSON"))?;
    let (Some(iat), Some(exp)) = (epoch_secs(claims.get("iat")), epoch_secs(claims.get("exp")))
    else {
        return Err(fail(
            codes::MISSING_TIMES,
            "iat or exp missing or not a number",
        ));
    };
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let (iss_account, iss_user, iss_fingerprint) = split_issuer(iss)?;
    check_account(iss_account, ctx)?;
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub != format!("{iss_account}.{iss_user}") {
        return Err(fail(codes::GENERIC, "sub is not <ACCOUNT>.<USER> of iss"));
    }
    let index = users
        .iter()
        .position(|u| u.login_name == iss_user)
        .ok_or_else(|| {
            fail(
                codes::USER_IN_ISSUER,
                format!("no user with LOGIN_NAME {iss_user:?}"),
            )
        })?;
    let user = &users[index];
    if user.disabled {
        return Err(fail(
            codes::USER_DISABLED,
            format!("user {} is disabled", user.name),
        ));
    }
    check_times(iat, exp, ctx)?;
    check_key(
        user,
        iss_fingerprint,
        header_b64,
        payload_b64,
        signature_b64,
    )?;
    Ok(index)
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = B64URL.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// Seconds since the epoch from a numeric claim given in seconds or milliseconds.
fn epoch_secs(value: Option<&Value>) -> Option<f64> {
    let n = value?.as_f64()?;
    Some(if n > MILLIS_THRESHOLD { n / 1000.0 } else { n })
}

/// `<ACCOUNT>.<USER>.SHA256:<fingerprint>`; the user may itself contain dots.
fn split_issuer(iss: &str) -> Result<(&str, &str, &str), AuthFailure> {
    let malformed = || {
        fail(
            codes::GENERIC,
            "iss is not <ACCOUNT>.<USER>.SHA256:<fingerprint>",
        )
    };
    let (prefix, fingerprint) = iss.rsplit_once(".SHA256:").ok_or_else(malformed)?;
    let (account, user) = prefix.split_once('.').ok_or_else(malformed)?;
    if account.is_empty() || user.is_empty() || fingerprint.is_empty() {
        return Err(malformed());
    }
    Ok((account, user, fingerprint))
}

/// The token's account must be the emulator's (uppercase, no region) and the Host's, when the
/// Host names one (`<account>.snowflakecomputing.com`, `<account>.localhost`).
fn check_account(token_account: &str, ctx: &AuthContext<'_>) -> Result<(), AuthFailure> {
    if token_account != ctx.account.to_uppercase() {
        return Err(fail(
            codes::ACCOUNT,
            format!(
                "token account {token_account:?} is not {:?}",
                ctx.account.to_uppercase()
            ),
        ));
    }
    if let Some(host_account) = ctx.host.and_then(account_in_host)
        && host_account != token_account
    {
        return Err(fail(
            codes::ACCOUNT,
            format!("token account {token_account:?} is not the Host's {host_account:?}"),
        ));
    }
    Ok(())
}

/// The account a Host header names, uppercased, if it has one of the account-bearing forms.
pub fn account_in_host(host: &str) -> Option<String> {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let name = name.to_ascii_lowercase();
    let rest = name
        .strip_suffix(".snowflakecomputing.com")
        .or_else(|| name.strip_suffix(".localhost"))?;
    let first = rest.split('.').next().filter(|s| !s.is_empty())?;
    Some(first.to_uppercase())
}

fn check_times(iat: f64, exp: f64, ctx: &AuthContext<'_>) -> Result<(), AuthFailure> {
    let skew = ctx.clock_skew_secs as f64;
    if iat > ctx.now_secs + skew {
        return Err(fail(codes::ISSUE_TIME, "iat is in the future"));
    }
    let effective_exp = exp.min(iat + MAX_LIFETIME_SECS);
    if ctx.now_secs > effective_exp + skew {
        return Err(fail(
            codes::EXPIRATION_TIME,
            "token expired (exp, capped at iat + 3600 s, has passed)",
        ));
    }
    if ctx.enforce_iat_within_60s && ctx.now_secs - iat > 60.0 {
        return Err(fail(codes::ISSUE_TIME, "received more than 60 s after iat"));
    }
    Ok(())
}

/// The signature must verify with one of the user's keys, and `iss` must name that key's
/// fingerprint.
fn check_key(
    user: &User,
    iss_fingerprint: &str,
    header_b64: &str,
    payload_b64: &str,
    signature_b64: &str,
) -> Result<(), AuthFailure> {
    let keys: Vec<_> = user.keys.iter().flatten().collect();
    if !keys
        .iter()
        .any(|slot| slot.key.fingerprint == format!("SHA256:{iss_fingerprint}"))
    {
        return Err(fail(
            codes::FINGERPRINT,
            format!(
                "iss fingerprint matches neither RSA_PUBLIC_KEY nor RSA_PUBLIC_KEY_2 of {}",
                user.name
            ),
        ));
    }
    let signature = general_purpose::URL_SAFE_NO_PAD
        .decode(signature_b64.trim_end_matches('='))
        .map_err(|_| fail(codes::SIGNATURE, "signature is not base64url"))?;
    let message = format!("{header_b64}.{payload_b64}");
    let signer = keys.iter().find(|slot| {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &slot.key.pkcs1_der)
            .verify(message.as_bytes(), &signature)
            .is_ok()
    });
    match signer {
        None => Err(fail(
            codes::SIGNATURE,
            "signature verifies with neither key",
        )),
        Some(slot) if slot.key.fingerprint != format!("SHA256:{iss_fingerprint}") => Err(fail(
            codes::FINGERPRINT,
            "iss fingerprint names the other slot's key, not the signing key",
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_accounts() {
        assert_eq!(
            account_in_host("myorg-myaccount.snowflakecomputing.com").as_deref(),
            Some("MYORG-MYACCOUNT")
        );
        assert_eq!(
            account_in_host("xy12345.us-east-1.snowflakecomputing.com").as_deref(),
            Some("XY12345")
        );
        assert_eq!(
            account_in_host("myorg-myaccount.localhost:8080").as_deref(),
            Some("MYORG-MYACCOUNT")
        );
        assert_eq!(account_in_host("127.0.0.1:8080"), None);
        assert_eq!(account_in_host("localhost:8080"), None);
    }

    #[test]
    fn issuer_split_keeps_dots_in_user() {
        assert_eq!(
            split_issuer("A.first.last.SHA256:abc=").unwrap(),
            ("A", "first.last", "abc=")
        );
        assert!(split_issuer("A.USER").is_err());
        assert!(split_issuer(".USER.SHA256:x").is_err());
    }

    #[test]
    fn milliseconds_are_recognised() {
        let v = serde_json::json!(1_700_000_000_000u64);
        assert_eq!(epoch_secs(Some(&v)), Some(1_700_000_000.0));
        let v = serde_json::json!(1_700_000_000u64);
        assert_eq!(epoch_secs(Some(&v)), Some(1_700_000_000.0));
        assert_eq!(epoch_secs(Some(&serde_json::json!("1700000000"))), None);
    }
}
