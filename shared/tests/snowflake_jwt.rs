//! Key-pair JWTs: claims for each account form, signature verifiable with the public key,
//! lifetime bounds, caching and re-minting, and no token in Debug output.

mod snowflake_harness;

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use snowflake_harness::{KEY_A, KEY_B};
use snowkey_shared::snowflake::jwt::{self, Claims, MAX_LIFETIME, REFRESH_MARGIN};
use snowkey_shared::snowflake::{AccountIdentifier, SnowflakeError, TokenCache};

/// Verifies signature and algorithm with the public key only; returns the claims and header.
fn verify(token: &str, key: &snowkey_shared::keys::PrivateKey) -> (Claims, jsonwebtoken::Header) {
    let decoding = DecodingKey::from_rsa_pem(key.public_key().to_pem().as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Claims>(token, &decoding, &validation).expect("token verifies");
    (data.claims, data.header)
}

#[test]
fn claims_follow_snowflakes_rules_for_every_account_form() {
    let fp = KEY_A.fingerprint();
    let cases = [
        ("xy12345", "XY12345"),
        ("xy12345.us-east-2.aws", "XY12345"),
        ("xy12345.us-east-1.privatelink", "XY12345"),
        ("myorg-myaccount", "MYORG-MYACCOUNT"),
        ("myorg.myaccount", "MYORG-MYACCOUNT"),
        ("myacct-ext.global", "MYACCT"),
    ];
    for (input, expected_account) in cases {
        let account = AccountIdentifier::parse(input).unwrap();
        let token = jwt::mint(&account, "svc_loader", &KEY_A, MAX_LIFETIME).unwrap();
        let (claims, header) = verify(token.expose(), &KEY_A);
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(
            claims.sub,
            format!("{expected_account}.SVC_LOADER"),
            "{input}"
        );
        assert_eq!(
            claims.iss,
            format!("{expected_account}.SVC_LOADER.{fp}"),
            "{input}"
        );
        assert_eq!(claims.exp - claims.iat, 59 * 60);
    }
}

#[test]
fn a_token_signed_by_another_key_does_not_verify() {
    let account = AccountIdentifier::parse("xy12345").unwrap();
    let token = jwt::mint(&account, "u", &KEY_B, MAX_LIFETIME).unwrap();
    let decoding = DecodingKey::from_rsa_pem(KEY_A.public_key().to_pem().as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    assert!(jsonwebtoken::decode::<Claims>(token.expose(), &decoding, &validation).is_err());
}

#[test]
fn lifetimes_over_59_minutes_or_zero_are_refused() {
    let account = AccountIdentifier::parse("xy12345").unwrap();
    for secs in [0, 3541, 3600, 86_400] {
        let err = jwt::mint(&account, "u", &KEY_A, Duration::from_secs(secs)).unwrap_err();
        assert!(
            matches!(err, SnowflakeError::InvalidLifetime(s) if s == secs),
            "{secs}: {err}"
        );
    }
    assert!(jwt::mint(&account, "u", &KEY_A, Duration::from_secs(3540)).is_ok());
}

#[test]
fn user_names_with_control_characters_are_refused() {
    let account = AccountIdentifier::parse("xy12345").unwrap();
    for user in ["", "svc\nuser", "nul\0"] {
        let err = jwt::mint(&account, user, &KEY_A, MAX_LIFETIME).unwrap_err();
        assert!(
            matches!(err, SnowflakeError::InvalidUser { .. }),
            "{user:?}: {err}"
        );
    }
}

#[test]
fn a_cached_token_is_reused_until_five_minutes_before_expiry_then_reminted() {
    let account = AccountIdentifier::parse("myorg-myaccount").unwrap();
    let cache = TokenCache::new(account, "svc", KEY_A.clone()).unwrap();
    let t0 = 1_800_000_000;
    let first = cache.token_at(t0).unwrap();
    let refresh_at = t0 + (MAX_LIFETIME - REFRESH_MARGIN).as_secs();
    let reused = cache.token_at(refresh_at - 1).unwrap();
    assert_eq!(first.expose(), reused.expose());
    let renewed = cache.token_at(refresh_at).unwrap();
    assert_ne!(first.expose(), renewed.expose());
    assert_eq!(verify(renewed.expose(), &KEY_A).0.iat, refresh_at);
    // After a 401 the cache mints a new token even though the old one is still fresh.
    let after_401 = cache.refresh_at(refresh_at + 10).unwrap();
    assert_eq!(verify(after_401.expose(), &KEY_A).0.iat, refresh_at + 10);
}

#[test]
fn debug_output_never_shows_the_token() {
    let account = AccountIdentifier::parse("xy12345").unwrap();
    let token = jwt::mint(&account, "u", &KEY_A, MAX_LIFETIME).unwrap();
    let printed = format!("{token:?}");
    assert!(!printed.contains(token.expose()));
    assert!(!printed.contains(&token.expose()[..20]));
}
