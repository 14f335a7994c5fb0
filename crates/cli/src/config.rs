//! Layered configuration: defaults < TOML file (`--config`) < environment (`WUZHI_*`) <
//! command-line flags. The database URL may hold a password, so it is wrapped in [`Secret`]
//! and never printed.

use clap::Args;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A value that prints as `***`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Storage options shared by every command that opens the database.
#[derive(Args, Debug, Clone, Default)]
pub struct StorageArgs {
    /// Directory for the embedded SQLite database and stored files.
    #[arg(long, env = "WUZHI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… (or sqlite://…) instead of the embedded file.
    #[arg(long, env = "WUZHI_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A TOML file with any of: listen, data_dir, database_url, secure_cookies, log_format,
    /// max_connections, sqlite_cache_mb, open311_jurisdiction, map_tiles, search_dir, allow_private_webhooks.
    #[arg(long, env = "WUZHI_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Address to listen on.
    #[arg(long, env = "WUZHI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Mark session cookies Secure (set this when TLS ends in front of wuzhi).
    #[arg(long, env = "WUZHI_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    secure_cookies: Option<bool>,
    log_format: Option<String>,
    max_connections: Option<u32>,
    sqlite_cache_mb: Option<u32>,
    open311_jurisdiction: Option<String>,
    map_tiles: Option<String>,
    allow_private_webhooks: Option<bool>,
    search_dir: Option<PathBuf>,
    archive_key_file: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    metrics_allow: Option<Vec<String>>,
    api_docs: Option<bool>,
    two_factor_roles: Option<Vec<String>>,
}

/// The settled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub secure_cookies: bool,
    pub log_format: String,
    pub max_connections: u32,
    /// Each SQLite connection's page cache in MB (`WUZHI_SQLITE_CACHE_MB`; 32 by default):
    /// the pool's caches hold at most `max_connections` times this.
    pub sqlite_cache_mb: u32,
    /// The Open311 `jurisdiction_id` served (`WUZHI_OPEN311_JURISDICTION`); other ids are refused.
    pub open311_jurisdiction: Option<String>,
    /// A tile URL template for the pages' maps (`WUZHI_MAP_TILES`); none by default.
    pub map_tiles: Option<String>,
    /// This server's search index (`WUZHI_SEARCH_DIR`; default `<data_dir>/search`). Each app
    /// server needs its own: several servers sharing a data directory set it apart.
    pub search_dir: PathBuf,
    /// Let webhooks reach loopback, link-local and private addresses
    /// (`WUZHI_ALLOW_PRIVATE_WEBHOOKS=true`; off by default: a webhook is a request the server
    /// makes on an administrator's word, and must not reach the city's own internal network).
    pub allow_private_webhooks: bool,
    /// The archives' key file (`WUZHI_ARCHIVE_KEY_FILE`; default `<data_dir>/keys/archive.keys`,
    /// created on first start). `WUZHI_ARCHIVE_KEYS`, when set, holds the keys themselves and
    /// wins. A city keeps the keys apart from the database and its backups.
    pub archive_key_file: PathBuf,
    /// Proxies whose `X-Forwarded-For` names the client (`WUZHI_TRUSTED_PROXIES`, addresses
    /// separated by commas); none by default, so the header counts for nothing.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The addresses that may read `/metrics` (`WUZHI_METRICS_ALLOW`); all when unset.
    pub metrics_allow: Option<Vec<std::net::IpAddr>>,
    /// `WUZHI_API_DOCS=off` hides `/api/docs` and `/api/openapi.json`.
    pub api_docs: bool,
    /// The roles whose holders must sign in with a second factor (`WUZHI_TWO_FACTOR_ROLES`,
    /// roles separated by commas, or `none`); by default `admin,security_admin,auditor`.
    pub two_factor_roles: Vec<wuzhi_domain::Role>,
}

