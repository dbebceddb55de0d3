//! The reference staff pool takes no sign-ups (`AllowAdminCreateUserOnly` in
//! `deploy/aws/stampede.cfn.json`). moto keeps the setting but not the rule,
//! so a small proxy in front of it refuses `SignUp` through a client of such
//! a pool the way AWS does; the app, pointed at the proxy, must still let an
//! invited person join.

use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, PasswordPolicyType, UserPoolPolicyType, UsernameAttributeType,
};
use serde_json::{Value, json};
use stampede_store::DatabaseBackend;
use uuid::Uuid;

use crate::admin::{json_of, shop};
use crate::aws::{moto_url, sdk};

/// The staff pool's properties in the reference template.
fn template_staff_pool() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/aws/stampede.cfn.json");
    let template: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("template")).expect("json");
    template["Resources"]["StaffUserPool"]["Properties"].clone()
}

/// A pool in moto made with the template's staff pool settings: (pool, client).
async fn staff_pool_as_in_the_template(
    client: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
) -> (String, String) {
    let props = template_staff_pool();
    let admin_only = props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"].as_bool().expect("flag");
    let min_length = props["Policies"]["PasswordPolicy"]["MinimumLength"].as_i64().expect("length");
    assert_eq!(props["UsernameAttributes"], json!(["email"]));
    let pool = client
        .create_user_pool()
        .pool_name(name)
        .username_attributes(UsernameAttributeType::Email)
        .admin_create_user_config(AdminCreateUserConfigType::builder().allow_admin_create_user_only(admin_only).build())
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(i32::try_from(min_length).expect("small"))
                        .require_lowercase(false)
                        .require_uppercase(false)
                        .require_numbers(false)
                        .require_symbols(false)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("pool");
    let pool_id = pool.user_pool().and_then(|p| p.id()).expect("id").to_owned();
    let client_id = stampede_aws::testing::app_client(client, &pool_id).await.expect("client");
    (pool_id, client_id)
}

/// An HTTP proxy to moto that refuses `SignUp` through `admin_only` clients
/// as AWS does (`NotAuthorizedException`). Returns its address.
async fn keep_the_sign_up_rule(moto: String, admin_only: Vec<String>) -> String {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let forward = reqwest::Client::new();
    let server = HttpServer::new(move || {
        let (forward, moto, admin_only) = (forward.clone(), moto.clone(), admin_only.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (forward, moto, admin_only) = (forward.clone(), moto.clone(), admin_only.clone());
            async move {
                let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
                let client_id = serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["ClientId"].as_str().map(str::to_owned));
                if target.ends_with(".SignUp") && client_id.is_some_and(|c| admin_only.contains(&c)) {
                    return HttpResponse::BadRequest().content_type("application/x-amz-json-1.1").body(
                        json!({"__type": "NotAuthorizedException", "message": "SignUp is not permitted for this user pool"})
                            .to_string(),
                    );
                }
                let url = format!("{moto}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).expect("method");
                let mut out = forward.request(method, url).body(body);
                for (name, value) in req.headers() {
                    if name != "host" && name != "content-length" {
                        out = out.header(name.as_str(), value.as_bytes());
                    }
                }
                let Ok(res) = out.send().await else { return HttpResponse::BadGateway().finish() };
                let status = actix_web::http::StatusCode::from_u16(res.status().as_u16()).expect("status");
                let mut answer = HttpResponse::build(status);
                for (name, value) in res.headers() {
                    if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                        answer.insert_header((name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()));
                    }
                }
                answer.body(res.bytes().await.unwrap_or_default())
            }
        }))
    })
    .listen(listener)
    .expect("listen")
    .workers(1)
    .run();
    tokio::spawn(server);
    address
}

#[tokio::test]
async fn invited_staff_join_the_reference_staff_pool_that_takes_no_sign_ups() {
    let moto = moto_url();
    let conf = sdk(&moto).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let tag = Uuid::new_v4().simple().to_string();
    let (staff, staff_client) = staff_pool_as_in_the_template(&cognito, &format!("staff-{tag}")).await;
    let (customers, customers_client) = stampede_aws::testing::cognito_pool(&conf, &format!("customers-{tag}"))
        .await
        .map(|p| (p.pool_id, p.client_id))
        .expect("customer pool");
    // The rule the proxy keeps is the one moto holds for the pool.
    let described = cognito.describe_user_pool().user_pool_id(&staff).send().await.expect("describe");
    let admin_only = described
        .user_pool()
        .and_then(|p| p.admin_create_user_config())
        .is_some_and(|c| c.allow_admin_create_user_only());
    assert!(admin_only, "the template's staff pool takes no sign-ups");
    let aws = keep_the_sign_up_rule(moto.clone(), vec![staff_client.clone()]).await;
    let proxied = stampede_aws::cognito::CognitoPool::from_conf(&sdk(&aws).await, &staff, &staff_client);
    let refused = proxied.sign_up(&format!("self-{tag}@shop.test"), "long enough password", None).await;
    assert!(refused.is_err(), "the proxy refuses a sign-up as AWS would");

    let toml = crate::aws::cognito_toml((&customers, &customers_client), (&staff, &staff_client), &moto, &aws);
    let app = crate::helpers::spawn_app_with(DatabaseBackend::Sqlite, &toml).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    let cashier = format!("cash-{tag}@shop.test");
    let invite = json!({"email": cashier, "role": "cashier", "store_id": store});
    assert_eq!(app.post_auth(&format!("/v1/businesses/{bid}/invitations"), &owner, invite).await.status(), 201);
    let token = app.token_from_mail(&cashier, "invited you").await;
    let accept = "/v1/auth/staff/invitations/accept";
    let weak = app.post_json(accept, json!({"token": token, "name": "Cas", "password": "short"})).await;
    crate::helpers::assert_problem(weak, 422, "validation_failed").await;
    let joined = app.post_json(accept, json!({"token": token, "name": "Cas", "password": "cashiers password"})).await;
    assert_eq!(joined.status(), 200, "the invited cashier joins");
    let access = json_of(joined).await["access_token"].as_str().expect("access").to_owned();
    let me = json_of(app.get_auth("/v1/staff/me", &access).await).await;
    assert_eq!(me["staff"]["email"], cashier.as_str());
    let user = cognito.admin_get_user().user_pool_id(&staff).username(&cashier).send().await.expect("pool user");
    let verified = user.user_attributes().iter().any(|a| a.name() == "email_verified" && a.value() == Some("true"));
    assert!(verified, "made with a verified address");
    let login = json!({"email": cashier, "password": "cashiers password"});
    assert_eq!(app.post_json("/v1/auth/cognito/staff/login", login).await.status(), 200);
}
