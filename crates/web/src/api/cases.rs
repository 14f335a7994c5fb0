//! Handlers of the case hub: intake, steps, lists and exports, imports, sensor events and attachments.

use super::*;

// ---- cases ----

/// Report a case (信息收集) from the app, the hotline or a grid patrol. A repeated
/// `idempotency_key` returns the case the first submission created, with status 200.
#[utoipa::path(post, path = "/api/cases", tag = "cases", request_body = wuzhi_app::cases::NewCase,
    responses((status = 201, body = wuzhi_app::cases::CaseView), (status = 200, body = wuzhi_app::cases::CaseView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn report_case(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<wuzhi_app::cases::NewCase>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::cases::CaseView>)> {
    let (view, created) = wuzhi_app::cases::report(&state.app, &a.actor, b).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

#[derive(Deserialize, IntoParams)]
pub struct CaseListParams {
    pub status: Option<String>,
    /// A category code or the code of a class (prefix).
    pub category: Option<String>,
    pub overdue: Option<bool>,
    /// Paging: ids below this one (newest first).
    pub before: Option<i64>,
    pub limit: Option<i64>,
    /// Only inside this territory (its code).
    pub territory: Option<String>,
    /// app, hotline, grid, sensor or open311
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD).
    pub from: Option<String>,
    /// Reported on or before this day (YYYY-MM-DD).
    pub to: Option<String>,
}

/// Cases in the caller's territories, owned by the caller's units, or reported by the caller.
#[utoipa::path(get, path = "/api/cases", tag = "cases", params(CaseListParams), responses((status = 200, body = Vec<wuzhi_app::cases::CaseView>)))]
pub async fn list_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<CaseListParams>,
) -> ApiResult<Json<Vec<wuzhi_app::cases::CaseView>>> {
    let q = wuzhi_app::cases::ListQuery {
        status: p.status.filter(|s| !s.is_empty()),
        category: p.category.filter(|s| !s.is_empty()),
        overdue: p.overdue,
        before: p.before,
        limit: p.limit,
        territory: p.territory.filter(|s| !s.is_empty()),
        channel: p.channel.filter(|s| !s.is_empty()),
        from: p.from.filter(|s| !s.is_empty()),
        to: p.to.filter(|s| !s.is_empty()),
    };
    Ok(Json(wuzhi_app::cases::list(&state.app, &a.actor, &q).await?))
}

/// One case with its timeline and the steps the caller may take now.
#[utoipa::path(get, path = "/api/cases/{id}", tag = "cases", params(("id" = i64, Path), RevealParams),
    responses((status = 200, body = wuzhi_app::cases::CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<RevealParams>,
) -> ApiResult<Json<wuzhi_app::cases::CaseView>> {
    Ok(Json(wuzhi_app::cases::get(&state.app, &a.actor, id, p.reveal.unwrap_or(false)).await?))
}

/// Take one step of the loop: `{"action": "file", "category": "E0102"}`, `dispatch`,
/// `accept`, `return`, `handle`, `verify`, `rework`, `request_extension`,
/// `decide_extension`, `park`, `unpark`, `escalate`, `merge`, `comment`, `reopen`, `rate`.
/// A step the case's state does not allow is refused with 409 and changes nothing.
#[utoipa::path(post, path = "/api/cases/{id}/actions", tag = "cases", params(("id" = i64, Path)), request_body = wuzhi_app::cases::Command,
    responses((status = 200, body = wuzhi_app::cases::CaseView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn case_action(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(cmd): ApiJson<wuzhi_app::cases::Command>,
) -> ApiResult<Json<wuzhi_app::cases::CaseView>> {
    Ok(Json(wuzhi_app::cases::act(&state.app, &a.actor, id, cmd).await?))
}

/// The category taxonomy with time limits and responsible units.
#[utoipa::path(get, path = "/api/categories", tag = "cases", responses((status = 200, body = Vec<wuzhi_app::cases::categories::CategoryView>)))]
pub async fn list_categories(
    State(state): State<AppState>,
    _a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::cases::categories::CategoryView>>> {
    Ok(Json(wuzhi_app::cases::categories::list(&state.app).await?))
}

/// Add or replace categories from a CSV body (columns of `data/categories/default.csv`),
/// all or nothing (city administrators).
#[utoipa::path(post, path = "/api/categories/import", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_categories(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<Imported>> {
    Ok(Json(Imported {
        imported: wuzhi_app::cases::categories::import(&state.app, Caller::Person(&a.actor), &body).await?,
    }))
}

/// Replace the working calendar's holidays and adjusted working days with a
/// `date,kind,name` CSV body (city administrators).
#[utoipa::path(put, path = "/api/calendar", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn replace_calendar(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<Imported>> {
    Ok(Json(Imported {
        imported: wuzhi_app::cases::categories::store_calendar(&state.app, Caller::Person(&a.actor), &body).await?,
    }))
}

// ---- devices ----

#[derive(Deserialize, ToSchema)]
pub struct DeviceBody {
    pub name: String,
    pub territory_code: String,
}

/// Register a sensor for a territory; the answer holds its signing key, shown once.
#[utoipa::path(post, path = "/api/devices", tag = "cases", request_body = DeviceBody,
    responses((status = 201, body = wuzhi_app::cases::devices::DeviceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register_device(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<DeviceBody>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::cases::devices::DeviceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(wuzhi_app::cases::devices::register(&state.app, &a.actor, &b.name, &b.territory_code).await?),
    ))
}

#[utoipa::path(get, path = "/api/devices", tag = "cases", responses((status = 200, body = Vec<wuzhi_app::cases::devices::DeviceView>), (status = 403, body = ErrorBody)))]
pub async fn list_devices(
    State(state): State<AppState>,
    a: Authed,
) -> ApiResult<Json<Vec<wuzhi_app::cases::devices::DeviceView>>> {
    Ok(Json(wuzhi_app::cases::devices::list(&state.app, &a.actor).await?))
}

#[utoipa::path(delete, path = "/api/devices/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_device(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    wuzhi_app::cases::devices::revoke(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device reports an event as a case. Headers: `X-Wuzhi-Timestamp` (ms since the epoch)
/// and `X-Wuzhi-Signature: sha256=<hex HMAC-SHA256(key, "{timestamp}.{body}")>`.
#[utoipa::path(post, path = "/api/devices/{id}/events", tag = "cases", params(("id" = i64, Path)), request_body = wuzhi_app::cases::devices::DeviceEvent,
    responses((status = 201, body = wuzhi_app::cases::CaseView), (status = 200, body = wuzhi_app::cases::CaseView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn device_event(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<wuzhi_app::cases::CaseView>)> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (view, created) =
        wuzhi_app::cases::devices::receive(&state.app, id, h("x-wuzhi-timestamp"), h("x-wuzhi-signature"), &body)
            .await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

// ---- attachments ----

#[derive(Deserialize, IntoParams)]
pub struct AttachParams {
    /// The file's name as the uploader knows it.
    pub name: String,
}

/// Attach a photo (JPEG, PNG, WebP) or PDF, at most 10 MB, sent as the raw body with its
/// Content-Type.
#[utoipa::path(post, path = "/api/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path), AttachParams),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = wuzhi_app::attachments::AttachmentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn upload_attachment(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<AttachParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<wuzhi_app::attachments::AttachmentView>)> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let v = wuzhi_app::attachments::upload(&state.app, &a.actor, id, &p.name, declared, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<wuzhi_app::attachments::AttachmentView>), (status = 403, body = ErrorBody)))]
pub async fn list_attachments(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<wuzhi_app::attachments::AttachmentView>>> {
    Ok(Json(wuzhi_app::attachments::list(&state.app, &a.actor, id).await?))
}

/// The file itself, for those who may read its case.
#[utoipa::path(get, path = "/api/attachments/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_attachment(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Response> {
    let (content_type, name, bytes) = wuzhi_app::attachments::download(&state.app, &a.actor, id).await?;
    let disposition = format!("inline; filename*=UTF-8''{}", percent_encode(&name));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 encoding of a file name for Content-Disposition.
pub(super) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
pub struct CaseExportParams {
    /// csv, xlsx or geojson
    pub format: String,
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<bool>,
}

/// Export in the background every case the caller may see that matches (up to a million,
/// no personal data): answers at once with the job; follow it at `GET /api/jobs/{id}`, and
/// fetch the file from its result's `url` (`GET /api/jobs/{id}/file`). One export per person
/// at a time: asking again for the same gives the one under way, for another is a conflict.
#[utoipa::path(post, path = "/api/cases/exports", tag = "cases", request_body = wuzhi_app::cases::ExportRequest,
    responses((status = 202, body = wuzhi_app::jobs::JobView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn queue_export(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<wuzhi_app::cases::ExportRequest>,
) -> ApiResult<(StatusCode, Json<wuzhi_app::jobs::JobView>)> {
    Ok((StatusCode::ACCEPTED, Json(wuzhi_app::cases::queue_export(&state.app, &a.actor, &r).await?)))
}

/// The cases the caller may see, as CSV, Excel or GeoJSON points (no personal data), up to
/// 10,000; more are exported in the background (`POST /api/cases/exports`).
#[utoipa::path(get, path = "/api/cases/export", tag = "cases", params(CaseExportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)))]
pub async fn export_cases(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<CaseExportParams>,
) -> ApiResult<Response> {
    let q = wuzhi_app::cases::ListQuery {
        status: p.status.filter(|s| !s.is_empty()),
        category: p.category.filter(|s| !s.is_empty()),
        overdue: p.overdue,
        before: None,
        limit: None,
        ..Default::default()
    };
    let (content_type, bytes) = wuzhi_app::cases::export(&state.app, &a.actor, &q, &p.format).await?;
    let ext = match p.format.as_str() {
        "geojson" => "geojson",
        f => f,
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"cases.{ext}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(serde::Serialize, ToSchema)]
pub struct CaseImportReport {
    pub imported: usize,
    /// Rows whose external_id was imported before.
    pub skipped: usize,
}

/// Import historical cases from a CSV body, all or nothing (city administrators).
#[utoipa::path(post, path = "/api/cases/import", tag = "cases", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CaseImportReport), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_cases(State(state): State<AppState>, a: Authed, body: String) -> ApiResult<Json<CaseImportReport>> {
    let (imported, skipped) = wuzhi_app::cases::import_csv(&state.app, Caller::Person(&a.actor), &body).await?;
    Ok(Json(CaseImportReport { imported, skipped }))
}

/// The case hub's routes. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The routes that take files.
        .merge(large(
            OpenApiRouter::new()
                .routes(routes!(import_cases))
                .routes(routes!(import_categories))
                .routes(routes!(upload_attachment, list_attachments)),
        ))
        .routes(routes!(report_case, list_cases))
        .routes(routes!(export_cases))
        .routes(routes!(queue_export))
        .routes(routes!(get_case))
        .routes(routes!(case_action))
        .routes(routes!(list_categories))
        .routes(routes!(replace_calendar))
        .routes(routes!(register_device, list_devices))
        .routes(routes!(revoke_device))
        .routes(routes!(device_event))
        .routes(routes!(download_attachment))
}
