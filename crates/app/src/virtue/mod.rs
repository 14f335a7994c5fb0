//! Rule of virtue (德治): the points ledger (积分制) here, volunteer service in
//! [`volunteers`] (whose verified hours earn points through this ledger). A community's staff keep
//! earning rules as data and award points by them (held through the rule's publicity period
//! before they can be spent), deduct only by a recorded decision that the person may object
//! to within seven days, decide objections, and correct posted transfers only by reversing
//! them; residents see their account and statement and spend points in their community's
//! points shop. The settle pass posts what is due and returns expired points to the fund.
//! Every transfer carries a keyed seal of its facts (the vault's index key), which
//! [`verify`] checks together with every account's counters.

pub mod campaigns;
pub mod demo;
pub mod party;
pub mod reports;
pub mod volunteers;
pub mod wishes;

/// Gridwork registers its alley stewards and grid volunteers as volunteers through this.
pub use volunteers::enrol_grid_volunteer;

use crate::{App, AppError, Result};
use serde::{Deserialize, Serialize};
use wuzhi_domain::virtue::ledger::{self, AccountKind, Broken, Counters, Points, TransferKind, TransferState};
use wuzhi_domain::{Action, Actor, Target, TerritoryCode, text};
use wuzhi_store::virtue::{self as store, AccountRow, NewTransfer, TransferRow};

const DAY_MS: i64 = 86_400_000;
/// How long a person may object to a deduction before it is posted.
pub const OBJECTION_DAYS: i64 = 7;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = PointsAccount)]
pub struct AccountView {
    pub id: i64,
    /// person, household or fund
    pub kind: String,
    pub territory_code: String,
    pub name: String,
    /// Posted credits less posted debits.
    pub balance: i64,
    /// What may be spent now: the balance less what is pending out.
    pub available: i64,
    /// Earned and waiting out a publicity period.
    pub pending_in: i64,
    /// Deductions and other debits not yet posted.
    pub pending_out: i64,
}

fn counters(a: &AccountRow) -> Counters {
    Counters {
        debits_pending: a.debits_pending,
        debits_posted: a.debits_posted,
        credits_pending: a.credits_pending,
        credits_posted: a.credits_posted,
    }
}

fn account_view(a: &AccountRow) -> AccountView {
    let c = counters(a);
    AccountView {
        id: a.id,
        kind: a.kind.clone(),
        territory_code: a.territory_code.clone(),
        name: a.name.clone(),
        balance: c.posted(),
        available: c.available(),
        pending_in: c.credits_pending,
        pending_out: c.debits_pending,
    }
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = PointsTransfer)]
pub struct TransferView {
    pub id: i64,
    /// earn, redeem, deduct, reverse or expire
    pub kind: String,
    /// pending, posted or voided
    pub state: String,
    pub amount: i64,
    pub debit_account: i64,
    pub credit_account: i64,
    pub rule_id: Option<i64>,
    pub source: Option<String>,
    pub reason: String,
    pub reverses: Option<i64>,
    pub created_at_ms: i64,
    /// A pending transfer posts itself then, unless it was objected to.
    pub posts_at_ms: Option<i64>,
    pub objected_at_ms: Option<i64>,
    pub objection: Option<String>,
    pub settled_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
}

fn transfer_view(t: TransferRow) -> TransferView {
    TransferView {
        id: t.id,
        kind: t.kind,
        state: t.state,
        amount: t.amount,
        debit_account: t.debit_account,
        credit_account: t.credit_account,
        rule_id: t.rule_id,
        source: t.source,
        reason: t.reason,
        reverses: t.reverses,
        created_at_ms: t.created_at_ms,
        posts_at_ms: t.posts_at_ms,
        objected_at_ms: t.objected_at_ms,
        objection: t.objection,
        settled_at_ms: t.settled_at_ms,
        expires_at_ms: t.expires_at_ms,
    }
}

fn code(s: &str) -> Result<TerritoryCode> {
    Ok(TerritoryCode::parse(s)?)
}

/// The community (or the territory itself, above one) whose fund a home's points come from.
fn community_of(home: &TerritoryCode) -> TerritoryCode {
    let s = home.as_str();
    if s.len() > 12 { TerritoryCode::parse(&s[..12]).unwrap_or_else(|_| home.clone()) } else { home.clone() }
}

