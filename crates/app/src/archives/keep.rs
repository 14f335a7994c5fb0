//! Keeping the archives as the law asks: the retention sweep (a person who moved out is
//! anonymised when their fields' class says so — special groups after one year, the rest
//! after three; see `wuzhi_domain::archives::fields::Class::retention_years`), and key
//! rotation (every sealed value re-sealed under the newest key, slice by slice).

use super::store;
use crate::audit::record;
use crate::{App, Result};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::archives::fields::Class;

const YEAR_MS: i64 = 365 * 86_400_000;
/// Rows per short transaction.
const SLICE: i64 = 500;

/// What a retention pass did: the report of what was anonymised.
#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone, utoipa::ToSchema)]
pub struct Retained {
    /// People whose special-group data was erased.
    pub special_erased: Vec<i64>,
    /// People anonymised.
    pub anonymised: Vec<i64>,
}

fn years(c: Class) -> i64 {
    i64::from(c.retention_years().unwrap_or(3))
}

/// One retention pass at the app's clock.
pub async fn retention_once(app: &App) -> Result<Retained> {
    let now = app.now_ms();
    let mut out = Retained::default();
    loop {
        let mut tx = app.db.write().await?;
        let ids = store::special_due(&mut tx, now - years(Class::Special) * YEAR_MS, SLICE).await?;
        for id in &ids {
            store::clear_special(&mut tx, *id, now).await?;
        }
        if !ids.is_empty() {
            record(&mut tx, now, None, "archives.retention", "archives", "special", json!({"people": ids})).await?;
        }
        wuzhi_store::commit(tx).await?;
        let n = ids.len() as i64;
        out.special_erased.extend(ids);
        if n < SLICE {
            break;
        }
    }
    let keep = years(Class::Personal).max(years(Class::Sensitive));
    loop {
        let mut tx = app.db.write().await?;
        let ids = store::anonymise_due(&mut tx, now - keep * YEAR_MS, SLICE).await?;
        for id in &ids {
            store::anonymise(&mut tx, *id, now).await?;
        }
        if !ids.is_empty() {
            record(&mut tx, now, None, "archives.retention", "archives", "anonymise", json!({"people": ids})).await?;
        }
        wuzhi_store::commit(tx).await?;
        let n = ids.len() as i64;
        out.anonymised.extend(ids);
        if n < SLICE {
            break;
        }
    }
    Ok(out)
}

/// How many values a rotation re-sealed.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Rotated {
    pub rows: u64,
    pub key: u32,
}

/// Re-seals every value not under the vault's newest key. The server's vault must already
/// hold the new key (`wuzhi archives rotate-key` adds it to the key file, then calls this).
pub async fn reseal_all(app: &App) -> Result<Rotated> {
    let vault = &app.settings.vault;
    let current = vault.current();
    let mut out = Rotated { rows: 0, key: current };
    for (table, columns) in store::SEALED {
        let fields: Vec<&str> = columns.iter().map(|c| field_of(table, c)).collect();
        loop {
            let mut tx = app.db.write().await?;
            let page = store::sealed_under_other_key(&mut tx, table, columns, i64::from(current), SLICE).await?;
            for (id, blobs) in &page {
                let mut sealed = Vec::with_capacity(blobs.len());
                for (blob, field) in blobs.iter().zip(&fields) {
                    sealed.push(match blob {
                        Some(b) => {
                            let plain = vault
                                .open(field, b)
                                .map_err(|e| crate::AppError::Internal(format!("{table}.{id}: {e}")))?;
                            Some(vault.seal(field, &plain))
                        }
                        None => None,
                    });
                }
                store::reseal(&mut tx, table, columns, *id, &sealed, i64::from(current)).await?;
            }
            wuzhi_store::commit(tx).await?;
            out.rows += page.len() as u64;
            if (page.len() as i64) < SLICE {
                break;
            }
        }
    }
    let mut tx = app.db.write().await?;
    record(
        &mut tx,
        app.now_ms(),
        None,
        "archives.rotate_key",
        "archives",
        "keys",
        json!({"key": current, "rows": out.rows}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(out)
}

/// The associated data a sealed column was sealed for.
fn field_of(table: &str, column: &str) -> &'static str {
    match (table, column) {
        ("archive_people", "birth_enc") => super::SEAL_BIRTH,
        ("archive_people", "id_enc") => super::SEAL_ID,
        ("archive_people", "phone_enc") => super::SEAL_PHONE,
        ("archive_people", "special_enc") => super::SEAL_SPECIAL,
        ("archive_businesses", _) => super::SEAL_CONTACT,
        _ => super::SEAL_HISTORY,
    }
}
