//! The local AWS side: moto, SDK clients for the function (through the fault interceptor, with the
//! production timeouts) and plain clients for setting up and reading back.

use std::sync::Arc;
use std::time::Duration;

use snowkey_shared::aws::config::sdk_timeouts;
use snowkey_shared::aws::{SecretsManagerStore, SnsPublisher, SsmMirror};

use crate::aws_faults::{AwsFaultInterceptor, AwsFaults, BlackHole, Relay};

/// The function's per-attempt AWS timeout here. Production's builder with local values: moto
/// answers in milliseconds (its slow first call per service is taken by [`Stack::start`]'s
/// warm-up), so only a black-holed or relayed call reaches it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The function's whole-call AWS timeout here (retries included): a hung call costs this long.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(2500);

/// Clients against one moto server.
pub struct Stack {
    pub endpoint: String,
    pub sdk: aws_config::SdkConfig,
    /// Counts (and, when armed, fails) every AWS call the function makes.
    pub faults: Arc<AwsFaults>,
    /// Where [`crate::AwsFaultKind::Timeout`] sends a call; lives as long as the stack.
    pub black_hole: BlackHole,
    /// Where [`crate::AwsFaultKind::AppliedThenHang`] sends a call's first attempt: on to moto,
    /// with moto's answer withheld. Lives as long as the stack.
    pub relay: Relay,
    /// The function's clients: every call passes through [`Self::faults`].
    pub function: FunctionClients,
    /// Setup and read-back clients: never faulted.
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub kms: aws_sdk_kms::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
}

#[derive(Clone)]
pub struct FunctionClients {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sns: aws_sdk_sns::Client,
    /// DescribeKey for the SSM mirror. The mirror caches a successful answer, so it is called
    /// before the first PutParameter of a scenario only; the fault matrix uses a fresh scenario
    /// per case, which keeps the count stable.
    pub kms: aws_sdk_kms::Client,
}

impl Stack {
    /// Starts (or reuses) this process's moto server.
    pub async fn start() -> anyhow::Result<Stack> {
        let moto = test_support::try_moto().await?;
        let sdk = moto.sdk_config().await;
        let black_hole = BlackHole::start().await?;
        let relay = Relay::start(&moto.endpoint).await?;
        let faults = Arc::new(AwsFaults::new(&black_hole.endpoint, &relay));
        let interceptor = AwsFaultInterceptor(faults.clone());
        // As `load_sdk_config` does in production, with the local values.
        let function_sdk = sdk
            .to_builder()
            .timeout_config(sdk_timeouts(ATTEMPT_TIMEOUT, OPERATION_TIMEOUT))
            .build();
        let function = FunctionClients {
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&function_sdk)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(&function_sdk)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&function_sdk)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&function_sdk)
                    .interceptor(interceptor)
                    .build(),
            ),
        };
        let stack = Stack {
            endpoint: moto.endpoint.clone(),
            faults,
            black_hole,
            relay,
            function,
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            kms: aws_sdk_kms::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sdk,
        };
        stack.warm_up().await?;
        Ok(stack)
    }

    /// moto loads a service's backend on its first request (SSM's takes over a second); that
    /// first request is made here, untimed, rather than by the function under its timeouts.
    async fn warm_up(&self) -> anyhow::Result<()> {
        self.secrets.list_secrets().max_results(1).send().await?;
        self.ssm.describe_parameters().max_results(1).send().await?;
        self.sns.list_topics().send().await?;
        self.kms.list_keys().limit(1).send().await?;
        Ok(())
    }

    pub fn secret_store(&self) -> SecretsManagerStore {
        SecretsManagerStore::new(self.function.secrets.clone())
    }

    pub fn mirror(&self, kms_key_id: &str) -> SsmMirror {
        SsmMirror::new(
            self.function.ssm.clone(),
            self.function.kms.clone(),
            kms_key_id,
        )
    }

    pub fn publisher(&self, topic_arn: &str) -> SnsPublisher {
        SnsPublisher::new(self.function.sns.clone(), topic_arn)
    }

    /// A new customer-managed KMS key; returns its id.
    pub async fn create_kms_key(&self) -> anyhow::Result<String> {
        let out = self
            .kms
            .create_key()
            .description("snowkey SSM mirror")
            .send()
            .await?;
        Ok(out
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .unwrap_or_default())
    }

    /// A topic with an SQS queue subscribed; returns (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, name: &str) -> anyhow::Result<(String, String)> {
        let topic_arn = self
            .sns
            .create_topic()
            .name(name)
            .send()
            .await?
            .topic_arn()
            .unwrap_or_default()
            .to_string();
        let queue_url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await?
            .queue_url()
            .unwrap_or_default()
            .to_string();
        let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await?;
        Ok((topic_arn, queue_url))
    }

    /// Drains the queue: every SNS envelope delivered so far, as (message attributes, body).
    pub async fn drain_queue(&self, queue_url: &str) -> anyhow::Result<Vec<SnsMessage>> {
        let mut messages = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await?;
            if out.messages().is_empty() {
                return Ok(messages);
            }
            for m in out.messages() {
                let envelope: serde_json::Value =
                    serde_json::from_str(m.body().unwrap_or_default())?;
                messages.push(SnsMessage {
                    severity: envelope["MessageAttributes"]["severity"]["Value"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    body: envelope["Message"].as_str().unwrap_or_default().to_string(),
                });
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
            }
        }
    }

    /// A SecureString read back decrypted: (value, version, KMS key id).
    pub async fn read_parameter(
        &self,
        name: &str,
    ) -> anyhow::Result<Option<(String, i64, Option<String>)>> {
        let read = match self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(read) => read,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let p = read
            .parameter()
            .cloned()
            .unwrap_or_else(|| aws_sdk_ssm::types::Parameter::builder().build());
        let described = self
            .ssm
            .describe_parameters()
            .parameter_filters(
                aws_sdk_ssm::types::ParameterStringFilter::builder()
                    .key("Name")
                    .values(name)
                    .build()?,
            )
            .send()
            .await?;
        let key_id = described
            .parameters()
            .first()
            .and_then(|m| m.key_id())
            .map(str::to_string);
        Ok(Some((
            p.value().unwrap_or_default().to_string(),
            p.version(),
            key_id,
        )))
    }
}

/// One message read back from the topic's queue.
#[derive(Debug, Clone)]
pub struct SnsMessage {
    pub severity: String,
    /// The Chatbot JSON.
    pub body: String,
}
