//! Handlers of the rule of virtue (德治): the points ledger (积分制) — one's account and
//! statement, the territory's earning rules, awards, deductions with the right to object,
//! decisions, corrections, and the points shop — and volunteer service (志愿服务):
//! registration, activities, sign-ups, attendance confirmed by the organiser, records and
//! certificates anyone can check.

use super::*;
use wuzhi_app::virtue::campaigns::{
    self as campaigns, Answer, CampaignQuery, CampaignView, Consent, Honour, HonourQuery, NewCampaign, NewNomination,
    NewObjection, Review, Vote,
};
use wuzhi_app::virtue::party::{self, MyParty, PartyReport, Registration as PartyRegistration};
use wuzhi_app::virtue::reports::{
    self as official, CommitmentView, NewReport, Progress, Rating, ReportQuery, ReportView, Satisfaction,
};
use wuzhi_app::virtue::volunteers::{
    self as volunteering, ActivityDetail, ActivityQuery, ActivityView, Attendance, AttendanceRecorded,
    CertificateCheck, Closing, NewActivity, Registration, SignupDecision, SignupView, VolunteerRecord, VolunteerView,
};
use wuzhi_app::virtue::wishes::{self, Claim, Confirmation, Fulfilment, NewWish, WishQuery, WishView, WishWithdrawal};
use wuzhi_app::virtue::{
    self as virtue, AccountView, Award, AwardBatch, BatchAwarded, Deduction, ItemView, NewItem, NewRule, RuleView,
    StatementEntry, TransferView,
};

/// One's own points account (null before the first points).
#[utoipa::path(get, path = "/api/points/me", tag = "virtue",
    responses((status = 200, body = Option<AccountView>)))]
