//! One verification path for every bearer token, whoever issued it: the local
//! issuer, a Cognito user pool, or (for social sign-in) Google and Apple.
//!
//! Checks, in order: the algorithm is on the allow-list (ES256, RS256: never
//! `none`, never HS*), a `kid` is present, the unverified `iss` names a configured
//! issuer exactly, the algorithm is one that issuer uses, the `kid` is in that
//! issuer's JWKS (fetched and cached; an unknown `kid` refetches at most once per
//! 10 s), the signature verifies, `exp`/`nbf` hold with 30 s leeway, and then the
//! token kind: access tokens need `token_use = "access"` and a known `client_id`
//! (as AWS documents for Cognito), ID tokens need `aud` among the client ids.
//! Validated access claims are cached through the cache port, keyed by the
//! token's SHA-256, for at most an hour and never past `exp`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use stampede_domain::input::claims::{TokenClaims, UnverifiedIssuer};
use stampede_domain::ports::Cache;

use super::keys::KeyRing;
use super::secret::sha256_hex;

const ALLOWED: [Algorithm; 2] = [Algorithm::ES256, Algorithm::RS256];
const LEEWAY_SECS: u64 = 30;
const REFETCH_EVERY: Duration = Duration::from_secs(10);

/// Who an access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Customer,
    Staff,
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub kind: PrincipalKind,
    pub subject: String,
    pub issuer: String,
    pub expires_at: i64,
    /// Staff signed in with a one-time password must choose a new one first.
    pub must_change_password: bool,
    /// Staff whose business requires a second factor must set one up first.
    #[serde(default)]
    pub mfa_setup_required: bool,
}

/// What a verified ID token (Google, Apple) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The nonce the app asked the provider to sign in (Apple: as given;
    /// the app may hash it first).
    pub nonce: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("no kid")]
    NoKid,
    #[error("unknown issuer")]
    UnknownIssuer,
    #[error("unknown key")]
    UnknownKey,
    #[error("invalid signature or claims: {0}")]
    Invalid(String),
    #[error("wrong token kind")]
    WrongKind,
    #[error("wrong audience or client")]
    WrongAudience,
}

/// Where an issuer's public keys come from.
pub enum KeySource {
    Local(Arc<KeyRing>),
    Remote(Arc<RemoteJwks>),
}

/// An issuer of access tokens: `client_ids` maps each accepted `client_id` to the
/// kind of principal its tokens stand for.
pub struct AccessIssuer {
    pub iss: String,
    pub keys: KeySource,
    pub algorithms: Vec<Algorithm>,
    pub client_ids: HashMap<String, PrincipalKind>,
}

/// An issuer of ID tokens for social sign-in.
pub struct IdIssuer {
    pub issuers: Vec<String>,
    pub keys: Arc<RemoteJwks>,
    pub audiences: Vec<String>,
}

/// A JWKS fetched over HTTP(S), cached, refetched for unknown `kid`s at most
/// once per 10 s.
pub struct RemoteJwks {
    url: String,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, (Algorithm, Arc<DecodingKey>)>>,
    last_fetch: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<jsonwebtoken::jwk::Jwk>,
}

impl RemoteJwks {
    pub fn new(url: impl Into<String>, http: reqwest::Client) -> Self {
        Self { url: url.into(), http, keys: RwLock::new(HashMap::new()), last_fetch: Mutex::new(None) }
    }

    fn cached(&self, kid: &str) -> Option<(Algorithm, Arc<DecodingKey>)> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid).cloned()
    }

    async fn key(&self, kid: &str) -> Option<(Algorithm, Arc<DecodingKey>)> {
        if let Some(k) = self.cached(kid) {
            return Some(k);
        }
        {
            let mut last = self.last_fetch.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFETCH_EVERY) {
                return None;
            }
            *last = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(keys) => {
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
            }
            Err(e) => tracing::warn!(url = %self.url, error = %e, "fetching JWKS failed"),
        }
        self.cached(kid)
    }

    async fn fetch(&self) -> Result<HashMap<String, (Algorithm, Arc<DecodingKey>)>, String> {
        let res = self.http.get(&self.url).timeout(Duration::from_secs(5)).send().await.map_err(|e| e.to_string())?;
        let set: JwkSet = res.error_for_status().map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(&jwk) {
                keys.insert(kid, (alg, Arc::new(key)));
            }
        }
        Ok(keys)
    }
}

fn header_checks(token: &str) -> Result<(Algorithm, String), AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    if !ALLOWED.contains(&header.alg) {
        return Err(AuthError::Algorithm);
    }
    let kid = header.kid.filter(|k| !k.is_empty()).ok_or(AuthError::NoKid)?;
    Ok((header.alg, kid))
}

fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    let claims: UnverifiedIssuer =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| AuthError::Malformed)?;
    claims.iss.ok_or(AuthError::UnknownIssuer)
}

fn validate(token: &str, alg: Algorithm, key: &DecodingKey, iss: &str) -> Result<TokenClaims, AuthError> {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = false; // checked below, per token kind
    v.set_issuer(&[iss]);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    jsonwebtoken::decode::<TokenClaims>(token, key, &v).map(|d| d.claims).map_err(|e| AuthError::Invalid(e.to_string()))
}

pub struct TokenVerifier {
    access: Vec<AccessIssuer>,
    google: Option<IdIssuer>,
    apple: Option<IdIssuer>,
    cache: Arc<dyn Cache>,
}

impl TokenVerifier {
    pub fn new(
        access: Vec<AccessIssuer>,
        google: Option<IdIssuer>,
        apple: Option<IdIssuer>,
        cache: Arc<dyn Cache>,
    ) -> Self {
        Self { access, google, apple, cache }
    }

    /// Verify an access token (or answer from the token cache).
    pub async fn verify_access(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let cache_key = format!("tok:{}", sha256_hex(token.as_bytes()));
        let now = chrono::Utc::now().timestamp();
        if let Ok(Some(bytes)) = self.cache.get(&cache_key).await
            && let Ok(claims) = serde_json::from_slice::<AccessClaims>(&bytes)
            && claims.expires_at > now
        {
            return Ok(claims);
        }
        let claims = self.verify_access_uncached(token).await?;
        let ttl = (claims.expires_at - now).clamp(1, 3600);
        if let Ok(bytes) = serde_json::to_vec(&claims) {
            let _ = self.cache.set(&cache_key, &bytes, Duration::from_secs(ttl as u64)).await;
        }
        Ok(claims)
    }

    async fn verify_access_uncached(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let (alg, kid) = header_checks(token)?;
        let iss = unverified_issuer(token)?;
        let issuer = self.access.iter().find(|i| i.iss == iss).ok_or(AuthError::UnknownIssuer)?;
        if !issuer.algorithms.contains(&alg) {
            return Err(AuthError::Algorithm);
        }
        let claims = match &issuer.keys {
            KeySource::Local(ring) => {
                let key = ring.decoding_key(&kid).ok_or(AuthError::UnknownKey)?;
                validate(token, alg, key, &issuer.iss)?
            }
            KeySource::Remote(jwks) => {
                let (key_alg, key) = jwks.key(&kid).await.ok_or(AuthError::UnknownKey)?;
                if key_alg != alg {
                    return Err(AuthError::Algorithm);
                }
                validate(token, alg, &key, &issuer.iss)?
            }
        };
        if !claims.is_access() {
            return Err(AuthError::WrongKind);
        }
        let kind = claims
            .client_id
            .as_deref()
            .and_then(|c| issuer.client_ids.get(c))
            .copied()
            .ok_or(AuthError::WrongAudience)?;
        Ok(AccessClaims {
            kind,
            must_change_password: claims.must_change_password(),
            mfa_setup_required: claims.mfa_setup_required(),
            subject: claims.sub,
            issuer: claims.iss,
            expires_at: claims.exp,
        })
    }

    /// Whether sign-in with `provider` is configured.
    pub fn offers(&self, provider: Social) -> bool {
        match provider {
            Social::Google => self.google.is_some(),
            Social::Apple => self.apple.is_some(),
        }
    }

    /// Verify a Google or Apple ID token for social sign-in.
    pub async fn verify_id_token(&self, provider: Social, token: &str) -> Result<IdClaims, AuthError> {
        let issuer = match provider {
            Social::Google => self.google.as_ref(),
            Social::Apple => self.apple.as_ref(),
        }
        .ok_or(AuthError::UnknownIssuer)?;
        let (alg, kid) = header_checks(token)?;
        let iss = unverified_issuer(token)?;
        if !issuer.issuers.contains(&iss) {
            return Err(AuthError::UnknownIssuer);
        }
        let (key_alg, key) = issuer.keys.key(&kid).await.ok_or(AuthError::UnknownKey)?;
        if key_alg != alg {
            return Err(AuthError::Algorithm);
        }
        let claims = validate(token, alg, &key, &iss)?;
        if !claims.may_be_id() {
            return Err(AuthError::WrongKind);
        }
        if !claims.for_any_of(&issuer.audiences) {
            return Err(AuthError::WrongAudience);
        }
        let email_verified = claims.email_verified();
        Ok(IdClaims {
            subject: claims.sub,
            email: claims.email,
            email_verified,
            nonce: claims.nonce,
            expires_at: claims.exp,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Social {
    Google,
    Apple,
}
