use std::path::{Path, PathBuf};

use base64::Engine;
use stampede::configuration::Settings;
use stampede::startup::Application;
use stampede_domain::ports::Store;
use stampede_store::DatabaseBackend;
use stampede_store::testing::TestDatabase;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub data_dir: tempfile::TempDir,
    /// The first owner created at start: (email, one-time password).
    pub owner: (String, String),
    /// A second handle on the app's database, for arranging test worlds.
    pub store: std::sync::Arc<dyn Store>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.path().join("mail")
    }

    /// Every email written so far: (to, subject, text part).
    pub fn mails(&self) -> Vec<Mail> {
        read_mails(&self.mail_dir())
    }

    /// The mails to `to` whose subject contains `subject`, once there are at
    /// least `n`: account mails go through the email queue, so they are
    /// written a moment after the request that sent them.
    pub async fn mails_to(&self, to: &str, subject: &str, n: usize) -> Vec<Mail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mails: Vec<Mail> =
                self.mails().into_iter().filter(|m| m.to == to && m.subject.contains(subject)).collect();
            if mails.len() >= n {
                return mails;
            }
            if std::time::Instant::now() > deadline {
                panic!("expected {n} mails to {to} about {subject:?}; have {:?}", self.mails());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The token in the link of the last mail to `to` whose subject contains
    /// `subject` (waiting for the first, if none is there yet).
    pub async fn token_from_mail(&self, to: &str, subject: &str) -> String {
        let mails = self.mails_to(to, subject, 1).await;
        token_in(mails.last().expect("a mail"))
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(&body).send().await.expect("request")
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn delete_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request")
    }

    /// Register a customer whose address counts as confirmed (set through the
    /// store: the emailed link itself is tested in `customers.rs`) and sign
    /// in; returns the token pair's JSON. Registering an existing address
    /// changes nothing, so this also signs in a customer made before.
    pub async fn verified_customer(&self, email: &str, password: &str, name: &str) -> serde_json::Value {
        let body = serde_json::json!({"email": email, "password": password, "name": name});
        assert_eq!(self.post_json("/v1/auth/customers/register", body).await.status(), 202);
        let address = stampede_domain::email::Email::parse(email).expect("a valid email");
        let customer = self.store.find_customer_by_email(&address).await.expect("find").expect("registered");
        self.store.mark_email_verified(customer.id, chrono::Utc::now()).await.expect("verify");
        let login = serde_json::json!({"email": email, "password": password});
        let res = self.post_json("/v1/auth/customers/login", login).await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    /// Sign in as the first owner and replace the one-time password; returns an
    /// access token.
    /// Follow the invitation mailed to `email` with a name and a password;
    /// the new staff member's access token.
    pub async fn accept_invitation(&self, email: &str, name: &str, password: &str) -> String {
        let token = self.token_from_mail(email, "invited you").await;
        let body = serde_json::json!({"token": token, "name": name, "password": password});
        let res = self.post_json("/v1/auth/staff/invitations/accept", body).await;
        assert_eq!(res.status(), 200, "{email} accepts the invitation");
        let tokens: serde_json::Value = res.json().await.expect("json");
        tokens["access_token"].as_str().expect("access").to_owned()
    }

    pub async fn owner_token(&self) -> String {
        let (email, otp) = &self.owner;
        let res = self.post_json("/v1/auth/staff/login", serde_json::json!({"email": email, "password": otp})).await;
        assert_eq!(res.status(), 200);
        let tokens: serde_json::Value = res.json().await.expect("json");
        let access = tokens["access_token"].as_str().expect("token").to_owned();
        let res = self
            .post_auth(
                "/v1/auth/staff/password",
                &access,
                serde_json::json!({"current_password": otp, "new_password": "a much better password"}),
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json::<serde_json::Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned()
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The token in a mail's link.
pub fn token_in(mail: &Mail) -> String {
    let start = mail.text.find("token=").expect("a link with a token") + "token=".len();
    mail.text[start..].split_whitespace().next().expect("token").to_owned()
}

fn header(raw: &str, name: &str) -> String {
    raw.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(|v| {
            let v = v.trim();
            match v.strip_prefix("=?UTF-8?B?").and_then(|r| r.strip_suffix("?=")) {
                Some(b64) => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).expect("b64"))
                    .expect("utf8"),
                None => v.to_owned(),
            }
        })
        .unwrap_or_default()
}

/// The base64 body of the part with this content type.
fn part(raw: &str, content_type: &str) -> String {
    let marker = format!("Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let start = raw.find(&marker).map(|i| i + marker.len()).expect("part");
    let end = raw[start..].find("\r\n--").map(|i| start + i).expect("part end");
    let b64: String = raw[start..end].split("\r\n").collect();
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).expect("b64")).expect("utf8")
}

pub fn read_mails(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort(); // names are v7 uuids: creation order
    paths
        .iter()
        .map(|p| {
            let raw = std::fs::read_to_string(p).expect("eml");
            Mail {
                to: header(&raw, "To"),
                subject: header(&raw, "Subject"),
                text: part(&raw, "text/plain"),
                html: part(&raw, "text/html"),
            }
        })
        .collect()
}

/// Settings for a test: port 0, a temporary data folder, the given database,
/// plus any extra TOML sections.
pub fn test_settings(db: &TestDatabase, data_dir: &std::path::Path, extra: &str) -> Settings {
    test_settings_at(db, &db.options.url, data_dir, extra)
}

/// As [`test_settings`], reaching `db` at `url` (through a proxy, say).
pub fn test_settings_at(db: &TestDatabase, url: &str, data_dir: &std::path::Path, extra: &str) -> Settings {
    let backend = match db.options.backend {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::Postgres => "postgres",
    };
    let toml = format!(
        "data_dir = {data:?}\n[server]\nport = 0\nworkers = 2\npublic_url = \"http://stampede.test\"\n\
         [database]\nbackend = \"{backend}\"\nurl = {url:?}\nsqlite_synchronous = \"normal\"\nmin_connections = 1\n\
         [log]\nlevel = \"warn\"\n[bootstrap]\nowner_email = \"owner@shop.test\"\n{extra}\n",
        data = data_dir.display().to_string(),
    );
    Settings::from_toml(&toml).expect("test settings are valid")
}

pub async fn spawn_app(backend: DatabaseBackend) -> TestApp {
    spawn_app_with(backend, "").await
}

/// A second server on `app`'s database, reaching it at `url` (another
/// process writing to the same cards): its address, and the data folder to
/// keep while it runs.
pub async fn spawn_beside_at(app: &TestApp, url: &str, extra: &str) -> (String, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings_at(&app.db, url, data_dir.path(), extra);
    let second = Application::build(&settings).await.expect("build the second app");
    let address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    (address, data_dir)
}

pub async fn spawn_app_with(backend: DatabaseBackend, extra: &str) -> TestApp {
    spawn_app_tuned(backend, extra, |_| {}).await
}

/// As [`spawn_app_with`], with settings the extra TOML cannot reach (the
/// sections the test settings already open, such as `[server]`).
pub async fn spawn_app_tuned(backend: DatabaseBackend, extra: &str, tune: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::fresh(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&db, data_dir.path(), extra);
    tune(&mut settings);
    settings.validate().expect("tuned settings are valid");
    let mut app = Application::build(&settings).await.expect("build app");
    let owner = app.take_first_owner().expect("a fresh database gets a first owner");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let store = db.open().await;
    TestApp { address, client, db, data_dir, owner: (owner.email, owner.password), store }
}

/// Run one async test body against both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(stampede_store::DatabaseBackend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(stampede_store::DatabaseBackend::Postgres).await;
                }
            )*
        }
    };
}

/// Assert an error answer is problem+json with the given status and code.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(ct, "application/problem+json", "content type");
    let body: serde_json::Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("urn:stampede:problem:{code}"), "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    body
}
