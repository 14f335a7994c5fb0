//! Devices (传感器): registered by an administrator with a territory and a random key; they
//! report cases by POSTing JSON signed with HMAC-SHA256 over `"{timestamp}.{body}"`. A
//! signature more than five minutes old is refused (no replays), and the device's
//! `event_id` makes a retried event return the same case.

use crate::audit::record;
use crate::cases::{CaseView, Channel, NewCase, report_checked};
use crate::{App, AppError, Result};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, text};

const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub name: String,
    pub territory_code: String,
    pub created_at_ms: i64,
    pub revoked: bool,
    /// Shown once, when the device is registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

pub async fn register(app: &App, actor: &Actor, name: &str, territory: &str) -> Result<DeviceView> {
    let name = text::name("name", name, 100)?;
    let t = TerritoryCode::parse(territory).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    actor.can(Action::ManageTerritory, &Target::territory(&t))?;
    let secret = crate::auth::random_token();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, t.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("territory_code", format!("{t} is not in the territory tree")));
    }
    let id = wuzhi_store::cases::insert_device(&mut tx, &name, &secret, t.as_str(), now).await?;
    record(&mut tx, now, Some(actor), "register_device", "device", &id.to_string(), json!({"territory": t.as_str()}))
        .await?;
    wuzhi_store::commit(tx).await?;
    Ok(DeviceView { id, name, territory_code: t.to_string(), created_at_ms: now, revoked: false, secret: Some(secret) })
}

pub async fn list(app: &App, actor: &Actor) -> Result<Vec<DeviceView>> {
    let scopes = actor.scopes_for(Action::ManageTerritory);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ManageTerritory.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::list_devices(&mut conn, &prefixes)
        .await?
        .into_iter()
        .map(|d| DeviceView {
            id: d.id,
            name: d.name,
            territory_code: d.territory_code,
            created_at_ms: d.created_at_ms,
            revoked: d.revoked_at_ms.is_some(),
            secret: None,
        })
        .collect())
}

pub async fn revoke(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let d = wuzhi_store::cases::get_device(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("device {id}")))?;
    actor.can(Action::ManageTerritory, &Target::territory(&TerritoryCode::parse(&d.territory_code)?))?;
    if !wuzhi_store::cases::revoke_device(&mut tx, id, now).await? {
        return Err(AppError::not_found(format!("active device {id}")));
    }
    record(&mut tx, now, Some(actor), "revoke_device", "device", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// What a device sends.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeviceEvent {
    /// The device's own id for the event; a retry with the same id returns the same case.
    pub event_id: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub crs: Option<String>,
}

fn default_kind() -> String {
    "report".into()
}

/// The signature a device must send for `body` at `timestamp_ms`: lowercase hex of
/// HMAC-SHA256(key, "{timestamp_ms}.{body}").
pub fn sign(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    wuzhi_domain::audit::hex(&mac.finalize().into_bytes())
}

/// Checks the device's signature and files its event as a case.
pub async fn receive(
    app: &App,
    device_id: i64,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(CaseView, bool)> {
    let bad = |reason: &str| AppError::BadSignature { reason: reason.into() };
    let mut conn = app.db.read().await?;
    let device = wuzhi_store::cases::get_device(&mut conn, device_id).await?;
    drop(conn);
    let device = device.filter(|d| d.revoked_at_ms.is_none()).ok_or_else(|| bad("unknown or revoked device"))?;
    let ts: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| bad("X-Wuzhi-Timestamp is missing or not milliseconds"))?;
    if (app.now_ms() - ts).abs() > MAX_SKEW_MS {
        return Err(bad("the timestamp is more than five minutes from the server's clock"));
    }
    let sent =
        signature.map(|s| s.trim().trim_start_matches("sha256=")).ok_or_else(|| bad("X-Wuzhi-Signature is missing"))?;
    let want = sign(&device.secret, ts, body);
    let same = sent.len() == want.len() && sent.bytes().zip(want.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if !same {
        return Err(bad("the signature does not match the body"));
    }
    let e: DeviceEvent = serde_json::from_slice(body).map_err(|err| {
        let msg = err.to_string();
        let field = msg.split('`').nth(1).unwrap_or("body").to_owned();
        AppError::Invalid { field, reason: msg }
    })?;
    let territory = TerritoryCode::parse(&device.territory_code)?;
    let n = NewCase {
        channel: Channel::Sensor,
        kind: e.kind,
        subject: e.subject,
        description: e.description,
        category: e.category,
        lon: Some(e.lon),
        lat: Some(e.lat),
        crs: e.crs,
        address: None,
        reporter_name: None,
        reporter_phone: None,
        anonymous: false,
        public: None,
        idempotency_key: Some(format!("device{device_id}:{}", e.event_id)),
        fixed_on_spot: None,
        reporter_email: None,
        attributes: None,
    };
    // The device acts for itself: the timeline records no person.
    report_checked(app, Caller::System(System::Device), n, Some(&territory)).await
}
