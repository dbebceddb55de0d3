//! The claims of a bearer token (a JWT's payload), as whoever sent the token
//! wrote them. Read only after the caller checked the signature; what they
//! mean is answered here: the token's kind, its audience, whether the
//! provider verified the email. Pure and total, so a token whose payload is
//! odd (an `aud` that is a number, an `email_verified` that is an object)
//! reads as "no", never as a panic.

use serde::Deserialize;
use serde_json::Value;

/// A token's claims. `sub`, `iss` and `exp` are required; the rest are
/// read where present.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    pub iss: String,
    pub exp: i64,
    pub token_use: Option<String>,
    pub client_id: Option<String>,
    pub aud: Option<Audience>,
    pub email: Option<String>,
    email_verified: Option<Value>,
    pub nonce: Option<String>,
    /// Staff signed in with a one-time password must choose a new one first.
    mcp: Option<bool>,
    /// Staff whose business requires a second factor must set one up first.
    msr: Option<bool>,
}

/// `aud`: one audience or several (RFC 7519 allows both).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Only the issuer, read before the signature is checked to choose the
/// keys that check it.
#[derive(Debug, Deserialize)]
pub struct UnverifiedIssuer {
    pub iss: Option<String>,
}

impl TokenClaims {
    /// Parse a payload's JSON.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// An access token, as Cognito and the local issuer mark it.
    pub fn is_access(&self) -> bool {
        self.token_use.as_deref() == Some("access")
    }

    /// Could be an ID token: Google's carry no `token_use`; Cognito's say `id`.
    pub fn may_be_id(&self) -> bool {
        self.token_use.as_deref().is_none_or(|u| u == "id")
    }

    /// Whether `aud` names one of `wanted`.
    pub fn for_any_of(&self, wanted: &[String]) -> bool {
        match &self.aud {
            Some(Audience::One(a)) => wanted.contains(a),
            Some(Audience::Many(all)) => all.iter().any(|a| wanted.contains(a)),
            None => false,
        }
    }

    /// Whether the provider verified `email`: `true` as Google sends it,
    /// `"true"` as Apple does; anything else is no.
    pub fn email_verified(&self) -> bool {
        match &self.email_verified {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    pub fn must_change_password(&self) -> bool {
        self.mcp.unwrap_or(false)
    }

    pub fn mfa_setup_required(&self) -> bool {
        self.msr.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(extra: &str) -> TokenClaims {
        let json = format!(r#"{{"sub": "s", "iss": "https://issuer", "exp": 1{extra}}}"#);
        TokenClaims::parse(json.as_bytes()).expect("claims")
    }

    #[test]
    fn audiences_are_one_or_many_and_anything_else_is_refused() {
        let wanted = ["app".to_owned()];
        assert!(claims(r#", "aud": "app""#).for_any_of(&wanted));
        assert!(claims(r#", "aud": ["other", "app"]"#).for_any_of(&wanted));
        assert!(!claims(r#", "aud": ["other"]"#).for_any_of(&wanted));
        assert!(!claims("").for_any_of(&wanted));
        assert!(TokenClaims::parse(br#"{"sub": "s", "iss": "i", "exp": 1, "aud": 7}"#).is_err());
    }

    #[test]
    fn email_verified_is_true_only_as_providers_say_it() {
        assert!(claims(r#", "email_verified": true"#).email_verified());
        assert!(claims(r#", "email_verified": "true""#).email_verified());
        for no in ["", r#", "email_verified": "yes""#, r#", "email_verified": 1"#, r#", "email_verified": {}"#] {
            assert!(!claims(no).email_verified(), "{no}");
        }
    }

    #[test]
    fn kinds_and_flags_read_as_issued() {
        assert!(claims(r#", "token_use": "access", "mcp": true"#).is_access());
        assert!(claims(r#", "mcp": true"#).must_change_password());
        assert!(!claims("").mfa_setup_required());
        assert!(claims("").may_be_id() && claims(r#", "token_use": "id""#).may_be_id());
        assert!(!claims(r#", "token_use": "access""#).may_be_id());
        assert!(TokenClaims::parse(br#"{"iss": "i", "exp": 1}"#).is_err(), "no subject");
    }
}