/// Whether the actor may read the account: their own or their household's, or
/// `read_points` over its territory.
async fn may_read(conn: &mut wuzhi_store::Conn, actor: &Actor, a: &AccountRow) -> Result<()> {
    if a.kind == AccountKind::Household.as_str()
        && a.household_key.is_some()
        && household_of(conn, actor.person_id).await?.map(|h| h.key) == a.household_key
    {
        return Ok(());
    }
    let t = code(&a.territory_code)?;
    let owner = if a.kind == AccountKind::Person.as_str() { a.person_id } else { None };
    actor.can(Action::ReadPoints, &Target { territory: Some(&t), owner })?;
    Ok(())
}

/// A household as the archives know it: the one the person's own record (linked to their
/// account) lives in.
#[derive(Debug, Clone)]
pub struct Household {
    /// `archives:{house}:{household_ref}`: what its points account is keyed by.
    pub key: String,
    /// The grid the household lives in.
    pub grid: TerritoryCode,
}

/// The household of the person's linked archive record, if they live in one.
pub async fn household_of(conn: &mut wuzhi_store::Conn, person: i64) -> Result<Option<Household>> {
    let records = wuzhi_store::archives::people_of_account(conn, person).await?;
    let Some(r) = records
        .into_iter()
        .find(|r| r.household_ref.is_some() && r.moved_out_ms.is_none() && r.anonymised_at_ms.is_none())
    else {
        return Ok(None);
    };
    let key = format!("archives:{}", crate::archives::household_key(r.house_id, r.household_ref.as_deref()));
    Ok(Some(Household { key, grid: code(&r.grid_code)? }))
}

/// Writes a transfer with its seal; names the refusals a person can act on.
async fn write(app: &App, tx: &mut wuzhi_store::Conn, t: &NewTransfer<'_>) -> Result<i64> {
    let vault = app.settings.vault.clone();
    let (debit, credit, amount, kind, source, reverses, at) =
        (t.debit, t.credit, t.amount, t.kind, t.source.map(str::to_owned), t.reverses, t.created_at_ms);
    store::insert_transfer(tx, t, move |id| {
        vault.blind(
            "points.transfer",
            &ledger::sealed_text(id, debit, credit, amount, kind, source.as_deref(), reverses, at),
        )
    })
    .await
    .map_err(refusal)
}

/// The ledger's constraints as the refusals a person can act on: an overdraft, a source paid
/// already, a transfer reversed already.
fn refusal(e: wuzhi_store::StoreError) -> AppError {
    if store::is_overdraft(&e) {
        AppError::Conflict { field: "points".into(), reason: "the account has not that many points to give".into() }
    } else if e.is_unique("uq_points_source", "points_transfers.kind, points_transfers.source") {
        AppError::Conflict { field: "source".into(), reason: "points were already given for this".into() }
    } else if e.is_unique("uq_points_reversal", "points_transfers.reverses") {
        AppError::Conflict { field: "transfer".into(), reason: "this transfer was already reversed".into() }
    } else {
        e.into()
    }
}

/// Tells a person in their inbox (in the caller's transaction).
async fn tell(conn: &mut wuzhi_store::Conn, person: i64, kind: &str, body: &str, now: i64) -> Result<()> {
    Ok(wuzhi_store::notifications::insert_notification(conn, person, None, kind, body, now).await?)
}

/// The territory subtree a list covers: the one asked for, else the caller's home district
/// (else the city's) — recruitment and wishes are open to every signed-in person.
async fn listed_prefix(conn: &mut wuzhi_store::Conn, actor: &Actor, territory: Option<&str>) -> Result<String> {
    Ok(match territory {
        Some(t) => TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?.to_string(),
        None => {
            let home = wuzhi_store::people::get_person(conn, actor.person_id).await?.and_then(|p| p.home_territory);
            home.map(|h| h.chars().take(6).collect()).unwrap_or_else(|| "12".to_owned())
        }
    })
}

/// Whether the person lives in the territory (their rights there follow their home).
async fn lives_in(conn: &mut wuzhi_store::Conn, person: i64, territory: &TerritoryCode) -> Result<bool> {
    let home = wuzhi_store::people::get_person(conn, person).await?.and_then(|p| p.home_territory);
    Ok(home.as_deref().and_then(|h| TerritoryCode::parse(h).ok()).is_some_and(|h| territory.contains(&h)))
}

/// The transfer, or not found.
async fn transfer_or_404(tx: &mut wuzhi_store::Conn, id: i64) -> Result<TransferRow> {
    store::get_transfer(tx, id).await?.ok_or_else(|| AppError::not_found(format!("transfer {id}")))
}

