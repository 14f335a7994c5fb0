//! Use cases. Each public function takes its caller (a person with their posts, or a named
//! part of the system: `wuzhi_domain::work::Caller`), checks the permission rule, runs the
//! domain, and commits one transaction that also appends to the audit log. The kernel is the
//! top-level files, `work` the work-item kernel, and each module a folder (`cases`,
//! `open311`, `text`); ARCHITECTURE.md shows the map.
//!
//! [`App`] holds what every use case needs: the database, the injected clock, the grid
//! index and the settings. Edges (HTTP, CLI) call these functions and contain no rules.

// The kernel: what every module uses.
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod kpi;
pub mod live;
pub mod locate;
pub mod notify;
pub mod org;
pub mod people;
pub mod retention;
pub mod second_factor;
pub mod territory;
pub mod vault;
pub mod virtue;
pub mod webhooks;
// Work items: the step function and the deadline sweep every kind shares.
pub mod work;
// The modules, each a folder.
pub mod archives;
pub mod cases;
pub mod gridwork;
pub mod open311;
pub mod text;
pub mod warnings;

pub use work::sweep;

/// The kinds of background job and their runners (see `jobs`).
pub(crate) fn job_kinds() -> &'static [(&'static str, jobs::Runner)] {
    &[(text::classify::TRAINING_JOB, text::classify::training_job), (cases::EXPORT_JOB, cases::export_job)]
}

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, Result};
use text::{classify, search, similar};

use std::sync::{Arc, RwLock};
use wuzhi_domain::{Actor, Grant, Role, TerritoryCode};
use wuzhi_store::{Conn, Db};

/// Settings that shape behaviour (from configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub session_ttl_ms: i64,
    /// A session unused this long ends (besides `session_ttl_ms`): 30 minutes.
    pub session_idle_ms: i64,
    /// Failed sign-ins in a row, for one username from one source address, before that pair
    /// locks for `lockout_ms` (each further lock twice as long, at most 64 times).
    pub max_failed_logins: i64,
    pub lockout_ms: i64,
    /// Failed sign-ins from one source address, whatever the username, before it locks
    /// (password spraying).
    pub max_failed_from_source: i64,
    /// Failures older than this are forgotten.
    pub login_window_ms: i64,
    /// Proxies in front of the servers whose `X-Forwarded-For` names the client
    /// (`WUZHI_TRUSTED_PROXIES`); from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When set, only these addresses read `/metrics` (`WUZHI_METRICS_ALLOW`); everyone else
    /// gets 404 as if there were none. By default it is open, for a monitoring system inside.
    pub metrics_allow: Option<Vec<std::net::IpAddr>>,
    /// Serve the interactive API page and the OpenAPI document (`WUZHI_API_DOCS=off` hides
    /// both).
    pub api_docs: bool,
    /// Where attachments are stored (content-addressed).
    pub files_dir: std::path::PathBuf,
    /// The Open311 `jurisdiction_id` this server answers for; when set, another is refused.
    pub open311_jurisdiction: Option<String>,
    /// A map tile URL template (`https://…/{z}/{x}/{y}.png`) the pages lay under wuzhi's own
    /// layers; none by default (no internet base map is assumed).
    pub map_tiles: Option<String>,
    /// Where this server keeps its search index (its own local disk; none: in memory,
    /// rebuilt from the database at start).
    pub search_dir: Option<std::path::PathBuf>,
    /// Whether webhooks may reach loopback, link-local and private addresses (off by default;
    /// see `webhooks::destination`).
    pub allow_private_webhooks: bool,
    /// The keys that seal the archives' encrypted fields (from the key file; see `vault`).
    pub vault: Arc<vault::Vault>,
    /// Different people one reader may read in clear within ten minutes before the
    /// data-protection officers are warned of a bulk read.
    pub bulk_read_threshold: i64,
    /// Roles whose holders must sign in with a second factor (`WUZHI_TWO_FACTOR_ROLES`;
    /// default the administrators and the auditors). Anyone else may add one.
    pub two_factor_roles: Vec<Role>,
    /// When household visit plans began counting: a household never visited is due one
    /// interval after this (default 2026-01-01 00:00 Beijing time).
    pub gridwork_since_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_ttl_ms: 12 * 3600 * 1000,
            session_idle_ms: 30 * 60 * 1000,
            max_failed_logins: 5,
            lockout_ms: 15 * 60 * 1000,
            max_failed_from_source: 30,
            login_window_ms: 15 * 60 * 1000,
            trusted_proxies: vec![],
            metrics_allow: None,
            api_docs: true,
            files_dir: std::path::PathBuf::from("wuzhi-data/files"),
            open311_jurisdiction: None,
            map_tiles: None,
            search_dir: None,
            allow_private_webhooks: false,
            // Fresh keys for a server that was given none (tests, `bench`): what it seals
            // opens only while it runs. `serve` always loads the key file.
            vault: Arc::new(vault::Vault::generate()),
            bulk_read_threshold: 50,
            two_factor_roles: vec![Role::Admin, Role::SecurityAdmin, Role::Auditor],
            gridwork_since_ms: 1_767_196_800_000,
        }
    }
}

pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    locator: RwLock<Arc<locate::Locator>>,
    calendar: RwLock<Arc<wuzhi_domain::calendar::Calendar>>,
    intake: tokio::sync::mpsc::Sender<cases::writer::Job>,
    /// Open311 keys' use counts, synced to the database at most once a second per key.
    key_use: open311::KeyUse,
    /// Changes told to live views (server-sent events).
    pub live: live::Live,
    /// This server's search index.
    pub search: search::Search,
    /// The active classifier, cached by version.
    classifier: classify::Cache,
    /// Keyword profiles of cases, for duplicates and hot topics.
    profiles: Arc<similar::Profiles>,
    /// Bounds the password hashing of this server.
    argon2: auth::Argon2Gate,
    /// The risk warnings' detectors, while this server holds them.
    detectors: warnings::Detectors,
    /// The sensitive-word lexicon as the intake's fast track uses it.
    lexicon: warnings::Lexicon,
}

impl App {
    /// Applies migrations and loads the grid index.
    pub async fn open(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Result<Arc<App>> {
        wuzhi_store::migrate::run(&db, clock.now_ms()).await?;
        let intake = cases::writer::spawn(db.clone());
        let search = search::Search::open(settings.search_dir.as_deref())?;
        let app = Arc::new(App {
            intake,
            key_use: open311::KeyUse::default(),
            live: live::Live::default(),
            search,
            classifier: classify::Cache::default(),
            profiles: Arc::default(),
            argon2: auth::Argon2Gate::default(),
            detectors: warnings::Detectors::default(),
            lexicon: warnings::Lexicon::default(),
            db,
            clock,
            settings,
            locator: RwLock::new(Arc::new(locate::Locator::empty())),
            calendar: RwLock::new(Arc::new(wuzhi_domain::calendar::Calendar::default())),
        });
        cases::categories::seed_defaults(&app).await?;
        warnings::seed_defaults(&app).await?;
        app.set_calendar(cases::categories::load_calendar(&app).await?);
        app.reload_index().await?;
        Ok(app)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn calendar(&self) -> Arc<wuzhi_domain::calendar::Calendar> {
        self.calendar.read().expect("calendar lock").clone()
    }

    pub fn set_calendar(&self, c: wuzhi_domain::calendar::Calendar) {
        *self.calendar.write().expect("calendar lock") = Arc::new(c);
    }

    /// The acting person with the grants of their active memberships.
    pub async fn actor(&self, person_id: i64) -> Result<Actor> {
        let mut conn = self.db.read().await?;
        actor_on(&mut conn, person_id, self.now_ms()).await
    }
}

pub(crate) async fn actor_on(conn: &mut Conn, person_id: i64, now_ms: i64) -> Result<Actor> {
    let rows = wuzhi_store::people::active_memberships(conn, person_id, now_ms).await?;
    Ok(actor_from(person_id, rows.into_iter().map(|m| (m.role, m.scope_code, m.organisation_id))))
}

/// Builds an actor from (role, scope, organisation) posts. Rows were validated on the way
/// in; one that no longer parses grants nothing.
pub(crate) fn actor_from(person_id: i64, posts: impl IntoIterator<Item = (String, String, i64)>) -> Actor {
    let grants = posts
        .into_iter()
        .filter_map(|(role, scope, org)| {
            Some(Grant { role: Role::parse(&role).ok()?, scope: TerritoryCode::parse(&scope).ok()?, org: Some(org) })
        })
        .collect();
    Actor { person_id, grants }
}

/// Only a city administrator ([`Actor::is_city_admin`]) or the system itself (the command
/// line) may; `what` names the refused action.
pub(crate) fn require_city_admin(caller: wuzhi_domain::work::Caller<'_>, what: &str) -> Result<()> {
    match caller.person() {
        Some(a) if !a.is_city_admin() => Err(AppError::Forbidden { action: what.into() }),
        _ => Ok(()),
    }
}

/// Page size bounds shared by every list.
pub fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(n) => Err(AppError::invalid("limit", format!("{n} is outside 1–1000"))),
    }
}
