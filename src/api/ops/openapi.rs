use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{
    auth, brands, businesses, campaigns, cards, config, exports, mailings, me, objects, pos, programs, rewards, staff,
    stores, terminals, unsubscribe, uploads,
};

/// Declares the bearer scheme the `security(("bearer" = []))` annotations name.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "Customers and staff: a JWT access token from /v1/auth/…/login (or Cognito in the AWS shape). \
             POS terminals: their store-scoped API key `stp_…`."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The problems any operation can answer, whatever its handler: the
/// extractors' and the middleware's (a malformed body, path or query, a
/// missing or refused credential, a limit, an unavailable store). Added to
/// each operation where it applies and is not already documented, so the
/// document lists every status a client can meet.
struct CommonProblems;

impl CommonProblems {
    fn problem(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
        let content = utoipa::openapi::ContentBuilder::new()
            .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
            .build();
        utoipa::openapi::ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", content)
            .build()
            .into()
    }

    fn statuses(path: &str, op: &utoipa::openapi::path::Operation) -> Vec<(&'static str, &'static str)> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        let mut out = Vec::new();
        let query =
            op.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
        if op.request_body.is_some() || path.contains('{') || query {
            out.push(("400", "The body, a path parameter or a query parameter is malformed"));
        }
        if op.request_body.is_some() {
            out.push(("413", "The body is too large"));
            out.push(("415", "The body is not of a content type this operation takes"));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            out.push(("401", "No credential, or one that is invalid, expired or revoked"));
            out.push(("403", "The credential may not do this (a staff token awaiting its password change, say)"));
        }
        if path.contains('{') {
            out.push(("404", "Not found, or not visible to the caller"));
        } else if path.starts_with("/v1/auth/cognito/") || path.starts_with("/v1/auth/customers/") {
            // Customer accounts are either local or Cognito's, per deployment.
            out.push(("404", "This deployment does not offer this way of signing in"));
        }
        if path.starts_with("/v1/") {
            out.push(("429", "Too many requests: try again after Retry-After"));
            out.push(("503", "A store it needs is unavailable: try again after Retry-After"));
        }
        out
    }
}

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in ops.into_iter().flatten() {
                for (status, description) in Self::statuses(path, op) {
                    op.responses.responses.entry(status.to_owned()).or_insert_with(|| Self::problem(description));
                }
                for p in op.parameters.iter_mut().flatten() {
                    let utoipa::openapi::RefOr::T(p) = p else { continue };
                    if p.name != "If-Match" {
                        continue;
                    }
                    if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(o))) = p.schema.as_mut() {
                        o.min_length = Some(1);
                        o.pattern = Some(IF_MATCH.to_owned());
                    }
                }
            }
        }
    }
}

/// RFC 9110's If-Match: `*` or a list of entity tags.
const IF_MATCH: &str = r#"^(\*|(W/)?"[\x21\x23-\x7e]*"([ \t]*,[ \t]*(W/)?"[\x21\x23-\x7e]*")*)$"#;

/// The rules of the text fields of request bodies, by field name (the
/// checks in `api::input` apply them by the same names): stated once here
/// instead of on each of the bodies that have a `name` or an `email`.
struct TextRules;

impl TextRules {
    /// (min length, max length, pattern) of a request body's text field.
    fn rule(field: &str) -> Option<(Option<usize>, usize, &'static str)> {
        use crate::api::input::text;
        Some(match field {
            "name" => (Some(1), stampede_domain::text::Name::MAX, text::NAME),
            "email" => (None, 254, text::EMAIL),
            "description" => (None, 2000, text::OPTIONAL),
            "tax_id" => (None, 50, text::OPTIONAL),
            "website" => (None, 300, text::WEBSITE),
            "reason" => (Some(1), stampede_domain::text::Note::MAX, text::NOTE),
            _ => return None,
        })
    }

