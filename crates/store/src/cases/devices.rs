//! Sensors that report cases with a key of their own.

use crate::{Conn, Result, scope_filter};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub secret: String,
    pub territory_code: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

fn device(r: &sqlx::any::AnyRow) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        secret: r.try_get(2)?,
        territory_code: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
    })
}

pub async fn insert_device(conn: &mut Conn, name: &str, secret: &str, territory: &str, now_ms: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO devices (name, secret, territory_code, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(secret)
    .bind(territory)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get_device(conn: &mut Conn, id: i64) -> Result<Option<DeviceRow>> {
    sqlx::query("SELECT id, name, secret, territory_code, created_at_ms, revoked_at_ms FROM devices WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(device)
        .transpose()
}

pub async fn list_devices(conn: &mut Conn, scopes: &[&str]) -> Result<Vec<DeviceRow>> {
    let (s, binds) = scope_filter("territory_code", scopes, 1);
    let sql = format!(
        "SELECT id, name, secret, territory_code, created_at_ms, revoked_at_ms FROM devices WHERE {s} ORDER BY id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn).await?.iter().map(device).collect()
}

pub async fn revoke_device(conn: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    crate::revoke(conn, "devices", id, now_ms).await
}
