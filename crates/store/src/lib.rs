//! Storage: one code base for SQLite (the embedded default) and PostgreSQL.
//!
//! Every query is written once, in the SQL both engines share, with `$1…` placeholders (which
//! SQLite also accepts), through sqlx's `Any` driver. Values cross the boundary as
//! `i64`/`f64`/`String` only: times are epoch milliseconds, ids are `BIGINT`. The schema is
//! one text too (see [`migrate`]). Database errors become [`StoreError`]s here, so the layers
//! above never see a driver error type.

pub mod archives;
pub mod audit;
pub mod bulk;
pub mod cases;
pub mod gridwork;
pub mod jobs;
pub mod kernel;
pub mod kpi;
pub mod migrate;
pub mod notifications;
pub mod open311;
pub mod org;
pub mod people;
pub mod rollup;
pub mod territory;
pub mod text;
pub mod virtue;
pub mod warnings;
pub mod webhooks;
pub mod work;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::AnyConnection as Conn;
/// A write transaction. Dropping it without [`commit`] rolls back. On SQLite it also holds
/// this process's writer lock, so writers queue in order instead of spinning in SQLite's
/// busy handler (whose sleeps made the slowest requests tens of milliseconds slower).
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; the string names the constraint or column.
    #[error("duplicate value ({0})")]
    Unique(String),
    /// A foreign key points at nothing.
    #[error("reference to a missing row ({0})")]
    ForeignKey(String),
    /// A check constraint refused the row; the string names the constraint (or holds the
    /// message that names it).
    #[error("refused by a check ({0})")]
    Check(String),
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Db(#[source] sqlx::Error),
    #[error("database URL: {0}")]
    Url(String),
    /// Asked of a database that does not do it (a SQLite snapshot of PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
    /// The database cannot be reached now (no connection within the pool's wait, the server
    /// gone or refusing connections): the caller may try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e {
            let what = d.constraint().map(str::to_owned).unwrap_or_else(|| d.message().to_owned());
            if d.is_unique_violation() {
                return StoreError::Unique(what);
            }
            if d.is_foreign_key_violation() {
                return StoreError::ForeignKey(what);
            }
            if d.is_check_violation() || d.message().contains("CHECK constraint failed") {
                return StoreError::Check(what);
            }
        }
        if let sqlx::Error::RowNotFound = e {
            return StoreError::NotFound;
        }
        if let sqlx::Error::Database(d) = &e {
            // PostgreSQL's connection exceptions (08…), operator intervention (57P…: shut
            // down, cannot connect now), too many connections (53300), and a database that
            // refuses connections.
            let code = d.code().unwrap_or_default();
            if code.starts_with("08")
                || code.starts_with("57P")
                || code == "53300"
                || d.message().contains("not currently accepting connections")
            {
                return StoreError::Unavailable(d.message().to_owned());
            }
        }
        if matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)) {
            return StoreError::Unavailable(e.to_string());
        }
        StoreError::Db(e)
    }
}

