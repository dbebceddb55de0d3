use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::identity::TokenPurpose;
use stampede_domain::input::phone;
use stampede_domain::ports::StoreError;
use stampede_domain::text::Name;
use stampede_workers::email::Template;
use utoipa::ToSchema;
use uuid::Uuid;

use super::lookup::{CardAtCounter, at_counter};
use super::{CardRef, operated_store};
use crate::api::auth::mail::{one_time_token, send};
use crate::api::input::{Fields, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::programs::join::card_code;
use crate::auth::principal::PosAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub program_id: Uuid,
    /// Where the card's claim link goes; an account with this address gets
    /// the card instead.
    pub email: String,
    /// Kept on a new account, so the counter finds it by phone too.
    pub phone: Option<String>,
    /// How the mail greets them (a new account only).
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// Enroll a walk-in customer: the card is theirs at once (stamp it next). A
/// customer with an account at this address gets the card on it; anyone else
/// gets a new account, unverified and without a password, and a mail whose
/// link lets them choose one and see the card in the app. 201 with a new
/// card, 200 with the one they held already. Not offered when customers sign
/// in through Cognito (they sign up in the app there).
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/enrollments", tag = "pos", request_body = Enrollment,
    params(("store_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "A new card", body = CardAtCounter),
    (status = 200, description = "The card they held already", body = CardAtCounter),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many new accounts for this address"),
))]
pub async fn enroll(
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<Enrollment>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    let store = operated_store(&auth, store_id).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let email = f.email("email", &body.email);
    let phone =
        body.phone.as_deref().and_then(|p| phone::normalize(p).map_err(|e| f.push("phone", e.to_string())).ok());
    let name = body.name.as_deref().filter(|n| !n.trim().is_empty()).and_then(|n| f.name("name", n));
    let bundle = auth.view.program(body.program_id).await?;
    let runs_here = bundle.as_ref().is_some_and(|b| {
        b.program.business_id == store.business_id
            && b.program.is_active
            && b.program.availability.includes(&store.place())
    });
    if !runs_here {
        f.push("program_id", "is not a program that runs at this store");
    }
    f.finish()?;
    let (Some(email), Some(bundle)) = (email, bundle) else { return Err(ApiError::field("email", "is invalid")) };
    if state.cognito.is_some() {
        return Err(ApiError::refused(
            "enrollment_unavailable",
            "customers sign up in the app when accounts are kept in Cognito",
        ));
    }
    let (customer, new_account) = match state.store.find_customer_by_email(&email).await? {
        Some(c) => (c, false),
        None => {
            // A new account mails its claim link: the inbox's limit is the
            // registration's, so a counter cannot flood one address.
            limit(&state, &state.limits.register_per_email, email.as_str()).await?;
            let name = name.unwrap_or_else(|| default_name(&email));
            let new = NewCustomer { id: None, email: email.clone(), name, phone, password_hash: None };
            match state.store.create_customer(new).await {
                Ok(c) => (c, true),
                // Enrolled at another counter a moment ago: theirs now.
                Err(StoreError::Conflict(_)) => {
                    (state.store.find_customer_by_email(&email).await?.ok_or_else(ApiError::not_found)?, false)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let p = &bundle.program;
    let joined = match state.store.join_program(p.id, p.business_id, customer.id, &card_code()).await {
        Err(StoreError::Conflict(_)) => {
            state.store.join_program(p.id, p.business_id, customer.id, &card_code()).await?
        }
        other => other?,
    };
    let (card, created) = joined;
    if new_account {
        let token = one_time_token(
            &state,
            TokenPurpose::ResetPassword,
            Some(customer.id.0),
            serde_json::json!({}),
            state.policy.email_token_ttl,
        )
        .await?;
        let link = state.links.to("/reset-password", &token);
        let business = auth.view.business(store.business_id).await?.map(|b| b.name.to_string()).unwrap_or_default();
        let values =
            [("name", customer.name.as_str()), ("program", p.name.as_str()), ("business", &business), ("link", &link)];
        send(&state, email.as_str(), Template::CardWaiting, &values).await;
    }
    let view = at_counter(&state, &auth, store_id, &CardRef::by_id(card.id)).await?;
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

/// A greeting for someone who gave no name: their address's local part.
fn default_name(email: &Email) -> Name {
    let local = email.as_str().split('@').next().unwrap_or_default();
    Name::parse(local).unwrap_or_else(|_| Name::parse("there").expect("a name"))
}
