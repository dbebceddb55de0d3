//! The HTTP API. [`routes`] is the one route table; each resource has a folder and
//! each handler a file. Extractor and framework errors are rendered as problems
//! (see [`problem`] and [`rejections`]).
//!
//! How clients authenticate:
//! - customer apps: `Authorization: Bearer <access token>` from
//!   `/v1/auth/customers/login` (or Google / Apple sign-in), refreshed at
//!   `/v1/auth/token/refresh`;
//! - staff: the same with `/v1/auth/staff/login`;
//! - POS terminals: `Authorization: Bearer stp_…`, a store-scoped key a manager
//!   creates at `/v1/stores/{store_id}/terminals` (or a cashier's staff token).

pub mod auth;
pub mod input;
pub mod me;
pub mod observe;
pub mod ops;
pub mod pos;
pub mod problem;
pub mod rejections;
pub mod staff;
pub mod terminals;

use actix_web::web;
pub use input::ClientIp;

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Resources (not bare routes) so a wrong method answers 405, not 404.
    cfg.service(web::resource("/healthz").get(ops::healthz::healthz))
        .service(web::resource("/readyz").get(ops::readyz::readyz))
        .service(web::resource("/metrics").get(ops::metrics::metrics))
        .service(web::resource("/openapi.json").get(ops::openapi::openapi))
        .service(web::resource("/.well-known/jwks.json").get(auth::jwks::jwks))
        .service(
            web::scope("/v1")
                .service(web::resource("/auth/customers/register").post(auth::register::register))
                .service(web::resource("/auth/customers/verify-email").post(auth::verify_email::verify_email))
                .service(web::resource("/auth/customers/login").post(auth::login::customer_login))
                .service(web::resource("/auth/customers/password-reset").post(auth::password_reset::request_reset))
                .service(
                    web::resource("/auth/customers/password-reset/confirm").post(auth::password_reset::confirm_reset),
                )
                .service(web::resource("/auth/customers/google").post(auth::social::google))
                .service(web::resource("/auth/customers/apple").post(auth::social::apple))
                .service(web::resource("/auth/staff/login").post(auth::login::staff_login))
                .service(web::resource("/auth/staff/password").post(auth::staff_password::change_password))
                .service(web::resource("/auth/staff/invitations/accept").post(auth::accept_invitation::accept))
                .service(web::resource("/auth/token/refresh").post(auth::refresh::refresh))
                .service(web::resource("/auth/logout").post(auth::logout::logout))
                .service(
                    web::resource("/me")
                        .get(me::get::get_me)
                        .patch(me::update::update_me)
                        .delete(me::delete::delete_me),
                )
                .service(web::resource("/me/export").get(me::export::export_me))
                .service(web::resource("/staff/me").get(staff::me::staff_me))
                .service(web::resource("/businesses/{business_id}/invitations").post(staff::invite::invite))
                .service(
                    web::resource("/stores/{store_id}/terminals")
                        .post(terminals::create::create_terminal)
                        .get(terminals::list::list_terminals),
                )
                .service(
                    web::resource("/stores/{store_id}/terminals/{terminal_id}")
                        .delete(terminals::revoke::revoke_terminal),
                )
                .service(web::resource("/pos/stores/{store_id}/session").get(pos::session::pos_session)),
        );
}