    /// The component schemas request bodies name, with the members of their `allOf`s.
    fn request_schemas(openapi: &utoipa::openapi::OpenApi) -> std::collections::BTreeSet<String> {
        use utoipa::openapi::RefOr;
        let name_of = |r: &utoipa::openapi::Ref| r.ref_location.rsplit('/').next().map(str::to_owned);
        let mut names = std::collections::BTreeSet::new();
        for item in openapi.paths.paths.values() {
            let ops = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
            for body in ops.into_iter().flatten().filter_map(|op| op.request_body.as_ref()) {
                let RefOr::T(body) = body else { continue };
                for content in body.content.values() {
                    let RefOr::T(content) = content else { continue };
                    if let Some(RefOr::Ref(r)) = &content.schema {
                        names.extend(name_of(r));
                    }
                }
            }
        }
        let schemas = openapi.components.as_ref().map(|c| &c.schemas);
        for name in names.clone() {
            if let Some(RefOr::T(utoipa::openapi::Schema::AllOf(all))) = schemas.and_then(|s| s.get(&name)) {
                for item in &all.items {
                    if let RefOr::Ref(r) = item {
                        names.extend(name_of(r));
                    }
                }
            }
        }
        names
    }
}

impl Modify for TextRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let names = Self::request_schemas(openapi);
        let Some(components) = openapi.components.as_mut() else { return };
        // A reset request takes any string and answers 202 whatever it is
        // (it never says whether an address has an account).
        for name in names.into_iter().filter(|n| n != "ResetRequest") {
            let schema = components.schemas.get_mut(&name);
            let mut objects = Vec::new();
            match schema {
                Some(RefOr::T(Schema::Object(o))) => objects.push(o),
                Some(RefOr::T(Schema::AllOf(all))) => objects.extend(all.items.iter_mut().filter_map(|i| match i {
                    RefOr::T(Schema::Object(o)) => Some(o),
                    _ => None,
                })),
                _ => {}
            }
            for object in objects {
                for (field, property) in object.properties.iter_mut() {
                    let (Some((min, max, pattern)), RefOr::T(Schema::Object(p))) = (Self::rule(field), property) else {
                        continue;
                    };
                    p.min_length = min.or(p.min_length);
                    p.max_length = Some(max);
                    p.pattern = Some(pattern.to_owned());
                }
            }
        }
    }
}

/// Unsigned 32-bit fields (`u32`) are documented as `int32` with a minimum
/// (0, or a tighter one), which caps them at 2^31 - 1; the API reads up to 2^32 - 1. Said as
/// it is: no format, a maximum of 2^32 - 1 where none is tighter.
struct Unsigned;

impl Unsigned {
    fn fix(schema: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>) {
        use utoipa::Number;
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
        use utoipa::openapi::{RefOr, Schema};
        match schema {
            RefOr::T(Schema::Object(o)) => {
                let unsigned =
                    matches!(o.minimum, Some(Number::UInt(_))) || matches!(o.minimum, Some(Number::Int(m)) if m >= 0);
                if unsigned && o.format == Some(SchemaFormat::KnownFormat(KnownFormat::Int32)) {
                    o.format = None;
                    o.maximum.get_or_insert(Number::UInt(u32::MAX as usize));
                }
                o.properties.values_mut().for_each(Self::fix);
            }
            RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(Self::fix),
            RefOr::T(Schema::OneOf(one)) => one.items.iter_mut().for_each(Self::fix),
            _ => {}
        }
    }
}

impl Modify for Unsigned {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.schemas.values_mut().for_each(Self::fix);
        }
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in ops.into_iter().flatten() {
                for p in op.parameters.iter_mut().flatten() {
                    if let utoipa::openapi::RefOr::T(p) = p
                        && let Some(schema) = p.schema.as_mut()
                    {
                        Self::fix(schema);
                    }
                }
            }
        }
    }
}