/// The community's fund (积分基金), made on first use with the community's name.
async fn community_fund(conn: &mut wuzhi_store::Conn, community: &TerritoryCode, now: i64) -> Result<AccountRow> {
    let name = wuzhi_store::territory::get(conn, community.as_str(), false)
        .await?
        .map(|r| r.name)
        .unwrap_or_else(|| community.to_string());
    Ok(store::fund(conn, community.as_str(), &format!("{name} 积分基金"), now).await?)
}

/// A person's home and name, for their account.
async fn person_home(conn: &mut wuzhi_store::Conn, person: i64) -> Result<(TerritoryCode, String)> {
    let p = wuzhi_store::people::get_person(conn, person)
        .await?
        .ok_or_else(|| AppError::invalid("person_id", format!("person {person} does not exist")))?;
    let home = p.home_territory.as_deref().ok_or_else(|| {
        AppError::invalid("person_id", "the person has no home territory, so no community keeps their points")
    })?;
    Ok((code(home)?, p.name))
}

// ---------------------------------------------------------------------------------------
// Rules

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewPointsRule)]
pub struct NewRule {
    pub territory_code: String,
    /// A short code, unique in the territory (`volunteer_hour`, `report_closed`, …).
    pub code: String,
    pub name: String,
    pub points: i64,
    /// Days the award is published before its points may be spent (公示); 0: at once.
    #[serde(default)]
    pub publicity_days: i64,
    /// Days the points stay valid; none: they do not expire.
    pub valid_days: Option<i64>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = PointsRule)]
pub struct RuleView {
    pub id: i64,
    pub territory_code: String,
    pub code: String,
    pub name: String,
    pub points: i64,
    pub publicity_days: i64,
    pub valid_days: Option<i64>,
    pub active: bool,
}

fn rule_view(r: store::RuleRow) -> RuleView {
    RuleView {
        id: r.id,
        territory_code: r.territory_code,
        code: r.code,
        name: r.name,
        points: r.points,
        publicity_days: r.publicity_days,
        valid_days: r.valid_days,
        active: r.active,
    }
}

pub async fn create_rule(app: &App, actor: &Actor, n: NewRule) -> Result<RuleView> {
    let t = TerritoryCode::parse(&n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    let rule_code = n.code.trim();
    if rule_code.is_empty() || rule_code.len() > 40 || !rule_code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(AppError::invalid("code", "must be 1–40 letters, digits or _"));
    }
    let name = text::name("name", &n.name, 50)?;
    let points = Points::parse("points", n.points)?;
    if !(0..=90).contains(&n.publicity_days) {
        return Err(AppError::invalid("publicity_days", format!("{} is outside 0–90", n.publicity_days)));
    }
    if let Some(d) = n.valid_days.filter(|d| !(1..=3650).contains(d)) {
        return Err(AppError::invalid("valid_days", format!("{d} is outside 1–3650")));
    }
    actor.can(Action::ManagePoints, &Target::territory(&t))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, t.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("territory_code", format!("{t} is not in the territory tree")));
    }
    let id =
        store::insert_rule(&mut tx, t.as_str(), rule_code, &name, points.get(), n.publicity_days, n.valid_days, now)
            .await
            .map_err(|e| {
                if e.is_unique("uq_points_rule", "points_rules.territory_code, points_rules.code") {
                    AppError::Conflict { field: "code".into(), reason: "the territory has a rule of this code".into() }
                } else {
                    e.into()
                }
            })?;
    let row = store::get_rule(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("rule {id}")))?;
    wuzhi_store::commit(tx).await?;
    Ok(rule_view(row))
}

/// The rules that apply inside the territory (its own and those above it), for its staff
/// and residents.
pub async fn rules(app: &App, actor: &Actor, territory: &str) -> Result<Vec<RuleView>> {
    let t = TerritoryCode::parse(territory).map_err(|e| AppError::invalid("territory", e.reason))?;
    let own_home = actor.grants.iter().any(|g| g.scope.contains(&t) || t.contains(&g.scope));
    if !own_home {
        actor.can(Action::ReadPoints, &Target::territory(&t))?;
    }
    let mut conn = app.db.read().await?;
    let mut out = Vec::new();
    let mut at = Some(t);
    while let Some(c) = at {
        out.extend(store::rules_at(&mut conn, c.as_str()).await?.into_iter().map(rule_view));
        at = c.implied_parent();
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Awards, deductions, objections, decisions, corrections

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PointsAward)]
pub struct Award {
    pub person_id: i64,
    pub rule_id: i64,
    pub reason: String,
    /// What the points are for, so they are given once (`volunteer:12:2026-12-04`).
    pub source: Option<String>,
}

