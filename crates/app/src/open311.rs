//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the use cases behind
//! `/open311/v2/`. Services are the leaf categories with their attributes; a request is a
//! case, posted through the same intake path as every other channel; reads are public and
//! carry no personal data (reporter fields are never returned, numbers in texts are masked).
//! Integrating systems hold API keys, each with a rate limit shared by all app servers.

use crate::audit::record;
use crate::cases::{Channel, NewCase, report_checked};
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use wuzhi_domain::calendar::{format_local, parse_datetime};
use wuzhi_domain::cases::{Command as DomainCommand, Status, public};
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Actor, text};
use wuzhi_geo::ImportError;
use wuzhi_store::cases::CaseRow;
use wuzhi_store::open311::{AttributeRow, KeyRow, RequestFilter};

pub const DEFAULT_ATTRIBUTES: &str = include_str!("../../../data/categories/attributes.csv");
const DATATYPES: [&str; 6] = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"];
/// GeoReport's defaults for `GET requests` without a period or a page size.
pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_REQUESTS: i64 = 1000;
pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;

// ---------------------------------------------------------------- services

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// True when the service has attributes (read its definition).
    pub metadata: bool,
    /// realtime: a posted request gets its id at once.
    #[serde(rename = "type")]
    pub kind: String,
    pub keywords: String,
    pub group: String,
}

