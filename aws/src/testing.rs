//! Helpers for tests against a local AWS endpoint (moto): the endpoint from
//! `MOTO_URL` (set by `scripts/test`), resource names unique to one test, and a
//! Cognito pool with an app client set up the way Stampede needs.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
use stampede_domain::ports::{StoreError, StoreResult};

use crate::AwsOptions;
use crate::bootstrap::Resources;
use crate::cognito::CognitoPool;

/// The local endpoint `scripts/test` started.
pub fn moto_url() -> Result<String, String> {
    std::env::var("MOTO_URL")
        .map_err(|_| "MOTO_URL is not set: run the tests with scripts/test, which starts moto_server".to_owned())
}

/// Everything moto holds (`/moto-api/data.json`: sent mail under `ses`).
/// moto builds that dump by walking its backends while other tests' requests
/// change them, and now and then answers with an error page instead (seen
/// once in a full run): asked again, up to 10 times.
pub async fn moto_data(endpoint: &str) -> Result<serde_json::Value, String> {
    let url = format!("{endpoint}/moto-api/data.json");
    let mut last = String::new();
    for _ in 0..10 {
        match reqwest::get(&url).await {
            Ok(r) if r.status().is_success() => match r.json().await {
                Ok(v) => return Ok(v),
                Err(e) => last = e.to_string(),
            },
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{url}: {last}"))
}

/// The SDK configuration for an endpoint, with moto's test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    crate::sdk_config(&AwsOptions {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.to_owned()),
        static_credentials: Some(("testing".into(), "testing".into())),
        attempt_timeout: Duration::from_secs(5),
    })
    .await
}

/// Resource names under `prefix`, so tests sharing one endpoint never meet.
pub fn resources(prefix: &str, max_receive_count: u32) -> Resources {
    Resources {
        transactions_table: format!("{prefix}-transactions"),
        sessions_table: format!("{prefix}-sessions"),
        audit_table: format!("{prefix}-audit"),
        queue_prefix: format!("{prefix}-"),
        max_receive_count,
        visibility_timeout_secs: 30,
        sender: format!("no-reply@{prefix}.example.com"),
        bucket: format!("{prefix}-bucket"),
        region: "us-east-1".into(),
    }
}

/// A new pool and an app client allowing password and refresh sign-in.
pub async fn cognito_pool(conf: &SdkConfig, name: &str) -> StoreResult<CognitoPool> {
    let other = |e: String| StoreError::Other(e);
    let client = aws_sdk_cognitoidentityprovider::Client::new(conf);
    let pool = client.create_user_pool().pool_name(name).send().await.map_err(|e| other(e.to_string()))?;
    let pool_id = pool.user_pool.and_then(|p| p.id).ok_or_else(|| other("no pool id".into()))?;
    let client_id = app_client(&client, &pool_id).await?;
    Ok(CognitoPool::new(client, pool_id, client_id))
}

/// An app client of `pool_id` allowing password and refresh sign-in: its id.
pub async fn app_client(client: &aws_sdk_cognitoidentityprovider::Client, pool_id: &str) -> StoreResult<String> {
    let other = |e: String| StoreError::Other(e);
    let app = client
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("stampede")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .map_err(|e| other(e.to_string()))?;
    app.user_pool_client.and_then(|c| c.client_id).ok_or_else(|| other("no client id".into()))
}
