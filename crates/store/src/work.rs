//! The work-item kernel's storage: every item's head in `work_heads`, the one append that
//! moves a head under its version check and writes the event and its outbox row in the
//! caller's transaction, the deadline sweep's questions over the heads of every kind, and
//! the outbox that notifications, live updates and webhooks read by topic.
//!
//! A kind keeps its own table for what only it has (a case's subject, its reporter, …) and
//! its own timeline table; the kernel only needs their names ([`Kind`]).

use crate::{Conn, Result, StoreError};
use sqlx::{AssertSqlSafe, Row};

/// A kind of work item as the store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The kind's name (`wuzhi_domain::work::Workflow::KIND`): the heads' key and the first
    /// part of its topics.
    pub name: &'static str,
    /// Its timeline table: `(<item column>, seq, at_ms, actor_id, kind, data)`.
    pub events: &'static str,
    /// The column of the timeline table that names the item.
    pub item_column: &'static str,
}

/// The head of one item, as written by a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    pub territory_code: &'a str,
    pub status: &'a str,
    pub open: bool,
    pub owner_org_id: Option<i64>,
    pub due_at_ms: Option<i64>,
    pub overdue: bool,
    pub escalatable: bool,
}

/// An event to append to a timeline.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// When it happened.
    pub at_ms: i64,
    /// When it is written (later than `at_ms` for a historical import): the outbox row
    /// carries this, which is what its readers follow.
    pub written_ms: i64,
    pub actor: Option<i64>,
    /// The event's name; the topic is `<kind>.<name>`.
    pub name: &'a str,
    pub data: &'a str,
}

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The head's version now.
    pub version: i64,
    /// The last event's seq.
    pub seq: i64,
}

/// An item's head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRow {
    pub territory_code: String,
    pub owner_org_id: Option<i64>,
    pub status: String,
    pub open: bool,
    pub version: i64,
}

/// The head of item `id` of kind `kind`.
pub async fn head(conn: &mut Conn, kind: &str, id: i64) -> Result<Option<HeadRow>> {
    let r = sqlx::query(
        "SELECT territory_code, owner_org_id, status, open, version FROM work_heads WHERE kind = $1 AND item_id = $2",
    )
    .bind(kind)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    r.map(|r| {
        Ok(HeadRow {
            territory_code: r.try_get(0)?,
            owner_org_id: r.try_get(1)?,
            status: r.try_get(2)?,
            open: r.try_get::<i64, _>(3)? != 0,
            version: r.try_get(4)?,
        })
    })
    .transpose()
}

/// A new item: its id, its head at `version`, and its first events (seq 1, 2, …).
#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub id: i64,
    pub version: i64,
    pub head: Head<'a>,
    pub events: Vec<NewEvent<'a>>,
}

/// Rows per multi-row INSERT: well inside both engines' limits on bound values (12 a head).
const ROWS_PER_INSERT: usize = 200;

