//! Live updates (server-sent events): every app server polls the outbox once a second for
//! what changed in the last few seconds, whichever server wrote it, and tells each
//! subscriber about the changes to the cases that subscriber may read. Each event carries
//! only the case id, its kind of change, its state and territory; pages fetch the rest
//! through the API as usual.

use crate::{App, Result};
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use wuzhi_domain::Actor;
use wuzhi_store::cases::CaseRow;

/// How far back each poll looks (a transaction may commit a little after its rows' time).
const LOOK_BACK_MS: i64 = 10_000;

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The outbox row's id.
    pub id: i64,
    pub case_id: i64,
    /// The timeline event: reported, filed, dispatched, …
    pub kind: String,
    pub status: String,
    pub territory_code: String,
}

/// One change with the case as it now is, to decide who may see it.
#[derive(Clone)]
pub struct Seen {
    pub change: Change,
    case: Arc<CaseRow>,
}

impl Seen {
    pub fn visible_to(&self, actor: &Actor) -> bool {
        crate::cases::can_read(actor, &self.case).unwrap_or(false)
    }
}

/// The changes of one poll, with the authorisation epoch read in the same poll: a stream
/// whose person it checked at another epoch checks them again before it tells them more.
pub struct Batch {
    pub epoch: i64,
    pub seen: Vec<Seen>,
}

pub struct Live {
    tx: broadcast::Sender<Arc<Batch>>,
    seen: Mutex<(HashSet<i64>, VecDeque<(i64, i64)>)>,
    epoch: std::sync::atomic::AtomicI64,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(64).0,
            seen: Mutex::new((HashSet::new(), VecDeque::new())),
            epoch: std::sync::atomic::AtomicI64::new(-1),
        }
    }
}

impl Live {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.tx.subscribe()
    }

    /// The authorisation epoch as this server last read it (`wuzhi_store::kernel`).
    pub fn epoch(&self) -> i64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// One poll: the outbox rows of the last seconds not told yet, broadcast to subscribers.
/// Returns how many changes were new.
pub async fn poll_once(app: &App) -> Result<usize> {
    let now = app.now_ms();
    let mut conn = app.db.read().await?;
    let epoch = wuzhi_store::kernel::authz_epoch(&mut conn).await?;
    app.live.epoch.store(epoch, std::sync::atomic::Ordering::Release);
    // Only the cases' rows: a key task sent to 21,408 grids writes as many rows at once, and
    // they must not push the cases' changes out of the window.
    let mut rows =
        wuzhi_store::work::recent_outbox(&mut conn, wuzhi_store::cases::KIND.name, now - LOOK_BACK_MS, 5000).await?;
    // Told oldest first; live views follow the cases' topics.
    rows.reverse();
    let case = wuzhi_store::cases::KIND.name;
    let fresh: Vec<(i64, String, i64)> = {
        let seen = app.live.seen.lock().unwrap_or_else(|e| e.into_inner());
        rows.into_iter()
            .filter(|r| !seen.0.contains(&r.id))
            .filter_map(|r| Some((r.id, r.event().to_owned(), r.item_of(case)?)))
            .collect()
    };
    if fresh.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = fresh.iter().map(|(_, _, c)| *c).collect::<HashSet<_>>().into_iter().collect();
    let cases: std::collections::HashMap<i64, Arc<CaseRow>> =
        wuzhi_store::cases::by_ids(&mut conn, &ids).await?.into_iter().map(|c| (c.id, Arc::new(c))).collect();
    drop(conn);
    let mut out = Vec::with_capacity(fresh.len());
    {
        let mut seen = app.live.seen.lock().unwrap_or_else(|e| e.into_inner());
        for (id, topic, case_id) in fresh {
            if !seen.0.insert(id) {
                continue;
            }
            seen.1.push_back((now, id));
            if let Some(c) = cases.get(&case_id) {
                out.push(Seen {
                    change: Change {
                        id,
                        case_id,
                        kind: topic,
                        status: c.status.clone(),
                        territory_code: c.territory_code.clone(),
                    },
                    case: c.clone(),
                });
            }
        }
        // Forget what has left the look-back window.
        while seen.1.front().is_some_and(|(at, _)| *at < now - 2 * LOOK_BACK_MS) {
            if let Some((_, id)) = seen.1.pop_front() {
                seen.0.remove(&id);
            }
        }
    }
    let n = out.len();
    // Nobody listening is not an error.
    let _ = app.live.tx.send(Arc::new(Batch { epoch, seen: out }));
    Ok(n)
}
