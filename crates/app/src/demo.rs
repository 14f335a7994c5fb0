//! The demo city: Tianjin's territory tree (real districts, townships and villages; derived
//! polygons and grids), organisations at every level, and one account for every role.
//! Used by `wuzhi demo` and by the test suite. The demo password is public on purpose: it is
//! for the demo city only and is never created by `wuzhi serve`.

use crate::audit::record;
use crate::people::{NewMembership, NewPerson};
use crate::{App, AppError, Result, people};
use serde_json::json;
use std::collections::HashMap;
use wuzhi_domain::calendar::format_local;
use wuzhi_domain::work::{Caller, System};
use wuzhi_domain::{Level, OrgKind};

pub const DEMO_PASSWORD: &str = "wuzhi-demo-2026";

/// One demo account: (username, name, role, scope, organisation name, phone).
pub const ACCOUNTS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("admin", "系统管理员", "admin", "120000", "天津市社会治理系统管理办公室", "13800000001"),
    ("security", "安全保密管理员", "security_admin", "120000", "天津市社会治理系统管理办公室", "13800000015"),
    ("dpo", "个人信息保护负责人", "data_protection_officer", "120000", "天津市社会治理系统管理办公室", "13800000013"),
    ("auditor", "安全审计员", "auditor", "120000", "天津市社会治理系统管理办公室", "13800000014"),
    ("city_leader", "市领导", "city_leader", "120000", "中共天津市委员会", "13800000002"),
    ("dispatcher", "市指挥中心派遣员", "dispatcher", "120000", "天津市社会治理指挥中心", "13800000003"),
    ("district_leader", "和平区领导", "district_leader", "120101", "中共天津市和平区委员会", "13800000004"),
    ("handler", "和平区城管委承办人", "department_handler", "120101", "和平区城市管理委员会", "13800000005"),
    ("commander", "劝业场街道指挥长", "street_commander", "120101001", "劝业场街道办事处", "13800000006"),
    ("community", "花园路社区工作者", "community_staff", "120101001001", "花园路社区居委会", "13800000007"),
    ("gridworker", "花园路第1网格网格员", "grid_worker", "120101001001001", "花园路社区居委会", "13800000008"),
    ("gridworker2", "花园路第2网格网格员", "grid_worker", "120101001001002", "花园路社区居委会", "13800000009"),
    ("steward", "花园路小巷管家", "steward", "120101001001001", "和平区志愿服务队", "13800000010"),
    ("resident", "花园路居民", "resident", "120101001001001", "花园路社区居委会", "13800000011"),
    ("resident2", "花园路另一居民", "resident", "120101001001002", "花园路社区居委会", "13800000012"),
];

/// The departments every demo district has: those the default taxonomy sends cases to.
pub const DISTRICT_DEPARTMENTS: [&str; 17] = [
    "城市管理委员会",
    "水务局",
    "住房和建设委员会",
    "农业农村委员会",
    "公安分局",
    "教育局",
    "人力资源和社会保障局",
    "民政局",
    "政务服务办公室",
    "发展和改革委员会",
    "卫生健康委员会",
    "商务局",
    "生态环境局",
    "交通运输局",
    "纪委监委",
    "规划和自然资源局",
    "科学技术局",
];

fn short(name: &str) -> &str {
    for suffix in ["社区居委会", "居委会", "村委会", "村民委员会", "居民委员会"] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s;
        }
    }
    name
}

