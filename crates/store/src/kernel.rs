//! The kernel's own state: counters that every app server watches.

use crate::{Conn, Result};

/// Records that someone's right to read may have shrunk, in the caller's transaction.
pub async fn bump_authz(conn: &mut Conn) -> Result<()> {
    sqlx::query("UPDATE kernel_state SET value = value + 1 WHERE name = 'authz_epoch'").execute(&mut *conn).await?;
    Ok(())
}

/// How often rights may have shrunk so far.
pub async fn authz_epoch(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT value FROM kernel_state WHERE name = 'authz_epoch'").fetch_one(&mut *conn).await?)
}
