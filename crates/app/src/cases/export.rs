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

/// The most rows an export answered inside its request holds; more are exported by a
/// background job ([`queue_export`]).
pub const EXPORT_MAX_ROWS: usize = 10_000;
/// The most rows a background export holds (an Excel sheet holds 1,048,576).
pub const EXPORT_JOB_MAX_ROWS: usize = 1_000_000;
/// The kind of the background export jobs.
pub const EXPORT_JOB: &str = "cases.export";
/// The size of the chunks a background export's file is kept in.
const CHUNK_BYTES: usize = 4 << 20;
/// Rows read per page.
const PAGE: i64 = 1000;

fn checked_format(format: &str) -> Result<()> {
    if ["csv", "xlsx", "geojson"].contains(&format) {
        Ok(())
    } else {
        Err(AppError::invalid("format", format!("`{format}` is not csv, xlsx or geojson")))
    }
}

/// Every case the actor may see that matches the filter (in pages, newest first), as CSV,
/// Excel or GeoJSON, up to [`EXPORT_MAX_ROWS`]; more is a background job's work. Reporters'
/// names and phones are never exported.
pub async fn export(app: &App, actor: &Actor, q: &ListQuery, format: &str) -> Result<(String, Vec<u8>)> {
    checked_format(format)?;
    let mut rows: Vec<CaseView> = Vec::new();
    let mut before = q.before;
    loop {
        let page = list(app, actor, &ListQuery { before, limit: Some(PAGE), ..q.clone() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        rows.extend(page);
        if rows.len() > EXPORT_MAX_ROWS {
            return Err(AppError::invalid(
                "limit",
                format!(
                    "more than {EXPORT_MAX_ROWS} cases match; narrow the filter or export them in the background (POST /api/cases/exports)"
                ),
            ));
        }
    }
    // Encoding thousands of rows takes a while: on the blocking threads, not the request path.
    let format = format.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut enc = Encoder::new(&format)?;
        enc.write(&rows)?;
        let content_type = enc.content_type();
        let mut bytes = enc.take(0);
        bytes.extend(enc.finish()?);
        Ok((content_type.to_owned(), bytes))
    })
    .await
    .map_err(|e| AppError::Internal(format!("export task: {e}")))?
}

/// What a background export is asked for: the list's filters and the format.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = CaseExportRequest)]
pub struct ExportRequest {
    /// csv, xlsx or geojson
    pub format: String,
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<bool>,
    /// Only inside this territory.
    pub territory: Option<String>,
    pub channel: Option<String>,
    /// Reported on or after this day (YYYY-MM-DD, Asia/Shanghai).
    pub from: Option<String>,
    /// Reported on or before this day.
    pub to: Option<String>,
}

impl ExportRequest {
    fn query(&self) -> ListQuery {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        ListQuery {
            status: some(&self.status),
            category: some(&self.category),
            overdue: self.overdue,
            territory: some(&self.territory),
            channel: some(&self.channel),
            from: some(&self.from),
            to: some(&self.to),
            before: None,
            limit: None,
        }
    }
}

/// Queues an export of every case the actor may see that matches (up to
/// [`EXPORT_JOB_MAX_ROWS`]) as a background job: one at a time per person (asking again for
/// the same gives the one under way). The job reads with the asker's posts when it runs, and
/// only the asker downloads its file (`GET /api/jobs/{id}/file`), kept for
/// [`crate::retention::JOB_FILE_DAYS`] days.
pub async fn queue_export(app: &App, actor: &Actor, r: &ExportRequest) -> Result<crate::jobs::JobView> {
    checked_format(&r.format)?;
    checked_filter(&r.query())?;
    let params = serde_json::to_value(r).map_err(|e| AppError::Internal(e.to_string()))?;
    crate::jobs::enqueue(app, EXPORT_JOB, Some(actor.person_id), true, Some(params)).await
}