/// The leaf categories as Open311 services, in code order.
pub async fn services(app: &App) -> Result<Vec<Service>> {
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::categories(&mut conn).await?;
    let with: HashSet<String> =
        wuzhi_store::open311::categories_with_attributes(&mut conn).await?.into_iter().collect();
    let names: HashMap<&str, &str> = rows.iter().map(|r| (r.code.as_str(), r.name.as_str())).collect();
    let mut out: Vec<Service> = rows
        .iter()
        .filter(|r| r.accept_limit.is_some())
        .map(|r| {
            let mut keywords = vec![r.kind.clone()];
            if r.emergency {
                keywords.push("emergency".into());
            }
            Service {
                service_code: r.code.clone(),
                service_name: r.name.clone(),
                description: r.filing_condition.clone().unwrap_or_else(|| r.name.clone()),
                metadata: with.contains(&r.code),
                kind: "realtime".into(),
                keywords: keywords.join(","),
                group: r.parent_code.as_deref().and_then(|p| names.get(p)).unwrap_or(&"").to_string(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.service_code.cmp(&b.service_code));
    Ok(out)
}

#[derive(Debug, Serialize, Clone, PartialEq, utoipa::ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Attribute {
    /// False for an informational attribute (nothing to answer).
    pub variable: bool,
    pub code: String,
    pub datatype: String,
    pub required: bool,
    pub datatype_description: String,
    pub order: i64,
    pub description: String,
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Definition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

fn to_attribute(a: AttributeRow) -> Attribute {
    let values: Vec<AttributeValue> = serde_json::from_str::<Vec<Value>>(&a.choices)
        .unwrap_or_default()
        .into_iter()
        .map(|v| AttributeValue {
            key: v["key"].as_str().unwrap_or_default().to_owned(),
            name: v["name"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    Attribute {
        variable: a.variable,
        code: a.code,
        datatype: a.datatype,
        required: a.required,
        datatype_description: a.datatype_description,
        order: a.ord,
        description: a.description,
        values,
    }
}

/// A service's definition; `NotFound` for an unknown code or a class that is not a leaf.
pub async fn definition(app: &App, code: &str) -> Result<Definition> {
    let mut conn = app.db.read().await?;
    let cat = wuzhi_store::cases::get_category(&mut conn, code).await?;
    if !cat.is_some_and(|c| c.accept_limit.is_some()) {
        return Err(AppError::not_found(format!("service_code {code}")));
    }
    let attributes = wuzhi_store::open311::attributes(&mut conn, code).await?.into_iter().map(to_attribute).collect();
    Ok(Definition { service_code: code.to_owned(), attributes })
}

/// Parses an attributes CSV (`data/categories/attributes.csv`): every problem by line.
/// `values` is `key:name|key:name` for the list datatypes.
pub fn parse_attributes_csv(text: &str, leaves: &HashSet<String>) -> Result<Vec<AttributeRow>, Vec<ImportError>> {
    let err = |line: u64, field: &str, reason: String| ImportError {
        location: format!("line {line}"),
        field: field.into(),
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, "header", e.to_string())]),
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    for need in ["category_code", "code", "datatype", "description"] {
        if col(need).is_none() {
            return Err(vec![err(1, "header", format!("needs a {need} column"))]);
        }
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e.position().map(|p| p.line()).unwrap_or(0), "row", e.to_string()));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).map(str::trim).unwrap_or("").to_owned();
        let flag = |n: &str, default: bool| match get(n).as_str() {
            "" => Ok(default),
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(format!("`{other}` is not true or false")),
        };
        let before = errors.len();
        let category = get("category_code");
        if !leaves.contains(&category) {
            errors.push(err(line, "category_code", format!("`{category}` is not a leaf category of the taxonomy")));
        }
        let code = get("code");
        if code.is_empty() || code.len() > 50 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errors.push(err(line, "code", format!("`{code}` must be 1–50 letters, digits and underscores")));
        } else if !seen.insert((category.clone(), code.clone())) {
            errors.push(err(line, "code", format!("`{code}` appears twice for {category}")));
        }
        let datatype = get("datatype");
        if !DATATYPES.contains(&datatype.as_str()) {
            errors.push(err(line, "datatype", format!("`{datatype}` is not one of {}", DATATYPES.join(", "))));
        }
        let required = flag("required", false).map_err(|r| errors.push(err(line, "required", r))).unwrap_or(false);
        let variable = flag("variable", true).map_err(|r| errors.push(err(line, "variable", r))).unwrap_or(true);
        let ord = match get("order").as_str() {
            "" => rows.iter().filter(|r: &&AttributeRow| r.category_code == category).count() as i64 + 1,
            o => o.parse().unwrap_or_else(|_| {
                errors.push(err(line, "order", format!("`{o}` is not a whole number")));
                0
            }),
        };
        let description = get("description");
        if description.is_empty() {
            errors.push(err(line, "description", "is empty".into()));
        }
        let mut choices = Vec::new();
        let values = get("values");
        for pair in values.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once(':') {
                Some((k, n)) if !k.trim().is_empty() && !n.trim().is_empty() => {
                    choices.push(json!({"key": k.trim(), "name": n.trim()}))
                }
                _ => errors.push(err(line, "values", format!("`{pair}` is not key:name"))),
            }
        }
        let listed = datatype.ends_with("valuelist");
        if listed && choices.is_empty() {
            errors.push(err(line, "values", format!("a {datatype} needs its values as key:name|key:name")));
        }
        if !listed && !choices.is_empty() {
            errors.push(err(line, "values", format!("a {datatype} takes no values")));
        }
        if errors.len() == before {
            rows.push(AttributeRow {
                category_code: category,
                code,
                datatype,
                required,
                variable,
                datatype_description: get("datatype_description"),
                ord,
                description,
                choices: Value::Array(choices).to_string(),
            });
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

async fn leaves(app: &App) -> Result<HashSet<String>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::categories(&mut conn)
        .await?
        .into_iter()
        .filter(|c| c.accept_limit.is_some())
        .map(|c| c.code)
        .collect())
}

