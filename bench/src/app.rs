//! The customer app's sessions: the world's app users sign in through the
//! public API (`POST /v1/auth/customers/login`, an argon2id check each, as
//! for a real customer) before the load starts, and their access tokens are
//! kept fresh with the refresh tokens (`POST /v1/auth/token/refresh`) while
//! it runs, spread out so that refreshing adds a request now and then rather
//! than a burst.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::load::Shared;

#[derive(Debug, Deserialize)]
struct TokenPair {
    access_token: String,
    refresh_token: String,
    expires_in: u64,
}

/// How many sign-ins run at once: the server hashes a few at a time anyway.
const AT_ONCE: usize = 4;

impl Shared {
    /// Sign every app user in, then keep their tokens fresh in the
    /// background for as long as `self` lives. A 429 (the server's
    /// `rate_limits.login_per_ip`, 30 a minute by default) is waited out,
    /// as its `Retry-After` says.
    pub async fn sign_in(self: &Arc<Self>, say: &(dyn Fn(&str) + Sync)) -> anyhow::Result<()> {
        let users = self.world.app_users.clone();
        if users.is_empty() {
            return Ok(());
        }
        say(&format!("signing {} app users in…", users.len()));
        let mut pairs: Vec<Option<TokenPair>> = (0..users.len()).map(|_| None).collect();
        let mut warned = false;
        for chunk in (0..users.len()).collect::<Vec<_>>().chunks(AT_ONCE) {
            let mut logins = tokio::task::JoinSet::new();
            for &u in chunk {
                let (me, email) = (Arc::clone(self), users[u].clone());
                logins.spawn(async move { (u, me.login(&email).await) });
            }
            while let Some(joined) = logins.join_next().await {
                let (u, result) = joined?;
                match result? {
                    Login::Ok(pair) => pairs[u] = Some(pair),
                    Login::Limited(wait) => {
                        if !warned {
                            say(&format!(
                                "  the server limits sign-ins (rate_limits.login_per_ip): waiting {wait:?} at a time"
                            ));
                            warned = true;
                        }
                        tokio::time::sleep(wait).await;
                        pairs[u] = Some(self.login_until_admitted(&users[u]).await?);
                    }
                }
            }
        }
        let pairs: Vec<TokenPair> = pairs.into_iter().flatten().collect();
        let ttl = pairs.iter().map(|p| p.expires_in).min().unwrap_or(900);
        if let Ok(mut tokens) = self.tokens.write() {
            *tokens = pairs.iter().map(|p| p.access_token.clone()).collect();
        }
        let refresh = pairs.into_iter().map(|p| p.refresh_token).collect();
        tokio::spawn(keep_fresh(Arc::downgrade(self), refresh, Duration::from_secs(ttl)));
        Ok(())
    }

    async fn login(&self, email: &str) -> anyhow::Result<Login> {
        let res = self
            .client
            .post(format!("{}/v1/auth/customers/login", self.base))
            .json(&json!({"email": email, "password": self.world.app_password}))
            .send()
            .await?;
        match res.status().as_u16() {
            200 => Ok(Login::Ok(res.json().await?)),
            429 => {
                let secs = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                Ok(Login::Limited(Duration::from_secs(secs.max(1))))
            }
            status => anyhow::bail!("signing in {email}: the server answered {status}: {}", res.text().await?),
        }
    }

    async fn login_until_admitted(&self, email: &str) -> anyhow::Result<TokenPair> {
        loop {
            match self.login(email).await? {
                Login::Ok(pair) => return Ok(pair),
                Login::Limited(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn refresh(&self, token: &str) -> anyhow::Result<TokenPair> {
        let res = self
            .client
            .post(format!("{}/v1/auth/token/refresh", self.base))
            .json(&json!({"refresh_token": token}))
            .send()
            .await?;
        match res.status().as_u16() {
            200 => Ok(res.json().await?),
            status => anyhow::bail!("refresh answered {status}"),
        }
    }
}

enum Login {
    Ok(TokenPair),
    Limited(Duration),
}

/// Every half of the tokens' lifetime, refresh each user's token, the users
/// spread over a quarter of it. Ends when the load generator is dropped. A
/// refresh that fails signs that user in again.
async fn keep_fresh(shared: Weak<Shared>, mut refresh: Vec<String>, ttl: Duration) {
    let n = refresh.len().max(1) as u32;
    let gap = (ttl / 4) / n;
    loop {
        tokio::time::sleep(ttl / 2).await;
        for (user, token) in refresh.iter_mut().enumerate() {
            let Some(me) = shared.upgrade() else { return };
            let pair = match me.refresh(token).await {
                Ok(pair) => Some(pair),
                Err(e) => {
                    eprintln!("  app user {user}: {e}; signing in again");
                    me.login_until_admitted(&me.world.app_users[user]).await.ok()
                }
            };
            if let Some(pair) = pair {
                *token = pair.refresh_token;
                if let Ok(mut tokens) = me.tokens.write()
                    && let Some(slot) = tokens.get_mut(user)
                {
                    *slot = pair.access_token;
                }
            }
            drop(me);
            tokio::time::sleep(gap).await;
        }
    }
}
