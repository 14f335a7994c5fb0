//! The updates feed: public changes of requests since a time.

use super::*;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Update {
    pub update_id: i64,
    pub service_request_id: i64,
    /// open or closed after this update.
    pub status: String,
    pub updated_datetime: String,
    pub description: String,
    pub media_url: String,
    /// The timeline event behind the update.
    pub external_status_code: String,
}

pub(super) fn status_after(kind: &str) -> &'static str {
    match kind {
        "verified" | "rejected" | "merged_into" => "closed",
        _ => "open",
    }
}

/// FixMyStreet's `GET servicerequestupdates`: the public timeline events of every request
/// in `[start_date, end_date]` (default: the last 24 hours), oldest first, at most 1,000.
pub async fn updates(app: &App, start: Option<&str>, end: Option<&str>) -> Result<Vec<Update>> {
    let now = app.now_ms();
    let start = start.map(|s| parse_datetime("start_date", s)).transpose()?;
    let end = end.map(|s| parse_datetime("end_date", s)).transpose()?;
    let (start, end) = match (start, end) {
        (None, None) => (now - 86_400_000, now),
        (Some(s), None) => (s, now.max(s)),
        (None, Some(e)) => (e - 86_400_000, e),
        (Some(s), Some(e)) => (s, e),
    };
    if end < start {
        return Err(AppError::invalid("end_date", "is before start_date"));
    }
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::open311::updates(&mut conn, start, end, &PUBLIC_EVENTS, MAX_REQUESTS).await?;
    Ok(rows
        .into_iter()
        .map(|u| {
            let data: Value = serde_json::from_str(&u.data).unwrap_or(Value::Null);
            let text = note_text(&u.kind, &data);
            Update {
                update_id: u.id,
                service_request_id: u.case_id,
                status: status_after(&u.kind).into(),
                updated_datetime: format_local(u.at_ms),
                description: if text.is_empty() { summary(&u.kind).to_owned() } else { text },
                media_url: String::new(),
                external_status_code: u.kind,
            }
        })
        .collect())
}

/// An update posted by an external system (FixMyStreet's `POST servicerequestupdates`):
/// kept as a note on the case's timeline. It cannot close a case: closing needs on-site
/// verification in the loop, so a `closed` status is recorded in the note only.
pub struct NewUpdate {
    pub service_request_id: Option<String>,
    pub update_id: Option<String>,
    pub status: Option<String>,
    pub updated_datetime: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

pub async fn post_update(app: &App, key: &KeyRow, u: NewUpdate) -> Result<i64> {
    let some = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let id = some(&u.service_request_id).ok_or_else(|| AppError::invalid("service_request_id", "is required"))?;
    let id: i64 =
        id.parse().map_err(|_| AppError::invalid("service_request_id", format!("`{id}` is not a request id")))?;
    let status = some(&u.status).ok_or_else(|| AppError::invalid("status", "is required (open or closed)"))?;
    let status = status.to_ascii_lowercase();
    if status != "open" && status != "closed" {
        return Err(AppError::invalid("status", format!("`{status}` is not open or closed")));
    }
    let description = some(&u.description).ok_or_else(|| AppError::invalid("description", "is required"))?;
    if let Some(t) = some(&u.updated_datetime) {
        parse_datetime("updated_datetime", &t)?;
    }
    let who = [some(&u.first_name), some(&u.last_name)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let mut text =
        format!("[{}{}] {description}", key.name, if who.is_empty() { String::new() } else { format!(" · {who}") });
    if status == "closed" {
        text.push_str("（外部系统报告已解决）");
    }
    if let Some(m) = some(&u.media_url) {
        text.push_str(&format!(" {m}"));
    }
    if let Some(x) = some(&u.update_id) {
        text.push_str(&format!(" (update {x})"));
    }
    let text = text::name("description", &text, 2000)?;
    let seq = crate::cases::system_step(app, System::Open311Client, id, DomainCommand::Comment { text }).await?;
    let mut conn = app.db.read().await?;
    wuzhi_store::open311::event_id(&mut conn, id, seq).await?.ok_or_else(|| AppError::not_found("update"))
}