/// Replaces the attributes of every category the CSV names, all or nothing.
pub async fn import_attributes(app: &App, caller: Caller<'_>, text: &str) -> Result<usize> {
    let actor = caller.person();
    crate::require_city_admin(caller, wuzhi_domain::permission::Action::ManageCategories.as_str())?;
    let rows = parse_attributes_csv(text, &leaves(app).await?).map_err(AppError::Import)?;
    let cats: Vec<String> =
        rows.iter().map(|r| r.category_code.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::open311::replace_attributes(&mut tx, &cats, &rows).await?;
    record(&mut tx, now, actor, "import_category_attributes", "category", "*", json!({"rows": rows.len()})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(rows.len())
}

// ---------------------------------------------------------------- keys

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct KeyView {
    pub id: i64,
    pub name: String,
    pub rate_per_minute: i64,
    pub created_at_ms: i64,
    pub revoked: bool,
    /// Shown once, when the key is created; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

fn key_view(k: KeyRow, api_key: Option<String>) -> KeyView {
    KeyView {
        id: k.id,
        name: k.name,
        rate_per_minute: k.rate_per_minute,
        created_at_ms: k.created_at_ms,
        revoked: k.revoked_at_ms.is_some(),
        api_key,
    }
}

fn require_admin(a: &Actor) -> Result<()> {
    crate::require_city_admin(Caller::Person(a), "manage Open311 API keys")
}

/// A new API key (`actor` None: the command line). The key is printed once.
pub async fn create_key(app: &App, caller: Caller<'_>, name: &str, rate_per_minute: Option<i64>) -> Result<KeyView> {
    let actor = caller.person();
    if let Some(a) = actor {
        require_admin(a)?;
    }
    let name = text::name("name", name, 100)?;
    let rate = rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
    if !(1..=1_000_000).contains(&rate) {
        return Err(AppError::invalid("rate_per_minute", "must be 1 to 1000000"));
    }
    let key = crate::auth::random_token();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let id = wuzhi_store::open311::insert_key(&mut tx, &name, &crate::auth::sha256_hex(&key), rate, now).await?;
    record(
        &mut tx,
        now,
        actor,
        "create_open311_key",
        "open311_key",
        &id.to_string(),
        json!({"name": name, "rate": rate}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    let row = KeyRow { id, name, rate_per_minute: rate, created_at_ms: now, revoked_at_ms: None };
    Ok(key_view(row, Some(key)))
}

pub async fn list_keys(app: &App, actor: &Actor) -> Result<Vec<KeyView>> {
    require_admin(actor)?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::open311::list_keys(&mut conn).await?.into_iter().map(|k| key_view(k, None)).collect())
}

pub async fn revoke_key(app: &App, caller: Caller<'_>, id: i64) -> Result<()> {
    let actor = caller.person();
    if let Some(a) = actor {
        require_admin(a)?;
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if !wuzhi_store::open311::revoke_key(&mut tx, id, now).await? {
        return Err(AppError::not_found(format!("active Open311 key {id}")));
    }
    record(&mut tx, now, actor, "revoke_open311_key", "open311_key", &id.to_string(), json!({})).await?;
    wuzhi_store::commit(tx).await?;
    app.key_use.forget();
    Ok(())
}

/// How often a server adds its local count of a key's uses to the shared one.
const SYNC_MS: i64 = 1000;

/// Each server's view of the keys in use: the shared count of the current one-minute window
/// as last read, plus the uses counted here since. Writing every use would cost a durable
/// commit per request; syncing at most once a second per key keeps the shared count within
/// a second of the truth, and a revoked key is refused by every server within a second.
#[derive(Default)]
pub struct KeyUse {
    keys: std::sync::Mutex<HashMap<String, Local>>,
}

struct Local {
    key: KeyRow,
    window_ms: i64,
    shared: i64,
    unsynced: i64,
    synced_ms: i64,
    syncing: bool,
}

impl KeyUse {
    /// Forgets every key (after a revocation here, so this server refuses it at once).
    pub fn forget(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Checks an `api_key` and counts its use: `BadKey` when missing, unknown or revoked,
/// `RateLimited` past its requests per minute.
pub async fn use_key(app: &App, api_key: Option<&str>) -> Result<KeyRow> {
    let key = api_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AppError::BadKey { reason: "api_key is required to post".into() })?;
    let hash = crate::auth::sha256_hex(key);
    let now = app.now_ms();
    let window = now - now.rem_euclid(60_000);
    let uses = {
        let mut keys = app.key_use.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get_mut(&hash) {
            Some(l) if l.window_ms == window && (l.syncing || now - l.synced_ms < SYNC_MS) => {
                l.unsynced += 1;
                return within_rate(l.key.clone(), l.shared + l.unsynced, now);
            }
            Some(l) => {
                let uses = if l.window_ms == window { l.unsynced + 1 } else { 1 };
                l.unsynced = 0;
                l.syncing = true;
                uses
            }
            None => 1,
        }
    };
    let synced = async {
        let mut tx = app.db.write().await?;
        let used = wuzhi_store::open311::use_key(&mut tx, &hash, window, uses).await?;
        wuzhi_store::commit(tx).await?;
        Ok::<_, AppError>(used)
    }
    .await;
    let mut keys = app.key_use.keys.lock().unwrap_or_else(|e| e.into_inner());
    let (row, shared) = match synced {
        Ok(Some(x)) => x,
        Ok(None) => {
            keys.remove(&hash);
            return Err(AppError::BadKey { reason: "api_key is unknown or revoked".into() });
        }
        Err(e) => {
            if let Some(l) = keys.get_mut(&hash) {
                // Not counted: try again with the next request.
                l.unsynced += uses;
                l.syncing = false;
            }
            return Err(e);
        }
    };
    let l = keys.entry(hash).or_insert(Local {
        key: row.clone(),
        window_ms: window,
        shared: 0,
        unsynced: 0,
        synced_ms: now,
        syncing: false,
    });
    if l.window_ms != window {
        l.unsynced = 0;
    }
    (l.key, l.window_ms, l.shared, l.synced_ms, l.syncing) = (row.clone(), window, shared, now, false);
    within_rate(row, shared + l.unsynced, now)
}

fn within_rate(row: KeyRow, count: i64, now: i64) -> Result<KeyRow> {
    if count > row.rate_per_minute {
        return Err(AppError::RateLimited {
            reason: format!(
                "api_key `{}` may make {} requests a minute; try again in {} s",
                row.name,
                row.rate_per_minute,
                (60_000 - now.rem_euclid(60_000)) / 1000 + 1
            ),
        });
    }
    Ok(row)
}

// ---------------------------------------------------------------- posting

/// A `POST requests` form, decoded.
#[derive(Debug, Default, Clone)]
pub struct NewRequest {
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[CODE]` and `attribute[CODE][]`, in the order sent.
    pub attributes: Vec<(String, String)>,
    /// The client's `Idempotency-Key` header: a retry with the same key returns the same request.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Posted {
    pub service_request_id: i64,
    /// Also answers `GET tokens/{token}`.
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

fn number(field: &str, s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| AppError::invalid(field, format!("`{s}` is not a number")))
}

/// Checks the answers against the service's attributes: every required one present, each
/// of its datatype, list values among the keys, no unknown codes.
fn check_attributes(defs: &[Attribute], sent: &[(String, String)]) -> Result<BTreeMap<String, Value>> {
    let mut given: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (code, v) in sent {
        given.entry(code.as_str()).or_default().push(v.as_str());
    }
    let mut out = BTreeMap::new();
    for (code, _) in &given {
        if !defs.iter().any(|d| d.code == *code && d.variable) {
            return Err(AppError::invalid(format!("attribute[{code}]"), "is not an attribute of this service"));
        }
    }
    for d in defs.iter().filter(|d| d.variable) {
        let field = format!("attribute[{}]", d.code);
        let values: Vec<&str> = given
            .get(d.code.as_str())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if values.is_empty() {
            if d.required {
                return Err(AppError::invalid(field, format!("is required ({})", d.description)));
            }
            continue;
        }
        let one = || -> Result<&str> {
            if values.len() > 1 {
                return Err(AppError::invalid(field.clone(), "takes one value"));
            }
            Ok(values[0].trim())
        };
        let key_ok = |v: &str| d.values.iter().any(|x| x.key == v);
        let value = match d.datatype.as_str() {
            "number" => json!(number(&field, one()?)?),
            "datetime" => {
                let v = one()?;
                json!(format_local(parse_datetime(&field, v)?))
            }
            "singlevaluelist" => {
                let v = one()?;
                if !key_ok(v) {
                    let keys: Vec<&str> = d.values.iter().map(|x| x.key.as_str()).collect();
                    return Err(AppError::invalid(field, format!("`{v}` is not one of {}", keys.join(", "))));
                }
                json!(v)
            }
            "multivaluelist" => {
                for v in &values {
                    if !key_ok(v.trim()) {
                        let keys: Vec<&str> = d.values.iter().map(|x| x.key.as_str()).collect();
                        return Err(AppError::invalid(field, format!("`{v}` is not one of {}", keys.join(", "))));
                    }
                }
                json!(values.iter().map(|v| v.trim()).collect::<Vec<_>>())
            }
            "text" => {
                let v = one()?;
                if v.chars().count() > 4000 {
                    return Err(AppError::invalid(field, "is longer than 4000 characters"));
                }
                json!(v)
            }
            _ => {
                let v = one()?;
                if v.chars().count() > 500 {
                    return Err(AppError::invalid(field, "is longer than 500 characters"));
                }
                json!(v)
            }
        };
        out.insert(d.code.clone(), value);
    }
    Ok(out)
}

/// Files an Open311 request as a case through the intake path. `key` is the checked key.
pub async fn post_request(app: &App, key: &KeyRow, r: NewRequest) -> Result<Posted> {
    let code = r.service_code.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let code = code.ok_or_else(|| AppError::invalid("service_code", "is required"))?;
    let mut conn = app.db.read().await?;
    let service_name = match wuzhi_store::cases::get_category(&mut conn, code).await? {
        Some(c) if c.accept_limit.is_some() => c.name,
        _ => return Err(AppError::invalid("service_code", format!("`{code}` is not a service here (see services)"))),
    };
    let attributes: Vec<Attribute> =
        wuzhi_store::open311::attributes(&mut conn, code).await?.into_iter().map(to_attribute).collect();
    drop(conn);
    let answers = check_attributes(&attributes, &r.attributes)?;
    let some = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (lat, long) = (some(&r.lat), some(&r.long));
    let (lon, lat) = match (long, lat) {
        (Some(x), Some(y)) => {
            let (x, y) = (number("long", &x)?, number("lat", &y)?);
            if !(-180.0..=180.0).contains(&x) {
                return Err(AppError::invalid("long", "must be between -180 and 180"));
            }
            if !(-90.0..=90.0).contains(&y) {
                return Err(AppError::invalid("lat", "must be between -90 and 90"));
            }
            (Some(x), Some(y))
        }
        (None, None) => (None, None),
        (None, Some(_)) => return Err(AppError::invalid("long", "lat and long come together")),
        (Some(_), None) => return Err(AppError::invalid("lat", "lat and long come together")),
    };
    let address = some(&r.address_string);
    let address_id = some(&r.address_id);
    if lon.is_none() && address.is_none() && address_id.is_none() {
        return Err(AppError::invalid("lat", "a location is required: lat and long, address_string or address_id"));
    }
    // address_id names a territory (its code) when there is no point.
    let address = match (&address_id, lon) {
        (Some(id), None) => {
            let name = app
                .locator()
                .name_of(id)
                .ok_or_else(|| AppError::invalid("address_id", format!("`{id}` is not a territory code here")))?;
            Some(match &address {
                Some(a) => format!("{a} {name}"),
                None => name,
            })
        }
        _ => address,
    };
    let description = some(&r.description).unwrap_or_else(|| service_name.clone());
    if description.chars().count() > 4000 {
        return Err(AppError::invalid("description", "is longer than 4000 characters"));
    }
    let subject: String = {
        let first_line = description.lines().next().unwrap_or("").trim();
        let s: String = first_line.chars().take(40).collect();
        if s.is_empty() { service_name.clone() } else { s }
    };
    let name = match (some(&r.first_name), some(&r.last_name)) {
        (None, None) => None,
        (f, l) => Some([f, l].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    let email = some(&r.email);
    if let Some(e) = &email {
        let ok = e.len() <= 200 && e.split_once('@').is_some_and(|(u, d)| !u.is_empty() && d.contains('.'));
        if !ok {
            return Err(AppError::invalid("email", format!("`{e}` is not an e-mail address")));
        }
    }
    let media_url = some(&r.media_url);
    if let Some(m) = &media_url {
        if !(m.starts_with("http://") || m.starts_with("https://")) || m.len() > 2000 {
            return Err(AppError::invalid("media_url", "must be an http(s) URL of at most 2000 characters"));
        }
    }
    let mut extra = json!({"open311_key": key.id});
    if !answers.is_empty() {
        extra["attributes"] = json!(answers);
    }
    for (k, v) in [("media_url", &media_url), ("device_id", &some(&r.device_id)), ("account_id", &some(&r.account_id))]
    {
        if let Some(v) = v {
            extra[k] = json!(v);
        }
    }
    // A retry carrying the same Idempotency-Key gets the same token, so intake recognises it.
    let token = match r.idempotency_key.as_deref().map(str::trim) {
        Some(k) if k.is_empty() || k.len() > 200 => {
            return Err(AppError::invalid("Idempotency-Key", "must be 1 to 200 characters"));
        }
        Some(k) => crate::auth::sha256_hex(&format!("{}:{k}", key.id)),
        None => crate::auth::random_token(),
    };
    let n = NewCase {
        channel: Channel::Open311,
        kind: "request".into(),
        subject,
        description,
        category: Some(code.to_owned()),
        lon,
        lat,
        crs: Some("wgs84".into()),
        address,
        reporter_name: name,
        reporter_phone: some(&r.phone),
        reporter_email: email,
        attributes: Some(extra.to_string()),
        anonymous: false,
        public: None,
        idempotency_key: Some(token.clone()),
        fixed_on_spot: None,
    };
    // Intake names its own fields; an Open311 client knows them by the specification's names.
    let retry = r.idempotency_key.is_some();
    let answer = report_checked(app, Caller::System(System::Open311Client), n, None).await;
    // A retry finds its case written before; the client may not read cases as staff do, so
    // it gets the request's id by its token.
    if retry && matches!(answer, Err(AppError::Forbidden { .. })) {
        let id = self::token(app, &token).await?;
        return Ok(Posted {
            service_request_id: id,
            token,
            service_notice: String::new(),
            account_id: some(&r.account_id),
        });
    }
    let (case, _) = answer.map_err(|e| match e {
        AppError::Invalid { field, reason } => {
            let field = match field.as_str() {
                "lon" => "long".to_owned(),
                "address" => "address_string".to_owned(),
                "reporter_name" => "first_name".to_owned(),
                _ => field,
            };
            AppError::Invalid { field, reason }
        }
        other => other,
    })?;
    Ok(Posted { service_request_id: case.id, token, service_notice: String::new(), account_id: some(&r.account_id) })
}

async fn category_names(app: &App) -> Result<HashMap<String, String>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code, c.name)).collect())
}

/// The idempotency key intake stores for an Open311 token.
pub(crate) fn token_key(token: &str) -> String {
    format!("open311:0:{token}")
}

/// The request a token stands for.
pub async fn token(app: &App, token: &str) -> Result<i64> {
    let mut conn = app.db.read().await?;
    wuzhi_store::cases::by_idempotency_key(&mut conn, &token_key(token))
        .await?
        .ok_or_else(|| AppError::not_found(format!("token {token}")))
}

// ---------------------------------------------------------------- reading

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
fn open_or_closed(status: &str) -> &'static str {
    match Status::parse(status) {
        Ok(s) if !s.is_open() => "closed",
        _ => "open",
    }
}

/// The case states behind an Open311 state.
fn statuses(open: bool) -> impl Iterator<Item = String> {
    Status::ALL.into_iter().filter(move |s| s.is_open() == open).map(|s| s.as_str().to_owned())
}

fn split(values: &[String]) -> Vec<String> {
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
fn note_text(kind: &str, data: &Value) -> String {
    let field = match kind {
        "handled" => "result",
        "rejected" | "reopened" | "escalated" => "reason",
        "verified" | "reworked" => "note",
        "commented" => "text",
        _ => "",
    };
    public::text(data.get(field).and_then(Value::as_str).unwrap_or(""))
}

fn summary(kind: &str) -> &'static str {
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

fn extra_of(r: &CaseRow) -> Value {
    r.attributes.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or(json!({}))
}

/// Whether the client gave the request a `media_url` of its own.
fn has_media_url(r: &CaseRow) -> bool {
    extra_of(r).get("media_url").is_some()
}

/// A case as an Open311 request, from its row, its photos and its public events.
fn shape(
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
fn place_name(app: &App, code: &str) -> String {
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

// ---------------------------------------------------------------- updates

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

fn status_after(kind: &str) -> &'static str {
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