/// Seeds the demo city unless a city is already there. `districts` limits it to the first
/// N districts (tests use 1: 和平区). Returns false when it was already seeded.
pub async fn seed(app: &App, districts: Option<usize>) -> Result<bool> {
    {
        let mut conn = app.db.read().await?;
        if wuzhi_store::territory::get(&mut conn, "120000", false).await?.is_some() {
            return Ok(false);
        }
    }
    let mut batch = tokio::task::spawn_blocking(move || wuzhi_geo::demo::tianjin(districts))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let errors = wuzhi_geo::territory::validate(&mut batch, &|_| None);
    if !errors.is_empty() {
        return Err(AppError::Import(errors));
    }
    let mut orgs: Vec<(String, String, String)> = Vec::new();
    let mut org =
        |name: String, kind: OrgKind, code: &str| orgs.push((name, kind.as_str().to_owned(), code.to_owned()));
    for r in &batch.records {
        let code = r.code.as_str();
        let n = r.name.as_str();
        match r.level() {
            Level::City => {
                org(format!("中共{n}委员会"), OrgKind::PartyOrganisation, code);
                org(format!("{n}社会治理指挥中心"), OrgKind::CommandCentre, code);
                org(format!("{n}城市管理委员会"), OrgKind::Department, code);
                org(format!("{n}司法局"), OrgKind::LegalService, code);
                org(format!("{n}志愿服务联合会"), OrgKind::VolunteerTeam, code);
                org(format!("{n}社会治理系统管理办公室"), OrgKind::AdminOffice, code);
            }
            Level::District => {
                org(format!("中共天津市{n}委员会"), OrgKind::PartyOrganisation, code);
                org(format!("{n}社会治理中心"), OrgKind::CommandCentre, code);
                for dept in DISTRICT_DEPARTMENTS {
                    org(format!("{n}{dept}"), OrgKind::Department, code);
                }
                org(format!("{n}公共法律服务中心"), OrgKind::LegalService, code);
                org(format!("{n}志愿服务队"), OrgKind::VolunteerTeam, code);
                org(format!("{n}新时代文明实践中心"), OrgKind::PracticeCentre, code);
            }
            Level::Township => {
                org(format!("{n}党工委"), OrgKind::PartyOrganisation, code);
                let office = if n.ends_with("街道") { format!("{n}办事处") } else { format!("{n}人民政府") };
                org(office, OrgKind::StreetOffice, code);
                org(format!("{n}新时代文明实践所"), OrgKind::PracticeCentre, code);
            }
            Level::Village => {
                org(n.to_owned(), OrgKind::CommunityCommittee, code);
                org(format!("{}党组织", short(n)), OrgKind::PartyOrganisation, code);
                let s = short(n);
                let place = match () {
                    _ if s.ends_with('村') || s.ends_with("社区") => "",
                    _ if n.contains('村') => "村",
                    _ => "社区",
                };
                org(format!("{s}{place}新时代文明实践站"), OrgKind::PracticeCentre, code);
            }
            Level::Grid => {}
        }
    }
    crate::territory::store_batch(app, Caller::System(System::CommandLine), batch, false).await?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::org::insert_many(&mut tx, &orgs, now).await?;
    record(&mut tx, now, None, "seed_demo", "organisation", "*", json!({"organisations": orgs.len()})).await?;
    wuzhi_store::commit(tx).await?;

    for &(username, name, role, scope, org_name, phone) in ACCOUNTS {
        let mut conn = app.db.read().await?;
        let org_scope = if org_name.ends_with("居委会") { "120101001001" } else { scope };
        let org_scope = if org_name.ends_with("志愿服务队") { "120101" } else { org_scope };
        let Some(org_id) = wuzhi_store::org::find(&mut conn, org_scope, org_name).await? else {
            return Err(AppError::Internal(format!("demo organisation {org_name} missing")));
        };
        drop(conn);
        let p = people::create(
            app,
            Caller::System(System::CommandLine),
            NewPerson {
                name,
                phone: Some(phone),
                home_territory: scope,
                username: Some(username),
                password: Some(DEMO_PASSWORD),
            },
        )
        .await?;
        let post = match role {
            "resident" => "居民",
            "grid_worker" => "专职网格员",
            "steward" => "小巷管家",
            "community_staff" => "社区工作者",
            "street_commander" => "街道指挥长",
            "department_handler" => "承办人",
            "dispatcher" => "派遣员",
            "district_leader" => "区领导",
            "city_leader" => "市领导",
            "auditor" => "安全审计员",
            "security_admin" => "安全保密管理员",
            "data_protection_officer" => "个人信息保护负责人",
            _ => "系统管理员",
        };
        people::grant(
            app,
            Caller::System(System::CommandLine),
            NewMembership { person_id: p.id, organisation_id: org_id, role, scope_code: scope, post },
        )
        .await?;
    }
    Ok(true)
}