impl StoreError {
    /// True when this is the unique violation of `constraint` (PostgreSQL names it; SQLite
    /// names the columns, so `columns` like `accounts.username` is checked as well).
    pub fn is_unique(&self, constraint: &str, columns: &str) -> bool {
        matches!(self, StoreError::Unique(w) if w.contains(constraint) || w.contains(columns))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The connection pool and which engine is behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Each SQLite connection's page cache, by default (`PRAGMA cache_size`).
pub const DEFAULT_SQLITE_CACHE_MB: u32 = 32;

impl Db {
    /// The database's size on disk in bytes (SQLite: its pages; PostgreSQL: the database).
    pub async fn size_bytes(&self) -> Result<i64> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            Backend::Postgres => "SELECT pg_database_size(current_database())",
        };
        let mut conn = self.pool.acquire().await?;
        Ok(sqlx::query_scalar(sql).fetch_one(&mut *conn).await?)
    }

    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        Db::connect_tuned(url, max_connections, DEFAULT_SQLITE_CACHE_MB).await
    }

    /// Like [`Db::connect`], with each SQLite connection's page cache bounded at
    /// `sqlite_cache_mb` (so the caches of a pool hold at most `max_connections` times as
    /// much); PostgreSQL keeps its cache in the server.
    pub async fn connect_tuned(url: &str, max_connections: u32, sqlite_cache_mb: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url("must start with sqlite: or postgres:".into()));
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_owned()
        };
        let opts = AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Url(e.to_string()))?;
        // A request waits at most five seconds for a connection, then is answered 503: when
        // the database is away, clients hear it fast and may try again.
        let mut pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A connection that comes back still inside a transaction is let go, not reused:
            // when SQLite rolls a transaction back on its own (a full disk, an I/O error),
            // the driver's ROLLBACK fails and it keeps counting the transaction, so every
            // later BEGIN on that connection would fail until a restart. A dropped
            // transaction's ROLLBACK is queued, so ask once more after it has run.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    if !conn.is_in_transaction() {
                        return Ok(true);
                    }
                    conn.ping().await?;
                    if conn.is_in_transaction() {
                        tracing::warn!("a database connection was left inside a failed transaction; closing it");
                        return Ok(false);
                    }
                    Ok(true)
                })
            });
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the one writer; synchronous=FULL makes every
            // acknowledged commit durable; busy_timeout queues writers instead of failing.
            let kib = i64::from(sqlite_cache_mb.max(1)) * 1000;
            pool = pool.after_connect(move |conn, _| {
                Box::pin(async move {
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -{kib};"
                    );
                    conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(opts).await?;
        Ok(Db { pool, backend, writer: Default::default() })
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of deadlocking on upgrade.
    pub async fn write(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let guard = self.writer.clone().lock_owned().await;
                Tx { inner: self.pool.begin_with("BEGIN IMMEDIATE").await?, _writer: Some(guard) }
            }
            Backend::Postgres => Tx { inner: self.pool.begin().await?, _writer: None },
        })
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Refreshes the planner's statistics after a bulk load, and on PostgreSQL also the
    /// visibility map (what autovacuum does on its own a little later), so index-only scans
    /// need not visit the table.
    pub async fn vacuum_analyze(&self) -> Result<()> {
        use sqlx::Executor;
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Postgres => conn.execute("VACUUM ANALYZE").await?,
            Backend::Sqlite => conn.execute("ANALYZE").await?,
        };
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A consistent copy of a SQLite database written to `path` while others keep reading
    /// and writing (`VACUUM INTO`: one read transaction, so the copy is of one moment).
    pub async fn snapshot_sqlite(&self, path: &std::path::Path) -> Result<()> {
        if !matches!(self.backend, Backend::Sqlite) {
            return Err(StoreError::Unsupported("a snapshot file is for SQLite; use pg_dump for PostgreSQL".into()));
        }
        let target = path.to_str().ok_or_else(|| StoreError::Unsupported("the backup path is not UTF-8".into()))?;
        let mut conn = self.pool.acquire().await?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&mut *conn).await?;
        Ok(())
    }

    /// The rows of each of `tables` (names from the caller's own list, never input); a
    /// table that does not exist (an older schema) counts as none.
    pub async fn count_rows(&self, tables: &[&str]) -> Result<Vec<(String, i64)>> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(tables.len());
        for t in tables {
            debug_assert!(t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()));
            let sql = format!("SELECT COUNT(*) FROM {t}");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap_or(0);
            out.push(((*t).to_owned(), n));
        }
        Ok(out)
    }
}

/// `column` restricted to the territory subtrees whose scope prefixes are given, as a range
/// test per prefix (`code >= '1201' AND code < '1202'`), which both engines answer from the
/// index. Parameters are numbered from `first`; returns the SQL and the values to bind.
pub fn scope_filter(column: &str, prefixes: &[&str], first: usize) -> (String, Vec<String>) {
    if prefixes.is_empty() {
        return ("1 = 0".into(), vec![]);
    }
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for (i, p) in prefixes.iter().enumerate() {
        let n = first + 2 * i;
        parts.push(format!("({column} >= ${n} AND {column} < ${})", n + 1));
        binds.push((*p).to_owned());
        binds.push(prefix_upper_bound(p));
    }
    (format!("({})", parts.join(" OR ")), binds)
}

/// The smallest digit string greater than every string starting with `prefix`.
pub(crate) fn prefix_upper_bound(prefix: &str) -> String {
    let mut b = prefix.as_bytes().to_vec();
    while let Some(last) = b.pop() {
        if last < b'9' {
            b.push(last + 1);
            return String::from_utf8(b).expect("digits");
        }
    }
    // All nines: everything sorts below ':'.
    ":".into()
}