/// The runner of [`EXPORT_JOB`]: pages through the cases newest first, encodes each page on a
/// blocking thread, and keeps the file in chunks as it grows.
pub(crate) fn export_job<'a>(
    app: &'a std::sync::Arc<App>,
    requested_by: Option<i64>,
    params: Option<serde_json::Value>,
    progress: crate::jobs::Progress,
) -> futures_util::future::BoxFuture<'a, Result<serde_json::Value>> {
    Box::pin(async move {
        let person = requested_by.ok_or_else(|| AppError::Internal("an export job without its asker".into()))?;
        let r: ExportRequest = params
            .and_then(|p| serde_json::from_value(p).ok())
            .ok_or_else(|| AppError::Internal("an export job without its request".into()))?;
        checked_format(&r.format)?;
        // The asker's posts as they are now: a post ended since the request reads nothing.
        let actor = app.actor(person).await?;
        let q = r.query();
        let mut enc = Encoder::new(&r.format)?;
        let content_type = enc.content_type();
        let (mut seq, mut size, mut rows) = (0i64, 0usize, 0usize);
        let (mut before, mut top) = (None, None::<i64>);
        progress.report("reading", 0.0).await?;
        loop {
            let page = list(app, &actor, &ListQuery { before, limit: Some(PAGE), ..q.clone() }).await?;
            let Some(last) = page.last().map(|c| c.id) else { break };
            let top = *top.get_or_insert(page[0].id);
            before = Some(last);
            rows += page.len();
            if rows > EXPORT_JOB_MAX_ROWS {
                return Err(AppError::invalid(
                    "limit",
                    format!("more than {EXPORT_JOB_MAX_ROWS} cases match; narrow the filter"),
                ));
            }
            // The encoder goes to a blocking thread with the page and comes back with it.
            let (e, bytes) = tokio::task::spawn_blocking(move || -> Result<(Encoder, Vec<u8>)> {
                enc.write(&page)?;
                let bytes = enc.take(CHUNK_BYTES);
                Ok((enc, bytes))
            })
            .await
            .map_err(|err| AppError::Internal(format!("export task: {err}")))??;
            enc = e;
            if !bytes.is_empty() {
                progress.write_chunk(seq, &bytes).await?;
                (seq, size) = (seq + 1, size + bytes.len());
            }
            // Ids grow with time: how far down the ids the pages are is how far the export is.
            let done = 1.0 - (last as f64 / top.max(1) as f64);
            progress.report("reading", done.clamp(0.0, 0.95)).await?;
        }
        progress.report("saving", 0.95).await?;
        let rest = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let mut rest = enc.take(0);
            rest.extend(enc.finish()?);
            Ok(rest)
        })
        .await
        .map_err(|err| AppError::Internal(format!("export task: {err}")))??;
        for part in rest.chunks(CHUNK_BYTES) {
            progress.write_chunk(seq, part).await?;
            (seq, size) = (seq + 1, size + part.len());
        }
        let day = format_local(app.now_ms()).chars().take(10).collect::<String>();
        Ok(json!({
            "rows": rows,
            "format": r.format,
            "content_type": content_type,
            "file_name": format!("cases-{day}.{}", r.format),
            "size_bytes": size,
            "url": format!("/api/jobs/{}/file", progress.job_id()),
        }))
    })
}

/// Encodes case rows page by page, in the export's columns: CSV and GeoJSON give their bytes
/// as they grow ([`Encoder::take`]), Excel (a sheet kept in temporary files, not in memory)
/// at the end.
pub(super) struct Encoder {
    out: Vec<u8>,
    form: Form,
}

enum Form {
    Csv,
    Geo { first: bool },
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, next_row: u32 },
}

impl Encoder {
    pub(super) fn new(format: &str) -> Result<Encoder> {
        let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
        let form = match format {
            "csv" => Form::Csv,
            "xlsx" => {
                let mut book = rust_xlsxwriter::Workbook::new();
                let sheet = book.add_worksheet_with_constant_memory().map_err(x)?;
                sheet.set_name("案件").map_err(x)?;
                for (i, h) in EXPORT_COLUMNS.iter().enumerate() {
                    sheet.write_string(0, i as u16, *h).map_err(x)?;
                }
                Form::Xlsx { book: Box::new(book), next_row: 1 }
            }
            _ => Form::Geo { first: true },
        };
        let out = match form {
            // A byte-order mark, so spreadsheets read the UTF-8 as UTF-8, and the header.
            Form::Csv => {
                let mut out = vec![0xEF, 0xBB, 0xBF];
                out.extend(EXPORT_COLUMNS.join(",").as_bytes());
                out.extend(b"\r\n");
                out
            }
            Form::Geo { .. } => br#"{"type":"FeatureCollection","features":["#.to_vec(),
            Form::Xlsx { .. } => Vec::new(),
        };
        Ok(Encoder { out, form })
    }

