//! The SQL API's JSON shapes: ResultSet, QueryStatus, QueryFailureStatus.

use serde_json::Value;

use super::{ResultSet, SnowflakeError};

/// Longest server message quoted in an error, so an HTML error page does not flood a log line.
const MAX_MESSAGE_CHARS: usize = 300;

/// An HTTP answer: status and body (JSON, or the raw text as a JSON string).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// The `message` field, or the raw body, shortened.
pub(crate) fn message(body: &Value) -> String {
    let raw = match body {
        Value::String(raw) => raw.as_str(),
        _ => text(body, "message").unwrap_or("(no message)"),
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return "(empty body)".into();
    }
    let mut short: String = raw.chars().take(MAX_MESSAGE_CHARS).collect();
    if short.len() < raw.len() {
        short.push('…');
    }
    short
}

pub(crate) fn sql_error(body: &Value) -> SnowflakeError {
    SnowflakeError::Sql {
        code: text(body, "code").unwrap_or("?").to_string(),
        sql_state: text(body, "sqlState").unwrap_or("?").to_string(),
        message: text(body, "message").unwrap_or("(no message)").to_string(),
        statement_handle: text(body, "statementHandle").map(str::to_string),
    }
}

pub(crate) fn authentication_error(body: &Value) -> SnowflakeError {
    SnowflakeError::Authentication {
        code: text(body, "code").unwrap_or("?").to_string(),
        message: message(body),
    }
}

/// The handle of a 202 QueryStatus.
pub(crate) fn statement_handle(body: &Value) -> Result<String, SnowflakeError> {
    text(body, "statementHandle")
        .map(str::to_string)
        .ok_or_else(|| SnowflakeError::Protocol("a 202 answer carried no statementHandle".into()))
}

/// A 200 ResultSet: columns, the first partition's rows, and how many partitions there are.
pub(crate) fn parse_result_set(body: &Value) -> Result<(ResultSet, usize), SnowflakeError> {
    let meta = body.get("resultSetMetaData").ok_or_else(|| {
        SnowflakeError::Protocol("a 200 answer carried no resultSetMetaData".into())
    })?;
    let columns = meta
        .get("rowType")
        .and_then(Value::as_array)
        .ok_or_else(|| SnowflakeError::Protocol("resultSetMetaData has no rowType".into()))?
        .iter()
        .map(|column| text(column, "name").unwrap_or_default().to_string())
        .collect();
    let partitions = meta
        .get("partitionInfo")
        .and_then(Value::as_array)
        .map_or(1, Vec::len)
        .max(1);
    let result = ResultSet {
        columns,
        rows: parse_rows(body)?,
        statement_handle: text(body, "statementHandle").map(str::to_string),
    };
    Ok((result, partitions))
}

/// `resultSetMetaData.numRows`, the row count over all partitions.
pub(crate) fn row_count(body: &Value) -> Option<usize> {
    let rows = body.get("resultSetMetaData")?.get("numRows")?.as_u64()?;
    usize::try_from(rows).ok()
}

/// `data`: rows of values encoded as strings; JSON `null` is SQL NULL.
pub(crate) fn parse_rows(body: &Value) -> Result<Vec<Vec<Option<String>>>, SnowflakeError> {
    let Some(data) = body.get("data") else {
        return Ok(Vec::new());
    };
    let rows = data
        .as_array()
        .ok_or_else(|| SnowflakeError::Protocol("data is not an array".into()))?;
    rows.iter()
        .map(|row| {
            let values = row
                .as_array()
                .ok_or_else(|| SnowflakeError::Protocol("a data row is not an array".into()))?;
            Ok(values
                .iter()
                .map(|value| match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_strings_and_json_null_is_none() {
        let body = json!({
            "resultSetMetaData": {"rowType": [{"name": "A"}, {"name": "B"}], "partitionInfo": [{}, {}, {}]},
            "data": [["1", null], ["x", "null"]],
            "statementHandle": "01-ab"
        });
        let (rs, partitions) = parse_result_set(&body).unwrap();
        assert_eq!(partitions, 3);
        assert_eq!(rs.columns, ["A", "B"]);
        assert_eq!(
            rs.rows,
            vec![
                vec![Some("1".into()), None],
                vec![Some("x".into()), Some("null".into())]
            ]
        );
    }

    #[test]
    fn long_or_html_messages_are_shortened() {
        let page = Value::String(format!("<html>{}</html>", "x".repeat(1000)));
        assert!(message(&page).chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            message(&json!({"code": "390505", "message": "Too many requests."})),
            "Too many requests."
        );
    }
}
