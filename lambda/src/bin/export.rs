//! The export worker as a Lambda function (see `stampede_lambda`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stampede_lambda::run(stampede_lambda::Function::Export).await
}