/// Awards a rule's points to a resident of the territory: from their community's fund, held
/// through the rule's publicity period.
pub async fn award(app: &App, actor: &Actor, a: Award) -> Result<TransferView> {
    let reason = text::required("reason", &a.reason)?;
    let source = a
        .source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| text::name("source", s, 100))
        .transpose()?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (home, name) = person_home(&mut tx, a.person_id).await?;
    actor.can(Action::ManagePoints, &Target::territory(&home))?;
    let rule = store::get_rule(&mut tx, a.rule_id)
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| AppError::invalid("rule_id", format!("rule {} does not exist", a.rule_id)))?;
    if !code(&rule.territory_code)?.contains(&home) {
        return Err(AppError::invalid(
            "rule_id",
            format!("rule {} is {}'s, not the person's territory", rule.id, rule.territory_code),
        ));
    }
    let account = store::person_account(&mut tx, a.person_id, home.as_str(), &name, now).await?;
    let id = earn(app, &mut tx, &rule, &account, &home, source.as_deref(), &reason, actor.person_id, now).await?;
    let row = store::get_transfer(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("transfer {id}")))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

/// Credits a rule's points to an account of `home` from its community's fund, held through
/// the rule's publicity period; `source` makes them count once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn earn(
    app: &App,
    tx: &mut wuzhi_store::Conn,
    rule: &store::RuleRow,
    account: &AccountRow,
    home: &TerritoryCode,
    source: Option<&str>,
    reason: &str,
    by: i64,
    now: i64,
) -> Result<i64> {
    let fund = community_fund(tx, &community_of(home), now).await?;
    let pending = rule.publicity_days > 0;
    let t = NewTransfer {
        debit: fund.id,
        credit: account.id,
        amount: rule.points,
        kind: TransferKind::Earn.as_str(),
        pending,
        rule_id: Some(rule.id),
        source,
        reason,
        reverses: None,
        created_by: Some(by),
        created_at_ms: now,
        posts_at_ms: pending.then_some(now + rule.publicity_days * DAY_MS),
        expires_at_ms: rule.valid_days.map(|d| now + d * DAY_MS),
    };
    write(app, tx, &t).await
}

/// Awards of one rule to many residents at once (a month's volunteer hours, a campaign's
/// winners), each with the source that makes it count once.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PointsAwardBatch)]
pub struct AwardBatch {
    pub rule_id: i64,
    pub reason: String,
    /// At most 1,000.
    pub awards: Vec<BatchAward>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PointsBatchAward)]
pub struct BatchAward {
    pub person_id: i64,
    pub source: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PointsBatchAwarded)]
pub struct BatchAwarded {
    /// The transfers, in the batch's order.
    pub transfer_ids: Vec<i64>,
    /// Whether they wait out the rule's publicity.
    pub pending: bool,
}

