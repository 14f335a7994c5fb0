//! Exports of the cases a person may see as CSV, Excel or GeoJSON, without personal data; cells never become spreadsheet formulas.

use super::*;

/// The columns of a case export (no personal data).
pub(super) const EXPORT_COLUMNS: [&str; 17] = [
    "id",
    "channel",
    "kind",
    "subject",
    "category_code",
    "priority",
    "status",
    "territory_code",
    "lon",
    "lat",
    "owner_org_id",
    "created_at",
    "filed_at",
    "closed_at",
    "due_at",
    "overdue",
    "satisfaction",
];

pub(super) fn export_cells(c: &CaseView) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        c.id.to_string(),
        c.channel.clone(),
        c.kind.clone(),
        c.subject.clone(),
        opt(c.category_code.clone()),
        opt(c.priority.clone()),
        c.status.clone(),
        c.territory_code.clone(),
        opt(c.lon.map(|v| format!("{v:.6}"))),
        opt(c.lat.map(|v| format!("{v:.6}"))),
        opt(c.owner_org_id.map(|v| v.to_string())),
        format_local(c.created_at_ms),
        opt(c.filed_at_ms.map(format_local)),
        opt(c.closed_at_ms.map(format_local)),
        opt(c.due_at.clone()),
        c.overdue.to_string(),
        opt(c.satisfaction.clone()),
    ]
}

/// A cell as a spreadsheet will not run it: text that begins like a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a leading apostrophe, which spreadsheets
/// show as text. Numbers (a negative longitude) are left as they are.
pub(crate) fn csv_cell(v: &str) -> String {
    let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && v.parse::<f64>().is_err() { format!("'{v}") } else { v.to_owned() }
}

/// Every case the actor may see that matches the filter (in pages, newest first), as CSV,
/// Excel or GeoJSON. Reporters' names and phones are never exported.
pub async fn export(app: &App, actor: &Actor, q: &ListQuery, format: &str) -> Result<(String, Vec<u8>)> {
    if !["csv", "xlsx", "geojson"].contains(&format) {
        return Err(AppError::invalid("format", format!("`{format}` is not csv, xlsx or geojson")));
    }
    let mut rows: Vec<CaseView> = Vec::new();
    let mut before = q.before;
    loop {
        let page = list(app, actor, &ListQuery { before, limit: Some(1000), ..q.clone() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        rows.extend(page);
        if rows.len() >= 100_000 {
            return Err(AppError::invalid("limit", "more than 100000 cases match; narrow the filter"));
        }
    }
    // Encoding up to 100,000 rows takes a while: on the blocking threads, not the request path.
    let format = format.to_owned();
    tokio::task::spawn_blocking(move || encode(&format, &rows))
        .await
        .map_err(|e| AppError::Internal(format!("export task: {e}")))?
}

/// The rows as CSV, Excel or GeoJSON.
pub(super) fn encode(format: &str, rows: &[CaseView]) -> Result<(String, Vec<u8>)> {
    let err = |e: String| AppError::Internal(e);
    match format {
        "csv" => {
            let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
            w.write_record(EXPORT_COLUMNS).map_err(|e| err(e.to_string()))?;
            for c in rows {
                w.write_record(export_cells(c).iter().map(|v| csv_cell(v))).map_err(|e| err(e.to_string()))?;
            }
            Ok(("text/csv; charset=utf-8".into(), w.into_inner().map_err(|e| err(e.to_string()))?))
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let x = |e: rust_xlsxwriter::XlsxError| err(e.to_string());
            sheet.set_name("案件").map_err(x)?;
            for (i, h) in EXPORT_COLUMNS.iter().enumerate() {
                sheet.write_string(0, i as u16, *h).map_err(x)?;
            }
            for (r, c) in rows.iter().enumerate() {
                for (i, v) in export_cells(c).into_iter().enumerate() {
                    sheet.write_string(r as u32 + 1, i as u16, v).map_err(x)?;
                }
            }
            Ok((
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                book.save_to_buffer().map_err(x)?,
            ))
        }
        _ => {
            let features: Vec<serde_json::Value> = rows
                .iter()
                .filter_map(|c| {
                    let (lon, lat) = (c.lon?, c.lat?);
                    let props: serde_json::Map<String, serde_json::Value> = EXPORT_COLUMNS
                        .iter()
                        .zip(export_cells(c))
                        .filter(|(k, _)| !matches!(**k, "lon" | "lat"))
                        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v)))
                        .collect();
                    Some(json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}))
                })
                .collect();
            let fc = json!({"type": "FeatureCollection", "features": features});
            Ok(("application/geo+json".into(), fc.to_string().into_bytes()))
        }
    }
}
