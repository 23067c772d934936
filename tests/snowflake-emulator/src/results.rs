//! Result sets and their JSON shape (reference §2.4): values always strings, metadata with
//! rowType and partitionInfo, large results split in partitions.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Lowercase Snowflake type as the SQL API reports it: `text`, `timestamp_ltz`.
    pub kind: &'static str,
    pub nullable: bool,
}

impl Column {
    pub fn text(name: &str) -> Self {
        Self {
            name: name.into(),
            kind: "text",
            nullable: true,
        }
    }

    pub fn timestamp(name: &str) -> Self {
        Self {
            name: name.into(),
            kind: "timestamp_ltz",
            nullable: true,
        }
    }

    fn row_type(&self) -> Value {
        let (length, byte_length, precision, scale) = match self.kind {
            "text" => (
                json!(16_777_216),
                json!(16_777_216),
                Value::Null,
                Value::Null,
            ),
            "timestamp_ltz" => (Value::Null, Value::Null, json!(0), json!(3)),
            _ => (Value::Null, Value::Null, Value::Null, Value::Null),
        };
        json!({
            "name": self.name, "type": self.kind, "length": length, "precision": precision,
            "scale": scale, "nullable": self.nullable, "database": "", "schema": "", "table": "",
            "byteLength": byte_length, "collation": null,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Set on the parent of a multi-statement request.
    pub statement_handles: Vec<String>,
}

/// The one-row answer of DDL such as ALTER USER (⚠ reference §3.4: column name inferred).
pub fn status_ok() -> ResultSet {
    ResultSet {
        columns: vec![Column::text("status")],
        rows: vec![vec![Some("Statement executed successfully.".into())]],
        statement_handles: Vec::new(),
    }
}

/// Identifies the statement in every response body.
pub struct Envelope<'a> {
    pub handle: &'a str,
    pub created_on_ms: i64,
    pub request_id: Option<&'a str>,
}

impl Envelope<'_> {
    pub fn status_url(&self) -> String {
        match self.request_id {
            Some(id) => format!("/api/v2/statements/{}?requestId={id}", self.handle),
            None => format!("/api/v2/statements/{}", self.handle),
        }
    }
}

impl ResultSet {
    fn partitions(&self, rows_per_partition: usize) -> Vec<&[Vec<Option<String>>]> {
        if self.rows.is_empty() {
            return vec![&[]];
        }
        self.rows.chunks(rows_per_partition.max(1)).collect()
    }

    fn data(rows: &[Vec<Option<String>>], nulls_as_text: bool) -> Value {
        let cell = |c: &Option<String>| match c {
            Some(s) => Value::String(s.clone()),
            None if nulls_as_text => Value::String("null".into()),
            None => Value::Null,
        };
        Value::Array(
            rows.iter()
                .map(|r| Value::Array(r.iter().map(cell).collect()))
                .collect(),
        )
    }

    /// The full ResultSet body: metadata plus partition 0.
    pub fn to_json(
        &self,
        env: &Envelope<'_>,
        rows_per_partition: usize,
        nulls_as_text: bool,
    ) -> Value {
        let partitions = self.partitions(rows_per_partition);
        let info: Vec<Value> = partitions
            .iter()
            .map(|p| {
                let size =
                    serde_json::to_string(&Self::data(p, nulls_as_text)).map_or(0, |s| s.len());
                json!({"rowCount": p.len(), "uncompressedSize": size})
            })
            .collect();
        let mut body = json!({
            "resultSetMetaData": {
                "numRows": self.rows.len(),
                "format": "jsonv2",
                "partitionInfo": info,
                "rowType": self.columns.iter().map(Column::row_type).collect::<Vec<_>>(),
            },
            "data": Self::data(partitions[0], nulls_as_text),
            "code": "090001",
            "statementStatusUrl": env.status_url(),
            "sqlState": "00000",
            "statementHandle": env.handle,
            "message": "Statement executed successfully.",
            "createdOn": env.created_on_ms,
        });
        if let Some(id) = env.request_id {
            body["requestId"] = json!(id);
        }
        if !self.statement_handles.is_empty() {
            body["statementHandles"] = json!(self.statement_handles);
        }
        body
    }

    /// A later partition: ⚠ only `data`, as we understand Snowflake answers `?partition=n` (n ≥ 1).
    pub fn partition_json(
        &self,
        index: usize,
        rows_per_partition: usize,
        nulls_as_text: bool,
    ) -> Option<Value> {
        let partitions = self.partitions(rows_per_partition);
        let rows = partitions.get(index)?;
        Some(json!({ "data": Self::data(rows, nulls_as_text) }))
    }
}
