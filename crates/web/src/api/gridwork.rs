//! Handlers of grid work (网格工作): the people of a grid and their rosters, patrol plans and
//! patrols with their tracks and findings, quick records, household visits, key tasks with
//! their shares and roll-ups, and the outcome indicators. Writes from the phone carry an
//! idempotency key or a sequence number, so the offline queue may send them again; a write
//! that created something answers 201, its replay 200.

use super::*;
use wuzhi_app::cases::{CaseView, NewCase};
use wuzhi_app::gridwork::indicators::{self, IndicatorsView};
use wuzhi_app::gridwork::tasks::{self, NewTask, RollupView, ShareCommand, ShareView, TaskView};
use wuzhi_app::gridwork::{
    self as gridwork, DutyView, EndPatrol, GridCoverage, MemberView, MyWeek, NewDuty, NewMember, NewNote, NewPlan,
    NewVisit, NoteView, PatrolView, PlanView, PlannedVisit, ReviewNote, Roster, RuleView, RulesView, StartPatrol,
    TrackPoint, TrackStored, TrackUpload, VisitView,
};

fn created<T>(view: T, created: bool) -> (StatusCode, Json<T>) {
    (if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view))
}

/// A territory and a period of whole days (default: the 30 days ending today).
#[derive(Deserialize, IntoParams)]
pub struct PeriodParams {
    /// A territory code (a grid, community, street, district or the city).
    pub territory: String,
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    pub to: Option<String>,
}

fn period(state: &AppState, from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), AppError> {
    let (from, to, _, _) = wuzhi_app::kpi::day_period(state.app.now_ms(), from, to)?;
    Ok((from, to))
}

// ---- people of the grid ----

