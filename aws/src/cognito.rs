//! A Cognito user pool (one for customers, one for staff): sign-up,
//! confirmation, login with `USER_PASSWORD_AUTH`, refresh, sign-out and
//! password reset. Cognito issues the tokens; Stampede verifies them through
//! its issuer-agnostic path against the pool's JWKS (see the API's
//! `auth::verify`), with the expected issuer and the JWKS URL as separate
//! settings because a local endpoint serves the keys under its own address.
//!
//! Social sign-in (Google, Apple) through Cognito is federation configured on
//! the pool, not code here.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ChallengeNameType, MessageActionType, SoftwareTokenMfaSettingsType, UserStatusType,
};
use stampede_domain::ports::{StoreError, StoreResult};

use crate::sdk_error;

/// One pool and the app client Stampede uses with it.
#[derive(Clone)]
pub struct CognitoPool {
    client: Client,
    pub pool_id: String,
    pub client_id: String,
}

/// The tokens Cognito hands out on login or refresh.
#[derive(Debug, Clone)]
pub struct CognitoTokens {
    pub access_token: String,
    pub id_token: Option<String>,
    /// Absent on refresh: the refresh token stays the same.
    pub refresh_token: Option<String>,
    pub expires_in: i32,
}

/// What a right password leads to: tokens, or (with an authenticator app
/// set up) a challenge the app's code answers within the session.
#[derive(Debug, Clone)]
pub enum SignIn {
    Tokens(CognitoTokens),
    Mfa { session: String },
}

/// Who a pool access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoUser {
    pub sub: String,
    pub email: Option<String>,
    /// Whether the pool has seen the user prove the address (`email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Why a login or sign-up was refused (not an outage).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CognitoRefusal {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("the account is not confirmed")]
    NotConfirmed,
    #[error("an account with this username exists")]
    UsernameExists,
    #[error("the password does not meet the pool's policy")]
    WeakPassword,
    #[error("the code is wrong or expired")]
    BadCode,
}

/// A pool call's failure: a refusal to show the user, or an outage.
#[derive(Debug, thiserror::Error)]
pub enum CognitoError {
    #[error(transparent)]
    Refused(#[from] CognitoRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type CognitoResult<T> = Result<T, CognitoError>;

/// The issuer Cognito puts in `iss` for a pool.
pub fn issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// Map a service error by its code to a refusal, or else to a store error.
fn classify<E>(what: &str, err: crate::SdkError<E>) -> CognitoError
where
    E: std::error::Error + aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let refusal = err.as_service_error().and_then(|s| match s.code() {
        Some("NotAuthorizedException" | "UserNotFoundException") => Some(CognitoRefusal::BadCredentials),
        Some("UserNotConfirmedException") => Some(CognitoRefusal::NotConfirmed),
        Some("UsernameExistsException") => Some(CognitoRefusal::UsernameExists),
        Some("InvalidPasswordException") => Some(CognitoRefusal::WeakPassword),
        Some("CodeMismatchException" | "ExpiredCodeException") => Some(CognitoRefusal::BadCode),
        _ => None,
    });
    match refusal {
        Some(r) => CognitoError::Refused(r),
        None => CognitoError::Store(sdk_error(what, err)),
    }
}

fn attr(name: &str, value: &str) -> StoreResult<AttributeType> {
    AttributeType::builder().name(name).value(value).build().map_err(|e| StoreError::Other(format!("cognito: {e}")))
}

impl CognitoPool {
    pub fn from_conf(conf: &aws_config::SdkConfig, pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self::new(Client::new(conf), pool_id, client_id)
    }

    pub fn new(client: Client, pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self { client, pool_id: pool_id.into(), client_id: client_id.into() }
    }

    /// Register a user; returns the pool's subject id (`sub`).
    pub async fn sign_up(&self, email: &str, password: &str, name: Option<&str>) -> CognitoResult<String> {
        let mut req = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(email)
            .password(password)
            .user_attributes(attr("email", email)?);
        if let Some(name) = name {
            req = req.user_attributes(attr("name", name)?);
        }
        let out = req.send().await.map_err(|e| classify("cognito sign-up", e))?;
        Ok(out.user_sub)
    }

