//! Webhooks for integrations (对接推送): every case change in the outbox is queued for each
//! subscription whose topics match, then POSTed as JSON, signed like device events
//! (`X-Wuzhi-Signature: sha256=HMAC(secret, "{timestamp}.{body}")`). A failed attempt is
//! retried with exponential back-off (10 s doubling, at most an hour apart) and
//! dead-lettered after eight attempts. Deliveries are claimed with a lease, so several app
//! servers never send the same delivery twice at once.
//!
//! This build speaks plain HTTP to receivers; HTTPS receivers are reached through an egress
//! proxy that terminates TLS (set `HTTP_PROXY`).

use crate::audit::record;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::Actor;

pub const MAX_ATTEMPTS: i64 = 8;

fn require_city_admin(actor: &Actor) -> Result<()> {
    crate::require_city_admin(wuzhi_domain::work::Caller::Person(actor), "manage webhooks")
}

/// The wait before attempt `n + 1` after `n` failures.
pub fn backoff_ms(failures: i64) -> i64 {
    (10_000i64 << failures.clamp(0, 20)).min(3_600_000)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// `*` or a comma-separated list of topics such as `case.dispatched,case.verified`.
    pub topics: String,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

pub async fn register(app: &App, actor: &Actor, url: &str, topics: &str) -> Result<WebhookView> {
    require_city_admin(actor)?;
    let url = url.trim();
    if !url.starts_with("http://") || url.len() > 500 || url.contains(char::is_whitespace) {
        return Err(AppError::invalid(
            "url",
            "must be an http:// URL (reach https receivers through a TLS egress proxy)",
        ));
    }
    destination(app, url).await?;
    let topics = topics.trim();
    if topics.is_empty() || !topics.split(',').all(|t| t == "*" || crate::work::is_topic(t)) {
        return Err(AppError::invalid(
            "topics",
            format!(
                "must be * or topics such as case.dispatched (kinds: {}) separated by commas",
                crate::work::KINDS.join(", ")
            ),
        ));
    }
    let secret = crate::auth::random_token();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let id = wuzhi_store::webhooks::insert(&mut tx, url, &secret, topics, now).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "register_webhook",
        "webhook",
        &id.to_string(),
        json!({"url": url, "topics": topics}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(WebhookView { id, url: url.into(), topics: topics.into(), active: true, secret: Some(secret) })
}

pub async fn list(app: &App, actor: &Actor) -> Result<Vec<WebhookView>> {
    require_city_admin(actor)?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::webhooks::list(&mut conn)
        .await?
        .into_iter()
        .map(|w| WebhookView {
            id: w.id,
            url: w.url,
            topics: w.topics,
            active: w.revoked_at_ms.is_none(),
            secret: None,
        })
        .collect())
}

pub async fn revoke(app: &App, actor: &Actor, id: i64) -> Result<()> {
    require_city_admin(actor)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !wuzhi_store::webhooks::revoke(&mut tx, id, now).await? {
        return Err(AppError::not_found(format!("active webhook {id}")));
    }
    record(&mut tx, now, Some(actor), "revoke_webhook", "webhook", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub topic: String,
    /// pending, delivered or dead
    pub status: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub delivered_at_ms: Option<i64>,
}

pub async fn deliveries(app: &App, actor: &Actor, webhook_id: i64) -> Result<Vec<DeliveryView>> {
    require_city_admin(actor)?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::webhooks::deliveries(&mut conn, webhook_id, 200)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            topic: d.topic,
            status: d.status,
            attempts: d.attempts,
            next_attempt_ms: d.next_attempt_ms,
            last_error: d.last_error,
            delivered_at_ms: d.delivered_at_ms,
        })
        .collect())
}

