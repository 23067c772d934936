//! Running a request's batch of statements, and reading how many it must hold.

use serde_json::Value;

use crate::exec::{Session, execute};
use crate::results::{Column, ResultSet};
use crate::sql::{SqlError, Statement};
use crate::state::{Outcome, State, StatementRecord};
use crate::statements::{new_handle, now_ms};

/// Runs a request's statements under `session`. A batch stops at its first failure (earlier
/// statements stay done, as with AUTOCOMMIT); each statement of a batch gets its own handle.
pub fn run_batch(
    state: &mut State,
    session: &mut Session,
    batch: &[Statement],
    owner: &str,
) -> Outcome {
    if let [single] = batch {
        if matches!(single, Statement::Use { .. }) {
            return Outcome::Failed(SqlError::use_not_allowed());
        }
        return match execute(state, session, single) {
            Ok(rs) => Outcome::Succeeded(rs),
            Err(e) => Outcome::Failed(e),
        };
    }
    let mut handles = Vec::new();
    for statement in batch {
        let handle = new_handle();
        let outcome = match execute(state, session, statement) {
            Ok(rs) => Outcome::Succeeded(rs),
            Err(e) => Outcome::Failed(e),
        };
        let failed = match &outcome {
            Outcome::Failed(e) => Some(e.clone()),
            _ => None,
        };
        state.statements.insert(
            handle.clone(),
            StatementRecord {
                owner: owner.into(),
                created_on_ms: now_ms(),
                request_id: None,
                outcome,
                rows_per_partition: state.options.rows_per_partition,
                nulls_as_text: false,
            },
        );
        handles.push(handle);
        if let Some(e) = failed {
            return Outcome::Failed(e);
        }
    }
    Outcome::Succeeded(ResultSet {
        columns: vec![Column::text("multiple statement execution")],
        rows: vec![vec![Some(
            "Multiple statements executed successfully.".into(),
        )]],
        statement_handles: handles,
    })
}

/// MULTI_STATEMENT_COUNT from `parameters`, any key case, string or number; default 1.
pub fn desired_statement_count(body: &Value) -> Result<usize, ()> {
    let Some(params) = body.get("parameters").and_then(Value::as_object) else {
        return Ok(1);
    };
    match params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("MULTI_STATEMENT_COUNT"))
        .map(|(_, v)| v)
    {
        None => Ok(1),
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize).ok_or(()),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| ()),
        Some(_) => Err(()),
    }
}
