use stampede::configuration::Settings;
use stampede::startup::Application;
use stampede_store::DatabaseBackend;
use stampede_store::testing::TestDatabase;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    /// The app's data folder (mail, keys, objects), removed with the app.
    pub _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}

/// Settings for a test: port 0, a temporary data folder, the given database.
pub fn test_settings(db: &TestDatabase, data_dir: &std::path::Path) -> Settings {
    let backend = match db.options.backend {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::Postgres => "postgres",
    };
    let toml = format!(
        "data_dir = {data:?}\n[server]\nport = 0\nworkers = 2\n[database]\nbackend = \"{backend}\"\nurl = {url:?}\nsqlite_synchronous = \"normal\"\n[log]\nlevel = \"warn\"\n",
        data = data_dir.display().to_string(),
        url = db.options.url,
    );
    Settings::from_toml(&toml).expect("test settings are valid")
}

pub async fn spawn_app(backend: DatabaseBackend) -> TestApp {
    let db = TestDatabase::fresh(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(&db, data_dir.path());
    let app = Application::build(&settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { address, client, db, _data_dir: data_dir }
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