/// Registers someone as working in a grid: a steward (小巷管家) with their team, a
/// volunteer, a grid worker, a building head, a community police officer.
#[utoipa::path(post, path = "/api/gridwork/members", tag = "gridwork", request_body = NewMember,
    responses((status = 201, body = MemberView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn register_member(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    Ok((StatusCode::CREATED, Json(gridwork::register_member(&state.app, &a.actor, &b).await?)))
}

/// Ends a membership (kept in the record with its end date).
#[utoipa::path(delete, path = "/api/gridwork/members/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_member(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    gridwork::end_member(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct RosterParams {
    /// First day, YYYY-MM-DD (default: today).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: a week from `from`).
    pub to: Option<String>,
}

/// The people of a territory's grids, their duties in a period and who is on duty now.
#[utoipa::path(get, path = "/api/gridwork/roster/{code}", tag = "gridwork", params(("code" = String, Path), RosterParams),
    responses((status = 200, body = Roster), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn roster(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<RosterParams>,
) -> ApiResult<Json<Roster>> {
    let day = |d: Option<&str>| -> Result<Option<(i64, i64)>, AppError> {
        d.filter(|s| !s.is_empty()).map(|d| period(&state, Some(d), Some(d))).transpose()
    };
    let from = day(p.from.as_deref())?.map(|d| d.0);
    let to = day(p.to.as_deref())?.map(|d| d.1);
    Ok(Json(gridwork::roster(&state.app, &a.actor, &code, from, to).await?))
}

/// Puts a member of the grid on its roster (at most 24 hours a duty).
#[utoipa::path(post, path = "/api/gridwork/duties", tag = "gridwork", request_body = NewDuty,
    responses((status = 201, body = DutyView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_duty(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewDuty>,
) -> ApiResult<(StatusCode, Json<DutyView>)> {
    Ok((StatusCode::CREATED, Json(gridwork::add_duty(&state.app, &a.actor, &b).await?)))
}

#[utoipa::path(delete, path = "/api/gridwork/duties/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_duty(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    gridwork::remove_duty(&state.app, &a.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the caller did in a week (default: the last seven days): for their own page, not
/// for a ranking.
#[utoipa::path(get, path = "/api/gridwork/me/week", tag = "gridwork", params(RosterParams),
    responses((status = 200, body = MyWeek), (status = 400, body = ErrorBody)))]
pub async fn my_week(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<RosterParams>,
) -> ApiResult<Json<MyWeek>> {
    let from = match p.from.as_deref().filter(|s| !s.is_empty()) {
        Some(f) => Some(period(&state, Some(f), Some(f))?.0),
        None => None,
    };
    Ok(Json(gridwork::my_week(&state.app, &a.actor, from).await?))
}

// ---- patrols ----

/// Adds a patrol plan to a grid: its places, an optional route (a GeoJSON LineString) and
/// how often it is walked.
#[utoipa::path(post, path = "/api/gridwork/plans", tag = "gridwork", request_body = NewPlan,
    responses((status = 201, body = PlanView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_plan(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewPlan>,
) -> ApiResult<(StatusCode, Json<PlanView>)> {
    Ok((StatusCode::CREATED, Json(gridwork::add_plan(&state.app, &a.actor, &b).await?)))
}

/// The patrol plans of a territory's grids.
#[utoipa::path(get, path = "/api/gridwork/plans/{code}", tag = "gridwork", params(("code" = String, Path)),
    responses((status = 200, body = Vec<PlanView>), (status = 403, body = ErrorBody)))]
pub async fn plans(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<PlanView>>> {
    Ok(Json(gridwork::plans(&state.app, &a.actor, &code).await?))
}

/// Starts a patrol in a grid the caller works in (one at a time). A repeated
/// `idempotency_key` returns the patrol it started, with status 200.
#[utoipa::path(post, path = "/api/gridwork/patrols", tag = "gridwork", request_body = StartPatrol,
    responses((status = 201, body = PatrolView), (status = 200, body = PatrolView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start_patrol(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<StartPatrol>,
) -> ApiResult<(StatusCode, Json<PatrolView>)> {
    let (v, c) = gridwork::start_patrol(&state.app, &a.actor, &b).await?;
    Ok(created(v, c))
}

/// Patrols in a territory and period, newest first: when, where, what was found.
#[utoipa::path(get, path = "/api/gridwork/patrols", tag = "gridwork", params(PeriodParams),
    responses((status = 200, body = Vec<PatrolView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn patrols(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> ApiResult<Json<Vec<PatrolView>>> {
    let (from, to) = period(&state, p.from.as_deref(), p.to.as_deref())?;
    Ok(Json(gridwork::patrols(&state.app, &a.actor, &p.territory, from, to).await?))
}

/// The caller's patrol under way, or null.
#[utoipa::path(get, path = "/api/gridwork/patrols/running", tag = "gridwork",
    responses((status = 200, body = Option<PatrolView>)))]
pub async fn my_running(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Option<PatrolView>>> {
    Ok(Json(gridwork::my_running(&state.app, &a.actor).await?))
}

/// One patrol with its findings (its walker and the grid's readers).
#[utoipa::path(get, path = "/api/gridwork/patrols/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, body = PatrolView), (status = 404, body = ErrorBody)))]
pub async fn patrol(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<PatrolView>> {
    Ok(Json(gridwork::patrol(&state.app, &a.actor, id).await?))
}

/// Adds track points to the caller's own patrol. `seq` is the phone's count of its uploads:
/// an upload sent twice is stored once.
#[utoipa::path(post, path = "/api/gridwork/patrols/{id}/track", tag = "gridwork", params(("id" = i64, Path)), request_body = TrackUpload,
    responses((status = 200, body = TrackStored), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_track(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TrackUpload>,
) -> ApiResult<Json<TrackStored>> {
    Ok(Json(gridwork::add_track(&state.app, &a.actor, id, &b).await?))
}

/// A patrol's track: for its walker and the grid's supervisors only (audited), and only for
/// 30 days.
#[utoipa::path(get, path = "/api/gridwork/patrols/{id}/track", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TrackPoint>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn track(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<Vec<TrackPoint>>> {
    Ok(Json(gridwork::track_of(&state.app, &a.actor, id).await?))
}

/// Ends the caller's own patrol (again: nothing changes).
#[utoipa::path(post, path = "/api/gridwork/patrols/{id}/end", tag = "gridwork", params(("id" = i64, Path)), request_body = EndPatrol,
    responses((status = 200, body = PatrolView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_patrol(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<EndPatrol>,
) -> ApiResult<Json<PatrolView>> {
    Ok(Json(gridwork::end_patrol(&state.app, &a.actor, id, &b).await?))
}

/// Reports a finding of the patrol as a case (channel `grid`; with `fixed_on_spot`, closed
/// at once when the caller may). A repeated `idempotency_key` returns the same case, 200.
#[utoipa::path(post, path = "/api/gridwork/patrols/{id}/findings", tag = "gridwork", params(("id" = i64, Path)), request_body = NewCase,
    responses((status = 201, body = CaseView), (status = 200, body = CaseView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report_finding(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NewCase>,
) -> ApiResult<(StatusCode, Json<CaseView>)> {
    let (v, c) = gridwork::report_finding(&state.app, &a.actor, id, b).await?;
    Ok(created(v, c))
}

/// Per grid of a territory: patrols walked, days patrolled, findings, in a period.
#[utoipa::path(get, path = "/api/gridwork/coverage", tag = "gridwork", params(PeriodParams),
    responses((status = 200, body = Vec<GridCoverage>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn coverage(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> ApiResult<Json<Vec<GridCoverage>>> {
    let (from, to) = period(&state, p.from.as_deref(), p.to.as_deref())?;
    Ok(Json(gridwork::coverage(&state.app, &a.actor, &p.territory, from, to).await?))
}

// ---- quick records ----

/// Records a worry, hazard or need seen in the grid (随手记). A repeated `idempotency_key`
/// returns the note it made, 200.
#[utoipa::path(post, path = "/api/gridwork/notes", tag = "gridwork", request_body = NewNote,
    responses((status = 201, body = NoteView), (status = 200, body = NoteView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_note(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewNote>,
) -> ApiResult<(StatusCode, Json<NoteView>)> {
    let (v, c) = gridwork::add_note(&state.app, &a.actor, &b).await?;
    Ok(created(v, c))
}

#[derive(Deserialize, IntoParams)]
pub struct NoteParams {
    /// Only inside this territory (its supervisors see every note, others their own).
    pub territory: Option<String>,
    /// Only the notes nobody has reviewed.
    pub open: Option<bool>,
}

/// Notes: all of a territory for its supervisors, one's own otherwise.
#[utoipa::path(get, path = "/api/gridwork/notes", tag = "gridwork", params(NoteParams),
    responses((status = 200, body = Vec<NoteView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn notes(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<NoteParams>,
) -> ApiResult<Json<Vec<NoteView>>> {
    let code = p.territory.filter(|s| !s.is_empty());
    Ok(Json(gridwork::notes(&state.app, &a.actor, code.as_deref(), p.open.unwrap_or(false)).await?))
}

/// Reviews a note (`reviewed`) or turns it into a case (`case`).
#[utoipa::path(post, path = "/api/gridwork/notes/{id}/review", tag = "gridwork", params(("id" = i64, Path)), request_body = ReviewNote,
    responses((status = 200, body = NoteView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_note(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReviewNote>,
) -> ApiResult<Json<NoteView>> {
    Ok(Json(gridwork::review_note(&state.app, &a.actor, id, &b).await?))
}

// ---- household visits ----

/// The visit rules a territory follows (its own or the nearest above it, else the
/// defaults).
#[utoipa::path(get, path = "/api/gridwork/rules/{code}", tag = "gridwork", params(("code" = String, Path)),
    responses((status = 200, body = RulesView), (status = 403, body = ErrorBody)))]
pub async fn rules(State(state): State<AppState>, a: Authed, Path(code): Path<String>) -> ApiResult<Json<RulesView>> {
    Ok(Json(gridwork::rules(&state.app, &a.actor, &code).await?))
}

/// Replaces a territory's visit rules (care groups only; special groups are refused).
#[utoipa::path(put, path = "/api/gridwork/rules/{code}", tag = "gridwork", params(("code" = String, Path)), request_body = Vec<RuleView>,
    responses((status = 200, body = RulesView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_rules(
    State(state): State<AppState>,
    a: Authed,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<Vec<RuleView>>,
) -> ApiResult<Json<RulesView>> {
    Ok(Json(gridwork::set_rules(&state.app, &a.actor, &code, &b).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct VisitPlanParams {
    /// A grid or a community.
    pub territory: String,
    /// Only the households whose visit is due.
    pub overdue: Option<bool>,
}

/// The households to visit, soonest due first, from the archives' care groups and the rules.
#[utoipa::path(get, path = "/api/gridwork/visit-plan", tag = "gridwork", params(VisitPlanParams),
    responses((status = 200, body = Vec<PlannedVisit>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn visit_plan(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<VisitPlanParams>,
) -> ApiResult<Json<Vec<PlannedVisit>>> {
    Ok(Json(gridwork::visit_plan(&state.app, &a.actor, &p.territory, p.overdue.unwrap_or(false)).await?))
}

/// Logs a visit; what it learnt updates the archives in the same transaction, and needs with
/// `raise_case` become a case. A repeated `idempotency_key` returns the visit, 200.
#[utoipa::path(post, path = "/api/gridwork/visits", tag = "gridwork", request_body = NewVisit,
    responses((status = 201, body = VisitView), (status = 200, body = VisitView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn log_visit(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewVisit>,
) -> ApiResult<(StatusCode, Json<VisitView>)> {
    let (v, c) = gridwork::log_visit(&state.app, &a.actor, &b).await?;
    Ok(created(v, c))
}

#[utoipa::path(get, path = "/api/gridwork/visits/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, body = VisitView), (status = 404, body = ErrorBody)))]
pub async fn visit(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<VisitView>> {
    Ok(Json(gridwork::visit(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct PhotoParams {
    /// The household agreed to the photo (required).
    pub consent: Option<bool>,
}

/// Attaches a photo (JPEG, PNG, WebP; at most 10 MB, the raw body) to the caller's own
/// visit, taken with the household's consent.
#[utoipa::path(post, path = "/api/gridwork/visits/{id}/photo", tag = "gridwork", params(("id" = i64, Path), PhotoParams),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = VisitView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn visit_photo(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<PhotoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<VisitView>> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    Ok(Json(
        gridwork::visit_photo(&state.app, &a.actor, id, p.consent.unwrap_or(false), declared, body.to_vec()).await?,
    ))
}

/// A visit's photo, for its visitor and the grid's supervisors.
#[utoipa::path(get, path = "/api/gridwork/visits/{id}/photo", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn visit_photo_file(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Response> {
    let (content_type, bytes) = gridwork::visit_photo_bytes(&state.app, &a.actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// A household's visits, newest first (the household's key is `{house id}:{household}`).
#[utoipa::path(get, path = "/api/gridwork/households/{key}/visits", tag = "gridwork", params(("key" = String, Path)),
    responses((status = 200, body = Vec<VisitView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn household_visits(
    State(state): State<AppState>,
    a: Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<VisitView>>> {
    Ok(Json(gridwork::household_visits(&state.app, &a.actor, &key).await?))
}

// ---- key tasks ----

/// Sends a key task (重点工作) down to every community or grid of a territory, each share
/// owned by its community, with a checklist and a deadline.
#[utoipa::path(post, path = "/api/gridwork/tasks", tag = "gridwork", request_body = NewTask,
    responses((status = 201, body = TaskView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    Ok((StatusCode::CREATED, Json(tasks::create(&state.app, &a.actor, &b).await?)))
}

/// The key tasks that reach the caller's territories.
#[utoipa::path(get, path = "/api/gridwork/tasks", tag = "gridwork", responses((status = 200, body = Vec<TaskView>)))]
pub async fn list_tasks(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<TaskView>>> {
    Ok(Json(tasks::list(&state.app, &a.actor).await?))
}

#[utoipa::path(get, path = "/api/gridwork/tasks/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody)))]
pub async fn task(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<TaskView>> {
    Ok(Json(tasks::get(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct UnderParams {
    /// A territory inside the task's (default: all the caller sees of it).
    pub under: Option<String>,
}

/// A task's progress summed for a territory and each territory one level below.
#[utoipa::path(get, path = "/api/gridwork/tasks/{id}/rollup", tag = "gridwork", params(("id" = i64, Path), UnderParams),
    responses((status = 200, body = RollupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rollup(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<UnderParams>,
) -> ApiResult<Json<RollupView>> {
    let under = p.under.filter(|s| !s.is_empty());
    Ok(Json(tasks::rollup(&state.app, &a.actor, id, under.as_deref()).await?))
}

/// A task's shares under a territory.
#[utoipa::path(get, path = "/api/gridwork/tasks/{id}/shares", tag = "gridwork", params(("id" = i64, Path), UnderParams),
    responses((status = 200, body = Vec<ShareView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn task_shares(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<UnderParams>,
) -> ApiResult<Json<Vec<ShareView>>> {
    let under = p.under.filter(|s| !s.is_empty());
    Ok(Json(tasks::shares(&state.app, &a.actor, id, under.as_deref()).await?))
}

/// The open shares the caller's communities and grids must carry out.
#[utoipa::path(get, path = "/api/gridwork/shares/mine", tag = "gridwork", responses((status = 200, body = Vec<ShareView>)))]
pub async fn my_shares(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Vec<ShareView>>> {
    Ok(Json(tasks::my_shares(&state.app, &a.actor).await?))
}

/// One share with its checklist, timeline and the steps the caller may take.
#[utoipa::path(get, path = "/api/gridwork/shares/{id}", tag = "gridwork", params(("id" = i64, Path)),
    responses((status = 200, body = ShareView), (status = 404, body = ErrorBody)))]
pub async fn share(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<ShareView>> {
    Ok(Json(tasks::share(&state.app, &a.actor, id).await?))
}

/// One step on a share under its version: `progress` (an item `checked` or
/// `not_applicable`), `complete`, or `return` (the sending unit).
#[derive(Deserialize, ToSchema)]
pub struct ShareStep {
    /// The share's version as last read; a stale one is refused with 409.
    pub version: i64,
    #[serde(flatten)]
    pub command: ShareCommand,
}

#[utoipa::path(post, path = "/api/gridwork/shares/{id}/actions", tag = "gridwork", params(("id" = i64, Path)), request_body = ShareStep,
    responses((status = 200, body = ShareView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn share_action(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ShareStep>,
) -> ApiResult<Json<ShareView>> {
    Ok(Json(tasks::act(&state.app, &a.actor, id, b.version, &b.command).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct ItemParams {
    /// The checklist item (0, 1, …) the problem was found on.
    pub item: usize,
}

/// Turns a problem found on a checklist item into a case, counted on the share. A repeated
/// `idempotency_key` returns the case it made.
#[utoipa::path(post, path = "/api/gridwork/shares/{id}/cases", tag = "gridwork", params(("id" = i64, Path), ItemParams), request_body = NewCase,
    responses((status = 200, body = CaseView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn share_case(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<ItemParams>,
    ApiJson(b): ApiJson<NewCase>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(tasks::share_case(&state.app, &a.actor, id, p.item, b).await?))
}

// ---- indicators ----

/// Grid work's outcomes in a territory and period: patrol coverage, problems found and fixed
/// on the spot, households due and visited, key-task shares on time. No one's ranking.
#[utoipa::path(get, path = "/api/gridwork/indicators", tag = "gridwork", params(PeriodParams),
    responses((status = 200, body = IndicatorsView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn indicators_of(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> ApiResult<Json<IndicatorsView>> {
    let (from, to) = period(&state, p.from.as_deref(), p.to.as_deref())?;
    Ok(Json(indicators::indicators(&state.app, &a.actor, &p.territory, from, to).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct BreakdownParams {
    pub territory: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// json (default) or csv
    pub format: Option<String>,
}

/// The same indicators for each territory one level below, aggregated; also as CSV.
#[utoipa::path(get, path = "/api/gridwork/indicators/breakdown", tag = "gridwork", params(BreakdownParams),
    responses((status = 200, body = Vec<IndicatorsView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn breakdown(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<BreakdownParams>,
) -> ApiResult<Response> {
    let (from, to) = period(&state, p.from.as_deref(), p.to.as_deref())?;
    match p.format.as_deref().filter(|s| !s.is_empty()).unwrap_or("json") {
        "json" => Ok(Json(indicators::breakdown(&state.app, &a.actor, &p.territory, from, to).await?).into_response()),
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"gridwork.csv\""),
            ],
            indicators::breakdown_csv(&state.app, &a.actor, &p.territory, from, to).await?,
        )
            .into_response()),
        other => Err(AppError::invalid("format", format!("`{other}` is not json or csv")).into()),
    }
}

/// Grid work's routes. Each route is declared here once, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(large(OpenApiRouter::new().routes(routes!(visit_photo, visit_photo_file))))
        .routes(routes!(register_member))
        .routes(routes!(end_member))
        .routes(routes!(roster))
        .routes(routes!(add_duty))
        .routes(routes!(remove_duty))
        .routes(routes!(my_week))
        .routes(routes!(add_plan))
        .routes(routes!(plans))
        .routes(routes!(start_patrol, patrols))
        .routes(routes!(my_running))
        .routes(routes!(patrol))
        .routes(routes!(add_track, track))
        .routes(routes!(end_patrol))
        .routes(routes!(report_finding))
        .routes(routes!(coverage))
        .routes(routes!(add_note, notes))
        .routes(routes!(review_note))
        .routes(routes!(rules, set_rules))
        .routes(routes!(visit_plan))
        .routes(routes!(log_visit))
        .routes(routes!(visit))
        .routes(routes!(household_visits))
        .routes(routes!(create_task, list_tasks))
        .routes(routes!(task))
        .routes(routes!(rollup))
        .routes(routes!(task_shares))
        .routes(routes!(my_shares))
        .routes(routes!(share))
        .routes(routes!(share_action))
        .routes(routes!(share_case))
        .routes(routes!(indicators_of))
        .routes(routes!(breakdown))
}