/// Queues an outbox row for every matching active subscription (in the caller's transaction).
pub(crate) async fn enqueue(
    conn: &mut wuzhi_store::Conn,
    hooks: &[wuzhi_store::webhooks::WebhookRow],
    topic: &str,
    payload: &str,
    now: i64,
) -> Result<usize> {
    let mut n = 0;
    for h in hooks.iter().filter(|h| h.revoked_at_ms.is_none()) {
        if h.topics.split(',').any(|t| t == "*" || t == topic) {
            wuzhi_store::webhooks::enqueue(conn, h.id, topic, payload, now).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Whether an address is one a webhook must not reach unless the setting allows it:
/// loopback, link-local, private (RFC 1918, unique-local), unspecified, broadcast, CGNAT
/// (100.64/10), multicast, or an IPv4 address in IPv6 clothing that is one of these.
pub fn is_internal(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || v.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
        }
        IpAddr::V6(v) => {
            if let Some(v4) = v.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v.segments();
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Checks where a webhook URL leads: its host is resolved, and every address it resolves to
/// must be outside the internal ranges ([`is_internal`]) unless the server allows them. Run
/// at registration and again before each delivery (a name can be pointed elsewhere later).
pub async fn destination(app: &App, url: &str) -> Result<()> {
    let rest = url.strip_prefix("http://").ok_or_else(|| AppError::invalid("url", "must be an http:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(AppError::invalid("url", "names no host (or carries credentials)"));
    }
    // `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 80.
    let has_port = if authority.starts_with('[') {
        authority.contains("]:")
    } else {
        authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    };
    let with_port = if has_port { authority.to_owned() } else { format!("{authority}:80") };
    if app.settings.allow_private_webhooks {
        return Ok(());
    }
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(with_port.as_str())
        .await
        .map_err(|_| AppError::invalid("url", "its host cannot be resolved"))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(AppError::invalid(
            "url",
            "leads to a loopback, link-local or private address, which webhooks may not reach (WUZHI_ALLOW_PRIVATE_WEBHOOKS)",
        ));
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub delivered: usize,
    pub failed: usize,
    pub dead: usize,
}

/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT_MS: i64 = 10_000;
/// How long looking up where a hook's URL leads may take (inside the lease, before the attempts).
const LOOKUP_TIMEOUT_MS: u64 = 5_000;
/// How many deliveries one pass claims; they are attempted at the same time.
const BATCH: i64 = 20;
/// A claim lasts longer than every attempt it covers (they run at once, each bounded by the
/// timeout), so no other server can take a delivery while it is still being sent.
const LEASE_MS: i64 = 3 * ATTEMPT_TIMEOUT_MS;
const _: () = assert!(
    (LOOKUP_TIMEOUT_MS as i64) + ATTEMPT_TIMEOUT_MS < LEASE_MS,
    "the lookups and the attempts fit in the lease"
);

/// Attempts every claimed due delivery once, as `worker`, all at the same time: one slow
/// receiver does not hold up the others. An attempt that would start after its claim might
/// have lapsed is left for the next pass.
pub async fn run_once(app: &App, worker: &str, client: &reqwest::Client) -> Result<Outcome> {
    let now = app.now_ms();
    let lease_until = now + LEASE_MS;
    let mut tx = app.db.write().await?;
    let due = wuzhi_store::webhooks::claim(&mut tx, worker, now, lease_until, BATCH).await?;
    let hooks = if due.is_empty() { Vec::new() } else { wuzhi_store::webhooks::list(&mut tx).await? };
    wuzhi_store::commit(tx).await?;
    // Where each hook's URL leads now, looked up once per hook and pass, and bounded in time:
    // a delivery to one that became internal (or does not resolve) is refused and retried later.
    let mut refused: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for h in hooks.iter().filter(|h| due.iter().any(|d| d.webhook_id == h.id)) {
        let checked =
            tokio::time::timeout(std::time::Duration::from_millis(LOOKUP_TIMEOUT_MS), destination(app, &h.url));
        match checked.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                refused.insert(h.id, e.to_string());
            }
            Err(_) => {
                refused.insert(h.id, "its host did not resolve in time".to_owned());
            }
        }
    }
    let refused = &refused;
    let attempts = due.into_iter().filter_map(|d| {
        let hook = hooks.iter().find(|h| h.id == d.webhook_id)?.clone();
        Some(async move {
            let ts = app.now_ms();
            if ts + ATTEMPT_TIMEOUT_MS >= lease_until {
                return None;
            }
            if let Some(e) = refused.get(&hook.id) {
                return Some((d, Some(e.clone())));
            }
            let body = json!({"delivery": d.id, "topic": d.topic, "event": serde_json::from_str::<serde_json::Value>(&d.payload).unwrap_or_default()})
                .to_string();
            let sig = crate::cases::devices::sign(&hook.secret, ts, body.as_bytes());
            let sent = client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("x-wuzhi-event", &d.topic)
                .header("x-wuzhi-delivery", d.id.to_string())
                .header("x-wuzhi-timestamp", ts.to_string())
                .header("x-wuzhi-signature", format!("sha256={sig}"))
                .body(body)
                .timeout(std::time::Duration::from_millis(ATTEMPT_TIMEOUT_MS as u64))
                .send()
                .await;
            let error = match sent {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(format!("{e}")),
            };
            Some((d, error))
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut out = Outcome::default();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    for (d, error) in results.into_iter().flatten() {
        let (status, next) = match &error {
            None => ("delivered", now),
            Some(_) if d.attempts + 1 >= MAX_ATTEMPTS => ("dead", now),
            Some(_) => ("pending", now + backoff_ms(d.attempts)),
        };
        if wuzhi_store::webhooks::finish(&mut tx, d.id, worker, status, next, error.as_deref(), now).await? {
            match status {
                "delivered" => out.delivered += 1,
                "dead" => out.dead += 1,
                _ => out.failed += 1,
            }
        }
    }
    wuzhi_store::commit(tx).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn back_off_doubles_to_an_hour() {
        assert_eq!(super::backoff_ms(0), 10_000);
        assert_eq!(super::backoff_ms(1), 20_000);
        assert_eq!(super::backoff_ms(7), 1_280_000);
        assert_eq!(super::backoff_ms(12), 3_600_000);
    }
}
