use audit_assume_role::{App, Config, handle_event};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = snowkey_shared::aws::config::load_sdk_config().await;
    let app = App::new(config, &sdk);
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handle_event(app, &event.payload, time::OffsetDateTime::now_utc())
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
