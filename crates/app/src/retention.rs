//! Retention (数据留存): how long the rows that only serve delivery are kept, and the pass
//! that deletes them. The case timeline, the audit log (kept at least six months, MLPS 2.0)
//! and the archives are records, never purged here.
//!
//! | rows | kept |
//! | --- | --- |
//! | outbox rows, once processed | 30 days after they were written |
//! | notifications, once read | 180 days after they were read |
//! | notifications, read or not | 1 year after they were written |
//! | webhook deliveries that succeeded | 30 days after delivery |
//! | webhook dead letters | 90 days after they were written |
//! | sessions | until they expire |
//! | counts of failed sign-ins | a day after the last attempt, unless a lock still runs |
//! | background jobs that ended | 90 days after they ended |
//! | the files jobs made (exports) | 7 days after the job ended |
//!
//! A server whose search index is older than the outbox's retention rebuilds it (see
//! `search::index_once`).

use crate::{App, Result};
use serde::Serialize;

const DAY_MS: i64 = 86_400_000;
pub const OUTBOX_DAYS: i64 = 30;
pub const READ_NOTIFICATION_DAYS: i64 = 180;
pub const NOTIFICATION_DAYS: i64 = 365;
pub const DELIVERED_DAYS: i64 = 30;
pub const DEAD_LETTER_DAYS: i64 = 90;
/// Background jobs that ended (done or failed) are kept this long.
pub const JOB_DAYS: i64 = 90;
/// What a background job made (an export's file) is kept this long after it ended.
pub const JOB_FILE_DAYS: i64 = 7;
/// Rows deleted per statement, so no transaction holds the writer long.
const SLICE: i64 = 5_000;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub outbox: u64,
    pub notifications: u64,
    pub deliveries: u64,
    pub sessions: u64,
    pub login_attempts: u64,
    pub jobs: u64,
}

/// One pass: deletes what has outlived its period, slice by slice, each slice in a short
/// transaction of its own.
pub async fn run_once(app: &App) -> Result<Outcome> {
    let now = app.now_ms();
    let mut out = Outcome::default();
    macro_rules! drain {
        ($f:path, $cutoff:expr, $field:ident) => {
            loop {
                let mut tx = app.db.write().await?;
                let n = $f(&mut tx, $cutoff, SLICE).await?;
                wuzhi_store::commit(tx).await?;
                out.$field += n;
                if n < SLICE as u64 {
                    break;
                }
            }
        };
    }
    use wuzhi_store::kernel as k;
    drain!(k::purge_outbox, now - OUTBOX_DAYS * DAY_MS, outbox);
    drain!(k::purge_read_notifications, now - READ_NOTIFICATION_DAYS * DAY_MS, notifications);
    drain!(k::purge_notifications, now - NOTIFICATION_DAYS * DAY_MS, notifications);
    drain!(k::purge_delivered, now - DELIVERED_DAYS * DAY_MS, deliveries);
    drain!(k::purge_dead_letters, now - DEAD_LETTER_DAYS * DAY_MS, deliveries);
    drain!(k::purge_sessions, now, sessions);
    drain!(k::purge_challenges, now, sessions);
    drain!(wuzhi_store::jobs::purge_files, now - JOB_FILE_DAYS * DAY_MS, jobs);
    drain!(k::purge_jobs, now - JOB_DAYS * DAY_MS, jobs);
    let mut tx = app.db.write().await?;
    out.login_attempts = wuzhi_store::people::delete_old_attempts(&mut tx, now - DAY_MS).await?;
    wuzhi_store::commit(tx).await?;
    Ok(out)
}