/// Creates the head of a new item at `version` and appends its first events (seq 1, 2, …),
/// each with its outbox row.
pub async fn create(
    conn: &mut Conn,
    kind: &Kind,
    id: i64,
    version: i64,
    head: &Head<'_>,
    events: &[NewEvent<'_>],
    now_ms: i64,
) -> Result<Appended> {
    let item = NewItem { id, version, head: head.clone(), events: events.to_vec() };
    create_many(conn, kind, std::slice::from_ref(&item), now_ms).await?;
    Ok(Appended { version, seq: events.len() as i64 })
}

/// Creates many new items at once (the intake writer's batch): their heads, events and
/// outbox rows in a few multi-row INSERTs rather than three statements per item.
pub async fn create_many(conn: &mut Conn, kind: &Kind, items: &[NewItem<'_>], now_ms: i64) -> Result<()> {
    for chunk in items.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO work_heads (kind, item_id, territory_code, owner_org_id, status, open, due_at_ms, overdue, \
             escalatable, version, last_seq, updated_at_ms) VALUES {}",
            crate::bulk::row_marks(conn, chunk.len(), 12)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for it in chunk {
            q = bind_head(q.bind(kind.name).bind(it.id), &it.head)
                .bind(it.version)
                .bind(it.events.len() as i64)
                .bind(now_ms);
        }
        q.execute(&mut *conn).await?;
    }
    let events: Vec<(i64, i64, &NewEvent<'_>)> =
        items.iter().flat_map(|it| it.events.iter().enumerate().map(move |(i, e)| (it.id, i as i64 + 1, e))).collect();
    write_events(conn, kind, &events).await
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a head's seven fields in the order both writes of a head take them: territory,
/// owner, status, open, due, overdue, escalatable.
fn bind_head<'q>(q: AnyQuery<'q>, h: &Head<'q>) -> AnyQuery<'q> {
    q.bind(h.territory_code)
        .bind(h.owner_org_id)
        .bind(h.status)
        .bind(h.open as i64)
        .bind(h.due_at_ms)
        .bind(h.overdue as i64)
        .bind(h.escalatable as i64)
}

/// One step: the head moves to `head` if its version is still `expected_version`, and the
/// event is appended with its outbox row. `StoreError::NotFound` when the version moved (a
/// concurrent change) or the item has no head.
pub async fn append(
    conn: &mut Conn,
    kind: &Kind,
    id: i64,
    expected_version: i64,
    head: &Head<'_>,
    event: &NewEvent<'_>,
) -> Result<Appended> {
    let q = sqlx::query(
        "UPDATE work_heads SET territory_code = $4, owner_org_id = $5, status = $6, open = $7, due_at_ms = $8, overdue = $9, \
         escalatable = $10, updated_at_ms = $11, version = version + 1, last_seq = last_seq + 1 \
         WHERE kind = $1 AND item_id = $2 AND version = $3 RETURNING version, last_seq",
    )
    .bind(kind.name)
    .bind(id)
    .bind(expected_version);
    let row =
        bind_head(q, head).bind(event.written_ms).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
    let out = Appended { version: row.try_get(0)?, seq: row.try_get(1)? };
    write_event(conn, kind, id, out.seq, event).await?;
    Ok(out)
}

async fn write_event(conn: &mut Conn, kind: &Kind, id: i64, seq: i64, e: &NewEvent<'_>) -> Result<()> {
    write_events(conn, kind, &[(id, seq, e)]).await
}

/// Timeline rows and their outbox rows, in multi-row INSERTs.
async fn write_events(conn: &mut Conn, kind: &Kind, events: &[(i64, i64, &NewEvent<'_>)]) -> Result<()> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO {} ({}, seq, at_ms, actor_id, kind, data) VALUES {}",
            kind.events,
            kind.item_column,
            crate::bulk::row_marks(conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (id, seq, e) in chunk {
            q = q.bind(*id).bind(*seq).bind(e.at_ms).bind(e.actor).bind(e.name).bind(e.data);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "INSERT INTO outbox (topic, item_kind, item_id, payload, created_at_ms) VALUES {}",
            crate::bulk::row_marks(conn, chunk.len(), 5)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (id, seq, e) in chunk {
            // Names are the code's own identifiers (never user input): nothing to escape.
            let payload = format!("{{\"{}\":{id},\"seq\":{seq},\"kind\":\"{}\"}}", kind.item_column, e.name);
            q = q.bind(format!("{}.{}", kind.name, e.name)).bind(kind.name).bind(*id).bind(payload).bind(e.written_ms);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

// ---- the deadline sweep, over every kind ----

/// An item the sweep looks at: its kind, id and due time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub kind: String,
    pub id: i64,
    pub due_ms: i64,
}

fn dues(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Due>> {
    rows.iter().map(|r| Ok(Due { kind: r.try_get(0)?, id: r.try_get(1)?, due_ms: r.try_get(2)? })).collect()
}

/// Open items of every kind whose stage was due before `before_ms` and that are not yet
/// marked overdue; at most `limit`, earliest due first. (An item with nothing due has no
/// due time.)
pub async fn due_before(conn: &mut Conn, before_ms: i64, limit: i64) -> Result<Vec<Due>> {
    let rows = sqlx::query(
        "SELECT kind, item_id, due_at_ms FROM work_heads WHERE open = 1 AND overdue = 0 AND due_at_ms < $1 \
         ORDER BY due_at_ms, kind, item_id LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    dues(&rows)
}

/// Open items due between `now_ms` and `until_ms` whose current due time was not warned of.
pub async fn due_soon_unwarned(conn: &mut Conn, now_ms: i64, until_ms: i64, limit: i64) -> Result<Vec<Due>> {
    let rows = sqlx::query(
        "SELECT kind, item_id, due_at_ms FROM work_heads WHERE open = 1 AND overdue = 0 AND due_at_ms >= $1 AND due_at_ms < $2 \
         AND (warned_due_ms IS NULL OR warned_due_ms <> due_at_ms) ORDER BY due_at_ms, kind, item_id LIMIT $3",
    )
    .bind(now_ms)
    .bind(until_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    dues(&rows)
}

/// Records that the warning for this due time was sent; false if another server did it.
pub async fn mark_warned(conn: &mut Conn, kind: &str, id: i64, due_ms: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE work_heads SET warned_due_ms = $3 WHERE kind = $1 AND item_id = $2 AND due_at_ms = $3 \
         AND (warned_due_ms IS NULL OR warned_due_ms <> $3)",
    )
    .bind(kind)
    .bind(id)
    .bind(due_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Overdue items of every kind in a stage that may be escalated, earliest due first, after
/// `after`: a page of at most `limit`.
pub async fn overdue_escalatable(conn: &mut Conn, after: Option<&Due>, limit: i64) -> Result<Vec<Due>> {
    let (due, kind, id) = after.map(|d| (d.due_ms, d.kind.as_str(), d.id)).unwrap_or((i64::MIN, "", i64::MIN));
    let rows = sqlx::query(
        "SELECT kind, item_id, due_at_ms FROM work_heads WHERE overdue = 1 AND escalatable = 1 AND due_at_ms IS NOT NULL \
         AND (due_at_ms > $1 OR (due_at_ms = $1 AND (kind > $2 OR (kind = $2 AND item_id > $3)))) \
         ORDER BY due_at_ms, kind, item_id LIMIT $4",
    )
    .bind(due)
    .bind(kind)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    dues(&rows)
}

// ---- the outbox ----

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    /// `<kind>.<event>`, such as `case.dispatched`.
    pub topic: String,
    /// The item the row is about: its kind and id.
    pub item: Option<(String, i64)>,
    pub payload: String,
    pub created_at_ms: i64,
}

impl OutboxRow {
    /// The item's id when it is of `kind`.
    pub fn item_of(&self, kind: &str) -> Option<i64> {
        self.item.as_ref().filter(|(k, _)| k == kind).map(|(_, id)| *id)
    }
    /// The event's name: the topic after the kind.
    pub fn event(&self) -> &str {
        match &self.item {
            Some((k, _)) => {
                self.topic.strip_prefix(k.as_str()).and_then(|t| t.strip_prefix('.')).unwrap_or(&self.topic)
            }
            None => &self.topic,
        }
    }
}

fn outbox_row(r: &sqlx::any::AnyRow) -> Result<OutboxRow> {
    let kind: Option<String> = r.try_get("item_kind")?;
    let id: Option<i64> = r.try_get("item_id")?;
    Ok(OutboxRow {
        id: r.try_get("id")?,
        topic: r.try_get("topic")?,
        item: kind.zip(id),
        payload: r.try_get("payload")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Claims up to `limit` unprocessed rows for `worker` until `until_ms`. The conditions are
/// repeated on the updated row, so two servers racing for the same row cannot both claim it
/// (PostgreSQL re-checks them after the first claim commits; SQLite has one writer).
pub async fn claim_outbox(
    conn: &mut Conn,
    worker: &str,
    now_ms: i64,
    until_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2 \
         WHERE id IN (SELECT id FROM outbox WHERE processed = 0 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) ORDER BY id LIMIT $4) \
         AND processed = 0 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) \
         RETURNING id, topic, item_kind, item_id, payload, created_at_ms",
    )
    .bind(worker)
    .bind(until_ms)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<OutboxRow> = rows.iter().map(outbox_row).collect::<Result<_>>()?;
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Marks a claimed row processed; false when the claim was lost to another worker.
pub async fn finish_outbox(conn: &mut Conn, id: i64, worker: &str) -> Result<bool> {
    let n = sqlx::query("UPDATE outbox SET processed = 1 WHERE id = $1 AND claimed_by = $2 AND processed = 0")
        .bind(id)
        .bind(worker)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// The newest `limit` outbox rows written since `since_ms` (processed or not), newest
/// first: what live views are told about. Looking back by time rather than by id catches
/// rows whose transaction committed after a later id's; taking the newest keeps a busy
/// window from holding the views on rows they have already seen.
pub async fn recent_outbox(conn: &mut Conn, kind: &str, since_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "SELECT id, topic, item_kind, item_id, payload, created_at_ms FROM outbox WHERE created_at_ms >= $1 \
         AND item_kind = $3 ORDER BY id DESC LIMIT $2",
    )
    .bind(since_ms)
    .bind(limit)
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(outbox_row).collect()
}
