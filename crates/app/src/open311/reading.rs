//! `GET requests`: public reads of requests, in what the public may see.

use super::*;

/// `GET requests` parameters, already split (empty parameters are absent).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub statuses: Vec<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
    pub extensions: bool,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Note {
    pub datetime: String,
    /// The timeline event (filed, dispatched, handled, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub summary: String,
    pub description: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Extended {
    pub channel: String,
    /// The detailed state of the loop (reported, filed, dispatched, handling, …).
    pub detailed_status: String,
    pub territory_code: String,
    pub overdue: bool,
    pub photos: Vec<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub notes: Vec<Note>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Request {
    pub service_request_id: i64,
    /// open or closed.
    pub status: String,
    pub status_notes: String,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    pub agency_responsible: String,
    pub service_notice: String,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: String,
    pub address: String,
    pub address_id: String,
    pub zipcode: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_attributes: Option<Extended>,
}

/// Open311's two states: a case is open while it still needs someone's work.
pub(super) fn open_or_closed(status: &str) -> &'static str {
    match Status::parse(status) {
        Ok(s) if !s.is_open() => "closed",
        _ => "open",
    }
}

/// The case states behind an Open311 state.
pub(super) fn statuses(open: bool) -> impl Iterator<Item = String> {
    Status::ALL.into_iter().filter(move |s| s.is_open() == open).map(|s| s.as_str().to_owned())
}

pub(super) fn split(values: &[String]) -> Vec<String> {
    values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Public reads of requests, newest first: by ids, or filtered by service, status and
/// period (the last 90 days when no period is given), at most 1,000 a page.
pub async fn requests(app: &App, q: &Query) -> Result<Vec<Request>> {
    let mut f = RequestFilter { limit: MAX_REQUESTS, ..Default::default() };
    let page_size = match q.page_size.as_deref() {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_REQUESTS).contains(n))
            .ok_or_else(|| AppError::invalid("page_size", format!("`{s}` is not a whole number from 1 to 1000")))?,
        None => MAX_REQUESTS,
    };
    let page = match q.page.as_deref() {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| AppError::invalid("page", format!("`{s}` is not a page number from 1")))?,
        None => 1,
    };
    f.limit = page_size;
    f.offset = (page - 1) * page_size;
    let ids = split(&q.ids);
    if !ids.is_empty() {
        // Listing ids overrides every other filter.
        for id in &ids {
            f.ids
                .push(id.parse().map_err(|_| AppError::invalid("service_request_id", format!("`{id}` is not an id")))?);
        }
        if f.ids.len() > MAX_REQUESTS as usize {
            return Err(AppError::invalid("service_request_id", "names more than 1000 requests"));
        }
    } else {
        f.categories = split(&q.service_codes);
        for s in split(&q.statuses) {
            match s.to_ascii_lowercase().as_str() {
                "open" => f.statuses.extend(statuses(true)),
                "closed" => f.statuses.extend(statuses(false)),
                other => return Err(AppError::invalid("status", format!("`{other}` is not open or closed"))),
            }
        }
        let start = q.start_date.as_deref().map(|s| parse_datetime("start_date", s)).transpose()?;
        let end = q.end_date.as_deref().map(|s| parse_datetime("end_date", s)).transpose()?;
        let span = DEFAULT_DAYS * 86_400_000;
        let (start, end) = match (start, end) {
            (None, None) => {
                let now = app.now_ms();
                (now - span, now)
            }
            (Some(s), None) => (s, s + span),
            (None, Some(e)) => (e - span, e),
            (Some(s), Some(e)) => (s, e),
        };
        if end < start {
            return Err(AppError::invalid("end_date", "is before start_date"));
        }
        (f.from_ms, f.to_ms) = (Some(start), Some(end));
    }
    let names = category_names(app).await?;
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::open311::requests(&mut conn, &f).await?;
    // The photos and timelines of the whole page in one query each, not one per request.
    let want_photos: Vec<i64> = rows.iter().filter(|r| q.extensions || !has_media_url(r)).map(|r| r.id).collect();
    let want_events: Vec<i64> =
        rows.iter().filter(|r| q.extensions || open_or_closed(&r.status) == "closed").map(|r| r.id).collect();
    let mut photos: HashMap<i64, Vec<String>> = HashMap::new();
    for a in wuzhi_store::cases::attachments_of_cases(&mut conn, &want_photos).await? {
        if a.content_type.starts_with("image/") {
            photos.entry(a.case_id).or_default().push(format!("/api/attachments/{}", a.id));
        }
    }
    let mut events: HashMap<i64, Vec<wuzhi_store::cases::EventRow>> = HashMap::new();
    for (case_id, e) in wuzhi_store::cases::events_of(&mut conn, &want_events).await? {
        if PUBLIC_EVENTS.contains(&e.kind.as_str()) {
            events.entry(case_id).or_default().push(e);
        }
    }
    // The units named: owners, and those dispatched to (a note names them).
    let mut org_ids: Vec<i64> = rows.iter().filter_map(|r| r.owner_org_id).collect();
    org_ids.extend(events.values().flatten().filter(|e| e.kind == "dispatched").filter_map(|e| {
        serde_json::from_str::<Value>(&e.data).ok().and_then(|d| d.get("org").and_then(Value::as_i64))
    }));
    org_ids.sort_unstable();
    org_ids.dedup();
    let orgs: HashMap<i64, String> = wuzhi_store::org::names(&mut conn, &org_ids).await?;
    drop(conn);
    Ok(rows
        .into_iter()
        .map(|r| {
            let (p, e) = (photos.remove(&r.id).unwrap_or_default(), events.remove(&r.id).unwrap_or_default());
            shape(app, r, p, &e, &orgs, &names, q.extensions)
        })
        .collect())
}

