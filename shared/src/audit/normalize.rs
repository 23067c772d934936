//! One spelling per thing: secret ids reduced to secret names, callers reduced to the principal
//! a policy would name (an assumed-role session to its issuing role), and the small matchers
//! (globs, networks) the rule configs use.

use std::net::IpAddr;

use ipnet::IpNet;

use super::record::{IdentityKind, UserIdentity};

/// A secret as the rules see it: its name (no ARN, no random suffix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(pub String);

/// Reduces a `secretId` (name, partial ARN, or full ARN with the 6-character random suffix) to
/// the secret name. A full ARN's name part ends in `-XXXXXX`; a partial ARN's does not, but a
/// name may itself end that way. `known` (names the caller listed) settles the ambiguity;
/// without a match the suffix is taken off, since callers almost always pass full ARNs.
pub fn secret_name(secret_id: &str, known: &dyn Fn(&str) -> bool) -> SecretName {
    let Some(name) =
        arn_resource(secret_id, "secretsmanager").and_then(|r| r.strip_prefix("secret:"))
    else {
        return SecretName(secret_id.to_string());
    };
    if known(name) {
        return SecretName(name.to_string());
    }
    match strip_random_suffix(name) {
        Some(stripped) => SecretName(stripped.to_string()),
        None => SecretName(name.to_string()),
    }
}

fn strip_random_suffix(name: &str) -> Option<&str> {
    let (head, tail) = name.rsplit_once('-')?;
    (tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_alphanumeric()) && !head.is_empty())
        .then_some(head)
}

/// `arn:partition:service:region:account:resource` → resource, when the service matches.
fn arn_resource<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    parts.next()?;
    (parts.next()? == service).then_some(())?;
    parts.next()?;
    parts.next()?;
    parts.next()
}

/// The account id in an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// `(account, role name)` for a role ARN (any path) or an assumed-role session ARN, so
/// `role/path/Name`, `role/Name` and `assumed-role/Name/session` compare equal.
pub fn role_key(arn: &str) -> Option<(&str, &str)> {
    let account = arn_account(arn)?;
    let resource = arn.splitn(6, ':').nth(5)?;
    if let Some(path) = resource.strip_prefix("role/") {
        return Some((account, path.rsplit('/').next()?));
    }
    let rest = resource.strip_prefix("assumed-role/")?;
    Some((account, rest.split('/').next()?))
}

/// Who made a call, reduced to what an allow-list names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: IdentityKind,
    /// Role ARN (issuer of an assumed-role session), user ARN, service hostname, `account:<id>`,
    /// or the provider user name for SAML / web identity / Identity Center.
    pub id: String,
    pub account: Option<String>,
    /// The assumed-role session name, if any.
    pub session: Option<String>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa_authenticated: bool,
}

impl Principal {
    pub fn from_identity(u: &UserIdentity) -> Principal {
        let issuer = u
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref());
        let mfa = u
            .session_context
            .as_ref()
            .and_then(|c| c.attributes.as_ref())
            .and_then(|a| a.mfa_authenticated)
            .unwrap_or(false);
        let account = u
            .account_id
            .clone()
            .or_else(|| u.arn.as_deref().and_then(arn_account).map(str::to_string));
        let session = u
            .arn
            .as_deref()
            .filter(|a| a.contains(":assumed-role/"))
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_string);
        let id = match u.kind {
            IdentityKind::AssumedRole => issuer
                .and_then(|i| i.arn.clone())
                .or_else(|| u.arn.as_deref().and_then(role_arn_from_session))
                .or_else(|| u.principal_id.clone()),
            IdentityKind::AwsService => u.invoked_by.clone(),
            IdentityKind::AwsAccount => u.account_id.as_ref().map(|a| format!("account:{a}")),
            IdentityKind::SamlUser | IdentityKind::WebIdentityUser => {
                match (u.identity_provider.as_deref(), u.user_name.as_deref()) {
                    (Some(p), Some(n)) => Some(format!("{p}/{n}")),
                    (p, n) => n.or(p).map(str::to_string),
                }
            }
            IdentityKind::IdentityCenterUser => u
                .on_behalf_of
                .as_ref()
                .and_then(|o| o.user_id.clone())
                .map(|id| format!("identitycenter:{id}")),
            _ => None,
        }
        .or_else(|| u.arn.clone())
        .or_else(|| u.user_name.clone())
        .or_else(|| u.principal_id.clone())
        .unwrap_or_else(|| format!("unknown {}", u.kind.as_str()));
        Principal {
            kind: u.kind,
            id,
            account,
            session,
            mfa_authenticated: mfa,
        }
    }

    /// The role an `AWSReservedSSO_*` session comes from, or any issuing role name.
    pub fn role_name(&self) -> Option<&str> {
        role_key(&self.id).map(|(_, n)| n)
    }

    /// A person rather than a workload: IAM user, root, console/SSO/SAML federation,
    /// an Identity Center user, or an `AWSReservedSSO_*` role session.
    pub fn is_human(&self) -> bool {
        match self.kind {
            IdentityKind::IamUser
            | IdentityKind::Root
            | IdentityKind::FederatedUser
            | IdentityKind::IdentityCenterUser
            | IdentityKind::SamlUser => true,
            IdentityKind::AssumedRole => self
                .role_name()
                .is_some_and(|n| n.starts_with("AWSReservedSSO_")),
            _ => false,
        }
    }
}

fn role_arn_from_session(arn: &str) -> Option<String> {
    let (account, name) = role_key(arn)?;
    let partition = arn.split(':').nth(1)?;
    Some(format!("arn:{partition}:iam::{account}:role/{name}"))
}

/// An allow-list entry or pattern: `*` matches any run of characters. A role ARN entry also
/// matches the same role under any path, and its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(p: impl Into<String>) -> Self {
        Pattern(p.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, candidate: &str) -> bool {
        if glob(&self.0, candidate) {
            return true;
        }
        match (role_key(&self.0), role_key(candidate)) {
            (Some((pa, pn)), Some((ca, cn))) => glob(pa, ca) && glob(pn, cn),
            _ => false,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Pattern)
    }
}

pub fn any_matches(patterns: &[Pattern], candidate: &str) -> bool {
    patterns.iter().any(|p| p.matches(candidate))
}

/// `*`-only glob, linear time.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Where a call came from, as far as the network rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Through a VPC endpoint, from an AWS service hostname, or `AWS Internal`.
    Aws,
    /// A private address or one inside the trusted CIDRs.
    Trusted,
    /// A public address outside the trusted CIDRs, or something that is not an address.
    Untrusted,
}

pub fn classify_origin(
    source: Option<&str>,
    vpc_endpoint: Option<&str>,
    trusted: &[IpNet],
) -> Origin {
    if vpc_endpoint.is_some_and(|v| !v.is_empty()) {
        return Origin::Aws;
    }
    let Some(source) = source.map(str::trim).filter(|s| !s.is_empty()) else {
        return Origin::Untrusted;
    };
    if source.ends_with(".amazonaws.com") || source.starts_with("AWS Internal") {
        return Origin::Aws;
    }
    match source.parse::<IpAddr>() {
        Ok(ip) if trusted.iter().any(|n| n.contains(&ip)) || is_private(ip) => Origin::Trusted,
        _ => Origin::Untrusted,
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}
