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

pub mod admin;
pub mod apps;
pub mod auth;
pub mod binary;
pub mod brands;
pub mod businesses;
pub mod campaigns;
pub mod cards;
pub mod config;
pub mod exports;
pub mod input;
pub mod json;
pub mod mailings;
pub mod me;
pub mod objects;
pub mod observe;
pub mod ops;
pub mod pos;
pub mod problem;
pub mod programs;
pub mod rejections;
pub mod rewards;
pub mod staff;
pub mod stores;
pub mod terminals;
pub mod unsubscribe;
pub mod uploads;

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
        .configure(apps::routes)
        .service(
            web::scope("/v1")
                // The counter's routes first, under a static prefix: actix
                // matches every dynamic path with a regex (about 20k
                // instructions each, measured with callgrind), in table order.
                .service(
                    web::scope("/pos")
                        .service(web::resource("/stores/{store_id}/stamps").post(pos::stamps::issue_stamps))
                        .service(web::resource("/stores/{store_id}/points").post(pos::points::earn_points))
                        .service(web::resource("/stores/{store_id}/redemptions").post(pos::redeem::redeem))
                        .service(web::resource("/stores/{store_id}/cards/{code}").get(pos::lookup::lookup))
                        .service(web::resource("/stores/{store_id}/session").get(pos::session::pos_session))
                        .service(web::resource("/stores/{store_id}/customers").get(pos::customers::find_customer))
                        .service(web::resource("/stores/{store_id}/enrollments").post(pos::enroll::enroll))
                        .service(
                            web::resource("/stores/{store_id}/transactions/{transaction_id}/cancel")
                                .post(pos::cancel::cancel),
                        ),
                )
                // Then what customer apps poll.
                .service(web::resource("/me/cards").get(cards::mine::my_cards))
                .service(web::resource("/me/cards/{card_id}/code").get(cards::code::card_code))
                .service(web::resource("/me/transactions").get(cards::transactions::my_transactions))
                .service(
                    web::resource("/me/uploads").post(uploads::create::create_upload).get(uploads::list::list_uploads),
                )
                .service(web::resource("/unsubscribe").get(unsubscribe::page::page).post(unsubscribe::confirm::confirm))
                .service(
                    web::resource("/me/uploads/{upload_id}")
                        // The bytes come through the API only with the files backend.
                        .app_data(web::PayloadConfig::new(uploads::MAX_UPLOAD_BYTES as usize))
                        .put(uploads::content::put_upload)
                        .get(uploads::get::get_upload)
                        .delete(uploads::delete::delete_upload),
                )
                .service(web::resource("/config").get(config::get::config))
                .service(web::resource("/auth/customers/register").post(auth::register::register))
                .service(web::resource("/auth/customers/verify-email").post(auth::verify_email::verify_email))
                .service(web::resource("/auth/customers/login").post(auth::login::customer_login))
                .service(web::resource("/auth/customers/password-reset").post(auth::password_reset::request_reset))
                .service(
                    web::resource("/auth/customers/password-reset/confirm").post(auth::password_reset::confirm_reset),
                )
                .service(web::resource("/auth/customers/google").post(auth::social::google))
                .service(web::resource("/auth/customers/apple").post(auth::social::apple))
                .service(web::resource("/auth/cognito/customers/register").post(auth::cognito::register::register))
                .service(web::resource("/auth/cognito/customers/confirm").post(auth::cognito::confirm::confirm))
                .service(web::resource("/auth/cognito/customers/login").post(auth::cognito::login::login))
                .service(web::resource("/auth/cognito/customers/refresh").post(auth::cognito::refresh::refresh))
                .service(web::resource("/auth/cognito/customers/logout").post(auth::cognito::logout::logout))
                .service(web::resource("/auth/cognito/customers/profile").post(auth::cognito::profile::ensure_profile))
                .service(
                    web::resource("/auth/cognito/customers/password-reset")
                        .post(auth::cognito::password_reset::request_reset),
                )
                .service(
                    web::resource("/auth/cognito/customers/password-reset/confirm")
                        .post(auth::cognito::password_reset::confirm_reset),
                )
                .service(web::resource("/auth/cognito/staff/login").post(auth::cognito::staff::login))
                .service(
                    web::resource("/auth/cognito/customers/mfa/verify").post(auth::cognito::mfa::verify::customers),
                )
                .service(web::resource("/auth/cognito/staff/mfa/verify").post(auth::cognito::mfa::verify::staff))
                .service(
                    web::resource("/auth/cognito/mfa/totp")
                        .post(auth::cognito::mfa::enroll::enroll)
                        .delete(auth::cognito::mfa::disable::disable),
                )
                .service(web::resource("/auth/cognito/mfa/totp/confirm").post(auth::cognito::mfa::confirm::confirm))
                .service(web::resource("/auth/cognito/staff/refresh").post(auth::cognito::staff::refresh))
                .service(web::resource("/auth/cognito/staff/logout").post(auth::cognito::staff::logout))
                .service(web::resource("/auth/cognito/staff/password-reset").post(auth::cognito::staff::request_reset))
                .service(
                    web::resource("/auth/cognito/staff/password-reset/confirm")
                        .post(auth::cognito::staff::confirm_reset),
                )
                .service(web::resource("/auth/staff/login").post(auth::login::staff_login))
                .service(web::resource("/auth/staff/password").post(auth::staff_password::change_password))
                .service(web::resource("/auth/staff/password-reset").post(auth::staff_reset::request_staff_reset))
                .service(
                    web::resource("/auth/staff/password-reset/confirm").post(auth::staff_reset::confirm_staff_reset),
                )
                .service(web::resource("/auth/staff/invitations/accept").post(auth::accept_invitation::accept))
                .service(web::resource("/auth/token/refresh").post(auth::refresh::refresh))
                .service(web::resource("/auth/mfa").get(auth::mfa::status::status))
                .service(
                    web::resource("/auth/mfa/totp").post(auth::mfa::enroll::enroll).delete(auth::mfa::disable::disable),
                )
                .service(web::resource("/auth/mfa/totp/confirm").post(auth::mfa::confirm::confirm))
                .service(web::resource("/auth/mfa/recovery-codes").post(auth::mfa::recovery_codes::replace))
                .service(web::resource("/auth/mfa/verify").post(auth::mfa::verify::verify))
                .service(web::resource("/auth/logout").post(auth::logout::logout))
                .service(
                    web::resource("/me")
                        .get(me::get::get_me)
                        .patch(me::update::update_me)
                        .delete(me::delete::delete_me),
                )
                .service(web::resource("/me/export").get(me::export::export_me))
                .service(web::resource("/me/consents").get(me::consents::list_consents))
                .service(web::resource("/me/consents/{business_id}").put(me::set_consent::set_consent))
                .service(web::resource("/staff/me").get(staff::me::staff_me))
                .service(
                    web::resource("/businesses/{business_id}/invitations")
                        .post(staff::invite::invite)
                        .get(staff::list_invitations::list_invitations),
                )
                .service(
                    web::resource("/businesses/{business_id}/invitations/{invitation_id}")
                        .delete(staff::revoke_invitation::revoke_invitation),
                )
                .service(
                    web::resource("/stores/{store_id}/terminals")
                        .post(terminals::create::create_terminal)
                        .get(terminals::list::list_terminals),
                )
                .service(
                    web::resource("/stores/{store_id}/terminals/{terminal_id}")
                        .patch(terminals::rename::rename_terminal)
                        .delete(terminals::revoke::revoke_terminal),
                )
                .service(web::resource("/cards/{card_id}/adjustments").post(cards::adjust::adjust))
                .service(web::resource("/me/cards/{card_id}/transactions").get(cards::history::history))
                .service(
                    web::resource("/businesses")
                        .post(businesses::create::create_business)
                        .get(businesses::list::list_businesses),
                )
                .service(
                    web::resource("/businesses/{business_id}")
                        .get(businesses::get::get_business)
                        .patch(businesses::update::update_business),
                )
                .service(
                    web::resource("/businesses/{business_id}/logo")
                        .app_data(web::PayloadConfig::new(objects::MAX_IMAGE_BYTES))
                        .put(businesses::logo::upload_logo),
                )
                .service(web::resource("/businesses/{business_id}/audit").get(businesses::audit_log::audit_log))
                .service(web::resource("/businesses/{business_id}/analytics").get(businesses::analytics::analytics))
                .service(
                    web::resource("/businesses/{business_id}/mailings")
                        .get(mailings::list::list_mailings)
                        .post(mailings::create::create_mailing),
                )
                .service(
                    web::resource("/businesses/{business_id}/mailings/audience").get(mailings::audience::audience_size),
                )
                .service(
                    web::resource("/businesses/{business_id}/exports")
                        .post(exports::business::request_business_export)
                        .get(exports::business_list::business_exports),
                )
                .service(
                    web::resource("/businesses/{business_id}/exports/{export_id}")
                        .get(exports::business_status::business_export),
                )
                .service(web::resource("/me/exports").post(exports::mine::request_my_export))
                .service(web::resource("/me/exports/{export_id}").get(exports::my_status::my_export))
                .service(web::resource("/exports/{export_id}/download").get(exports::download::download))
                .service(
                    web::resource("/businesses/{business_id}/brands")
                        .post(brands::create::create_brand)
                        .get(brands::list::list_brands),
                )
                .service(web::resource("/brands/{brand_id}").patch(brands::update::update_brand))
                .service(
                    web::resource("/businesses/{business_id}/stores")
                        .post(stores::create::create_store)
                        .get(stores::list::list_stores),
                )
                .service(
                    web::resource("/stores/{store_id}").get(stores::get::get_store).patch(stores::update::update_store),
                )
                .service(web::resource("/businesses/{business_id}/staff").get(staff::list::list_staff))
                .service(
                    web::resource("/businesses/{business_id}/staff/{staff_id}").delete(staff::remove::remove_staff),
                )
                .service(web::resource("/businesses/{business_id}/staff/{staff_id}/role").put(staff::role::change_role))
                .service(
                    web::resource("/businesses/{business_id}/programs")
                        .post(programs::create::create_program)
                        .get(programs::list::list_programs),
                )
                .service(
                    web::resource("/businesses/{business_id}/programs/active").get(programs::active::active_programs),
                )
                .service(
                    web::resource("/programs/{program_id}")
                        .get(programs::get::get_program)
                        .patch(programs::update::update_program),
                )
                .service(web::resource("/programs/{program_id}/join").post(programs::join::join_program))
                .service(web::resource("/programs/{program_id}/versions").get(programs::versions::program_versions))
                .service(
                    web::resource("/programs/{program_id}/rewards")
                        .post(rewards::create::create_reward)
                        .get(rewards::list::list_rewards),
                )
                .service(web::resource("/rewards/{reward_id}").patch(rewards::update::update_reward))
                .service(
                    web::resource("/rewards/{reward_id}/image")
                        .app_data(web::PayloadConfig::new(objects::MAX_IMAGE_BYTES))
                        .put(rewards::image::upload_image),
                )
                .service(
                    web::resource("/programs/{program_id}/campaigns")
                        .post(campaigns::create::create_campaign)
                        .get(campaigns::list::list_campaigns),
                )
                .service(web::resource("/campaigns/{campaign_id}").patch(campaigns::update::update_campaign))
                .service(web::resource("/objects/public/{key:.*}").get(objects::get::get_object)),
        );
}