    /// Confirm a sign-up with the code Cognito mailed.
    pub async fn confirm_sign_up(&self, email: &str, code: &str) -> CognitoResult<()> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| classify("cognito confirm", e))?;
        Ok(())
    }

    /// Make a confirmed account with this password, as an administrator: the
    /// way into a pool that takes no sign-ups (the staff pool; the
    /// invitation proved the address). Cognito mails nothing. An account
    /// whose password the pool refuses is deleted again, so a retry with a
    /// better one starts clean. Returns the account's `sub`.
    pub async fn admin_create(&self, email: &str, password: &str, name: Option<&str>) -> CognitoResult<String> {
        let mut req = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attr("email", email)?)
            .user_attributes(attr("email_verified", "true")?);
        if let Some(name) = name {
            req = req.user_attributes(attr("name", name)?);
        }
        req.send().await.map_err(|e| classify("cognito admin create user", e))?;
        let set = self
            .client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(email)
            .password(password)
            .permanent(true)
            .send()
            .await;
        if let Err(e) = set {
            if let Err(undo) = self.admin_delete(email).await {
                tracing::warn!(error = %undo, "cognito: a half-made account was not deleted");
            }
            return Err(classify("cognito admin set password", e));
        }
        let user = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map_err(|e| classify("cognito admin get user", e))?;
        user.user_attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .map(str::to_owned)
            .ok_or_else(|| CognitoError::Store(StoreError::Other("cognito: the new account has no sub".into())))
    }

    /// An account as the administrator sees it: who, and whether it has
    /// confirmed its sign-up. `None`: no such account.
    pub async fn admin_get(&self, email: &str) -> CognitoResult<Option<(CognitoUser, bool)>> {
        let out = match self.client.admin_get_user().user_pool_id(&self.pool_id).username(email).send().await {
            Ok(out) => out,
            Err(e) => {
                return match classify("cognito admin get user", e) {
                    CognitoError::Refused(CognitoRefusal::BadCredentials) => Ok(None),
                    other => Err(other),
                };
            }
        };
        let attr = |name: &str| out.user_attributes().iter().find(|a| a.name() == name).and_then(|a| a.value());
        let user = CognitoUser {
            sub: attr("sub").map_or_else(|| out.username().to_owned(), str::to_owned),
            email: attr("email").map(str::to_owned),
            email_verified: attr("email_verified") == Some("true"),
            name: attr("name").map(str::to_owned),
        };
        let confirmed = out.user_status().is_none_or(|s| *s != UserStatusType::Unconfirmed);
        Ok(Some((user, confirmed)))
    }

    /// Delete an account, as an administrator.
    pub async fn admin_delete(&self, email: &str) -> CognitoResult<()> {
        self.client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map_err(|e| classify("cognito admin delete user", e))?;
        Ok(())
    }

    /// Confirm without a code (an administrator, or a trusted sign-up path).
    pub async fn admin_confirm(&self, email: &str) -> CognitoResult<()> {
        self.client
            .admin_confirm_sign_up()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .map_err(|e| classify("cognito admin confirm", e))?;
        Ok(())
    }

    /// Sign in where no second factor can be asked (an account just made).
    pub async fn login(&self, email: &str, password: &str) -> CognitoResult<CognitoTokens> {
        match self.sign_in(email, password).await? {
            SignIn::Tokens(t) => Ok(t),
            SignIn::Mfa { .. } => Err(StoreError::Other("cognito asked for a second factor".into()).into()),
        }
    }

    /// Sign in: tokens, or the second-factor challenge.
    pub async fn sign_in(&self, email: &str, password: &str) -> CognitoResult<SignIn> {
        self.auth(AuthFlowType::UserPasswordAuth, &[("USERNAME", email), ("PASSWORD", password)]).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> CognitoResult<CognitoTokens> {
        match self.auth(AuthFlowType::RefreshTokenAuth, &[("REFRESH_TOKEN", refresh_token)]).await? {
            SignIn::Tokens(t) => Ok(t),
            SignIn::Mfa { .. } => Err(StoreError::Other("cognito challenged a refresh".into()).into()),
        }
    }

    async fn auth(&self, flow: AuthFlowType, params: &[(&str, &str)]) -> CognitoResult<SignIn> {
        let mut req = self.client.initiate_auth().client_id(&self.client_id).auth_flow(flow);
        for (k, v) in params {
            req = req.auth_parameters(*k, *v);
        }
        let out = req.send().await.map_err(|e| classify("cognito login", e))?;
        if out.challenge_name == Some(ChallengeNameType::SoftwareTokenMfa) {
            let session =
                out.session.ok_or_else(|| StoreError::Other("cognito: a challenge without a session".into()))?;
            return Ok(SignIn::Mfa { session });
        }
        let result = out.authentication_result.ok_or_else(|| {
            // Other challenges (a new password, SMS) are not ones this API answers.
            StoreError::Other(format!("cognito answered with a challenge: {:?}", out.challenge_name))
        })?;
        tokens(result).map(SignIn::Tokens)
    }

    /// Answer a second-factor challenge with the authenticator app's code.
    pub async fn answer_mfa(&self, email: &str, session: &str, code: &str) -> CognitoResult<CognitoTokens> {
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(session)
            .challenge_responses("USERNAME", email)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await
            .map_err(|e| {
                // A session that expired or never was: Cognito says
                // NotAuthorized, moto ResourceNotFound. Either way the
                // sign-in starts again.
                let code = e.as_service_error().and_then(|s| s.code().map(str::to_owned));
                match code.as_deref() {
                    Some("ResourceNotFoundException" | "NotAuthorizedException") => CognitoRefusal::BadCode.into(),
                    _ => classify("cognito mfa answer", e),
                }
            })?;
        let result =
            out.authentication_result.ok_or_else(|| StoreError::Other("cognito: no tokens after the code".into()))?;
        tokens(result)
    }

    /// Start setting up an authenticator app: the pool's new secret (base32).
    pub async fn associate_totp(&self, access_token: &str) -> CognitoResult<String> {
        let out = self
            .client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| classify("cognito associate software token", e))?;
        out.secret_code.ok_or_else(|| StoreError::Other("cognito: no secret".into()).into())
    }

    /// Confirm the app with its first code and make it the sign-in's second factor.
    pub async fn confirm_totp(&self, access_token: &str, code: &str) -> CognitoResult<()> {
        self.client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .send()
            .await
            .map_err(|e| classify("cognito verify software token", e))?;
        self.set_totp(access_token, true).await
    }

    /// Turn the authenticator app on or off as the second factor.
    pub async fn set_totp(&self, access_token: &str, on: bool) -> CognitoResult<()> {
        let settings = SoftwareTokenMfaSettingsType::builder().enabled(on).preferred_mfa(on).build();
        self.client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(settings)
            .send()
            .await
            .map_err(|e| classify("cognito mfa preference", e))?;
        Ok(())
    }

    /// The signed-in user's `sub`, email and name, from their access token.
    pub async fn get_user(&self, access_token: &str) -> CognitoResult<CognitoUser> {
        let out = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| classify("cognito get user", e))?;
        let attr = |name: &str| out.user_attributes.iter().find(|a| a.name == name).and_then(|a| a.value.clone());
        Ok(CognitoUser {
            sub: attr("sub").unwrap_or_else(|| out.username.clone()),
            email: attr("email"),
            email_verified: attr("email_verified").is_some_and(|v| v == "true"),
            name: attr("name"),
        })
    }

    /// Sign out everywhere: Cognito revokes the user's refresh tokens.
    pub async fn sign_out(&self, access_token: &str) -> CognitoResult<()> {
        self.client
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| classify("cognito sign-out", e))?;
        Ok(())
    }

    /// Start a password reset: Cognito mails a code.
    pub async fn forgot_password(&self, email: &str) -> CognitoResult<()> {
        self.client
            .forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .send()
            .await
            .map_err(|e| classify("cognito forgot password", e))?;
        Ok(())
    }

    pub async fn confirm_forgot_password(&self, email: &str, code: &str, new_password: &str) -> CognitoResult<()> {
        self.client
            .confirm_forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .password(new_password)
            .send()
            .await
            .map_err(|e| classify("cognito confirm reset", e))?;
        Ok(())
    }
}

fn tokens(result: aws_sdk_cognitoidentityprovider::types::AuthenticationResultType) -> CognitoResult<CognitoTokens> {
    Ok(CognitoTokens {
        access_token: result.access_token.ok_or_else(|| StoreError::Other("cognito: no access token".into()))?,
        id_token: result.id_token,
        refresh_token: result.refresh_token,
        expires_in: result.expires_in,
    })
}
