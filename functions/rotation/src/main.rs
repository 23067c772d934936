use lambda_runtime::{LambdaEvent, service_fn};
use snowflake_key_rotation::{App, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // JSON lines when Lambda's LogFormat is JSON (the template sets it); level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        handle(app, event)
    }))
    .await
}