/// Real messages residents left on a city government's message board (TipDM Cup 2020
/// problem C; see `data/README.md`): labelled with their first-level class, and with their
/// likes.
pub const LABELLED_MESSAGES: &str = include_str!("../../../data/complaints/messages_train.csv");
pub const LIKED_MESSAGES: &str = include_str!("../../../data/complaints/hot_messages.csv");

/// Everything `wuzhi demo` seeds, in order: the city (or its first `districts`), the history
/// of real messages, the synthetic archives of 和平区, the grid work and the rule of virtue.
/// False when the city was there already (nothing is seeded twice).
pub async fn seed_all(app: &App, districts: Option<usize>) -> Result<bool> {
    let t = std::time::Instant::now();
    if !seed(app, districts).await? {
        return Ok(false);
    }
    tracing::info!(seconds = t.elapsed().as_secs_f64(), "demo city seeded");
    let t = std::time::Instant::now();
    let n = seed_history(app).await?;
    tracing::info!(cases = n, seconds = t.elapsed().as_secs_f64(), "demo history of real messages imported");
    let t = std::time::Instant::now();
    let n = crate::archives::demo::seed(app, "120101", 4, 12).await?;
    tracing::info!(people = n, seconds = t.elapsed().as_secs_f64(), "synthetic demo archives imported");
    let n = crate::gridwork::demo::seed(app).await?;
    tracing::info!(records = n, "demo grid work made");
    let n = crate::virtue::demo::seed(app).await?;
    tracing::info!(records = n, "demo volunteer service, points shop and small wishes made");
    Ok(true)
}

