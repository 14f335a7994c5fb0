//! Handlers of the base archives (房车人物): imports, reads through the classification rule
//! (a clear read needs a purpose and is audited), field updates with history, links from
//! cases, map layers, a person's own view and their correction and deletion requests.
//! Identity numbers travel only in request bodies, never in URLs (which logs keep).

use super::*;
use wuzhi_app::archives::import::ImportReport as ArchiveImport;
use wuzhi_app::archives::requests::RequestView;
use wuzhi_app::archives::{
    self as archives, BuildingPage, ChangeView, ComponentView, Found, HouseholdView, Linked, MyRecord, PersonChanges,
    PersonView as ArchivePerson,
};
use wuzhi_domain::archives::fields::{FIELDS, Field, Purpose};

#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// buildings, houses, people, vehicles, components or businesses
    pub kind: String,
    /// csv (default) or xlsx
    pub format: Option<String>,
    /// Check every row and write nothing (a preview).
    pub dry_run: Option<bool>,
}

/// Imports archives from a CSV or xlsx file, all or nothing; every bad row is named with its
/// line and field.
#[utoipa::path(post, path = "/api/archives/import", tag = "archives", params(ImportParams),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 200, body = ArchiveImport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ArchiveImport>> {
    let table = archives::import::read_table(&body, p.format.as_deref().unwrap_or("csv"))?;
    Ok(Json(
        archives::import::import(&state.app, Caller::Person(&a.actor), &p.kind, &table, p.dry_run.unwrap_or(false))
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct PurposeParams {
    /// Why the data is read in clear: `reason`, or a kind of work item (`case`).
    pub purpose_kind: Option<String>,
    /// The reason in words, or the work item's id.
    pub purpose: Option<String>,
}

fn purpose(kind: Option<&str>, value: Option<&str>) -> Result<Option<Purpose>, AppError> {
    match (kind.filter(|k| !k.is_empty()), value.filter(|v| !v.is_empty())) {
        (None, None) => Ok(None),
        (Some(k), Some(v)) => Ok(Some(Purpose::parse(k, v)?)),
        (None, Some(_)) => Err(AppError::invalid("purpose_kind", "is required with a purpose")),
        (Some(_), None) => Err(AppError::invalid("purpose", "is required with a purpose_kind")),
    }
}

/// One person: masked; with a purpose, in clear as far as the caller's posts allow (audited).
#[utoipa::path(get, path = "/api/archives/people/{id}", tag = "archives", params(("id" = i64, Path), PurposeParams),
    responses((status = 200, body = ArchivePerson), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn person(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<PurposeParams>,
) -> ApiResult<Json<ArchivePerson>> {
    let purpose = purpose(p.purpose_kind.as_deref(), p.purpose.as_deref())?;
    Ok(Json(archives::person(&state.app, &a.actor, id, purpose.as_ref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct LookupBody {
    pub id_number: String,
    pub purpose_kind: Option<String>,
    pub purpose: Option<String>,
}

/// The person with an identity number (found through its keyed hash).
#[utoipa::path(post, path = "/api/archives/lookup", tag = "archives", request_body = LookupBody,
    responses((status = 200, body = ArchivePerson), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<LookupBody>,
) -> ApiResult<Json<ArchivePerson>> {
    let purpose = purpose(b.purpose_kind.as_deref(), b.purpose.as_deref())?;
    Ok(Json(archives::lookup(&state.app, &a.actor, &b.id_number, purpose.as_ref()).await?))
}

/// Updates a person from the field; each change goes to the record's history.
#[utoipa::path(patch, path = "/api/archives/people/{id}", tag = "archives", params(("id" = i64, Path)), request_body = PersonChanges,
    responses((status = 200, body = ArchivePerson), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_person(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<PersonChanges>,
) -> ApiResult<Json<ArchivePerson>> {
    Ok(Json(archives::update_person(&state.app, &a.actor, id, &c).await?))
}

/// A grid's households with their care tags, masked.
#[utoipa::path(get, path = "/api/archives/grids/{code}/households", tag = "archives", params(("code" = String, Path)),
    responses((status = 200, body = Vec<HouseholdView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn households(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<HouseholdView>>> {
    Ok(Json(archives::grid_households(&state.app, &a.actor, &code).await?))
}

/// A grid's people as CSV, masked (an export is audited).
#[utoipa::path(get, path = "/api/archives/grids/{code}/export", tag = "archives", params(("code" = String, Path)),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 403, body = ErrorBody)))]
pub async fn export_grid(State(state): State<AppState>, a: Authed, Path(code): Path<String>) -> ApiResult<Response> {
    let csv = archives::export_grid(&state.app, &a.actor, &code).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"people.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// A building with its houses, households and the open cases that name it.
#[utoipa::path(get, path = "/api/archives/buildings/{id}", tag = "archives", params(("id" = i64, Path)),
    responses((status = 200, body = BuildingPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn building(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<BuildingPage>> {
    Ok(Json(archives::building(&state.app, &a.actor, id).await?))
}

/// A city component (部件) with its owner unit.
#[utoipa::path(get, path = "/api/archives/components/{id}", tag = "archives", params(("id" = i64, Path)),
    responses((status = 200, body = ComponentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn component(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<ComponentView>> {
    Ok(Json(archives::component(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ComponentChange {
    pub version: i64,
    /// normal, damaged, missing or removed (完好/破损/丢失/已拆除)
    pub state: String,
}

/// A component's state from the field.
#[utoipa::path(patch, path = "/api/archives/components/{id}", tag = "archives", params(("id" = i64, Path)), request_body = ComponentChange,
    responses((status = 200, body = ComponentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_component(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<ComponentChange>,
) -> ApiResult<Json<ComponentView>> {
    Ok(Json(archives::update_component(&state.app, &a.actor, id, c.version, &c.state).await?))
}

/// A record's history: who changed which field when, old → new (masked).
#[utoipa::path(get, path = "/api/archives/history/{record}/{id}", tag = "archives", params(("record" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<ChangeView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    a: Authed,
    Path((record, id)): Path<(String, i64)>,
) -> ApiResult<Json<Vec<ChangeView>>> {
    Ok(Json(archives::history(&state.app, &a.actor, &record, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchParams {
    /// The start of a name, or part of an address.
    pub q: String,
}

/// People and buildings in the caller's archives, masked.
#[utoipa::path(get, path = "/api/archives/search", tag = "archives", params(SearchParams),
    responses((status = 200, body = Found), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<Found>> {
    Ok(Json(archives::search(&state.app, &a.actor, &p.q).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct LayerParams {
    pub limit: Option<i64>,
}

/// A map layer as GeoJSON: `buildings` (with care-tagged residents and open cases) or `components`.
#[utoipa::path(get, path = "/api/archives/layers/{layer}", tag = "archives", params(("layer" = String, Path), LayerParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn layer(
    State(state): State<AppState>,
    a: Authed,
    Path(layer): Path<String>,
    ApiQuery(p): ApiQuery<LayerParams>,
) -> ApiResult<Response> {
    let v = archives::layer(&state.app, &a.actor, &layer, p.limit).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], v.to_string()).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct LinkBody {
    /// building, component or person
    pub record: String,
    pub record_id: i64,
}

/// Names a record of the archives on a case (a component's owner unit is offered for dispatch).
#[utoipa::path(post, path = "/api/archives/cases/{id}/links", tag = "archives", params(("id" = i64, Path)), request_body = LinkBody,
    responses((status = 200, body = Linked), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn link_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<LinkBody>,
) -> ApiResult<Json<Linked>> {
    Ok(Json(archives::link_case(&state.app, &a.actor, id, &b.record, b.record_id).await?))
}

/// The records a case names.
#[utoipa::path(get, path = "/api/archives/cases/{id}/links", tag = "archives", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Linked>), (status = 404, body = ErrorBody)))]
pub async fn case_links(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<Vec<Linked>>> {
    Ok(Json(archives::links_of_case(&state.app, &a.actor, id).await?))
}

/// The field classification table: each field's class, whether it is sealed, how it is masked.
#[utoipa::path(get, path = "/api/archives/fields", tag = "archives",
    responses((status = 200, body = [Object]), (status = 401, body = ErrorBody)))]
pub async fn fields(_a: Authed) -> Json<&'static [Field]> {
    Json(FIELDS)
}

/// What the archives hold about the signed-in person, and who read it in clear, when, why.
#[utoipa::path(get, path = "/api/me/archives", tag = "archives",
    responses((status = 200, body = Vec<MyRecord>), (status = 401, body = ErrorBody)))]
pub async fn mine(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<MyRecord>>> {
    Ok(Json(archives::mine(&state.app, &a.actor).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ClaimBody {
    pub id_number: String,
}

/// Links the signed-in person to their record: their identity number, and the phone of their
/// account must be the record's.
#[utoipa::path(post, path = "/api/me/archives/claim", tag = "archives", request_body = ClaimBody,
    responses((status = 200, body = ArchivePerson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<ClaimBody>,
) -> ApiResult<Json<ArchivePerson>> {
    Ok(Json(archives::claim(&state.app, &a.actor, &b.id_number).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewRequest {
    pub archive_person_id: i64,
    /// correction or deletion
    pub kind: String,
    /// For a correction: the field that is wrong.
    pub field: Option<String>,
    /// What is wrong and what it should say, or why the record should go.
    pub detail: String,
}

/// Asks for one's record to be corrected or deleted (answered within 15 working days).
#[utoipa::path(post, path = "/api/archives/requests", tag = "archives", request_body = NewRequest,
    responses((status = 200, body = RequestView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn submit_request(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewRequest>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(
        archives::requests::submit(&state.app, &a.actor, b.archive_person_id, &b.kind, b.field.as_deref(), &b.detail)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct RequestListParams {
    pub open: Option<bool>,
}

/// One's own requests and, for staff who handle them, those of their territory.
#[utoipa::path(get, path = "/api/archives/requests", tag = "archives", params(RequestListParams),
    responses((status = 200, body = Vec<RequestView>), (status = 401, body = ErrorBody)))]
pub async fn requests(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<RequestListParams>,
) -> ApiResult<Json<Vec<RequestView>>> {
    Ok(Json(archives::requests::list(&state.app, &a.actor, p.open.unwrap_or(false)).await?))
}

/// One request with its timeline and what the caller may do now.
#[utoipa::path(get, path = "/api/archives/requests/{id}", tag = "archives", params(("id" = i64, Path)),
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)))]
pub async fn request(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<RequestView>> {
    Ok(Json(archives::requests::get(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RequestDecision {
    pub version: i64,
    /// What was done (answer), or why not (refuse).
    pub text: String,
}

/// Answers (`answer`: done; a deletion erases the record) or refuses (`refuse`) a request.
#[utoipa::path(post, path = "/api/archives/requests/{id}/{action}", tag = "archives",
    params(("id" = i64, Path), ("action" = String, Path)), request_body = RequestDecision,
    responses((status = 200, body = RequestView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide_request(
    State(state): State<AppState>,
    a: Authed,
    Path((id, action)): Path<(i64, String)>,
    ApiJson(b): ApiJson<RequestDecision>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(archives::requests::decide(&state.app, &a.actor, id, b.version, &action, &b.text).await?))
}

/// The archives' routes. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(large(OpenApiRouter::new().routes(routes!(import))))
        .routes(routes!(person, update_person))
        .routes(routes!(lookup))
        .routes(routes!(households))
        .routes(routes!(export_grid))
        .routes(routes!(building))
        .routes(routes!(component, update_component))
        .routes(routes!(history))
        .routes(routes!(search))
        .routes(routes!(layer))
        .routes(routes!(link_case, case_links))
        .routes(routes!(fields))
        .routes(routes!(mine))
        .routes(routes!(claim))
        .routes(routes!(submit_request, requests))
        .routes(routes!(request))
        .routes(routes!(decide_request))
}