/// Operation ids are the handlers' names, and handlers in different folders
/// share names (`login`, `logout`, `confirm`): OpenAPI wants each id once, and
/// a client generated from the document keys its operations by them. Each
/// shared name is replaced by the path that tells its operations apart
/// (`cognito_staff_login`, `auth_logout`).
struct UniqueOperationIds;

impl UniqueOperationIds {
    fn from_path(path: &str) -> String {
        let words: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != "v1" && !s.starts_with('{')).collect();
        words.join("_").replace(['-', '.'], "_")
    }
}

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for item in openapi.paths.paths.values() {
            let ops = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
            for id in ops.into_iter().flatten().filter_map(|op| op.operation_id.clone()) {
                *seen.entry(id).or_default() += 1;
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                if op.operation_id.as_ref().is_some_and(|id| seen[id] > 1) {
                    let id = Self::from_path(path);
                    // A path with two shared names (`DELETE` and `POST` of a factor) keeps them apart by method.
                    op.operation_id = Some(if method == "post" { id } else { format!("{method}_{id}") });
                }
            }
        }
    }
}

/// The POS bodies flatten the card reference into their own fields and
/// refuse fields they do not know; utoipa writes them as an `allOf` of
/// `CardRef` and the rest, which cannot say "nothing else" (a closed part
/// would refuse the other part's fields). Written here as the one closed
/// object they are.
struct ClosedBodies;

