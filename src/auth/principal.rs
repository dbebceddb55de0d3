//! Extractors that turn a request's credentials into a principal, or a 401.
//!
//! - [`CustomerAuth`]: a customer's access token.
//! - [`StaffAuth`]: a staff access token; the account and its memberships are
//!   loaded on every request, so a removed role stops working at once. Refused
//!   while the account must change its one-time password
//!   or set up the second factor a business requires ([`StaffAuthAnyState`]
//!   is the exception, for the password change itself).
//! - [`Account`]: either, for the account's own second factor.
//! - [`PosAuth`]: a terminal key (`Bearer stp_…`) or a staff token; rate limited
//!   per terminal or per staff account. Which store it may act at is decided by
//!   the handler, per object.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::Utc;
use stampede_domain::identity::Terminal;
use stampede_domain::ids::{CustomerId, StaffId};
use stampede_domain::ports::{Decision, Limit};
use stampede_domain::staff::Staff;
use uuid::Uuid;

use super::terminal_key;
use super::verify::{AccessClaims, PrincipalKind};
use crate::api::problem::{ApiError, Code};
use crate::state::AppState;

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn unauthorized() -> ApiError {
    ApiError::new(Code::Unauthorized).detail("a valid access token is required")
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))
}

async fn access_claims(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    state.verifier.verify_access(token).await.map_err(|e| {
        tracing::debug!(reason = %e, "access token refused");
        unauthorized()
    })
}

async fn load_staff(state: &AppState, claims: &AccessClaims) -> Result<Staff, ApiError> {
    if claims.kind != PrincipalKind::Staff {
        return Err(unauthorized());
    }
    let id = Uuid::parse_str(&claims.subject).map_err(|_| unauthorized())?;
    match state.store.get_staff(StaffId(id)).await? {
        Some(staff) if staff.may_sign_in() => Ok(staff),
        _ => Err(unauthorized()),
    }
}

/// A signed-in customer whose account stands.
pub struct CustomerAuth {
    pub id: CustomerId,
    /// The records as of this request (see [`crate::cached`]).
    pub view: crate::cached::View,
}

impl FromRequest for CustomerAuth {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let claims = access_claims(&state, &token.ok_or_else(unauthorized)?).await?;
            if claims.kind != PrincipalKind::Customer {
                return Err(unauthorized());
            }
            let id = CustomerId(Uuid::parse_str(&claims.subject).map_err(|_| unauthorized())?);
            let view = state.records.view().await;
            if !view.customer_stands(id).await? {
                return Err(unauthorized());
            }
            Ok(CustomerAuth { id, view })
        })
    }
}

/// A signed-in staff member who has set their own password.
pub struct StaffAuth {
    pub staff: Staff,
}

impl FromRequest for StaffAuth {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let any = StaffAuthAnyState::from_request(req, payload);
        Box::pin(async move {
            let StaffAuthAnyState { staff, must_change_password, mfa_setup_required } = any.await?;
            if must_change_password || staff.must_change_password {
                return Err(
                    ApiError::new(Code::Forbidden).detail("choose a new password first: POST /v1/auth/staff/password")
                );
            }
            if mfa_setup_required {
                return Err(mfa_setup_first());
            }
            Ok(StaffAuth { staff })
        })
    }
}

fn mfa_setup_first() -> ApiError {
    ApiError {
        machine: Some("mfa_setup_required".to_owned()),
        ..ApiError::new(Code::Forbidden).detail(
            "a business you own or administer requires two-step sign-in: set it up first (POST /v1/auth/mfa/totp), \
             then refresh the session",
        )
    }
}

/// A signed-in staff member, also one who still has to change a one-time
/// password or set up a second factor.
pub struct StaffAuthAnyState {
    pub staff: Staff,
    pub must_change_password: bool,
    pub mfa_setup_required: bool,
}

impl FromRequest for StaffAuthAnyState {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let claims = access_claims(&state, &token.ok_or_else(unauthorized)?).await?;
            let staff = load_staff(&state, &claims).await?;
            Ok(StaffAuthAnyState {
                must_change_password: claims.must_change_password,
                mfa_setup_required: claims.mfa_setup_required,
                staff,
            })
        })
    }
}

/// Who is at the counter.
pub enum PosActor {
    Terminal(std::sync::Arc<Terminal>),
    Staff(Staff),
}

pub struct PosAuth {
    pub actor: PosActor,
    /// The records as of this request (see [`crate::cached`]): the handler
    /// reads the store and program through the same look.
    pub view: crate::cached::View,
}

impl FromRequest for PosAuth {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or_else(unauthorized)?;
            let view = state.records.view().await;
            let (actor, limit_key) = if token.starts_with(terminal_key::PREFIX) {
                let (id, hash) = terminal_key::parse(&token).ok_or_else(unauthorized)?;
                let terminal = view.terminal(id).await?.ok_or_else(unauthorized)?;
                if terminal.revoked_at.is_some() || !crate::auth::secret::same(&terminal.key_hash, &hash) {
                    return Err(unauthorized());
                }
                // At most one write a minute per terminal, tracked in process
                // (the cached record's last_used_at does not move).
                if state.touched.get(&id).await.is_none() {
                    state.touched.insert(id, ()).await;
                    // At most one write a minute per terminal, off the request path.
                    let store = std::sync::Arc::clone(&state.store);
                    tokio::spawn(async move {
                        let _ = store.touch_terminal(id, Utc::now()).await;
                    });
                }
                (PosActor::Terminal(terminal), format!("t:{id}"))
            } else {
                let claims = access_claims(&state, &token).await?;
                let staff = load_staff(&state, &claims).await?;
                if claims.must_change_password || staff.must_change_password {
                    return Err(ApiError::new(Code::Forbidden).detail("choose a new password first"));
                }
                if claims.mfa_setup_required {
                    return Err(mfa_setup_first());
                }
                let key = format!("s:{}", staff.id);
                (PosActor::Staff(staff), key)
            };
            let limit: Limit = state.limits.pos_per_terminal;
            if let Decision::Deny { retry_after } = state.limiter.check(&limit, &limit_key).await {
                return Err(ApiError::rate_limited(retry_after));
            }
            Ok(PosAuth { actor, view })
        })
    }
}

/// Whoever signed in, customer or staff, for the account's own second
/// factor: also staff who must still set one up, not staff who must first
/// replace a one-time password.
pub enum Account {
    Customer(CustomerId),
    Staff(Staff),
}

impl Account {
    pub fn id(&self) -> Uuid {
        match self {
            Account::Customer(c) => c.0,
            Account::Staff(s) => s.id.0,
        }
    }

    pub fn kind(&self) -> stampede_domain::identity::SubjectKind {
        match self {
            Account::Customer(_) => stampede_domain::identity::SubjectKind::Customer,
            Account::Staff(_) => stampede_domain::identity::SubjectKind::Staff,
        }
    }
}

impl FromRequest for Account {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state(req);
        let (customer, staff) =
            (CustomerAuth::from_request(req, payload), StaffAuthAnyState::from_request(req, payload));
        Box::pin(async move {
            let state = state?;
            let claims = access_claims(&state, &token.ok_or_else(unauthorized)?).await?;
            match claims.kind {
                PrincipalKind::Customer => Ok(Account::Customer(customer.await?.id)),
                PrincipalKind::Staff => {
                    let any = staff.await?;
                    if any.must_change_password || any.staff.must_change_password {
                        return Err(ApiError::new(Code::Forbidden)
                            .detail("choose a new password first: POST /v1/auth/staff/password"));
                    }
                    Ok(Account::Staff(any.staff))
                }
            }
        })
    }
}
