//! A case's timeline as stored: read back in order (written by `crate::work::append`).

use crate::{Conn, Result};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub data: String,
}

pub async fn events(conn: &mut Conn, case_id: i64) -> Result<Vec<EventRow>> {
    Ok(events_of(conn, &[case_id]).await?.into_iter().map(|(_, e)| e).collect())
}

/// The timelines of several cases in one query: (case id, event), by case and seq.
pub async fn events_of(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<(i64, EventRow)>> {
    if case_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = case_ids.iter().map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT case_id, seq, at_ms, actor_id, kind, data FROM case_events WHERE case_id IN ({}) ORDER BY case_id, seq",
        ids.join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                EventRow {
                    seq: r.try_get(1)?,
                    at_ms: r.try_get(2)?,
                    actor_id: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    data: r.try_get(5)?,
                },
            ))
        })
        .collect()
}