pub async fn mine(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Option<AccountView>>> {
    Ok(Json(virtue::mine(&state.app, &a.actor).await?))
}

/// An account: one's own, or one of the territory's for its staff.
#[utoipa::path(get, path = "/api/points/accounts/{id}", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
pub async fn account(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<AccountView>> {
    Ok(Json(virtue::account(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct StatementParams {
    /// Only transfers with a smaller id (the page before).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// An account's statement, newest first: each transfer with what it did to the account.
#[utoipa::path(get, path = "/api/points/accounts/{id}/statement", tag = "virtue", params(("id" = i64, Path), StatementParams),
    responses((status = 200, body = [StatementEntry]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn statement(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<StatementParams>,
) -> ApiResult<Json<Vec<StatementEntry>>> {
    Ok(Json(virtue::statement(&state.app, &a.actor, id, p.before, p.limit).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct TerritoryParam {
    pub territory: String,
}

/// The earning rules that apply inside a territory (its own and those above it).
#[utoipa::path(get, path = "/api/points/rules", tag = "virtue", params(TerritoryParam),
    responses((status = 200, body = [RuleView]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rules(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<TerritoryParam>,
) -> ApiResult<Json<Vec<RuleView>>> {
    Ok(Json(virtue::rules(&state.app, &a.actor, &p.territory).await?))
}

/// A new earning rule of a territory (its staff).
#[utoipa::path(post, path = "/api/points/rules", tag = "virtue", request_body = NewRule,
    responses((status = 201, body = RuleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_rule(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewRule>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    Ok((StatusCode::CREATED, Json(virtue::create_rule(&state.app, &a.actor, b).await?)))
}

/// Awards a rule's points to a resident (pending through the rule's publicity period).
#[utoipa::path(post, path = "/api/points/awards", tag = "virtue", request_body = Award,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn award(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<Award>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    Ok((StatusCode::CREATED, Json(virtue::award(&state.app, &a.actor, b).await?)))
}

/// Awards a rule's points to up to 1,000 residents at once, all or nothing (each refusal
/// names the award by its place: `awards[3].source`).
#[utoipa::path(post, path = "/api/points/awards/batch", tag = "virtue", request_body = AwardBatch,
    responses((status = 201, body = BatchAwarded), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn award_batch(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<AwardBatch>,
) -> ApiResult<(StatusCode, Json<BatchAwarded>)> {
    Ok((StatusCode::CREATED, Json(virtue::award_batch(&state.app, &a.actor, b).await?)))
}

/// Deducts points by a recorded decision: pending for seven days, in which the person may
/// object.
#[utoipa::path(post, path = "/api/points/deductions", tag = "virtue", request_body = Deduction,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deduct(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<Deduction>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    Ok((StatusCode::CREATED, Json(virtue::deduct(&state.app, &a.actor, b).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct Objection {
    pub objection: String,
}

/// The person objects to a pending deduction of their points.
#[utoipa::path(post, path = "/api/points/transfers/{id}/objection", tag = "virtue", params(("id" = i64, Path)), request_body = Objection,
    responses((status = 200, body = TransferView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn object(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Objection>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(virtue::object(&state.app, &a.actor, id, &b.objection).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Settlement {
    /// true: post it (uphold a deduction, end a publicity early); false: void it.
    pub post: bool,
}

/// The territory's staff post or void a pending transfer.
#[utoipa::path(post, path = "/api/points/transfers/{id}/settlement", tag = "virtue", params(("id" = i64, Path)), request_body = Settlement,
    responses((status = 200, body = TransferView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn settle(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Settlement>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(virtue::settle(&state.app, &a.actor, id, b.post).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Reversal {
    pub reason: String,
}

/// Corrects a posted transfer by reversing it (once).
#[utoipa::path(post, path = "/api/points/transfers/{id}/reversal", tag = "virtue", params(("id" = i64, Path)), request_body = Reversal,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reverse(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Reversal>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    Ok((StatusCode::CREATED, Json(virtue::reverse(&state.app, &a.actor, id, &b.reason).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct ItemParams {
    /// A territory's items (its staff); without it, those of one's own community's shop.
    pub territory: Option<String>,
}

/// The points shop's items.
#[utoipa::path(get, path = "/api/points/items", tag = "virtue", params(ItemParams),
    responses((status = 200, body = [ItemView]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn items(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<ItemParams>,
) -> ApiResult<Json<Vec<ItemView>>> {
    Ok(Json(virtue::items(&state.app, &a.actor, p.territory.as_deref()).await?))
}

/// A new item of a territory's points shop (its staff).
#[utoipa::path(post, path = "/api/points/items", tag = "virtue", request_body = NewItem,
    responses((status = 201, body = ItemView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_item(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewItem>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    Ok((StatusCode::CREATED, Json(virtue::create_item(&state.app, &a.actor, b).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct Redemption {
    /// The client's key for this redemption: a retried request counts once.
    pub key: String,
}

/// Spends points on an item of one's community's shop.
#[utoipa::path(post, path = "/api/points/items/{id}/redemptions", tag = "virtue", params(("id" = i64, Path)), request_body = Redemption,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn redeem(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Redemption>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    Ok((StatusCode::CREATED, Json(virtue::redeem(&state.app, &a.actor, id, &b.key).await?)))
}

// ---------------------------------------------------------------------------------------
// Volunteer service

/// One's own volunteer record: verified hours, activities, the certificate's number.
#[utoipa::path(get, path = "/api/volunteers/me", tag = "virtue",
    responses((status = 200, body = VolunteerRecord)))]
pub async fn my_record(State(state): State<AppState>, a: Authed) -> ApiResult<Json<VolunteerRecord>> {
    Ok(Json(volunteering::record(&state.app, &a.actor, a.actor.person_id).await?))
}

/// Registers oneself as a volunteer, or changes one's skills and team.
#[utoipa::path(post, path = "/api/volunteers/me", tag = "virtue", request_body = Registration,
    responses((status = 200, body = VolunteerView), (status = 400, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<Registration>,
) -> ApiResult<Json<VolunteerView>> {
    Ok(Json(volunteering::register(&state.app, &a.actor, b).await?))
}

/// A volunteer's record, for the organisers of their home territory.
#[utoipa::path(get, path = "/api/volunteers/{person_id}", tag = "virtue", params(("person_id" = i64, Path)),
    responses((status = 200, body = VolunteerRecord), (status = 404, body = ErrorBody)))]
pub async fn record(
    State(state): State<AppState>,
    a: Authed,
    Path(person): Path<i64>,
) -> ApiResult<Json<VolunteerRecord>> {
    Ok(Json(volunteering::record(&state.app, &a.actor, person).await?))
}

/// Activities to join, soonest first (by default those of one's home district).
#[utoipa::path(get, path = "/api/volunteer-activities", tag = "virtue", params(ActivityQuery),
    responses((status = 200, body = [ActivityView]), (status = 400, body = ErrorBody)))]
pub async fn activities(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Vec<ActivityView>>> {
    Ok(Json(volunteering::activities(&state.app, &a.actor, q).await?))
}

/// Publishes a volunteer activity of the organiser's territory.
#[utoipa::path(post, path = "/api/volunteer-activities", tag = "virtue", request_body = NewActivity,
    responses((status = 201, body = ActivityView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_activity(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewActivity>,
) -> ApiResult<(StatusCode, Json<ActivityView>)> {
    Ok((StatusCode::CREATED, Json(volunteering::create_activity(&state.app, &a.actor, b).await?)))
}

/// An activity; its organisers also get every sign-up.
#[utoipa::path(get, path = "/api/volunteer-activities/{id}", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = ActivityDetail), (status = 404, body = ErrorBody)))]
pub async fn activity(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<ActivityDetail>> {
    Ok(Json(volunteering::activity(&state.app, &a.actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SignUp {
    /// A word to the organiser.
    #[serde(default)]
    pub note: String,
}

/// Signs up for an activity: a free place at once, or waiting for the organiser's approval.
#[utoipa::path(post, path = "/api/volunteer-activities/{id}/signups", tag = "virtue", params(("id" = i64, Path)), request_body = SignUp,
    responses((status = 201, body = SignupView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sign_up(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SignUp>,
) -> ApiResult<(StatusCode, Json<SignupView>)> {
    Ok((StatusCode::CREATED, Json(volunteering::sign_up(&state.app, &a.actor, id, &b.note).await?)))
}

/// Withdraws one's sign-up before the activity starts.
#[utoipa::path(post, path = "/api/volunteer-activities/{id}/withdrawal", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = SignupView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<SignupView>> {
    Ok(Json(volunteering::withdraw(&state.app, &a.actor, id).await?))
}

/// The organiser accepts or declines a waiting sign-up.
#[utoipa::path(post, path = "/api/volunteer-signups/{id}/decision", tag = "virtue", params(("id" = i64, Path)), request_body = SignupDecision,
    responses((status = 200, body = SignupView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SignupDecision>,
) -> ApiResult<Json<SignupView>> {
    Ok(Json(volunteering::decide(&state.app, &a.actor, id, b).await?))
}

/// The organiser confirms at the activity who served and for how long; verified hours earn
/// the activity's points.
#[utoipa::path(post, path = "/api/volunteer-activities/{id}/attendance", tag = "virtue", params(("id" = i64, Path)), request_body = Attendance,
    responses((status = 200, body = AttendanceRecorded), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn attendance(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Attendance>,
) -> ApiResult<Json<AttendanceRecorded>> {
    Ok(Json(volunteering::confirm_attendance(&state.app, &a.actor, id, b).await?))
}

/// The organiser completes or cancels an activity.
#[utoipa::path(post, path = "/api/volunteer-activities/{id}/closing", tag = "virtue", params(("id" = i64, Path)), request_body = Closing,
    responses((status = 200, body = ActivityView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Closing>,
) -> ApiResult<Json<ActivityView>> {
    Ok(Json(volunteering::close(&state.app, &a.actor, id, b).await?))
}

/// Checks a volunteer service certificate by its number (no sign-in: whoever reads the
/// printed certificate).
#[utoipa::path(get, path = "/api/volunteer-certificates/{number}", tag = "virtue", params(("number" = String, Path)),
    responses((status = 200, body = CertificateCheck), (status = 404, body = ErrorBody)))]
pub async fn certificate(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<CertificateCheck>> {
    Ok(Json(volunteering::check_certificate(&state.app, &number).await?))
}

// ---------------------------------------------------------------------------------------
// Party members in the community (双报到)

/// One's party posts and one's registration with the community where one lives.
#[utoipa::path(get, path = "/api/party-reports/me", tag = "virtue",
    responses((status = 200, body = MyParty)))]
pub async fn my_party(State(state): State<AppState>, a: Authed) -> ApiResult<Json<MyParty>> {
    Ok(Json(party::mine(&state.app, &a.actor).await?))
}

/// A party member registers with the community where they live, choosing service posts (a
/// new registration ends the earlier one).
#[utoipa::path(post, path = "/api/party-reports/me", tag = "virtue", request_body = PartyRegistration,
    responses((status = 201, body = PartyReport), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn party_register(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<PartyRegistration>,
) -> ApiResult<(StatusCode, Json<PartyReport>)> {
    Ok((StatusCode::CREATED, Json(party::register(&state.app, &a.actor, b).await?)))
}

/// Ends one's registration (one has left the community).
#[utoipa::path(delete, path = "/api/party-reports/me", tag = "virtue",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn party_end(State(state): State<AppState>, a: Authed) -> ApiResult<StatusCode> {
    party::end(&state.app, &a.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct CommunityParam {
    /// The community's 12-digit code.
    pub community: String,
}

/// The party members registered with a community and the service they did, for its
/// organisers.
#[utoipa::path(get, path = "/api/party-reports", tag = "virtue", params(CommunityParam),
    responses((status = 200, body = [PartyReport]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn party_reports(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<CommunityParam>,
) -> ApiResult<Json<Vec<PartyReport>>> {
    Ok(Json(party::of_community(&state.app, &a.actor, &p.community).await?))
}

// ---------------------------------------------------------------------------------------
// Small wishes (微心愿)

/// Wishes to claim and wishes fulfilled (by default one's home district's), or those one
/// claimed; never the resident whose wish it is.
#[utoipa::path(get, path = "/api/wishes", tag = "virtue", params(WishQuery),
    responses((status = 200, body = [WishView]), (status = 400, body = ErrorBody)))]
pub async fn wishes_list(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<WishQuery>,
) -> ApiResult<Json<Vec<WishView>>> {
    Ok(Json(wishes::list(&state.app, &a.actor, q).await?))
}

/// The community posts a resident's small wish, with their consent.
#[utoipa::path(post, path = "/api/wishes", tag = "virtue", request_body = NewWish,
    responses((status = 201, body = WishView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn wish_post(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewWish>,
) -> ApiResult<(StatusCode, Json<WishView>)> {
    Ok((StatusCode::CREATED, Json(wishes::post(&state.app, &a.actor, b).await?)))
}

#[utoipa::path(get, path = "/api/wishes/{id}", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = WishView), (status = 404, body = ErrorBody)))]
pub async fn wish(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::get(&state.app, &a.actor, id).await?))
}

/// Claims an open wish (for oneself or one's organisation).
#[utoipa::path(post, path = "/api/wishes/{id}/claim", tag = "virtue", params(("id" = i64, Path)), request_body = Claim,
    responses((status = 200, body = WishView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn wish_claim(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Claim>,
) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::claim(&state.app, &a.actor, id, b).await?))
}

/// Lets one's claim go.
#[utoipa::path(post, path = "/api/wishes/{id}/release", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = WishView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn wish_release(State(state): State<AppState>, a: Authed, Path(id): Path<i64>) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::release(&state.app, &a.actor, id).await?))
}

/// The giver reports the wish fulfilled, with evidence.
#[utoipa::path(post, path = "/api/wishes/{id}/fulfilment", tag = "virtue", params(("id" = i64, Path)), request_body = Fulfilment,
    responses((status = 200, body = WishView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn wish_fulfil(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Fulfilment>,
) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::fulfil(&state.app, &a.actor, id, b).await?))
}

/// The resident (or the community on their word) confirms the wish came true.
#[utoipa::path(post, path = "/api/wishes/{id}/confirmation", tag = "virtue", params(("id" = i64, Path)), request_body = Confirmation,
    responses((status = 200, body = WishView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn wish_confirm(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Confirmation>,
) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::confirm(&state.app, &a.actor, id, b).await?))
}

/// The community withdraws a wish not yet fulfilled.
#[utoipa::path(post, path = "/api/wishes/{id}/withdrawal", tag = "virtue", params(("id" = i64, Path)), request_body = WishWithdrawal,
    responses((status = 200, body = WishView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn wish_withdraw(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WishWithdrawal>,
) -> ApiResult<Json<WishView>> {
    Ok(Json(wishes::withdraw(&state.app, &a.actor, id, b).await?))
}

// ---------------------------------------------------------------------------------------
// Officials report to residents (向群众汇报)

/// Reports to residents: by default those to one's own street and community.
#[utoipa::path(get, path = "/api/official-reports", tag = "virtue", params(ReportQuery),
    responses((status = 200, body = [ReportView]), (status = 400, body = ErrorBody)))]
pub async fn official_reports(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Vec<ReportView>>> {
    Ok(Json(official::list(&state.app, &a.actor, q).await?))
}

/// A street's or community's leader publishes their report to its residents, with what they
/// promise.
#[utoipa::path(post, path = "/api/official-reports", tag = "virtue", request_body = NewReport,
    responses((status = 201, body = ReportView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn official_report_create(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewReport>,
) -> ApiResult<(StatusCode, Json<ReportView>)> {
    Ok((StatusCode::CREATED, Json(official::create(&state.app, &a.actor, b).await?)))
}

#[utoipa::path(get, path = "/api/official-reports/{id}", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = ReportView), (status = 404, body = ErrorBody)))]
pub async fn official_report(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReportView>> {
    Ok(Json(official::get(&state.app, &a.actor, id).await?))
}

/// A resident of the territory rates the report (once, anonymously).
#[utoipa::path(post, path = "/api/official-reports/{id}/rating", tag = "virtue", params(("id" = i64, Path)), request_body = Rating,
    responses((status = 200, body = ReportView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn official_report_rate(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Rating>,
) -> ApiResult<Json<ReportView>> {
    Ok(Json(official::rate_report(&state.app, &a.actor, id, b).await?))
}

/// A resident of the territory rates a commitment that is done or due (once, anonymously).
#[utoipa::path(post, path = "/api/official-commitments/{id}/rating", tag = "virtue", params(("id" = i64, Path)), request_body = Rating,
    responses((status = 200, body = CommitmentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn official_commitment_rate(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Rating>,
) -> ApiResult<Json<CommitmentView>> {
    Ok(Json(official::rate_commitment(&state.app, &a.actor, id, b).await?))
}

/// Records a commitment's progress.
#[utoipa::path(post, path = "/api/official-commitments/{id}/progress", tag = "virtue", params(("id" = i64, Path)), request_body = Progress,
    responses((status = 200, body = CommitmentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn official_commitment_progress(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Progress>,
) -> ApiResult<Json<CommitmentView>> {
    Ok(Json(official::set_progress(&state.app, &a.actor, id, b).await?))
}

/// The residents' ratings summed over a territory's reports and commitments, for the
/// evaluation of its units.
#[utoipa::path(get, path = "/api/official-reports/satisfaction", tag = "virtue", params(TerritoryParam),
    responses((status = 200, body = Satisfaction), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn official_satisfaction(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(p): ApiQuery<TerritoryParam>,
) -> ApiResult<Json<Satisfaction>> {
    Ok(Json(official::satisfaction(&state.app, &a.actor, &p.territory).await?))
}

// ---------------------------------------------------------------------------------------
// Civilised-rating campaigns (文明评选)

/// Campaigns of a territory (its subtree and those above it); one's home district's by
/// default.
#[utoipa::path(get, path = "/api/rating-campaigns", tag = "virtue", params(CampaignQuery),
    responses((status = 200, body = [CampaignView]), (status = 400, body = ErrorBody)))]
pub async fn rating_campaigns(
    State(state): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<CampaignQuery>,
) -> ApiResult<Json<Vec<CampaignView>>> {
    Ok(Json(campaigns::list(&state.app, &a.actor, q).await?))
}

/// The committee opens a campaign for an honour.
#[utoipa::path(post, path = "/api/rating-campaigns", tag = "virtue", request_body = NewCampaign,
    responses((status = 201, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rating_campaign_create(
    State(state): State<AppState>,
    a: Authed,
    ApiJson(b): ApiJson<NewCampaign>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    Ok((StatusCode::CREATED, Json(campaigns::create(&state.app, &a.actor, b).await?)))
}

#[utoipa::path(get, path = "/api/rating-campaigns/{id}", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)))]
pub async fn rating_campaign(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::get(&state.app, &a.actor, id).await?))
}

/// A nomination: oneself, a neighbour (by their account's phone), or by the committee.
#[utoipa::path(post, path = "/api/rating-campaigns/{id}/nominations", tag = "virtue", params(("id" = i64, Path)), request_body = NewNomination,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_nominate(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NewNomination>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::nominate(&state.app, &a.actor, id, b).await?))
}

/// The committee opens the vote (nominations closed, all reviewed).
#[utoipa::path(post, path = "/api/rating-campaigns/{id}/voting", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_open_vote(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::open_vote(&state.app, &a.actor, id).await?))
}

/// A resident of the territory votes (once per campaign, anonymously).
#[utoipa::path(post, path = "/api/rating-campaigns/{id}/votes", tag = "virtue", params(("id" = i64, Path)), request_body = Vote,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_vote(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Vote>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::vote(&state.app, &a.actor, id, b).await?))
}

/// The committee closes the vote: the most voted are published (公示).
#[utoipa::path(post, path = "/api/rating-campaigns/{id}/publicity", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_publicity(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::close_vote(&state.app, &a.actor, id).await?))
}

/// The committee gives the award after the publicity period, every objection answered.
#[utoipa::path(post, path = "/api/rating-campaigns/{id}/award", tag = "virtue", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_award(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::award(&state.app, &a.actor, id).await?))
}

/// The nominee agrees to stand or declines.
#[utoipa::path(post, path = "/api/rating-nominations/{id}/consent", tag = "virtue", params(("id" = i64, Path)), request_body = Consent,
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_consent(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Consent>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::consent(&state.app, &a.actor, id, b).await?))
}

/// The committee accepts a nomination into the vote or rejects it with its reason.
#[utoipa::path(post, path = "/api/rating-nominations/{id}/review", tag = "virtue", params(("id" = i64, Path)), request_body = Review,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_review(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Review>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::review(&state.app, &a.actor, id, b).await?))
}

/// A resident objects to a proposed winner during the publicity period.
#[utoipa::path(post, path = "/api/rating-nominations/{id}/objections", tag = "virtue", params(("id" = i64, Path)), request_body = NewObjection,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_object(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NewObjection>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::object(&state.app, &a.actor, id, b).await?))
}

/// The committee answers an objection; an upheld one strikes the nominee.
#[utoipa::path(post, path = "/api/rating-objections/{id}/answer", tag = "virtue", params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rating_answer(
    State(state): State<AppState>,
    a: Authed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Answer>,
) -> ApiResult<Json<CampaignView>> {
    Ok(Json(campaigns::answer(&state.app, &a.actor, id, b).await?))
}

/// The honours board (榜样): public, no sign-in.
#[utoipa::path(get, path = "/api/honours", tag = "virtue", params(HonourQuery),
    responses((status = 200, body = [Honour]), (status = 400, body = ErrorBody)))]
pub async fn honours(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HonourQuery>,
) -> ApiResult<Json<Vec<Honour>>> {
    Ok(Json(campaigns::honours(&state.app, q).await?))
}

/// One's household's points account (户积分), as the archives place one's record.
#[utoipa::path(get, path = "/api/points/me/household", tag = "virtue",
    responses((status = 200, body = Option<AccountView>)))]
pub async fn my_household(State(state): State<AppState>, a: Authed) -> ApiResult<Json<Option<AccountView>>> {
    Ok(Json(virtue::household(&state.app, &a.actor).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mine))
        .routes(routes!(my_household))
        .routes(routes!(account))
        .routes(routes!(statement))
        .routes(routes!(rules, create_rule))
        .routes(routes!(award))
        .routes(routes!(award_batch))
        .routes(routes!(deduct))
        .routes(routes!(object))
        .routes(routes!(settle))
        .routes(routes!(reverse))
        .routes(routes!(items, create_item))
        .routes(routes!(redeem))
        .routes(routes!(my_record, register))
        .routes(routes!(record))
        .routes(routes!(activities, create_activity))
        .routes(routes!(activity))
        .routes(routes!(sign_up))
        .routes(routes!(withdraw))
        .routes(routes!(decide))
        .routes(routes!(attendance))
        .routes(routes!(close))
        .routes(routes!(certificate))
        .routes(routes!(my_party, party_register, party_end))
        .routes(routes!(party_reports))
        .routes(routes!(wishes_list, wish_post))
        .routes(routes!(wish))
        .routes(routes!(wish_claim))
        .routes(routes!(wish_release))
        .routes(routes!(wish_fulfil))
        .routes(routes!(wish_confirm))
        .routes(routes!(wish_withdraw))
        .routes(routes!(official_reports, official_report_create))
        .routes(routes!(official_satisfaction))
        .routes(routes!(official_report))
        .routes(routes!(official_report_rate))
        .routes(routes!(official_commitment_rate))
        .routes(routes!(official_commitment_progress))
        .routes(routes!(rating_campaigns, rating_campaign_create))
        .routes(routes!(rating_campaign))
        .routes(routes!(rating_nominate))
        .routes(routes!(rating_open_vote))
        .routes(routes!(rating_vote))
        .routes(routes!(rating_publicity))
        .routes(routes!(rating_award))
        .routes(routes!(rating_consent))
        .routes(routes!(rating_review))
        .routes(routes!(rating_object))
        .routes(routes!(rating_answer))
        .routes(routes!(honours))
}