/// Awards a rule's points to many residents in one transaction — all or nothing: each
/// refusal names the award by its place in the list. The fund's counters move once, by the
/// batch's sum.
pub async fn award_batch(app: &App, actor: &Actor, b: AwardBatch) -> Result<BatchAwarded> {
    let reason = text::required("reason", &b.reason)?;
    if b.awards.is_empty() || b.awards.len() > 1000 {
        return Err(AppError::invalid("awards", format!("{} awards; give 1 to 1000", b.awards.len())));
    }
    let mut sources = Vec::with_capacity(b.awards.len());
    let mut seen = std::collections::HashSet::new();
    for (i, a) in b.awards.iter().enumerate() {
        let s = text::name(&format!("awards[{i}].source"), a.source.trim(), 100)?;
        if !seen.insert(s.clone()) {
            return Err(AppError::invalid(format!("awards[{i}].source"), "appears twice in the batch"));
        }
        sources.push(s);
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let ids: Vec<i64> = b.awards.iter().map(|a| a.person_id).collect();
    let homes: std::collections::HashMap<i64, (String, Option<String>)> =
        store::people_homes(&mut tx, &ids).await?.into_iter().map(|(id, name, home)| (id, (name, home))).collect();
    let mut people = Vec::with_capacity(ids.len());
    let mut communities = Vec::new();
    for (i, a) in b.awards.iter().enumerate() {
        let field = format!("awards[{i}].person_id");
        let (name, home) = homes
            .get(&a.person_id)
            .ok_or_else(|| AppError::invalid(&field, format!("person {} does not exist", a.person_id)))?;
        let home = code(home.as_deref().ok_or_else(|| AppError::invalid(&field, "the person has no home territory"))?)?;
        actor.can(Action::ManagePoints, &Target::territory(&home))?;
        communities.push(community_of(&home));
        people.push((a.person_id, home.to_string(), name.clone()));
    }
    let rule = store::get_rule(&mut tx, b.rule_id)
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| AppError::invalid("rule_id", format!("rule {} does not exist", b.rule_id)))?;
    let rule_t = code(&rule.territory_code)?;
    if let Some(i) = people.iter().position(|(_, home, _)| !code(home).is_ok_and(|h| rule_t.contains(&h))) {
        return Err(AppError::invalid(
            format!("awards[{i}].person_id"),
            format!("the person lives outside rule {}'s territory", rule.id),
        ));
    }
    if let Some(paid) = store::paid_sources(&mut tx, TransferKind::Earn, &sources).await?.first() {
        let i = sources.iter().position(|s| s == paid).unwrap_or(0);
        return Err(AppError::Conflict {
            field: format!("awards[{i}].source"),
            reason: "points were already given for this".into(),
        });
    }
    let mut funds = std::collections::HashMap::new();
    for c in &communities {
        if !funds.contains_key(c.as_str()) {
            funds.insert(c.to_string(), community_fund(&mut tx, c, now).await?.id);
        }
    }
    let mut distinct = people.clone();
    distinct.sort();
    distinct.dedup_by_key(|p| p.0);
    let accounts = store::person_accounts(&mut tx, &distinct, now).await?;
    let pending = rule.publicity_days > 0;
    let batch: Vec<NewTransfer> = b
        .awards
        .iter()
        .enumerate()
        .map(|(i, a)| NewTransfer {
            debit: funds[communities[i].as_str()],
            credit: accounts[&a.person_id],
            amount: rule.points,
            kind: TransferKind::Earn.as_str(),
            pending,
            rule_id: Some(rule.id),
            source: Some(sources[i].as_str()),
            reason: &reason,
            reverses: None,
            created_by: Some(actor.person_id),
            created_at_ms: now,
            posts_at_ms: pending.then_some(now + rule.publicity_days * DAY_MS),
            expires_at_ms: rule.valid_days.map(|d| now + d * DAY_MS),
        })
        .collect();
    let vault = app.settings.vault.clone();
    let transfer_ids = store::insert_transfers(&mut tx, &batch, |id, i| {
        let t = &batch[i];
        vault.blind(
            "points.transfer",
            &ledger::sealed_text(id, t.debit, t.credit, t.amount, t.kind, t.source, None, t.created_at_ms),
        )
    })
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(BatchAwarded { transfer_ids, pending })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PointsDeduction)]
pub struct Deduction {
    pub person_id: i64,
    pub points: i64,
    /// The recorded decision it follows (a meeting's minutes, the convention's article).
    pub decision: String,
    pub reason: String,
}

