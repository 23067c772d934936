//! Reading CloudTrail record files: `{"Records":[...]}`, plain or gzip-compressed (as delivered to S3).

use std::io::Read;
use std::path::Path;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum RecordsFileError {
    #[error("cannot read records file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("records file {path} is not CloudTrail JSON ({{\"Records\":[...]}}): {reason}")]
    Format { path: String, reason: String },
}

/// The records in a CloudTrail log file. Gzip is recognised by its magic bytes, whatever the file name.
pub fn load_records_file(path: &Path) -> Result<Vec<Value>, RecordsFileError> {
    let shown = path.display().to_string();
    let read_err = |source| RecordsFileError::Read {
        path: shown.clone(),
        source,
    };
    let raw = std::fs::read(path).map_err(read_err)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(read_err)?;
        out
    } else {
        raw
    };
    let format_err = |reason: String| RecordsFileError::Format {
        path: shown.clone(),
        reason,
    };
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format_err(e.to_string()))?;
    match doc {
        Value::Object(mut map) => match map.remove("Records") {
            Some(Value::Array(records)) => Ok(records),
            _ => Err(format_err("no `Records` array".into())),
        },
        _ => Err(format_err("top level is not an object".into())),
    }
}

/// The region a record was logged in (`awsRegion`), for files given without an explicit region.
pub fn record_region(record: &Value) -> Option<&str> {
    record.get("awsRegion").and_then(Value::as_str)
}
