//! The points ledger's storage (migration 0025): accounts with their four counters, earning
//! rules, transfers with their seals, the shop's items. Every function takes the caller's
//! connection or transaction: a transfer, its counters and (for a redemption) the item's
//! stock are written in one transaction, and the database's constraints refuse an overdraft
//! or a stock below zero whatever the interleaving of concurrent requests.

pub mod campaigns;
pub mod party;
pub mod reports;
pub mod volunteers;
pub mod wishes;
use crate::{Conn, Result, StoreError};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub kind: String,
    pub territory_code: String,
    pub person_id: Option<i64>,
    pub household_key: Option<String>,
    pub name: String,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
    pub created_at_ms: i64,
}

const ACCOUNT_COLS: &str = "id, kind, territory_code, person_id, household_key, name, debits_pending, debits_posted, \
                            credits_pending, credits_posted, created_at_ms";

fn account(r: &sqlx::any::AnyRow) -> Result<AccountRow> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        territory_code: r.try_get("territory_code")?,
        person_id: r.try_get("person_id")?,
        household_key: r.try_get("household_key")?,
        name: r.try_get("name")?,
        debits_pending: r.try_get("debits_pending")?,
        debits_posted: r.try_get("debits_posted")?,
        credits_pending: r.try_get("credits_pending")?,
        credits_posted: r.try_get("credits_posted")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub async fn get_account(conn: &mut Conn, id: i64) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(account).transpose()
}

/// The person's account, made on first use (empty).
pub async fn person_account(
    conn: &mut Conn,
    person: i64,
    territory: &str,
    name: &str,
    now_ms: i64,
) -> Result<AccountRow> {
    sqlx::query(
        "INSERT INTO points_accounts (kind, territory_code, person_id, name, created_at_ms) VALUES ('person', $1, $2, $3, $4) \
         ON CONFLICT (person_id) WHERE kind = 'person' DO NOTHING",
    )
    .bind(territory)
    .bind(person)
    .bind(name)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE kind = 'person' AND person_id = $1");
    account(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(person).fetch_one(&mut *conn).await?)
}

/// The household's account (户积分), made on first use: `key` names the household as the
/// archives know it.
pub async fn household_account(
    conn: &mut Conn,
    key: &str,
    territory: &str,
    name: &str,
    now_ms: i64,
) -> Result<AccountRow> {
    sqlx::query(
        "INSERT INTO points_accounts (kind, territory_code, household_key, name, created_at_ms) VALUES ('household', $1, $2, $3, $4) \
         ON CONFLICT (household_key) WHERE kind = 'household' DO NOTHING",
    )
    .bind(territory)
    .bind(key)
    .bind(name)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE kind = 'household' AND household_key = $1");
    account(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key).fetch_one(&mut *conn).await?)
}

/// The household's account if it has one.
pub async fn account_of_household(conn: &mut Conn, key: &str) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE kind = 'household' AND household_key = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(&mut *conn).await?.as_ref().map(account).transpose()
}

/// The person's account if they have one.
pub async fn account_of_person(conn: &mut Conn, person: i64) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE kind = 'person' AND person_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

/// The community's fund, made on first use.
pub async fn fund(conn: &mut Conn, territory: &str, name: &str, now_ms: i64) -> Result<AccountRow> {
    sqlx::query(
        "INSERT INTO points_accounts (kind, territory_code, name, created_at_ms) VALUES ('fund', $1, $2, $3) \
         ON CONFLICT (territory_code) WHERE kind = 'fund' DO NOTHING",
    )
    .bind(territory)
    .bind(name)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE kind = 'fund' AND territory_code = $1");
    account(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(territory).fetch_one(&mut *conn).await?)
}

/// All accounts, in id order, a page at a time (for the check).
pub async fn accounts_after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM points_accounts WHERE id > $1 ORDER BY id LIMIT $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(account)
        .collect()
}

#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: i64,
    pub territory_code: String,
    pub code: String,
    pub name: String,
    pub points: i64,
    pub publicity_days: i64,
    pub valid_days: Option<i64>,
    pub active: bool,
}

