//! The local issuer's signing keys: ES256 (P-256), generated on first start and
//! kept in `<data_dir>/keys/` (one PKCS#8 file per key, named by its `kid`).
//!
//! Rotation (`stampede keys rotate`) writes a new key and makes it the active one;
//! older keys stay in the JWKS for `retain_for` after they were retired, so tokens
//! they signed verify until they expire, then they are dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;

/// A public key as published in the JWKS.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    pub x: String,
    pub y: String,
}

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
}

/// All keys of the local issuer: the active one signs, all listed ones verify.
pub struct KeyRing {
    active: SigningKey,
    published: Vec<(Jwk, DecodingKey)>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key {kid} is not a valid P-256 PKCS#8 key")]
    Invalid { kid: String },
    #[error("generating a key failed")]
    Generate,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

fn jwk_of(kid: &str, der: &[u8]) -> Result<(Jwk, DecodingKey), KeyError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
        .map_err(|_| KeyError::Invalid { kid: kid.to_owned() })?;
    // Uncompressed point: 0x04 || X (32 bytes) || Y (32 bytes).
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(KeyError::Invalid { kid: kid.to_owned() });
    }
    let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
    let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| KeyError::Invalid { kid: kid.to_owned() })?;
    Ok((Jwk { kty: "EC", crv: "P-256", alg: "ES256", use_: "sig", kid: kid.to_owned(), x, y }, decoding))
}

fn generate(dir: &Path) -> Result<String, KeyError> {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| KeyError::Generate)?;
    let kid = uuid::Uuid::now_v7().simple().to_string();
    let path = dir.join(format!("{kid}.p8"));
    write_private(&path, der.as_ref())?;
    write_private(&dir.join("active"), kid.as_bytes())?;
    Ok(kid)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl KeyRing {
    /// Load the keys in `dir`, generating the first one if there is none.
    /// Retired keys older than `retain_for` are deleted.
    pub fn load_or_create(dir: &Path, retain_for: Duration) -> Result<Self, KeyError> {
        stampede_store::private::dir(dir).map_err(io(dir))?;
        let active_file = dir.join("active");
        let active_kid = match std::fs::read_to_string(&active_file) {
            Ok(kid) if dir.join(format!("{}.p8", kid.trim())).exists() => kid.trim().to_owned(),
            _ => generate(dir)?,
        };
        let mut published = Vec::new();
        let mut active = None;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let Some(kid) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".p8")) else {
                continue;
            };
            let kid = kid.to_owned();
            let der = std::fs::read(&path).map_err(io(&path))?;
            if kid == active_kid {
                active = Some(SigningKey { kid: kid.clone(), encoding: EncodingKey::from_ec_der(&der) });
            } else {
                // A retired key: its file's modification time is when it was retired
                // (rotation touches it); keep it while tokens it signed may live.
                let retired_at = entry.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
                if SystemTime::now().duration_since(retired_at).unwrap_or_default() > retain_for {
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
            }
            published.push(jwk_of(&kid, &der)?);
        }
        let active = active.ok_or(KeyError::Invalid { kid: active_kid })?;
        published.sort_by(|a, b| b.0.kid.cmp(&a.0.kid));
        Ok(Self { active, published })
    }

    /// Retire the active key (it stays published) and make a new one active.
    pub fn rotate(dir: &Path) -> Result<String, KeyError> {
        if let Ok(old) = std::fs::read_to_string(dir.join("active")) {
            let path = dir.join(format!("{}.p8", old.trim()));
            if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                let _ = f.set_modified(SystemTime::now());
            }
        }
        generate(dir)
    }

    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    pub fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.published.iter().find(|(j, _)| j.kid == kid).map(|(_, d)| d)
    }

    /// The JWKS document: `{"keys": [...]}`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<&Jwk> = self.published.iter().map(|(j, _)| j).collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_load_creates_a_key_and_reload_keeps_it() {
        let dir = tempfile::tempdir().expect("dir");
        let a = KeyRing::load_or_create(dir.path(), Duration::from_secs(3600)).expect("create");
        let b = KeyRing::load_or_create(dir.path(), Duration::from_secs(3600)).expect("load");
        assert_eq!(a.active().kid, b.active().kid);
        assert_eq!(a.jwks(), b.jwks());
        let jwks = a.jwks();
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
        assert_eq!(jwks["keys"][0]["kty"], "EC");
        assert_eq!(jwks["keys"][0]["alg"], "ES256");
    }

    #[test]
    fn rotation_keeps_the_old_key_published_until_it_ages_out() {
        let dir = tempfile::tempdir().expect("dir");
        let old = KeyRing::load_or_create(dir.path(), Duration::from_secs(3600)).expect("create").active().kid.clone();
        let new = KeyRing::rotate(dir.path()).expect("rotate");
        assert_ne!(old, new);
        let ring = KeyRing::load_or_create(dir.path(), Duration::from_secs(3600)).expect("load");
        assert_eq!(ring.active().kid, new);
        assert!(ring.decoding_key(&old).is_some(), "the retired key still verifies");
        std::thread::sleep(Duration::from_millis(20));
        let ring = KeyRing::load_or_create(dir.path(), Duration::from_millis(1)).expect("load");
        assert!(ring.decoding_key(&old).is_none(), "dropped after its retention");
        assert!(ring.decoding_key(&new).is_some());
    }
}
