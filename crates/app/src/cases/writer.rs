//! Group commit for intake (批量提交). New cases from every request are handed to a writer
//! task, which writes whatever has queued up in one transaction (a repeated idempotency key
//! is skipped by `ON CONFLICT DO NOTHING`; if anything else fails, each case is retried on
//! its own so only the bad one fails), commits once, and only then answers each request. One durable commit (one fsync on
//! SQLite) then carries many cases, which is what lets a single writer keep up with
//! thousands of reports a second.

use tokio::sync::{mpsc, oneshot};
use wuzhi_store::Db;
use wuzhi_store::cases::CaseRow;

const MAX_BATCH: usize = 256;

pub(crate) struct Job {
    pub row: CaseRow,
    pub key: Option<String>,
    /// The case's head after its first event (`Reported`).
    pub head: wuzhi_domain::work::Head,
    pub first_kind: &'static str,
    pub first_data: String,
    pub actor: Option<i64>,
    /// `Ok(Some(id))` for a new case, `Ok(None)` when the idempotency key was used before.
    pub reply: oneshot::Sender<Result<Option<i64>, String>>,
}

/// Starts the writers: one on SQLite (which has one writer anyway), several on PostgreSQL,
/// where transactions run side by side.
pub(crate) fn spawn(db: Db) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let writers = match db.backend {
        wuzhi_store::Backend::Sqlite => 1,
        wuzhi_store::Backend::Postgres => 8,
    };
    for _ in 0..writers {
        tokio::spawn(run(db.clone(), rx.clone()));
    }
    tx
}

async fn run(db: Db, rx: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            batch
        };
        write(&db, batch).await;
    }
}

async fn write(db: &Db, batch: Vec<Job>) {
    match write_all(db, &batch).await {
        Ok(results) => {
            for (job, r) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(r));
            }
        }
        // Something in the batch failed and nothing of it was committed: write each case on
        // its own, so one bad case fails only its own request.
        Err(_) if batch.len() > 1 => {
            for job in batch {
                let r = write_all(db, std::slice::from_ref(&job)).await.map(|mut v| v.remove(0));
                let _ = job.reply.send(r.map_err(|e| e.to_string()));
            }
        }
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(e.to_string()));
            }
        }
    }
}

/// Writes the cases in one transaction; `None` for a case whose idempotency key was used.
async fn write_all(db: &Db, batch: &[Job]) -> Result<Vec<Option<i64>>, wuzhi_store::StoreError> {
    let mut tx = db.write().await?;
    let mut out = Vec::with_capacity(batch.len());
    let mut open: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    let mut items = Vec::with_capacity(batch.len());
    for job in batch {
        let id = wuzhi_store::cases::insert(&mut tx, &job.row, job.key.as_deref()).await?;
        if let Some(id) = id {
            *open.entry(job.row.territory_code.as_str()).or_default() += 1;
            let at = job.row.created_at_ms;
            let first = wuzhi_store::work::NewEvent {
                at_ms: at,
                written_ms: at,
                actor: job.actor,
                name: job.first_kind,
                data: &job.first_data,
            };
            let head = crate::work::store_head(&job.head, &job.row.territory_code);
            items.push(wuzhi_store::work::NewItem { id, version: job.row.version, head, events: vec![first] });
        }
        out.push(id);
    }
    // The batch's heads, first events and outbox rows in a few statements.
    let now = batch.first().map(|j| j.row.created_at_ms).unwrap_or(0);
    wuzhi_store::work::create_many(&mut tx, &wuzhi_store::cases::KIND, &items, now).await?;
    // The open-case counters of the batch, in territory order (so concurrent batches on
    // PostgreSQL lock the counter rows in the same order and never deadlock).
    let deltas: Vec<(&str, i64)> = open.into_iter().collect();
    wuzhi_store::rollup::add_open_many(&mut tx, &deltas).await?;
    wuzhi_store::commit(tx).await?;
    Ok(out)
}
