//! Handlers of the rule of virtue (德治), this round the points ledger (积分制): one's account
//! and statement, the territory's earning rules, awards, deductions with the right to object,
//! decisions, corrections, and the points shop.

use super::*;
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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mine))
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
}