impl Config {
    pub fn load(
        storage: &StorageArgs,
        listen: Option<SocketAddr>,
        secure_cookies: Option<bool>,
    ) -> Result<Config, String> {
        let file: FileConfig = match &storage.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = storage.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("wuzhi-data"));
        let database_url = match storage.database_url.clone().map(Secret).or(file.database_url) {
            Some(u) => u,
            None => {
                std::fs::create_dir_all(&data_dir).map_err(|e| format!("data dir {}: {e}", data_dir.display()))?;
                Secret(format!("sqlite://{}", data_dir.join("wuzhi.sqlite").display()))
            }
        };
        let search_dir = std::env::var("WUZHI_SEARCH_DIR")
            .ok()
            .filter(|d| !d.trim().is_empty())
            .map(PathBuf::from)
            .or(file.search_dir)
            .unwrap_or_else(|| data_dir.join("search"));
        let archive_key_file = std::env::var("WUZHI_ARCHIVE_KEY_FILE")
            .ok()
            .filter(|d| !d.trim().is_empty())
            .map(PathBuf::from)
            .or(file.archive_key_file)
            .unwrap_or_else(|| data_dir.join("keys").join("archive.keys"));
        let proxies: Vec<String> = match std::env::var("WUZHI_TRUSTED_PROXIES").ok().filter(|v| !v.trim().is_empty()) {
            Some(v) => v.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        let addresses = |field: &str, list: &[String]| {
            list.iter()
                .map(|a| a.parse().map_err(|_| format!("{field}: `{a}` is not an IP address")))
                .collect::<Result<Vec<std::net::IpAddr>, String>>()
        };
        let trusted_proxies = addresses("trusted_proxies", &proxies)?;
        let metrics_allow = match std::env::var("WUZHI_METRICS_ALLOW").ok().filter(|v| !v.trim().is_empty()) {
            Some(v) => Some(v.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect()),
            None => file.metrics_allow.clone(),
        };
        let metrics_allow = metrics_allow.map(|l: Vec<String>| addresses("metrics_allow", &l)).transpose()?;
        let api_docs = match std::env::var("WUZHI_API_DOCS").ok().as_deref().map(str::trim) {
            Some("off" | "false" | "0") => false,
            Some(_) => true,
            None => file.api_docs.unwrap_or(true),
        };
        let roles: Vec<String> = match std::env::var("WUZHI_TWO_FACTOR_ROLES").ok().filter(|v| !v.trim().is_empty()) {
            Some(v) => v.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect(),
            None => {
                file.two_factor_roles.unwrap_or_else(|| vec!["admin".into(), "security_admin".into(), "auditor".into()])
            }
        };
        let two_factor_roles = if roles.iter().any(|r| r == "none") {
            vec![]
        } else {
            roles
                .iter()
                .map(|r| wuzhi_domain::Role::parse(r).map_err(|_| format!("two_factor_roles: `{r}` is not a role")))
                .collect::<Result<Vec<_>, String>>()?
        };
        Ok(Config {
            two_factor_roles,
            trusted_proxies,
            metrics_allow,
            api_docs,
            archive_key_file,
            search_dir,
            listen: listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid")),
            data_dir,
            database_url,
            secure_cookies: secure_cookies.or(file.secure_cookies).unwrap_or(false),
            log_format: std::env::var("WUZHI_LOG_FORMAT").ok().or(file.log_format).unwrap_or_else(|| "text".into()),
            max_connections: file.max_connections.unwrap_or(16),
            sqlite_cache_mb: match std::env::var("WUZHI_SQLITE_CACHE_MB").ok().filter(|v| !v.trim().is_empty()) {
                Some(v) => match v.trim().parse::<u32>() {
                    Ok(n) if (1..=4096).contains(&n) => n,
                    _ => return Err(format!("WUZHI_SQLITE_CACHE_MB: `{v}` is not a number of MB from 1 to 4096")),
                },
                None => file.sqlite_cache_mb.unwrap_or(wuzhi_store::DEFAULT_SQLITE_CACHE_MB),
            },
            open311_jurisdiction: std::env::var("WUZHI_OPEN311_JURISDICTION")
                .ok()
                .or(file.open311_jurisdiction)
                .filter(|j| !j.trim().is_empty()),
            map_tiles: std::env::var("WUZHI_MAP_TILES").ok().or(file.map_tiles).filter(|t| !t.trim().is_empty()),
            allow_private_webhooks: std::env::var("WUZHI_ALLOW_PRIVATE_WEBHOOKS")
                .ok()
                .map(|v| v == "true" || v == "1")
                .or(file.allow_private_webhooks)
                .unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret("postgres://u:hunter2@h/db".into());
        assert_eq!(format!("{s:?}"), "***");
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("wuzhi-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wuzhi.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nsecure_cookies = true\ndatabase_url = \"postgres://x@y/z\"\n",
        )
        .unwrap();
        let storage = StorageArgs { config: Some(path.clone()), ..Default::default() };
        let c = Config::load(&storage, None, None).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert!(c.secure_cookies);
        assert_eq!(c.database_url.expose(), "postgres://x@y/z");
        let c = Config::load(&storage, Some("127.0.0.1:7000".parse().unwrap()), Some(false)).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(!c.secure_cookies);
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(Config::load(&storage, None, None).unwrap_err().contains("unknown field"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
