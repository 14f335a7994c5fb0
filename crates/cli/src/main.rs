//! The `wuzhi` binary: thin glue from the command line to the application and web crates.

mod backup;
mod bench;
mod classify;
mod config;
mod memory;
mod replay;
mod warnings;

use clap::{Parser, Subcommand};
use config::{Config, ServeArgs, StorageArgs};
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use wuzhi_app::{App, AppError, Settings, SystemClock};
use wuzhi_domain::work::{Caller, System};
use wuzhi_geo::Crs;

#[derive(Parser)]
#[command(name = "wuzhi", version, about = "wuzhi (五治): the social-governance platform of a city")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and web pages.
    Serve(ServeArgs),
    /// Serve a ready demo city (Tianjin) with an account for every role.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Seed only the first N districts (faster start).
        #[arg(long)]
        districts: Option<usize>,
    },
    /// People and accounts.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Territory import and export.
    Territory {
        #[command(subcommand)]
        cmd: TerritoryCmd,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// The points ledger (积分制).
    Points {
        #[command(subcommand)]
        cmd: PointsCmd,
    },
    /// Open311 GeoReport v2: API keys for integrating systems.
    Open311 {
        #[command(subcommand)]
        cmd: Open311Cmd,
    },
    /// The case search index.
    Search {
        #[command(subcommand)]
        cmd: SearchCmd,
    },
    /// The text classifier: on the database's confirmed cases, or on a labelled CSV
    /// (columns subject, detail, label).
    Classify {
        #[command(subcommand)]
        cmd: ClassifyCmd,
    },
    /// Replay real requests through a running server's Open311 endpoint.
    Replay {
        #[command(subcommand)]
        cmd: ReplayCmd,
    },
    /// A consistent copy of the database and the stored files while the servers run (SQLite:
    /// a snapshot; PostgreSQL: pg_dump), with a manifest to check a restore against. The
    /// archives' keys are not in it: keep them apart.
    Backup {
        #[command(flatten)]
        storage: StorageArgs,
        /// A new or empty folder.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restores a backup into a new data directory (or an empty PostgreSQL database), checks
    /// it against the manifest, runs the migrations and verifies the audit chain.
    Restore {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// The base archives (房车人物): imports and their keys.
    Archives {
        #[command(subcommand)]
        cmd: ArchivesCmd,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Risk early warning: replay historical cases through the detectors.
    Warnings {
        #[command(subcommand)]
        cmd: WarningsCmd,
    },
    /// Benchmarks; each figure is printed as `name: value unit`.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum WarningsCmd {
    /// Runs the detectors over a CSV of historical cases (the columns of the case import:
    /// created_at; lon and lat, territory or address; category, subject, description,
    /// reporter, reporter_phone, channel where known) as if they arrived live, on a scratch
    /// database, and writes one row per warning raised
    /// (rule,level,territory,category,first_case_at,raised_at,case_ids).
    Replay {
        #[arg(long)]
        cases: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        /// Load only the demo city's first N districts (faster; the cases must lie in them).
        #[arg(long, conflicts_with = "territories")]
        districts: Option<usize>,
        /// The city's own territories (GeoJSON in WGS 84, or CSV), as `territory import`
        /// reads them, instead of the demo city's.
        #[arg(long)]
        territories: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ArchivesCmd {
    /// Import buildings, houses, people, vehicles, components or businesses from CSV or
    /// xlsx, all or nothing (every bad row is named).
    Import {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        file: std::path::PathBuf,
        /// Check the file and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add a new sealing key to the key file and re-seal every sealed value under it. Restart
    /// every app server afterwards (they seal under the key they loaded), then run it again
    /// to re-seal what they wrote meanwhile.
    RotateKey {
        #[command(flatten)]
        storage: StorageArgs,
        /// Only re-seal under the newest key already in the file.
        #[arg(long)]
        reseal_only: bool,
    },
    /// Anonymise the people whose retention period after moving out has passed, and print
    /// what was anonymised.
    Retention {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a person with an account and a post; the password is read from standard input.
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// admin, city_leader, dispatcher, … (see README)
        #[arg(long)]
        role: String,
        /// Territory code the role covers, e.g. 120000 for the whole city.
        #[arg(long)]
        scope: String,
        /// Organisation id; default: the territory's administration office (created if missing).
        #[arg(long)]
        org: Option<i64>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// Remove a person's second factor (an administrator whose phone is lost, with nobody
    /// else to reset it); their sessions end, and they enrol again at the next sign-in.
    ResetSecondFactor {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum SearchCmd {
    /// Rebuild the search index of every server from the cases (each running server starts
    /// within a second; a stopped one when it starts).
    Rebuild {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum ClassifyCmd {
    /// Train on the whole file and write the model; prints 5-fold cross-validated
    /// per-class precision, recall and F1 first.
    Train {
        #[arg(long)]
        input: std::path::PathBuf,
        #[arg(long)]
        model: std::path::PathBuf,
    },
    /// Train a new model version on the database's confirmed cases (closed, or filed by
    /// staff) and make it active; prints its cross-validated figures.
    TrainDb {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Score a saved model on a labelled file: prints `accuracy: X` and `macro_f1: X`.
    Eval {
        #[arg(long)]
        input: std::path::PathBuf,
        #[arg(long)]
        model: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ReplayCmd {
    /// Post every MyLA311 request of a CSV (columns of data/la311/requests_2017_sample.csv)
    /// through Open311, mapping request types to services by name; --check reads them back.
    La311 {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        #[arg(long, env = "WUZHI_OPEN311_KEY", hide_env_values = true)]
        api_key: String,
        #[arg(long, default_value = "data/la311/requests_2017_sample.csv")]
        file: std::path::PathBuf,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Read every posted request back and compare its fields; fail on any difference.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum Open311Cmd {
    /// API keys: create (printed once), list, revoke. Safe while the server runs.
    Key {
        #[command(subcommand)]
        cmd: KeyCmd,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Issue a key; prints it on standard output (only its hash is stored).
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        /// Who the key is for, e.g. "12345 hotline system".
        #[arg(long)]
        name: String,
        /// Requests a minute before clients get 429 (default 600).
        #[arg(long)]
        rate_per_minute: Option<i64>,
    },
    /// The keys, one a line: id, name, rate, state.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Revoke a key by id.
    Revoke {
        #[command(flatten)]
        storage: StorageArgs,
        id: i64,
    },
}

#[derive(Subcommand)]
enum TerritoryCmd {
    /// Import a division-code CSV or a GeoJSON FeatureCollection, all or nothing.
    Import {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        file: std::path::PathBuf,
        /// csv, geojson (default: from the file name), or areas: a GeoJSON of named areas
        /// without codes (a foreign city's neighbourhoods), each made a township with one
        /// village and one grid, grouped into districts (see --city-code, --group-field).
        #[arg(long)]
        format: Option<String>,
        /// areas: the city's code (6 digits ending in 00, e.g. 990000).
        #[arg(long, default_value = "990000")]
        city_code: String,
        /// areas: the city's name.
        #[arg(long, default_value = "")]
        city_name: String,
        /// areas: the property naming each area.
        #[arg(long, default_value = "name")]
        name_field: String,
        /// areas: the property grouping areas into districts.
        #[arg(long)]
        group_field: Option<String>,
        /// Coordinates of a GeoJSON file: wgs84 (default) or gcj02.
        #[arg(long, default_value = "wgs84")]
        crs: String,
        /// Validate only.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export a territory and everything under it as GeoJSON.
    Export {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        root: String,
        #[arg(long)]
        level: Option<String>,
        #[arg(long, default_value = "wgs84")]
        crs: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Re-check the hash chain; names the first edited, inserted or deleted entry.
    Verify {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum PointsCmd {
    /// Checks every transfer's seal and every account's counters against the sums of its
    /// transfers; names the first broken invariant and fails.
    Verify {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Risk warnings: the demo history's real messages as background with injected incidents;
    /// recall, precision, the median delay, the replay's throughput and the live pass's cost.
    Warnings {
        #[arg(long, default_value_t = 60)]
        days: i64,
        /// Background reports a working day.
        #[arg(long, default_value_t = 3000)]
        per_day: usize,
        #[arg(long, default_value_t = 15)]
        seed: u64,
        /// Also writes the evaluation's cases as the import's CSV (for `warnings replay`).
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
    /// A soak: a demo server under a steady mixed load, its memory read as it runs; fails when
    /// memory keeps growing (the last third's peak more than --max-growth-mb over the middle
    /// third's) or a request fails. By time (--minutes, a benchmark) or by work done
    /// (--requests, the CI gate: the thirds are thirds of the requests, the same on any
    /// machine), optionally with a small SQLite page cache so the caches are full early.
    Soak {
        #[arg(long, default_value_t = 3.0)]
        minutes: f64,
        #[arg(long)]
        requests: Option<usize>,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 48.0)]
        max_growth_mb: f64,
        #[arg(long)]
        sqlite_cache_mb: Option<u32>,
    },
    /// The points ledger: awards per second with every invariant enforced, the balance and
    /// statement of a large account, 100 concurrent redemptions against a balance for ten
    /// (`ledger_overspent` must be 0), and the ledger's check.
    Ledger {
        #[arg(long, default_value_t = 10_000)]
        transfers: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
    },
    /// Points located per second against the demo grids, and the index build time.
    Locate {
        #[arg(long, default_value_t = 5_000_000)]
        points: usize,
    },
    /// Cases per second and latency through the whole intake path over HTTP, on SQLite and
    /// (with --postgres) on PostgreSQL.
    Intake {
        #[arg(long, default_value_t = 20_000)]
        cases: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// The paced phase's rate (cases per second).
        #[arg(long, default_value_t = 500)]
        rate: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A PostgreSQL server URL; the benchmark makes and drops its own database there.
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
    },
    /// The real MyLA311 requests through Open311 into an LA deployment (its neighbourhood
    /// councils as territory), read back and compared, on SQLite and (with --postgres)
    /// PostgreSQL.
    La311 {
        /// The folder holding nc_boundaries.geojson and requests_2017_sample.csv.
        #[arg(long, default_value = "data/la311")]
        data: std::path::PathBuf,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
    },
    /// The text classifier: 5-fold cross-validated macro-F1, training time, texts per second.
    Classify {
        #[arg(long, default_value = "../shared/data/complaints/messages_train.csv")]
        input: std::path::PathBuf,
        /// The SVM's C (default: the shipped setting).
        #[arg(long)]
        c: Option<f32>,
        /// Longest character n-gram.
        #[arg(long)]
        max_n: Option<usize>,
        /// Documents an n-gram must occur in.
        #[arg(long)]
        min_df: Option<u32>,
    },
    /// Case search over many generated cases with the real messages' texts: index rebuild
    /// throughput and size, search latency (p50/p95/p99) for a city leader and a grid worker.
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        cases: i64,
        /// Searches per person: this many rounds of the query list (after a warm-up round).
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// A PostgreSQL server URL; the benchmark makes and drops its own database there.
        #[arg(long)]
        postgres: Option<String>,
        /// Measure PostgreSQL only.
        #[arg(long)]
        skip_sqlite: bool,
    },
    /// Near-duplicate detection on the labelled pairs: precision, recall, F1.
    Duplicates {
        #[arg(long, default_value = "data/complaints/duplicate_pairs.csv")]
        pairs: std::path::PathBuf,
    },
    /// The base archives: import rate with encryption, look-up by identity number, a grid's
    /// households, size per person.
    Archives {
        #[arg(long, default_value_t = 1_000_000)]
        people: usize,
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
        #[arg(long, requires = "postgres")]
        skip_sqlite: bool,
    },
    /// Grid work at city scale: one city task fanned out to every grid and its roll-up at
    /// every level with every grid reporting; a day of patrol tracks ingested and their size.
    Gridwork {
        /// Only the first N grids (default: all of the demo city's).
        #[arg(long)]
        grids: Option<usize>,
        /// Hours each patrol lasts.
        #[arg(long, default_value_t = 2)]
        hours: i64,
        /// Seconds between two track points.
        #[arg(long, default_value_t = 30)]
        every: i64,
        /// Points per upload (a phone sending every ten minutes).
        #[arg(long, default_value_t = 20)]
        per_upload: usize,
        /// Phones uploading at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
        #[arg(long, requires = "postgres")]
        skip_sqlite: bool,
    },
    /// The city-wide indicators and the map's per-grid counts over many generated cases.
    Kpi {
        #[arg(long, default_value_t = 10_000_000)]
        cases: i64,
        #[arg(long, env = "WUZHI_BENCH_POSTGRES")]
        postgres: Option<String>,
        /// Measure PostgreSQL only (generating ten million cases on SQLite takes minutes).
        #[arg(long, requires = "postgres")]
        skip_sqlite: bool,
    },
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The application of a command: its search index in memory (a running server holds the
/// index on disk).
async fn open(cfg: &Config) -> Result<Arc<App>, String> {
    open_with(cfg, None).await
}

/// The application of a server, with its search index on disk.
async fn open_serving(cfg: &Config) -> Result<Arc<App>, String> {
    open_with(cfg, Some(cfg.search_dir.clone())).await.map_err(|e| {
        if e.contains("LockBusy") || e.contains("lock") {
            format!(
                "{e}\nanother server uses the search index in {}: give each server its own WUZHI_SEARCH_DIR",
                cfg.search_dir.display()
            )
        } else {
            e
        }
    })
}

async fn open_with(cfg: &Config, search_dir: Option<std::path::PathBuf>) -> Result<Arc<App>, String> {
    let db = wuzhi_store::Db::connect_tuned(cfg.database_url.expose(), cfg.max_connections, cfg.sqlite_cache_mb)
        .await
        .map_err(|e| e.to_string())?;
    let settings = Settings {
        files_dir: cfg.data_dir.join("files"),
        open311_jurisdiction: cfg.open311_jurisdiction.clone(),
        map_tiles: cfg.map_tiles.clone(),
        search_dir,
        allow_private_webhooks: cfg.allow_private_webhooks,
        trusted_proxies: cfg.trusted_proxies.clone(),
        metrics_allow: cfg.metrics_allow.clone(),
        api_docs: cfg.api_docs,
        two_factor_roles: cfg.two_factor_roles.clone(),
        vault: Arc::new(load_vault(cfg)?),
        ..Settings::default()
    };
    App::open(db, Arc::new(SystemClock), settings).await.map_err(|e| e.to_string())
}

fn load_vault(cfg: &Config) -> Result<wuzhi_app::vault::Vault, String> {
    let env = std::env::var("WUZHI_ARCHIVE_KEYS").ok();
    wuzhi_app::vault::Vault::load(env.as_deref(), &cfg.archive_key_file).map_err(|e| e.to_string())
}

fn describe(e: AppError) -> String {
    match e {
        AppError::Import(errors) => {
            let mut s = format!("the import has {} problem(s); nothing was imported:", errors.len());
            for e in errors.iter().take(50) {
                s.push_str(&format!("\n  {e}"));
            }
            if errors.len() > 50 {
                s.push_str(&format!("\n  … and {} more", errors.len() - 50));
            }
            s
        }
        other => other.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn serve(args: ServeArgs, demo: Option<Option<usize>>) -> Result<(), String> {
    let cfg = Config::load(&args.storage, args.listen, args.secure_cookies)?;
    init_logs(&cfg.log_format);
    let app = open_serving(&cfg).await?;
    if let Some(districts) = demo {
        wuzhi_app::demo::seed_all(&app, districts).await.map_err(describe)?;
    }
    let server = wuzhi_web::Application::build(app.clone(), cfg.listen, cfg.secure_cookies)
        .await
        .map_err(|e| format!("listen {}: {e}", cfg.listen))?;
    let addr = server.local_addr();
    println!(
        "wuzhi listening on http://{addr}/ (database: {}, data dir: {}, grids indexed: {})",
        app.db.backend.name(),
        cfg.data_dir.display(),
        app.locator().grid_count()
    );
    if demo.is_some() {
        println!("demo accounts (password {}):", wuzhi_app::demo::DEMO_PASSWORD);
        for (username, _, role, scope, org, _) in wuzhi_app::demo::ACCOUNTS {
            println!("  {username:<16} {role:<20} {scope:<16} {org}");
        }
    }
    server.run_until_stopped(shutdown_signal()).await.map_err(|e| e.to_string())?;
    app.db.close().await;
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(args, None).await,
        Command::Demo { serve: args, districts } => serve(args, Some(districts)).await,
        Command::Archives { cmd: ArchivesCmd::Import { storage, kind, file, dry_run } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let format = if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) { "xlsx" } else { "csv" };
            let table = wuzhi_app::archives::import::read_table(&bytes, format).map_err(describe)?;
            let caller = wuzhi_domain::work::Caller::System(wuzhi_domain::work::System::CommandLine);
            let r =
                wuzhi_app::archives::import::import(&app, caller, &kind, &table, dry_run).await.map_err(describe)?;
            println!(
                "{}: {} rows, {} created, {} merged{}",
                r.kind,
                r.rows,
                r.created,
                r.merged,
                if r.dry_run { " (dry run: nothing written)" } else { "" }
            );
            Ok(())
        }
        Command::Archives { cmd: ArchivesCmd::RotateKey { storage, reseal_only } } => {
            let cfg = Config::load(&storage, None, None)?;
            if !reseal_only {
                if std::env::var("WUZHI_ARCHIVE_KEYS").is_ok_and(|k| !k.trim().is_empty()) {
                    return Err("the keys come from WUZHI_ARCHIVE_KEYS: add a key there (or use the key file) and run with --reseal-only".into());
                }
                let vault = load_vault(&cfg)?.with_new_key();
                vault.write(&cfg.archive_key_file).map_err(|e| e.to_string())?;
                println!("key {} added to {}", vault.current(), cfg.archive_key_file.display());
            }
            let app = open(&cfg).await?;
            let r = wuzhi_app::archives::keep::reseal_all(&app).await.map_err(describe)?;
            println!("{} rows re-sealed under key {}", r.rows, r.key);
            Ok(())
        }
        Command::Archives { cmd: ArchivesCmd::Retention { storage } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let r = wuzhi_app::archives::keep::retention_once(&app).await.map_err(describe)?;
            println!(
                "special-group data erased: {} people; anonymised: {} people",
                r.special_erased.len(),
                r.anonymised.len()
            );
            for id in &r.anonymised {
                println!("  anonymised archive person {id}");
            }
            Ok(())
        }
        Command::Migrate { storage } => {
            let cfg = Config::load(&storage, None, None)?;
            open(&cfg).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User { cmd: UserCmd::Create { storage, username, name, role, scope, org, phone } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let org_id = match org {
                Some(id) => id,
                None => {
                    let name = format!("{scope} 系统管理办公室");
                    let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
                    match wuzhi_store::org::find(&mut conn, &scope, &name).await.map_err(|e| e.to_string())? {
                        Some(id) => id,
                        None => {
                            drop(conn);
                            let o = wuzhi_app::org::create(
                                &app,
                                Caller::System(System::CommandLine),
                                wuzhi_app::org::NewOrg {
                                    name: &name,
                                    kind: "admin_office",
                                    territory_code: &scope,
                                    parent_id: None,
                                },
                            )
                            .await
                            .map_err(describe)?;
                            o.id
                        }
                    }
                }
            };
            let p = wuzhi_app::people::create(
                &app,
                Caller::System(System::CommandLine),
                wuzhi_app::people::NewPerson {
                    name: &name,
                    phone: phone.as_deref(),
                    home_territory: &scope,
                    username: Some(&username),
                    password: Some(password),
                },
            )
            .await
            .map_err(describe)?;
            wuzhi_app::people::grant(
                &app,
                Caller::System(System::CommandLine),
                wuzhi_app::people::NewMembership {
                    person_id: p.id,
                    organisation_id: org_id,
                    role: &role,
                    scope_code: &scope,
                    post: &role,
                },
            )
            .await
            .map_err(describe)?;
            println!("created person {} with account {username} as {role} over {scope}", p.id);
            Ok(())
        }
        Command::User { cmd: UserCmd::ResetSecondFactor { storage, username } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let id = wuzhi_app::second_factor::reset_by_username(&app, &username).await.map_err(describe)?;
            println!("the second factor of {username} (person {id}) is removed; they enrol again at the next sign-in");
            Ok(())
        }
        Command::Territory {
            cmd:
                TerritoryCmd::Import { storage, file, format, crs, dry_run, city_code, city_name, name_field, group_field },
        } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let mut text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let mut format = format;
            if format.as_deref() == Some("areas") {
                let spec = wuzhi_geo::territory::AreasSpec {
                    city_code: &city_code,
                    city_name: if city_name.is_empty() { "city" } else { &city_name },
                    name_field: &name_field,
                    group_field: group_field.as_deref(),
                };
                let fc = wuzhi_geo::territory::areas_to_geojson(&text, &spec)
                    .map_err(|errs| describe(wuzhi_app::AppError::Import(errs)))?;
                text = fc.to_string();
                format = Some("geojson".into());
            }
            let format = match format {
                Some(f) => f,
                None if file.extension().is_some_and(|e| e == "csv") => "csv".into(),
                None => "geojson".into(),
            };
            let format = wuzhi_app::territory::Format::parse(&format).map_err(describe)?;
            let crs = Crs::parse(&crs).map_err(|e| e.to_string())?;
            let r =
                wuzhi_app::territory::import(&app, Caller::System(System::CommandLine), format, crs, &text, dry_run)
                    .await
                    .map_err(describe)?;
            println!("{} {} territories {:?}", if dry_run { "validated" } else { "imported" }, r.imported, r.by_level);
            Ok(())
        }
        Command::Territory { cmd: TerritoryCmd::Export { storage, root, level, crs, out } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let level = level.as_deref().map(wuzhi_domain::Level::parse).transpose().map_err(|e| e.to_string())?;
            let crs = Crs::parse(&crs).map_err(|e| e.to_string())?;
            let fc = wuzhi_app::territory::export_geojson(&app, Caller::System(System::CommandLine), &root, level, crs)
                .await
                .map_err(describe)?;
            match out {
                Some(path) => std::fs::write(&path, fc.to_string()).map_err(|e| format!("{}: {e}", path.display()))?,
                None => println!("{fc}"),
            }
            Ok(())
        }
        Command::Backup { storage, to } => {
            let cfg = Config::load(&storage, None, None)?;
            backup::backup(cfg.database_url.expose(), &cfg.data_dir.join("files"), &to).await
        }
        Command::Restore { storage, from } => {
            let cfg = Config::load(&storage, None, None)?;
            let counts = backup::restore(&from, cfg.database_url.expose(), &cfg.data_dir.join("files")).await?;
            // Opening runs the migrations (an older backup is brought up to date); then the
            // audit chain is checked end to end.
            let app = open(&cfg).await?;
            match wuzhi_app::audit::verify(&app).await.map_err(describe)? {
                Ok(v) => println!(
                    "restored into {}: rows as the backup recorded ({} tables); audit chain intact: {} entries",
                    cfg.data_dir.display(),
                    counts.len(),
                    v.entries
                ),
                Err(b) => return Err(format!("restored, but the audit chain is broken: {b}")),
            }
            Ok(())
        }
        Command::Audit { cmd: AuditCmd::Verify { storage } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            match wuzhi_app::audit::verify(&app).await.map_err(describe)? {
                Ok(v) => {
                    println!("audit chain intact: {} entries, head {}", v.entries, v.head_hash);
                    Ok(())
                }
                Err(b) => Err(format!("audit chain broken: {b}")),
            }
        }
        Command::Points { cmd: PointsCmd::Verify { storage } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let v = wuzhi_app::virtue::verify(&app).await.map_err(describe)?;
            match v.broken {
                None => {
                    println!("points ledger intact: {} accounts, {} transfers", v.accounts, v.transfers);
                    Ok(())
                }
                Some(b) => Err(format!("points ledger broken: {b}")),
            }
        }
        Command::Classify { cmd: ClassifyCmd::Train { input, model } } => classify::train(&input, &model),
        Command::Classify { cmd: ClassifyCmd::TrainDb { storage } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let m =
                wuzhi_app::text::classify::train(&app, Caller::System(System::CommandLine)).await.map_err(describe)?;
            println!(
                "{:<10} {:<24} {:>9} {:>9} {:>9} {:>8}",
                "category", "name", "precision", "recall", "f1", "support"
            );
            for c in &m.classes {
                println!(
                    "{:<10} {:<24} {:>9.4} {:>9.4} {:>9.4} {:>8}",
                    c.code, c.name, c.precision, c.recall, c.f1, c.support
                );
            }
            for t in &m.thresholds {
                println!(
                    "at confidence {:.2}: files {:.1} % of cases alone, {:.1} % of them right",
                    t.threshold,
                    100.0 * t.coverage,
                    100.0 * t.precision
                );
            }
            println!("version: {}", m.version);
            println!("examples: {}", m.examples);
            println!("cv_accuracy: {:.4}", m.accuracy);
            println!("cv_macro_f1: {:.4}", m.macro_f1);
            Ok(())
        }
        Command::Search { cmd: SearchCmd::Rebuild { storage } } => {
            let cfg = Config::load(&storage, None, None)?;
            let app = open(&cfg).await?;
            let g = wuzhi_app::text::search::request_rebuild(&app, Caller::System(System::CommandLine))
                .await
                .map_err(describe)?;
            println!("search index generation {g}: every server rebuilds its index from the cases");
            Ok(())
        }
        Command::Classify { cmd: ClassifyCmd::Eval { input, model } } => classify::eval(&input, &model),
        Command::Bench { cmd: BenchCmd::Classify { input, c, max_n, min_df } } => {
            let d = wuzhi_text::Options::default();
            let opt = wuzhi_text::Options {
                c: c.unwrap_or(d.c),
                max_n: max_n.unwrap_or(d.max_n),
                min_df: min_df.unwrap_or(d.min_df),
                ..d
            };
            classify::bench(&input, opt)
        }
        Command::Replay { cmd: ReplayCmd::La311 { url, api_key, file, concurrency, check } } => {
            let report = replay::la311(url.trim_end_matches('/'), &api_key, &file, concurrency, check).await?;
            report.print("");
            if check && (!report.mismatches.is_empty() || report.checked != report.posted) {
                return Err(format!("{} mismatches in {} requests read back", report.mismatches.len(), report.checked));
            }
            Ok(())
        }
        Command::Bench { cmd: BenchCmd::La311 { data, concurrency, postgres } } => {
            // Warnings and errors of the server under test go to standard error.
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error"));
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
            bench::la311(data, concurrency, postgres).await
        }
        Command::Open311 { cmd: Open311Cmd::Key { cmd } } => match cmd {
            KeyCmd::Create { storage, name, rate_per_minute } => {
                let app = open(&Config::load(&storage, None, None)?).await?;
                let k =
                    wuzhi_app::open311::create_key(&app, Caller::System(System::CommandLine), &name, rate_per_minute)
                        .await
                        .map_err(|e| e.to_string())?;
                println!("{}", k.api_key.unwrap_or_default());
                eprintln!("key {} for \"{}\": {} requests a minute; shown once", k.id, k.name, k.rate_per_minute);
                Ok(())
            }
            KeyCmd::List { storage } => {
                let app = open(&Config::load(&storage, None, None)?).await?;
                let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
                for k in wuzhi_store::open311::list_keys(&mut conn).await.map_err(|e| e.to_string())? {
                    let state = if k.revoked_at_ms.is_some() { "revoked" } else { "active" };
                    println!("{}\t{}\t{}/min\t{state}", k.id, k.name, k.rate_per_minute);
                }
                Ok(())
            }
            KeyCmd::Revoke { storage, id } => {
                let app = open(&Config::load(&storage, None, None)?).await?;
                wuzhi_app::open311::revoke_key(&app, Caller::System(System::CommandLine), id)
                    .await
                    .map_err(|e| e.to_string())?;
                eprintln!("key {id} revoked");
                Ok(())
            }
        },
        Command::Bench { cmd: BenchCmd::Soak { minutes, requests, concurrency, max_growth_mb, sqlite_cache_mb } } => {
            bench::soak(bench::SoakPlan { minutes, requests, concurrency, max_growth_mb, sqlite_cache_mb }).await
        }
        Command::Bench { cmd: BenchCmd::Ledger { transfers, concurrency, postgres } } => {
            bench::ledger(transfers, concurrency, postgres).await
        }
        Command::Bench { cmd: BenchCmd::Locate { points } } => {
            bench::locate(points);
            Ok(())
        }
        Command::Bench { cmd: BenchCmd::Intake { cases, concurrency, rate, seconds, postgres } } => {
            bench::intake(cases, concurrency, rate, seconds, postgres).await
        }
        Command::Bench { cmd: BenchCmd::Search { cases, rounds, postgres, skip_sqlite } } => {
            bench::search(cases, postgres, skip_sqlite, rounds).await
        }
        Command::Bench { cmd: BenchCmd::Duplicates { pairs } } => bench::duplicates(&pairs),
        Command::Bench { cmd: BenchCmd::Warnings { days, per_day, seed, csv } } => {
            warnings::bench(days, per_day, seed, csv.as_deref()).await
        }
        Command::Warnings { cmd: WarningsCmd::Replay { cases, out, districts, territories } } => {
            let t = match &territories {
                Some(f) => warnings::Territories::File(f),
                None => warnings::Territories::Demo(districts),
            };
            warnings::replay_file(&cases, &out, t).await
        }
        Command::Bench { cmd: BenchCmd::Archives { people, postgres, skip_sqlite } } => {
            bench::archives(people, postgres, skip_sqlite).await
        }
        Command::Bench {
            cmd: BenchCmd::Gridwork { grids, hours, every, per_upload, concurrency, postgres, skip_sqlite },
        } => bench::gridwork(grids, hours, every, per_upload, concurrency, postgres, skip_sqlite).await,
        Command::Bench { cmd: BenchCmd::Kpi { cases, postgres, skip_sqlite } } => {
            bench::kpi(cases, postgres, skip_sqlite).await
        }
    }
}

/// The process's allocator: mimalloc hands freed memory back to the system as it goes and
/// keeps per-thread heaps without glibc's arena growth (see `memory`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    memory::tame_the_heap(std::time::Duration::from_secs(60));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wuzhi: {e}");
            ExitCode::FAILURE
        }
    }
}