/// One request by id.
pub async fn request(app: &App, id: &str, extensions: bool) -> Result<Request> {
    let id: i64 = id.parse().map_err(|_| AppError::not_found(format!("request {id}")))?;
    let q = Query { ids: vec![id.to_string()], extensions, ..Default::default() };
    requests(app, &q).await?.pop().ok_or_else(|| AppError::not_found(format!("request {id}")))
}

/// The public text of an event, if it has one.
pub(super) fn note_text(kind: &str, data: &Value) -> String {
    let field = match kind {
        "handled" => "result",
        "rejected" | "reopened" | "escalated" => "reason",
        "verified" | "reworked" => "note",
        "commented" => "text",
        _ => "",
    };
    public::text(data.get(field).and_then(Value::as_str).unwrap_or(""))
}

pub(super) fn summary(kind: &str) -> &'static str {
    match kind {
        "reported" => "已受理 received",
        "filed" => "已立案 filed",
        "rejected" => "不予立案 not filed",
        "dispatched" => "已派遣 dispatched",
        "accepted" => "处置单位已签收 accepted",
        "returned" => "退回重派 returned for dispatch",
        "handled" => "已处置 handled",
        "verified" => "核查通过，已结案 verified and closed",
        "reworked" => "核查未通过，返工 rework",
        "merged_into" => "合并到主案件 merged",
        "reopened" => "重新办理 reopened",
        "commented" => "备注 note",
        "escalated" => "已上报 escalated",
        "parked" => "挂账 parked",
        "unparked" => "恢复办理 resumed",
        "extension_decided" => "延期审批 extension decided",
        "rated" => "已评价 rated",
        "marked_overdue" => "已超期 overdue",
        _ => "",
    }
}

/// The events shown as notes and in the updates feed.
pub const PUBLIC_EVENTS: [&str; 14] = [
    "reported",
    "filed",
    "rejected",
    "dispatched",
    "accepted",
    "handled",
    "verified",
    "reworked",
    "merged_into",
    "reopened",
    "commented",
    "escalated",
    "parked",
    "unparked",
];

pub(super) fn extra_of(r: &CaseRow) -> Value {
    r.attributes.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or(json!({}))
}

/// Whether the client gave the request a `media_url` of its own.
pub(super) fn has_media_url(r: &CaseRow) -> bool {
    extra_of(r).get("media_url").is_some()
}

/// A case as an Open311 request, from its row, its photos and its public events.
pub(super) fn shape(
    app: &App,
    r: CaseRow,
    photos: Vec<String>,
    events: &[wuzhi_store::cases::EventRow],
    orgs: &HashMap<i64, String>,
    names: &HashMap<String, String>,
    extensions: bool,
) -> Request {
    let status = open_or_closed(&r.status);
    let extra = extra_of(&r);
    let media_url = extra
        .get("media_url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| photos.first().cloned())
        .unwrap_or_default();
    let notes: Vec<Note> = events
        .iter()
        .map(|e| {
            let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            let mut description = note_text(&e.kind, &data);
            if e.kind == "dispatched" {
                if let Some(o) = data.get("org").and_then(Value::as_i64) {
                    description = orgs.get(&o).cloned().unwrap_or_default();
                }
            }
            Note {
                datetime: format_local(e.at_ms),
                kind: e.kind.clone(),
                summary: summary(&e.kind).into(),
                description,
            }
        })
        .collect();
    let status_notes = match r.status.as_str() {
        "merged" => r.merged_into.map(|m| format!("merged into request {m}")).unwrap_or_default(),
        _ if status == "closed" => {
            notes.iter().rev().find(|n| !n.description.is_empty()).map(|n| n.description.clone()).unwrap_or_default()
        }
        _ => String::new(),
    };
    let address = r.address.clone().map(|a| public::text(&a)).unwrap_or_else(|| place_name(app, &r.territory_code));
    Request {
        service_request_id: r.id,
        status: status.into(),
        status_notes,
        service_name: r.category_code.as_deref().and_then(|c| names.get(c)).cloned().unwrap_or_default(),
        service_code: r.category_code.clone().unwrap_or_default(),
        description: public::text(&r.description),
        agency_responsible: r.owner_org_id.and_then(|o| orgs.get(&o).cloned()).unwrap_or_default(),
        service_notice: String::new(),
        requested_datetime: format_local(r.created_at_ms),
        updated_datetime: format_local(r.updated_at_ms),
        expected_datetime: if status == "open" {
            r.due_at_ms.map(format_local).unwrap_or_default()
        } else {
            String::new()
        },
        address,
        address_id: r.territory_code.clone(),
        zipcode: String::new(),
        lat: r.lat.map(public::coarse),
        long: r.lon.map(public::coarse),
        media_url,
        extended_attributes: extensions.then(|| Extended {
            channel: r.channel.clone(),
            detailed_status: r.status.clone(),
            territory_code: r.territory_code.clone(),
            overdue: r.overdue,
            photos,
            attributes: extra.get("attributes").cloned().unwrap_or(json!({})),
            notes,
        }),
    }
}

/// The full name of a territory, from the city down (a name that merely repeats the start
/// of the next one is left out: 花园路社区居委会 before 花园路社区居委会第1网格).
pub(super) fn place_name(app: &App, code: &str) -> String {
    let loc = app.locator();
    let names: Vec<String> = loc.chain(code).iter().rev().filter_map(|c| loc.name_of(c)).collect();
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        if names.get(i + 1).is_some_and(|next| next.starts_with(n.as_str())) {
            continue;
        }
        out.push_str(n);
    }
    out
}
