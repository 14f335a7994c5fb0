//! API keys of integrating systems, with a rate limit shared by all app servers.

use super::*;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct KeyView {
    pub id: i64,
    pub name: String,
    pub rate_per_minute: i64,
    pub created_at_ms: i64,
    pub revoked: bool,
    /// Shown once, when the key is created; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

pub(super) fn key_view(k: KeyRow, api_key: Option<String>) -> KeyView {
    KeyView {
        id: k.id,
        name: k.name,
        rate_per_minute: k.rate_per_minute,
        created_at_ms: k.created_at_ms,
        revoked: k.revoked_at_ms.is_some(),
        api_key,
    }
}

pub(super) fn require_admin(a: &Actor) -> Result<()> {
    crate::require_city_admin(Caller::Person(a), "manage Open311 API keys")
}

/// A new API key (`actor` None: the command line). The key is printed once.
pub async fn create_key(app: &App, caller: Caller<'_>, name: &str, rate_per_minute: Option<i64>) -> Result<KeyView> {
    let actor = caller.person();
    if let Some(a) = actor {
        require_admin(a)?;
    }
    let name = text::name("name", name, 100)?;
    let rate = rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
    if !(1..=1_000_000).contains(&rate) {
        return Err(AppError::invalid("rate_per_minute", "must be 1 to 1000000"));
    }
    let key = crate::auth::random_token();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let id = wuzhi_store::open311::insert_key(&mut tx, &name, &crate::auth::sha256_hex(&key), rate, now).await?;
    record(
        &mut tx,
        now,
        actor,
        "create_open311_key",
        "open311_key",
        &id.to_string(),
        json!({"name": name, "rate": rate}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    let row = KeyRow { id, name, rate_per_minute: rate, created_at_ms: now, revoked_at_ms: None };
    Ok(key_view(row, Some(key)))
}

pub async fn list_keys(app: &App, actor: &Actor) -> Result<Vec<KeyView>> {
    require_admin(actor)?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::open311::list_keys(&mut conn).await?.into_iter().map(|k| key_view(k, None)).collect())
}

pub async fn revoke_key(app: &App, caller: Caller<'_>, id: i64) -> Result<()> {
    let actor = caller.person();
    if let Some(a) = actor {
        require_admin(a)?;
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !wuzhi_store::open311::revoke_key(&mut tx, id, now).await? {
        return Err(AppError::not_found(format!("active Open311 key {id}")));
    }
    record(&mut tx, now, actor, "revoke_open311_key", "open311_key", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    app.key_use.forget();
    Ok(())
}

/// How often a server adds its local count of a key's uses to the shared one.
pub(super) const SYNC_MS: i64 = 1000;

/// Each server's view of the keys in use: the shared count of the current one-minute window
/// as last read, plus the uses counted here since. Writing every use would cost a durable
/// commit per request; syncing at most once a second per key keeps the shared count within
/// a second of the truth, and a revoked key is refused by every server within a second.
#[derive(Default)]
pub struct KeyUse {
    keys: std::sync::Mutex<HashMap<String, Local>>,
}

pub(super) struct Local {
    key: KeyRow,
    window_ms: i64,
    shared: i64,
    unsynced: i64,
    synced_ms: i64,
    syncing: bool,
}

impl KeyUse {
    /// Forgets every key (after a revocation here, so this server refuses it at once).
    pub fn forget(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Checks an `api_key` and counts its use: `BadKey` when missing, unknown or revoked,
/// `RateLimited` past its requests per minute.
pub async fn use_key(app: &App, api_key: Option<&str>) -> Result<KeyRow> {
    let key = api_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AppError::BadKey { reason: "api_key is required to post".into() })?;
    let hash = crate::auth::sha256_hex(key);
    let now = app.now_ms();
    let window = now - now.rem_euclid(60_000);
    let uses = {
        let mut keys = app.key_use.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get_mut(&hash) {
            Some(l) if l.window_ms == window && (l.syncing || now - l.synced_ms < SYNC_MS) => {
                l.unsynced += 1;
                return within_rate(l.key.clone(), l.shared + l.unsynced, now);
            }
            Some(l) => {
                let uses = if l.window_ms == window { l.unsynced + 1 } else { 1 };
                l.unsynced = 0;
                l.syncing = true;
                uses
            }
            None => 1,
        }
    };
    let synced = async {
        let mut tx = app.db.write().await?;
        let used = wuzhi_store::open311::use_key(&mut tx, &hash, window, uses).await?;
        wuzhi_store::commit(tx).await?;
        Ok::<_, AppError>(used)
    }
    .await;
    let mut keys = app.key_use.keys.lock().unwrap_or_else(|e| e.into_inner());
    let (row, shared) = match synced {
        Ok(Some(x)) => x,
        Ok(None) => {
            keys.remove(&hash);
            return Err(AppError::BadKey { reason: "api_key is unknown or revoked".into() });
        }
        Err(e) => {
            if let Some(l) = keys.get_mut(&hash) {
                // Not counted: try again with the next request.
                l.unsynced += uses;
                l.syncing = false;
            }
            return Err(e);
        }
    };
    let l = keys.entry(hash).or_insert(Local {
        key: row.clone(),
        window_ms: window,
        shared: 0,
        unsynced: 0,
        synced_ms: now,
        syncing: false,
    });
    if l.window_ms != window {
        l.unsynced = 0;
    }
    (l.key, l.window_ms, l.shared, l.synced_ms, l.syncing) = (row.clone(), window, shared, now, false);
    within_rate(row, shared + l.unsynced, now)
}

pub(super) fn within_rate(row: KeyRow, count: i64, now: i64) -> Result<KeyRow> {
    if count > row.rate_per_minute {
        return Err(AppError::RateLimited {
            reason: format!(
                "api_key `{}` may make {} requests a minute; try again in {} s",
                row.name,
                row.rate_per_minute,
                (60_000 - now.rem_euclid(60_000)) / 1000 + 1
            ),
        });
    }
    Ok(row)
}