/// Deducts points by a recorded decision: pending for the objection period (and counted
/// against what the person may spend meanwhile), then posted unless they objected.
pub async fn deduct(app: &App, actor: &Actor, d: Deduction) -> Result<TransferView> {
    let points = Points::parse("points", d.points)?;
    let decision = text::name("decision", &d.decision, 100)?;
    let reason = text::required("reason", &d.reason)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (home, name) = person_home(&mut tx, d.person_id).await?;
    actor.can(Action::ManagePoints, &Target::territory(&home))?;
    let community = community_of(&home);
    let fund = community_fund(&mut tx, &community, now).await?;
    let account = store::person_account(&mut tx, d.person_id, home.as_str(), &name, now).await?;
    let source = format!("decision:{decision}:{}", d.person_id);
    let t = NewTransfer {
        debit: account.id,
        credit: fund.id,
        amount: points.get(),
        kind: TransferKind::Deduct.as_str(),
        pending: true,
        rule_id: None,
        source: Some(&source),
        reason: &reason,
        reverses: None,
        created_by: Some(actor.person_id),
        created_at_ms: now,
        posts_at_ms: Some(now + OBJECTION_DAYS * DAY_MS),
        expires_at_ms: None,
    };
    let id = write(app, &mut tx, &t).await?;
    let row = store::get_transfer(&mut tx, id).await?.ok_or_else(|| AppError::not_found(format!("transfer {id}")))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

/// The person objects to a deduction of their points before it is posted: it waits for a
/// decision instead.
pub async fn object(app: &App, actor: &Actor, transfer: i64, objection: &str) -> Result<TransferView> {
    let objection = text::required("objection", objection)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let t = transfer_or_404(&mut tx, transfer).await?;
    let debited = store::get_account(&mut tx, t.debit_account).await?.ok_or_else(|| AppError::not_found("account"))?;
    if debited.person_id != Some(actor.person_id) {
        return Err(AppError::not_found(format!("transfer {transfer}")));
    }
    if t.kind != TransferKind::Deduct.as_str()
        || t.state != TransferState::Pending.as_str()
        || t.objected_at_ms.is_some()
    {
        return Err(AppError::Conflict {
            field: "transfer".into(),
            reason: "only a pending deduction not yet objected to can be".into(),
        });
    }
    if t.posts_at_ms.is_some_and(|p| p <= now) {
        return Err(AppError::Conflict { field: "transfer".into(), reason: "the objection period has ended".into() });
    }
    store::object(&mut tx, transfer, &objection, now).await?;
    let row = store::get_transfer(&mut tx, transfer).await?.ok_or_else(|| AppError::not_found("transfer"))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

/// The territory's staff settle a pending transfer: post it (uphold a deduction after an
/// objection, end a publicity period early) or void it (withdraw the deduction, cancel an
/// award found wrong during its publicity).
pub async fn settle(app: &App, actor: &Actor, transfer: i64, post: bool) -> Result<TransferView> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let t = transfer_or_404(&mut tx, transfer).await?;
    let person_side = if t.kind == TransferKind::Earn.as_str() { t.credit_account } else { t.debit_account };
    let account = store::get_account(&mut tx, person_side).await?.ok_or_else(|| AppError::not_found("account"))?;
    actor.can(Action::ManagePoints, &Target::territory(&code(&account.territory_code)?))?;
    if !store::settle(&mut tx, transfer, post, Some(actor.person_id), now).await.map_err(refusal)? {
        return Err(AppError::Conflict { field: "transfer".into(), reason: "it is no longer pending".into() });
    }
    let row = store::get_transfer(&mut tx, transfer).await?.ok_or_else(|| AppError::not_found("transfer"))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

/// Corrects a posted transfer by a new one of the same amount the other way (never by
/// editing it); once per transfer.
pub async fn reverse(app: &App, actor: &Actor, transfer: i64, reason: &str) -> Result<TransferView> {
    let reason = text::required("reason", reason)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let t = transfer_or_404(&mut tx, transfer).await?;
    if t.state != TransferState::Posted.as_str() || t.kind == TransferKind::Reverse.as_str() {
        return Err(AppError::Conflict {
            field: "transfer".into(),
            reason: "only a posted transfer that is not itself a reversal".into(),
        });
    }
    for side in [t.debit_account, t.credit_account] {
        let a = store::get_account(&mut tx, side).await?.ok_or_else(|| AppError::not_found("account"))?;
        actor.can(Action::ManagePoints, &Target::territory(&code(&a.territory_code)?))?;
    }
    let n = NewTransfer {
        debit: t.credit_account,
        credit: t.debit_account,
        amount: t.amount,
        kind: TransferKind::Reverse.as_str(),
        pending: false,
        rule_id: t.rule_id,
        source: None,
        reason: &reason,
        reverses: Some(t.id),
        created_by: Some(actor.person_id),
        created_at_ms: now,
        posts_at_ms: None,
        expires_at_ms: None,
    };
    let id = write(app, &mut tx, &n).await?;
    let row = store::get_transfer(&mut tx, id).await?.ok_or_else(|| AppError::not_found("transfer"))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

// ---------------------------------------------------------------------------------------
// Accounts and statements

/// One's own account (empty until the first points).
pub async fn mine(app: &App, actor: &Actor) -> Result<Option<AccountView>> {
    let mut conn = app.db.read().await?;
    Ok(store::account_of_person(&mut conn, actor.person_id).await?.as_ref().map(account_view))
}

/// One's household's account (户积分), as the archives place one's own record; null before
/// its first points or without a household.
pub async fn household(app: &App, actor: &Actor) -> Result<Option<AccountView>> {
    let mut conn = app.db.read().await?;
    let Some(h) = household_of(&mut conn, actor.person_id).await? else { return Ok(None) };
    Ok(store::account_of_household(&mut conn, &h.key).await?.as_ref().map(account_view))
}

pub async fn account(app: &App, actor: &Actor, id: i64) -> Result<AccountView> {
    let mut conn = app.db.read().await?;
    let a = store::get_account(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("account {id}")))?;
    may_read(&mut conn, actor, &a).await.map_err(|_| AppError::not_found(format!("account {id}")))?;
    Ok(account_view(&a))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PointsStatementEntry)]
pub struct StatementEntry {
    /// What the transfer did to this account: positive in, negative out.
    pub change: i64,
    pub transfer: TransferView,
}

/// An account's transfers, newest first, each with what it did to the account.
pub async fn statement(
    app: &App,
    actor: &Actor,
    id: i64,
    before: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<StatementEntry>> {
    let limit = crate::page_limit(limit)?;
    let mut conn = app.db.read().await?;
    let a = store::get_account(&mut conn, id).await?.ok_or_else(|| AppError::not_found(format!("account {id}")))?;
    may_read(&mut conn, actor, &a).await.map_err(|_| AppError::not_found(format!("account {id}")))?;
    let rows = store::statement(&mut conn, id, before.unwrap_or(i64::MAX), limit).await?;
    Ok(rows
        .into_iter()
        .map(|t| StatementEntry {
            change: if t.credit_account == id { t.amount } else { -t.amount },
            transfer: transfer_view(t),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// The points shop

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewPointsItem)]
pub struct NewItem {
    pub territory_code: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
#[schema(as = PointsItem)]
pub struct ItemView {
    pub id: i64,
    pub territory_code: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

fn item_view(i: store::ItemRow) -> ItemView {
    ItemView { id: i.id, territory_code: i.territory_code, name: i.name, price: i.price, stock: i.stock }
}

pub async fn create_item(app: &App, actor: &Actor, n: NewItem) -> Result<ItemView> {
    let t = TerritoryCode::parse(&n.territory_code).map_err(|e| AppError::invalid("territory_code", e.reason))?;
    let name = text::name("name", &n.name, 50)?;
    let price = Points::parse("price", n.price)?;
    if !(0..=100_000).contains(&n.stock) {
        return Err(AppError::invalid("stock", format!("{} is outside 0–100000", n.stock)));
    }
    actor.can(Action::ManagePoints, &Target::territory(&t))?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, t.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("territory_code", format!("{t} is not in the territory tree")));
    }
    let id = store::insert_item(&mut tx, t.as_str(), &name, price.get(), n.stock, now).await?;
    let row = store::get_item(&mut tx, id).await?.ok_or_else(|| AppError::not_found("item"))?;
    wuzhi_store::commit(tx).await?;
    Ok(item_view(row))
}

/// The shop's items a person may buy: those of the territories their home lies in; for
/// staff, those of `territory`.
pub async fn items(app: &App, actor: &Actor, territory: Option<&str>) -> Result<Vec<ItemView>> {
    let mut conn = app.db.read().await?;
    let codes: Vec<String> = match territory {
        Some(t) => {
            let t = TerritoryCode::parse(t).map_err(|e| AppError::invalid("territory", e.reason))?;
            actor.can(Action::ReadPoints, &Target::territory(&t))?;
            vec![t.to_string()]
        }
        None => {
            let (home, _) = person_home(&mut conn, actor.person_id).await?;
            // Exact territories above and at the home: the prefix query would also take
            // a sibling's items, so keep those whose code is an ancestor of the home.
            let all = store::items_for(&mut conn, &[home.as_str()[..6.min(home.as_str().len())].to_owned()]).await?;
            return Ok(all
                .into_iter()
                .filter(|i| TerritoryCode::parse(&i.territory_code).is_ok_and(|c| c.contains(&home)))
                .map(item_view)
                .collect());
        }
    };
    Ok(store::items_for(&mut conn, &codes).await?.into_iter().map(item_view).collect())
}

/// A resident spends points on an item of their community's shop: one of its stock and its
/// price, in one transaction; `key` makes a retried request count once.
pub async fn redeem(app: &App, actor: &Actor, item: i64, key: &str) -> Result<TransferView> {
    let key = text::name("key", key, 64)?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let it = store::get_item(&mut tx, item)
        .await?
        .filter(|i| i.active)
        .ok_or_else(|| AppError::not_found(format!("item {item}")))?;
    let (home, name) = person_home(&mut tx, actor.person_id).await?;
    let shop = code(&it.territory_code)?;
    if !shop.contains(&home) {
        return Err(AppError::not_found(format!("item {item}")));
    }
    let source = format!("redeem:{}:{key}", actor.person_id);
    // The same request again: the redemption it made.
    if let Some(done) = store::by_source(&mut tx, TransferKind::Redeem.as_str(), &source).await? {
        return Ok(transfer_view(done));
    }
    let account = store::person_account(&mut tx, actor.person_id, home.as_str(), &name, now).await?;
    let community = community_of(&home);
    let fund = community_fund(&mut tx, &community, now).await?;
    if !store::take_one(&mut tx, item).await? {
        return Err(AppError::Conflict { field: "item".into(), reason: "none is left".into() });
    }
    let reason = format!("兑换：{}", it.name);
    let t = NewTransfer {
        debit: account.id,
        credit: fund.id,
        amount: it.price,
        kind: TransferKind::Redeem.as_str(),
        pending: false,
        rule_id: None,
        source: Some(&source),
        reason: &reason,
        reverses: None,
        created_by: Some(actor.person_id),
        created_at_ms: now,
        posts_at_ms: None,
        expires_at_ms: None,
    };
    let id = write(app, &mut tx, &t).await?;
    let row = store::get_transfer(&mut tx, id).await?.ok_or_else(|| AppError::not_found("transfer"))?;
    wuzhi_store::commit(tx).await?;
    Ok(transfer_view(row))
}

// ---------------------------------------------------------------------------------------
// The settle pass and the check

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Settled {
    pub posted: u64,
    pub expired: u64,
}

/// Posts the pending transfers whose period ended and nobody objected to, and returns
/// expired points to their fund. Each in a short transaction of its own.
pub async fn settle_once(app: &App) -> Result<Settled> {
    let now = app.now_ms();
    let mut out = Settled::default();
    loop {
        let mut conn = app.db.read().await?;
        let due = store::due(&mut conn, now, 200).await?;
        drop(conn);
        if due.is_empty() {
            break;
        }
        for id in &due {
            let mut tx = app.db.write().await?;
            match store::settle(&mut tx, *id, true, None, now).await {
                Ok(true) => {
                    wuzhi_store::commit(tx).await?;
                    out.posted += 1;
                }
                Ok(false) => {}
                // A debit the account can no longer give stays pending for a person to decide.
                Err(e) if store::is_overdraft(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if due.len() < 200 {
            break;
        }
    }
    let mut conn = app.db.read().await?;
    let expired = store::expired_credits(&mut conn, now).await?;
    drop(conn);
    for (account_id, credits) in expired {
        let mut tx = app.db.write().await?;
        let Some(a) = store::get_account(&mut tx, account_id).await? else { continue };
        let amount = ledger::to_expire(credits, a.debits_pending + a.debits_posted).min(counters(&a).available());
        if amount <= 0 {
            continue;
        }
        let community = community_of(&code(&a.territory_code)?);
        let fund = community_fund(&mut tx, &community, now).await?;
        let t = NewTransfer {
            debit: a.id,
            credit: fund.id,
            amount,
            kind: TransferKind::Expire.as_str(),
            pending: false,
            rule_id: None,
            source: None,
            reason: "积分到期",
            reverses: None,
            created_by: None,
            created_at_ms: now,
            posts_at_ms: None,
            expires_at_ms: None,
        };
        write(app, &mut tx, &t).await?;
        wuzhi_store::commit(tx).await?;
        out.expired += amount as u64;
    }
    Ok(out)
}

/// What the check read.
#[derive(Debug, Serialize)]
pub struct Verified {
    pub accounts: u64,
    pub transfers: u64,
    /// The first broken invariant, if any.
    pub broken: Option<String>,
}

/// Checks the whole ledger: every transfer's seal, and every account's counters against the
/// sums of its transfers (and no person or household below zero). Reports the first broken
/// invariant.
pub async fn verify(app: &App) -> Result<Verified> {
    let mut conn = app.db.read().await?;
    let mut sums: std::collections::HashMap<i64, Counters> = std::collections::HashMap::new();
    let (mut after, mut transfers, mut first): (i64, u64, Option<Broken>) = (0, 0, None);
    loop {
        let page = store::transfers_after(&mut conn, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for t in &page {
            transfers += 1;
            let text = ledger::sealed_text(
                t.id,
                t.debit_account,
                t.credit_account,
                t.amount,
                &t.kind,
                t.source.as_deref(),
                t.reverses,
                t.created_at_ms,
            );
            if first.is_none() && app.settings.vault.blind("points.transfer", &text) != t.seal {
                first = Some(Broken::Seal { transfer: t.id });
            }
            let state = TransferState::parse(&t.state)?;
            let d = sums.entry(t.debit_account).or_default();
            *d = d.with(t.amount, state, true);
            let c = sums.entry(t.credit_account).or_default();
            *c = c.with(t.amount, state, false);
        }
    }
    let (mut after, mut accounts) = (0, 0u64);
    loop {
        let page = store::accounts_after(&mut conn, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for a in &page {
            accounts += 1;
            if first.is_none() {
                let kind = AccountKind::parse(&a.kind)?;
                first = ledger::check_account(a.id, kind, counters(a), sums.get(&a.id).copied().unwrap_or_default());
            }
        }
    }
    Ok(Verified { accounts, transfers, broken: first.map(|b| b.to_string()) })
}