fn rule(r: &sqlx::any::AnyRow) -> Result<RuleRow> {
    Ok(RuleRow {
        id: r.try_get("id")?,
        territory_code: r.try_get("territory_code")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        points: r.try_get("points")?,
        publicity_days: r.try_get("publicity_days")?,
        valid_days: r.try_get("valid_days")?,
        active: r.try_get::<i64, _>("active")? == 1,
    })
}

const RULE_COLS: &str = "id, territory_code, code, name, points, publicity_days, valid_days, active";

#[allow(clippy::too_many_arguments)]
pub async fn insert_rule(
    conn: &mut Conn,
    territory: &str,
    code: &str,
    name: &str,
    points: i64,
    publicity_days: i64,
    valid_days: Option<i64>,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO points_rules (territory_code, code, name, points, publicity_days, valid_days, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(territory)
    .bind(code)
    .bind(name)
    .bind(points)
    .bind(publicity_days)
    .bind(valid_days)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_rule(conn: &mut Conn, id: i64) -> Result<Option<RuleRow>> {
    let sql = format!("SELECT {RULE_COLS} FROM points_rules WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(rule).transpose()
}

/// The rules of one territory.
pub async fn rules_at(conn: &mut Conn, territory: &str) -> Result<Vec<RuleRow>> {
    let sql = format!("SELECT {RULE_COLS} FROM points_rules WHERE territory_code = $1 ORDER BY code");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(territory).fetch_all(&mut *conn).await?.iter().map(rule).collect()
}

#[derive(Debug, Clone)]
pub struct TransferRow {
    pub id: i64,
    pub debit_account: i64,
    pub credit_account: i64,
    pub amount: i64,
    pub kind: String,
    pub state: String,
    pub rule_id: Option<i64>,
    pub source: Option<String>,
    pub reason: String,
    pub reverses: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
    pub posts_at_ms: Option<i64>,
    pub objected_at_ms: Option<i64>,
    pub objection: Option<String>,
    pub settled_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub seal: String,
}

const TRANSFER_COLS: &str = "id, debit_account, credit_account, amount, kind, state, rule_id, source, reason, reverses, \
                             created_by, created_at_ms, posts_at_ms, objected_at_ms, objection, settled_at_ms, expires_at_ms, seal";

fn transfer(r: &sqlx::any::AnyRow) -> Result<TransferRow> {
    Ok(TransferRow {
        id: r.try_get("id")?,
        debit_account: r.try_get("debit_account")?,
        credit_account: r.try_get("credit_account")?,
        amount: r.try_get("amount")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        rule_id: r.try_get("rule_id")?,
        source: r.try_get("source")?,
        reason: r.try_get("reason")?,
        reverses: r.try_get("reverses")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        posts_at_ms: r.try_get("posts_at_ms")?,
        objected_at_ms: r.try_get("objected_at_ms")?,
        objection: r.try_get("objection")?,
        settled_at_ms: r.try_get("settled_at_ms")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        seal: r.try_get("seal")?,
    })
}

/// A transfer to write.
pub struct NewTransfer<'a> {
    pub debit: i64,
    pub credit: i64,
    pub amount: i64,
    pub kind: &'a str,
    pub pending: bool,
    pub rule_id: Option<i64>,
    pub source: Option<&'a str>,
    pub reason: &'a str,
    pub reverses: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
    pub posts_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
}

/// Moves the counters of the two accounts a transfer of `amount` touches, in `state`
/// (`pending` or `posted`), by `sign` (+1 to add it, −1 to take a pending one back out).
/// The overdraft constraint answers here when the debited account cannot give it.
async fn move_counters(conn: &mut Conn, debit: i64, credit: i64, amount: i64, pending: bool, sign: i64) -> Result<()> {
    let (d, c) = if pending { ("debits_pending", "credits_pending") } else { ("debits_posted", "credits_posted") };
    for (account, column) in [(debit, d), (credit, c)] {
        let sql = format!("UPDATE points_accounts SET {column} = {column} + $2 WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(sign * amount).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes a transfer and moves its accounts' counters; `seal_of(id)` gives its seal once its
/// id is known. An overdraft is `StoreError::Check("ck_points_no_overdraft")`; a second
/// transfer of the same kind and source a unique violation of `uq_points_source`.
pub async fn insert_transfer(conn: &mut Conn, t: &NewTransfer<'_>, seal_of: impl FnOnce(i64) -> String) -> Result<i64> {
    let state = if t.pending { "pending" } else { "posted" };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO points_transfers (debit_account, credit_account, amount, kind, state, rule_id, source, reason, reverses, \
         created_by, created_at_ms, posts_at_ms, expires_at_ms, seal) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '') RETURNING id",
    )
    .bind(t.debit)
    .bind(t.credit)
    .bind(t.amount)
    .bind(t.kind)
    .bind(state)
    .bind(t.rule_id)
    .bind(t.source)
    .bind(t.reason)
    .bind(t.reverses)
    .bind(t.created_by)
    .bind(t.created_at_ms)
    .bind(t.posts_at_ms)
    .bind(t.expires_at_ms)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE points_transfers SET seal = $2 WHERE id = $1")
        .bind(id)
        .bind(seal_of(id))
        .execute(&mut *conn)
        .await?;
    move_counters(conn, t.debit, t.credit, t.amount, t.pending, 1).await?;
    Ok(id)
}

pub async fn get_transfer(conn: &mut Conn, id: i64) -> Result<Option<TransferRow>> {
    let sql = format!("SELECT {TRANSFER_COLS} FROM points_transfers WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(transfer).transpose()
}

/// The transfer of `kind` made for `source`, if any.
pub async fn by_source(conn: &mut Conn, kind: &str, source: &str) -> Result<Option<TransferRow>> {
    let sql = format!("SELECT {TRANSFER_COLS} FROM points_transfers WHERE kind = $1 AND source = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .bind(source)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(transfer)
        .transpose()
}

/// Ends a pending transfer: posted (its amount moves from the pending to the posted
/// counters) or voided (it leaves the pending counters). False when it was not pending (a
/// concurrent settlement came first).
pub async fn settle(conn: &mut Conn, id: i64, post: bool, by: Option<i64>, now_ms: i64) -> Result<bool> {
    let state = if post { "posted" } else { "voided" };
    let row = sqlx::query(
        "UPDATE points_transfers SET state = $2, settled_at_ms = $3, settled_by = $4 WHERE id = $1 AND state = 'pending' \
         RETURNING debit_account, credit_account, amount",
    )
    .bind(id)
    .bind(state)
    .bind(now_ms)
    .bind(by)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(false) };
    let (debit, credit, amount): (i64, i64, i64) =
        (r.try_get("debit_account")?, r.try_get("credit_account")?, r.try_get("amount")?);
    // Out of pending first, then posted: the overdraft check (debits posted + pending within
    // the posted credits) runs after each statement, and would count a debit twice if it
    // were posted before it left pending — refusing a deduction that takes the last point.
    move_counters(conn, debit, credit, amount, true, -1).await?;
    if post {
        move_counters(conn, debit, credit, amount, false, 1).await?;
    }
    Ok(true)
}

/// Records the owner's objection to a pending deduction; false when it is not one (or
/// already objected to).
pub async fn object(conn: &mut Conn, id: i64, text: &str, now_ms: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE points_transfers SET objected_at_ms = $2, objection = $3 \
         WHERE id = $1 AND state = 'pending' AND kind = 'deduct' AND objected_at_ms IS NULL",
    )
    .bind(id)
    .bind(now_ms)
    .bind(text)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Pending transfers whose period ended and that nobody objected to.
pub async fn due(conn: &mut Conn, now_ms: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM points_transfers WHERE state = 'pending' AND posts_at_ms <= $1 AND objected_at_ms IS NULL ORDER BY id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Per account: the posted earnings whose period ended by `now_ms`.
pub async fn expired_credits(conn: &mut Conn, now_ms: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT credit_account, CAST(SUM(amount) AS BIGINT) AS total FROM points_transfers \
         WHERE kind = 'earn' AND state = 'posted' AND expires_at_ms <= $1 GROUP BY credit_account ORDER BY credit_account",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("credit_account")?, r.try_get("total")?))).collect()
}

/// The transfers touching an account, newest first, before id `before`.
pub async fn statement(conn: &mut Conn, account: i64, before: i64, limit: i64) -> Result<Vec<TransferRow>> {
    // Each side takes its newest `limit` by its own index (account, id) and the two are
    // merged, so a page costs the page, not the account's history: with the limit only
    // outside the union, PostgreSQL read every entry of the account and sorted them. Planned
    // for the account asked for (an unnamed statement), not a cached generic plan: not
    // knowing the account, PostgreSQL's generic plan walks the primary key backwards and
    // filters — every row of the ledger for a side with no entry.
    let sql = format!(
        "SELECT * FROM (SELECT {TRANSFER_COLS} FROM points_transfers WHERE debit_account = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3) AS d \
         UNION ALL SELECT * FROM (SELECT {TRANSFER_COLS} FROM points_transfers WHERE credit_account = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3) AS c ORDER BY id DESC LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .bind(account)
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(transfer)
        .collect()
}

/// Every transfer in id order, a page at a time (for the check).
pub async fn transfers_after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<TransferRow>> {
    let sql = format!("SELECT {TRANSFER_COLS} FROM points_transfers WHERE id > $1 ORDER BY id LIMIT $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(transfer)
        .collect()
}

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub territory_code: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub active: bool,
}

fn item(r: &sqlx::any::AnyRow) -> Result<ItemRow> {
    Ok(ItemRow {
        id: r.try_get("id")?,
        territory_code: r.try_get("territory_code")?,
        name: r.try_get("name")?,
        price: r.try_get("price")?,
        stock: r.try_get("stock")?,
        active: r.try_get::<i64, _>("active")? == 1,
    })
}

pub async fn insert_item(
    conn: &mut Conn,
    territory: &str,
    name: &str,
    price: i64,
    stock: i64,
    now_ms: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO points_items (territory_code, name, price, stock, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(territory)
    .bind(name)
    .bind(price)
    .bind(stock)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_item(conn: &mut Conn, id: i64) -> Result<Option<ItemRow>> {
    sqlx::query("SELECT id, territory_code, name, price, stock, active FROM points_items WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(item)
        .transpose()
}

/// The active items of the territories whose codes start with one of `codes`.
pub async fn items_for(conn: &mut Conn, codes: &[String]) -> Result<Vec<ItemRow>> {
    let mut out = Vec::new();
    for code in codes {
        let rows = sqlx::query(
            "SELECT id, territory_code, name, price, stock, active FROM points_items WHERE territory_code LIKE $1 AND active = 1 ORDER BY id",
        )
        .bind(format!("{code}%"))
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            out.push(item(r)?);
        }
    }
    Ok(out)
}

/// Takes one of an item's stock; false when none is left.
pub async fn take_one(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE points_items SET stock = stock - 1 WHERE id = $1 AND active = 1 AND stock > 0")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// True when `e` is the database refusing an overdraft.
pub fn is_overdraft(e: &StoreError) -> bool {
    matches!(e, StoreError::Check(c) if c.contains("ck_points_no_overdraft"))
}

/// (person, name, home territory) of each of `ids` that exists, in one statement.
pub async fn people_homes(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String, Option<String>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "SELECT id, name, home_territory FROM people WHERE id IN ({})",
            crate::bulk::marks(conn, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((r.try_get("id")?, r.try_get("name")?, r.try_get("home_territory")?));
        }
    }
    Ok(out)
}

/// The accounts of `people` ((person, territory, name)), made where missing, in a few
/// statements: person → account id.
pub async fn person_accounts(
    conn: &mut Conn,
    people: &[(i64, String, String)],
    now_ms: i64,
) -> Result<std::collections::HashMap<i64, i64>> {
    let mut out = std::collections::HashMap::new();
    for chunk in people.chunks(500) {
        let sql = format!(
            "INSERT INTO points_accounts (kind, territory_code, person_id, name, created_at_ms) VALUES {} \
             ON CONFLICT (person_id) WHERE kind = 'person' DO NOTHING",
            crate::bulk::row_marks(conn, chunk.len(), 5)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (person, territory, name) in chunk {
            q = q.bind("person").bind(territory.as_str()).bind(*person).bind(name.as_str()).bind(now_ms);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "SELECT person_id, id FROM points_accounts WHERE kind = 'person' AND person_id IN ({})",
            crate::bulk::marks(conn, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (person, _, _) in chunk {
            q = q.bind(*person);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert(r.try_get::<i64, _>("person_id")?, r.try_get::<i64, _>("id")?);
        }
    }
    Ok(out)
}

/// Which of `sources` were already paid by a transfer of `kind`. The kind is written into
/// the statement (it is one of the domain's names, never input) together with the partial
/// index's own condition, so PostgreSQL's generic plan still uses `uq_points_source`; with the
/// kind as a parameter it could not prove the index's `kind <> 'reverse'` and scanned the
/// table for every batch.
pub async fn paid_sources(
    conn: &mut Conn,
    kind: wuzhi_domain::virtue::ledger::TransferKind,
    sources: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in sources.chunks(1000) {
        let sql = format!(
            "SELECT source FROM points_transfers WHERE kind = '{}' AND kind <> 'reverse' AND source IS NOT NULL AND source IN ({})",
            kind.as_str(),
            crate::bulk::marks(conn, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for s in chunk {
            q = q.bind(s.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Writes a batch of transfers, each with a distinct source, in multi-row statements: the
/// rows, their seals (`seal_of(id, index)`, one statement per chunk) and each account's
/// counters moved once by the batch's sum for it. Returns the ids in the batch's order.
pub async fn insert_transfers(
    conn: &mut Conn,
    batch: &[NewTransfer<'_>],
    seal_of: impl Fn(i64, usize) -> String,
) -> Result<Vec<i64>> {
    use crate::bulk::Val;
    const COLS: [&str; 14] = [
        "debit_account",
        "credit_account",
        "amount",
        "kind",
        "state",
        "rule_id",
        "source",
        "reason",
        "reverses",
        "created_by",
        "created_at_ms",
        "posts_at_ms",
        "expires_at_ms",
        "seal",
    ];
    let rows: Vec<Vec<Val>> = batch
        .iter()
        .map(|t| {
            vec![
                t.debit.into(),
                t.credit.into(),
                t.amount.into(),
                Val::T(Some(t.kind.to_owned())),
                Val::T(Some(if t.pending { "pending" } else { "posted" }.to_owned())),
                t.rule_id.into(),
                Val::T(t.source.map(str::to_owned)),
                Val::T(Some(t.reason.to_owned())),
                t.reverses.into(),
                t.created_by.into(),
                t.created_at_ms.into(),
                t.posts_at_ms.into(),
                t.expires_at_ms.into(),
                Val::T(Some(String::new())),
            ]
        })
        .collect();
    let made = crate::bulk::insert_rows_returning(conn, "points_transfers", &COLS, &rows, "source").await?;
    let by_source: std::collections::HashMap<String, i64> = made.into_iter().collect();
    let ids: Vec<i64> = batch
        .iter()
        .map(|t| t.source.and_then(|s| by_source.get(s).copied()).ok_or(StoreError::NotFound))
        .collect::<Result<_>>()?;
    let positional = conn.backend_name().eq_ignore_ascii_case("sqlite");
    for (chunk_no, chunk) in ids.chunks(500).enumerate() {
        let mut sql = String::from("UPDATE points_transfers SET seal = CASE id");
        let mut n = 0;
        let mut mark = || {
            n += 1;
            if positional { "?".to_owned() } else { format!("${n}") }
        };
        for _ in chunk {
            let (a, b) = (mark(), mark());
            sql.push_str(&format!(" WHEN {a} THEN {b}"));
        }
        let list: Vec<String> = chunk.iter().map(|_| mark()).collect();
        sql.push_str(&format!(" END WHERE id IN ({})", list.join(", ")));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (k, id) in chunk.iter().enumerate() {
            q = q.bind(*id).bind(seal_of(*id, chunk_no * 500 + k));
        }
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    // Each account's counters once, by the batch's sum for it; credits before debits, so a
    // batch that pays an account and takes from it is never refused half-way.
    let mut sums: std::collections::BTreeMap<(bool, i64, bool), i64> = std::collections::BTreeMap::new();
    for t in batch {
        *sums.entry((false, t.credit, t.pending)).or_default() += t.amount;
        *sums.entry((true, t.debit, t.pending)).or_default() += t.amount;
    }
    for ((debit, account, pending), amount) in sums {
        let column = match (debit, pending) {
            (true, true) => "debits_pending",
            (true, false) => "debits_posted",
            (false, true) => "credits_pending",
            (false, false) => "credits_posted",
        };
        let sql = format!("UPDATE points_accounts SET {column} = {column} + $2 WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(amount).execute(&mut *conn).await?;
    }
    Ok(ids)
}