impl Modify for ClosedBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::AdditionalProperties;
        use utoipa::openapi::{RefOr, Schema};
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(RefOr::T(Schema::Object(card_ref))) = components.schemas.get("CardRef").cloned() else { return };
        for schema in components.schemas.values_mut() {
            let RefOr::T(Schema::AllOf(all)) = schema else { continue };
            let names_card_ref =
                all.items.iter().any(|i| matches!(i, RefOr::Ref(r) if r.ref_location.ends_with("/CardRef")));
            let rest: Vec<_> = all
                .items
                .iter()
                .filter_map(|i| match i {
                    RefOr::T(Schema::Object(o)) => Some(o.clone()),
                    _ => None,
                })
                .collect();
            if !names_card_ref || rest.len() + 1 != all.items.len() {
                continue;
            }
            let mut merged = card_ref.clone();
            merged.description = all.description.clone().or(merged.description);
            for part in rest {
                merged.properties.extend(part.properties);
                merged.required.extend(part.required);
            }
            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            *schema = RefOr::T(Schema::Object(merged));
        }
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stampede API",
        description = "Loyalty platform: stamp and points cards, POS transactions, programs.\n\n\
            Authentication: customer apps and staff send `Authorization: Bearer <access token>` \
            (sign in at /v1/auth/customers/login or /v1/auth/staff/login; refresh at \
            /v1/auth/token/refresh). POS terminals send `Authorization: Bearer stp_…`, a key a \
            store manager creates at /v1/stores/{store_id}/terminals. Errors are \
            application/problem+json with a stable `code`."
    ),
    modifiers(&Bearer, &CommonProblems, &TextRules, &Unsigned, &ClosedBodies, &UniqueOperationIds),
    paths(
        super::healthz::healthz, super::readyz::readyz, super::metrics::metrics, openapi,
        auth::jwks::jwks, auth::register::register,
        auth::cognito::register::register, auth::cognito::confirm::confirm, auth::cognito::login::login,
        auth::cognito::refresh::refresh, auth::cognito::logout::logout, auth::cognito::password_reset::request_reset,
        auth::cognito::password_reset::confirm_reset, auth::cognito::profile::ensure_profile, auth::cognito::staff::login, auth::cognito::staff::refresh,
        auth::cognito::staff::logout, auth::cognito::staff::request_reset, auth::cognito::staff::confirm_reset, auth::verify_email::verify_email,
        auth::login::customer_login, auth::login::staff_login, auth::refresh::refresh, auth::logout::logout,
        auth::password_reset::request_reset, auth::password_reset::confirm_reset,
        auth::social::google, auth::social::apple, auth::staff_password::change_password,
        config::get::config, auth::staff_reset::request_staff_reset, auth::staff_reset::confirm_staff_reset,
        auth::accept_invitation::accept,
        auth::mfa::status::status, auth::mfa::enroll::enroll, auth::mfa::confirm::confirm, auth::mfa::disable::disable,
        auth::mfa::recovery_codes::replace, auth::mfa::verify::verify,
        auth::cognito::mfa::verify::customers, auth::cognito::mfa::verify::staff, auth::cognito::mfa::enroll::enroll,
        auth::cognito::mfa::confirm::confirm, auth::cognito::mfa::disable::disable,
        me::get::get_me, me::update::update_me, me::delete::delete_me, me::export::export_me, me::consents::list_consents, me::set_consent::set_consent,
        staff::me::staff_me, staff::invite::invite, staff::list_invitations::list_invitations, staff::revoke_invitation::revoke_invitation,
        terminals::create::create_terminal, terminals::list::list_terminals, terminals::revoke::revoke_terminal,
        terminals::rename::rename_terminal,
        pos::session::pos_session,
        businesses::create::create_business, businesses::list::list_businesses, businesses::get::get_business,
        businesses::update::update_business, businesses::logo::upload_logo, businesses::audit_log::audit_log,
        brands::create::create_brand, brands::list::list_brands, brands::update::update_brand,
        stores::create::create_store, stores::list::list_stores, stores::get::get_store, stores::update::update_store,
        staff::list::list_staff, staff::role::change_role, staff::remove::remove_staff,
        programs::create::create_program, programs::list::list_programs, programs::get::get_program,
        programs::versions::program_versions,
        programs::update::update_program, programs::active::active_programs, programs::join::join_program,
        rewards::create::create_reward, rewards::list::list_rewards, rewards::update::update_reward,
        rewards::image::upload_image,
        campaigns::create::create_campaign, campaigns::list::list_campaigns, campaigns::update::update_campaign,
        cards::mine::my_cards, cards::code::card_code, objects::get::get_object,
        pos::stamps::issue_stamps, pos::points::earn_points, pos::redeem::redeem, pos::cancel::cancel,
        pos::lookup::lookup, pos::customers::find_customer, pos::enroll::enroll, cards::adjust::adjust, cards::history::history, cards::transactions::my_transactions,
        businesses::analytics::analytics, exports::business::request_business_export,
        exports::business_list::business_exports,
        mailings::audience::audience_size, mailings::create::create_mailing, mailings::list::list_mailings,
        exports::business_status::business_export, exports::mine::request_my_export, exports::my_status::my_export,
        exports::download::download, unsubscribe::page::page, unsubscribe::confirm::confirm, uploads::create::create_upload, uploads::list::list_uploads, uploads::content::put_upload, uploads::get::get_upload, uploads::delete::delete_upload,
    ),
    components(schemas(crate::api::problem::Problem, crate::api::problem::Code, crate::api::problem::FieldError)),
    tags(
        (name = "ops", description = "Liveness, readiness, metrics, this document"),
        (name = "auth", description = "Sign-up, sign-in, sessions, password reset, social sign-in"),
        (name = "me", description = "A customer's own profile"),
        (name = "mailings", description = "Marketing mail to the members who consent"),
        (name = "staff", description = "Staff accounts and invitations"),
        (name = "terminals", description = "POS terminal keys of a store"),
        (name = "pos", description = "At the counter"),
        (name = "businesses", description = "Businesses: the merchants"),
        (name = "brands", description = "Brands of a business"),
        (name = "stores", description = "Stores: where terminals stand"),
        (name = "programs", description = "Loyalty programs and joining them"),
        (name = "rewards", description = "A program's reward catalog"),
        (name = "campaigns", description = "Time-limited boosts"),
        (name = "objects", description = "Public images"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses(
    (status = 200, description = "OpenAPI 3.1 document", body = Object, content_type = "application/json")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