/// Gives the demo city a history: the real messages as closed historical cases through the
/// ordinary import. The labelled ones carry their first-level category (so the classifier
/// has confirmed cases to learn from), the liked ones their likes as supports (so hot topics
/// have real voices). The messages' city had districts A1–A9: they stand for the demo city's
/// first nine districts, and a message goes to a community of its district chosen by its id.
/// Times move by one offset so that the newest message was yesterday; a labelled message
/// without a time is placed in the year before. Returns how many cases were imported.
pub async fn seed_history(app: &App) -> Result<usize> {
    let mut conn = app.db.read().await?;
    let mut villages: Vec<String> = wuzhi_store::territory::names_above_grid(&mut conn)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.len() == 12)
        .collect();
    let cats = wuzhi_store::cases::categories(&mut conn).await?;
    drop(conn);
    villages.sort();
    let mut districts: Vec<String> = villages.iter().map(|v| v[..6].to_owned()).collect();
    districts.dedup();
    if villages.is_empty() {
        return Ok(0);
    }
    let level1: HashMap<String, String> = cats
        .iter()
        .filter(|c| c.parent_code.as_deref() == Some("H"))
        .map(|c| (c.name.clone(), c.code.clone()))
        .collect();
    let place = |id: u64, text: &str| -> String {
        // "A3区" names the district; otherwise any.
        let d = text
            .find("A")
            .and_then(|i| text[i + 1..].chars().next())
            .and_then(|c| c.to_digit(10))
            .filter(|n| (1..=9).contains(n) && (*n as usize) <= districts.len())
            .map(|n| districts[n as usize - 1].clone());
        let inside: Vec<&String> = match &d {
            Some(d) => villages.iter().filter(|v| v.starts_with(d.as_str())).collect(),
            None => villages.iter().collect(),
        };
        let h = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 17;
        inside[(h % inside.len() as u64) as usize].clone()
    };
    let parse = |t: &str| crate::cases::parse_local("time", t).ok();
    let mut rows: Vec<(String, String, String, Option<i64>, Option<String>, String, i64)> = Vec::new();
    for (data, labelled) in [(LIKED_MESSAGES, false), (LABELLED_MESSAGES, true)] {
        let mut rdr = csv::Reader::from_reader(data.as_bytes());
        let headers = rdr.headers().map_err(|e| AppError::Internal(e.to_string()))?.clone();
        let col = |n: &str| headers.iter().position(|h| h == n);
        for rec in rdr.records() {
            let rec = rec.map_err(|e| AppError::Internal(e.to_string()))?;
            let get = |n: &str| col(n).and_then(|i| rec.get(i)).unwrap_or("").trim().to_owned();
            let id: u64 = get("id").parse().unwrap_or(0);
            let detail = get("detail");
            let subject = match get("subject") {
                s if s.is_empty() => detail.chars().take(30).collect(),
                s => s,
            };
            let category = if labelled { level1.get(&get("label")).cloned() } else { None };
            let likes = get("likes").parse::<i64>().unwrap_or(0).max(0);
            let territory = place(id, &format!("{subject}{detail}"));
            rows.push((
                format!("{}{id}", if labelled { "L" } else { "H" }),
                subject,
                detail,
                parse(&get("time")),
                category,
                territory,
                likes,
            ));
        }
    }
    let newest = rows.iter().filter_map(|r| r.3).max().unwrap_or(0);
    let oldest = rows.iter().filter_map(|r| r.3).min().unwrap_or(0);
    let shift = app.now_ms() - 86_400_000 - newest;
    let undated = rows.iter().filter(|r| r.3.is_none()).count().max(1) as i64;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "external_id",
        "subject",
        "description",
        "created_at",
        "status",
        "closed_at",
        "category",
        "territory",
        "supports",
        "public",
    ])
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut k = 0;
    for (ext, subject, detail, at, category, territory, likes) in rows {
        let created = match at {
            Some(t) => t + shift,
            None => {
                k += 1;
                oldest + shift - 365 * 86_400_000 + k * (365 * 86_400_000 / undated)
            }
        };
        let closed = created + 7 * 86_400_000;
        let subject: String = subject.chars().take(100).collect();
        out.write_record([
            ext.as_str(),
            subject.as_str(),
            detail.as_str(),
            &format_local(created)[..19],
            "closed",
            &format_local(closed.min(app.now_ms()))[..19],
            category.as_deref().unwrap_or(""),
            territory.as_str(),
            &likes.to_string(),
            // Posted on the city's public message board: published by the system they come from.
            "true",
        ])
        .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let text = String::from_utf8(out.into_inner().map_err(|e| AppError::Internal(e.to_string()))?)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (imported, _) = crate::cases::import_csv(app, Caller::System(System::CommandLine), &text).await?;
    Ok(imported)
}

/// The MyLA311 request types as categories (`data/la311/categories.csv`).
pub const LA_CATEGORIES: &str = include_str!("../../../data/la311/categories.csv");

/// Makes an empty database the LA deployment used by the Open311 round trip and
/// `wuzhi bench la311`: Los Angeles's neighbourhood councils (`councils`, the GeoJSON of
/// `data/la311/nc_boundaries.geojson`) as territory, grouped into districts by planning
/// region; the MyLA311 request types as categories; and an Open311 key with room for a
/// replay. Returns the key.
pub async fn la_city(app: &App, councils: &str) -> Result<String> {
    let spec = wuzhi_geo::territory::AreasSpec {
        city_code: "990000",
        city_name: "Los Angeles",
        name_field: "nc_name",
        group_field: Some("region"),
    };
    crate::territory::import_areas(app, Caller::System(System::CommandLine), councils, &spec, false).await?;
    crate::cases::categories::import(app, Caller::System(System::CommandLine), LA_CATEGORIES).await?;
    let key =
        crate::open311::create_key(app, Caller::System(System::CommandLine), "MyLA311 replay", Some(1_000_000)).await?;
    Ok(key.api_key.unwrap_or_default())
}

/// The demo account's person with their posts, as the demo's seeders act.
pub(crate) async fn actor_of(app: &App, username: &str) -> Result<wuzhi_domain::Actor> {
    let mut conn = app.db.read().await?;
    let id = wuzhi_store::people::account_by_username(&mut conn, username)
        .await?
        .map(|a| a.person_id)
        .ok_or_else(|| AppError::not_found(format!("demo account {username}")))?;
    drop(conn);
    app.actor(id).await
}