    pub(super) fn content_type(&self) -> &'static str {
        match self.form {
            Form::Csv => "text/csv; charset=utf-8",
            Form::Geo { .. } => "application/geo+json",
            Form::Xlsx { .. } => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub(super) fn write(&mut self, rows: &[CaseView]) -> Result<()> {
        let err = |e: String| AppError::Internal(e);
        match &mut self.form {
            Form::Csv => {
                let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut self.out);
                for c in rows {
                    w.write_record(export_cells(c).iter().map(|v| csv_cell(v))).map_err(|e| err(e.to_string()))?;
                }
                w.flush().map_err(|e| err(e.to_string()))?;
            }
            Form::Xlsx { book, next_row } => {
                let x = |e: rust_xlsxwriter::XlsxError| err(e.to_string());
                let sheet = book.worksheet_from_index(0).map_err(x)?;
                for c in rows {
                    for (i, v) in export_cells(c).into_iter().enumerate() {
                        sheet.write_string(*next_row, i as u16, v).map_err(x)?;
                    }
                    *next_row += 1;
                }
            }
            Form::Geo { first } => {
                for c in rows {
                    let (Some(lon), Some(lat)) = (c.lon, c.lat) else { continue };
                    let props: serde_json::Map<String, serde_json::Value> = EXPORT_COLUMNS
                        .iter()
                        .zip(export_cells(c))
                        .filter(|(k, _)| !matches!(**k, "lon" | "lat"))
                        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v)))
                        .collect();
                    let f = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props});
                    if !std::mem::take(first) {
                        self.out.push(b',');
                    }
                    self.out.extend(f.to_string().as_bytes());
                }
            }
        }
        Ok(())
    }

    /// The bytes written so far and not yet taken, once there are at least `at_least`.
    pub(super) fn take(&mut self, at_least: usize) -> Vec<u8> {
        if self.out.len() >= at_least.max(1) { std::mem::take(&mut self.out) } else { Vec::new() }
    }

    /// The bytes that end the file.
    pub(super) fn finish(self) -> Result<Vec<u8>> {
        let mut out = self.out;
        match self.form {
            Form::Csv => {}
            Form::Geo { .. } => out.extend(b"]}"),
            Form::Xlsx { mut book, .. } => {
                out.extend(book.save_to_buffer().map_err(|e| AppError::Internal(e.to_string()))?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, subject: &str, point: bool) -> CaseView {
        CaseView {
            id,
            channel: "app".into(),
            kind: "report".into(),
            subject: subject.into(),
            description: "d".into(),
            category_code: Some("H01".into()),
            priority: None,
            status: "reported".into(),
            lon: point.then_some(117.2 + id as f64 / 1e4),
            lat: point.then_some(39.1),
            address: None,
            territory_code: "120101001001001".into(),
            reporter: Reporter { name: None, phone: None, email: None, anonymous: false, revealed: false },
            owner_org_id: None,
            due_at_ms: None,
            due_at: None,
            overdue: false,
            returns: 0,
            reworks: 0,
            extension_until_ms: None,
            satisfaction: None,
            merged_into: None,
            summoned: Vec::new(),
            summon_due_ms: None,
            cooperating: Vec::new(),
            created_at_ms: 1_764_000_000_000 + id,
            filed_at_ms: None,
            closed_at_ms: None,
            actions: Vec::new(),
            timeline: None,
        }
    }

    /// Written page by page and taken in pieces, a file is the same as written at once.
    #[test]
    fn pages_and_pieces_make_the_same_file() {
        let rows: Vec<CaseView> = (1..=50)
            .map(|i| case(i, if i % 7 == 0 { "=HYPERLINK(\"x\")" } else { "路灯不亮, 北门" }, i % 3 != 0))
            .collect();
        for format in ["csv", "geojson"] {
            let mut whole = Encoder::new(format).unwrap();
            whole.write(&rows).unwrap();
            let mut once = whole.take(0);
            once.extend(whole.finish().unwrap());
            let mut paged = Encoder::new(format).unwrap();
            let mut pieces = Vec::new();
            for page in rows.chunks(7) {
                paged.write(page).unwrap();
                pieces.extend(paged.take(300));
            }
            pieces.extend(paged.take(0));
            pieces.extend(paged.finish().unwrap());
            assert_eq!(String::from_utf8(pieces).unwrap(), String::from_utf8(once.clone()).unwrap(), "{format}");
            if format == "geojson" {
                let v: serde_json::Value = serde_json::from_slice(&once).unwrap();
                assert_eq!(v["features"].as_array().unwrap().len(), rows.iter().filter(|c| c.lon.is_some()).count());
            } else {
                let text = String::from_utf8(once).unwrap();
                assert_eq!(text.lines().count(), 51);
                assert!(text.contains("'=HYPERLINK"), "a formula is made text");
                assert!(text.contains("\"路灯不亮, 北门\""), "a comma is quoted");
            }
        }
        // An empty export is a header (CSV) or an empty collection.
        let mut e = Encoder::new("geojson").unwrap();
        e.write(&[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&e.finish().unwrap()).unwrap();
        assert_eq!(v["features"], json!([]));
    }
}
