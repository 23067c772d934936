//! The AWS clients every CloudTrail audit function builds once per cold start.

use crate::aws::SnsPublisher;
use crate::aws::cloudtrail::CloudTrailReader;
use crate::aws::watermark::WatermarkStore;

use super::RunnerSettings;

pub struct RunnerClients {
    pub reader: CloudTrailReader,
    pub watermarks: WatermarkStore,
    pub notifier: SnsPublisher,
}

impl RunnerClients {
    pub fn new(settings: &RunnerSettings, sdk: &aws_config::SdkConfig) -> Self {
        RunnerClients {
            reader: CloudTrailReader::new(sdk, &settings.regions, settings.pacing.clone()),
            watermarks: WatermarkStore::new(
                aws_sdk_ssm::Client::new(sdk),
                settings.watermark_prefix.clone(),
            ),
            notifier: SnsPublisher::new(aws_sdk_sns::Client::new(sdk), settings.topic_arn.clone()),
        }
    }
}