#[cfg(test)]
mod tests {
    /// A full disk (SQLite's page limit reached, as when the file system fills): the write
    /// fails, and once there is room again the next write succeeds on the same pool. Before,
    /// SQLite had already rolled the transaction back, sqlx's ROLLBACK then failed, and the
    /// connection went back to the pool still counted inside a transaction: every later
    /// write answered "attempted to call begin_with at non-zero transaction depth".
    #[tokio::test]
    async fn writes_work_again_after_the_disk_was_full() {
        use sqlx::Executor;
        let dir = std::env::temp_dir().join(format!("wuzhi-store-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("full.sqlite");
        let _ = std::fs::remove_file(&path);
        // One connection, so the page limit set on it holds for every write.
        let db = super::Db::connect(&format!("sqlite://{}", path.display()), 1).await.unwrap();
        {
            let mut c = db.read().await.unwrap();
            c.execute("CREATE TABLE t (x BLOB)").await.unwrap();
            let pages: i64 =
                sqlx::query_scalar("SELECT page_count FROM pragma_page_count()").fetch_one(&mut *c).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {}", pages + 4))).await.unwrap();
        }
        let blob = vec![7u8; 64 * 1024];
        let mut full = None;
        for _ in 0..3 {
            let mut tx = db.write().await.unwrap();
            let r = sqlx::query("INSERT INTO t (x) VALUES ($1)").bind(&blob).execute(&mut *tx).await;
            match r {
                Ok(_) => super::commit(tx).await.unwrap(),
                Err(e) => {
                    full = Some(e.to_string());
                    drop(tx);
                    break;
                }
            }
        }
        let full = full.expect("the page limit stops a write");
        assert!(full.contains("full"), "{full}");
        // Room again.
        {
            let mut c = db.read().await.unwrap();
            c.execute("PRAGMA max_page_count = 1073741823").await.unwrap();
        }
        for _ in 0..3 {
            let mut tx = db.write().await.expect("a write transaction starts after the disk was full");
            sqlx::query("INSERT INTO t (x) VALUES ($1)").bind(&blob[..16]).execute(&mut *tx).await.unwrap();
            super::commit(tx).await.unwrap();
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn upper_bounds() {
        assert_eq!(super::prefix_upper_bound("120101"), "120102");
        assert_eq!(super::prefix_upper_bound("12019"), "1202");
        assert_eq!(super::prefix_upper_bound("99"), ":");
    }
}

/// Commits a write transaction (so the layers above need no driver types).
pub async fn commit(tx: Tx) -> Result<()> {
    tx.inner.commit().await?;
    Ok(())
}

/// Creates a new, empty PostgreSQL database `name` on the server of `server_url` and returns
/// its URL (for benchmarks and tests that each want a fresh database).
pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String> {
    use sqlx::Connection;
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(StoreError::Url(format!("database name `{name}` must be lowercase letters, digits and _")));
    }
    let mut conn = sqlx::PgConnection::connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    let (head, _) = server_url.rsplit_once('/').ok_or_else(|| StoreError::Url("needs a database name".into()))?;
    Ok(format!("{head}/{name}"))
}

/// Drops a database made by [`create_postgres_database`].
pub async fn drop_postgres_database(server_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Marks an active row of a revocable table (devices, webhooks, Open311 keys) revoked;
/// false when there is no such active row.
pub(crate) async fn revoke(conn: &mut Conn, table: &'static str, id: i64, now_ms: i64) -> Result<bool> {
    let sql = format!("UPDATE {table} SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL");
    let n = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(now_ms).execute(&mut *conn).await?.rows_affected();
    Ok(n == 1)
}

/// A nullable double to bind. sqlx 0.9's `Any` driver sends a NULL `f64` as a *float4*
/// NULL (its conversion table swaps `Real` and `Double`); PostgreSQL then prepares the
/// cached statement with a float4 parameter and refuses the next real `f64` on that
/// connection ("incorrect binary data format"). This sends a float8 NULL instead.
#[derive(Debug, Clone, Copy)]
pub struct NullableF64(pub Option<f64>);

impl sqlx::Type<sqlx::Any> for NullableF64 {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Any> for NullableF64 {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(v) => <f64 as sqlx::Encode<sqlx::Any>>::encode_by_ref(&v, buf),
            // `Real` is what the driver turns into a float8 NULL.
            None => <Option<f32> as sqlx::Encode<sqlx::Any>>::encode_by_ref(&None, buf),
        }
    }
}
