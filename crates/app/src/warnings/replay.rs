//! The replay: historical cases from a CSV in the case import's columns run through the same
//! engine as the live detectors, in time order as if they arrived live, and each warning
//! raised becomes a CSV row. Nothing is written: the territories and categories come from
//! the app's database (a scratch one, for the command), and the warnings are folded as the
//! live store folds them (one open per rule and key; see `Tracker`).

use super::detector::{Feeder, Seen, config};
use crate::{App, AppError, Result};
use wuzhi_domain::warnings::detect::{Engine, Observation, Tracked, Tracker};

/// A replay's cases, parsed and located, in time order, with their ids as the CSV gave them.
pub struct Parsed {
    pub seen: Vec<Seen>,
    /// `external_id` (or the line number) per case id (the index).
    pub ids: Vec<String>,
}

/// Parses the CSV (`created_at` and one of `lon`+`lat`, `territory` or `address` required;
/// `category`, `subject`, `description`, `reporter` (an opaque id), `reporter_phone` or
/// `phone`, `channel` used when present). All or nothing: every bad row is reported by line.
pub async fn parse(app: &App, feeder: &Feeder, text: &str) -> Result<Parsed> {
    use wuzhi_geo::ImportError;
    let mut conn = app.db.read().await?;
    let cats: std::collections::HashSet<String> =
        wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| c.code).collect();
    drop(conn);
    let loc = app.locator();
    // Byte records: the input is already UTF-8 (a `str`), so a field cut from it at the CSV's
    // ASCII delimiters is UTF-8 too; the short fields are checked as they are read, and the
    // long texts only go to the lexicon, which matches bytes (checking every text again was
    // a sixth of the replay's time).
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.byte_headers().map_err(|e| AppError::invalid("header", e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim_ascii() == n.as_bytes());
    let Some(created_col) = col("created_at") else {
        return Err(AppError::invalid("header", "needs a created_at column"));
    };
    let [lon_col, lat_col, territory_col, address_col, category_col, subject_col, description_col] =
        ["lon", "lat", "territory", "address", "category", "subject", "description"].map(col);
    let [reporter_col, phone_col, channel_col, id_col] =
        ["reporter", "reporter_phone", "channel", "external_id"].map(col);
    let phone_col = phone_col.or_else(|| col("phone"));
    let mut errors = Vec::new();
    let mut rows: Vec<(Seen, String)> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(ImportError {
                    location: format!("line {line}"),
                    field: "row".into(),
                    reason: e.to_string(),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let bytes = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or(b"");
        let one = || -> Result<(Seen, String)> {
            let get = |name: &str, c: Option<usize>| -> Result<Option<&str>> {
                let s = std::str::from_utf8(bytes(c)).map_err(|_| AppError::invalid(name, "is not UTF-8 text"))?.trim();
                Ok(Some(s).filter(|s| !s.is_empty()))
            };
            let at = crate::cases::parse_local("created_at", get("created_at", Some(created_col))?.unwrap_or(""))?;
            let address = get("address", address_col)?;
            let (territory, _) = crate::cases::place_of_row(
                &loc,
                get("lon", lon_col)?,
                get("lat", lat_col)?,
                get("territory", territory_col)?,
                address,
            )?;
            let category = match get("category", category_col)? {
                Some(c) if !cats.contains(c) => {
                    return Err(AppError::invalid("category", format!("{c} is not a category of the taxonomy")));
                }
                c => c,
            };
            let person = get("reporter", reporter_col)?.map(|r| {
                let h = app.settings.vault.blind("warnings.reporter", r);
                i64::from_str_radix(h.get(..15).unwrap_or("0"), 16).unwrap_or(0)
            });
            let phone = get("reporter_phone", phone_col)?;
            let id = get("external_id", id_col)?.map(str::to_owned).unwrap_or_else(|| format!("line{line}"));
            let s = feeder.see(
                0,
                at,
                &territory,
                category,
                bytes(subject_col),
                bytes(description_col),
                get("channel", channel_col)?.unwrap_or("hotline"),
                person,
                phone,
                address,
                None,
            );
            Ok((s, id))
        };
        match one() {
            Ok(r) => rows.push(r),
            Err(AppError::Invalid { field, reason }) => {
                errors.push(ImportError { location: format!("line {line}"), field, reason })
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Import(errors));
    }
    rows.sort_by_key(|(s, _)| s.at_ms);
    let mut seen = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for (i, (mut s, id)) in rows.into_iter().enumerate() {
        s.case_id = i as i64;
        seen.push(s);
        ids.push(id);
    }
    Ok(Parsed { seen, ids })
}

/// Runs the detectors over cases in time order; every warning they raise.
pub fn detect(engine: &mut Engine, seen: &[Seen]) -> Vec<Tracked> {
    let mut tracker = Tracker::default();
    for s in seen {
        for sig in engine.observe(&Observation::Reported(s.report())) {
            tracker.add(&sig);
        }
    }
    tracker.finish()
}

/// The engine and feeder of the app's parameters, lexicon and categories (and classifier).
pub async fn engine(app: &App) -> Result<(Engine, Feeder)> {
    let c = config(app).await?;
    let model = crate::text::classifier(app).await?.map(|(_, m)| m);
    let feeder = Feeder::new(&c.lexicon, model, app.settings.vault.clone());
    Ok((Engine::new(c.rules, c.categories, c.lexicon, (*app.calendar()).clone()), feeder))
}

fn local(ms: i64) -> String {
    use wuzhi_domain::calendar::{DAY_MS, OFFSET_MS};
    let l = ms + OFFSET_MS;
    let day = l.div_euclid(DAY_MS);
    let s = l.rem_euclid(DAY_MS) / 1000;
    format!("{} {:02}:{:02}:{:02}", wuzhi_domain::calendar::format_day(day), s / 3600, s / 60 % 60, s % 60)
}

/// The warnings as CSV: `rule,level,territory,category,first_case_at,raised_at,case_ids`
/// (times in Beijing time, the cases' ids separated by `;`).
pub fn to_csv(warnings: &[Tracked], ids: &[String]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["rule", "level", "territory", "category", "first_case_at", "raised_at", "case_ids"]);
    for t in warnings {
        let cases: Vec<&str> = t.cases.iter().filter_map(|c| ids.get(*c as usize)).map(String::as_str).collect();
        let _ = w.write_record([
            t.rule.as_str(),
            t.level.as_str(),
            &t.territory,
            t.category.as_deref().unwrap_or(""),
            &local(t.first_case_at_ms),
            &local(t.raised_at_ms),
            &cases.join(";"),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The whole replay of a CSV: parsed, run, written. Returns the CSV and how many cases.
pub async fn replay(app: &App, text: &str) -> Result<(String, usize, usize)> {
    let (mut engine, feeder) = engine(app).await?;
    let p = parse(app, &feeder, text).await?;
    let warnings = detect(&mut engine, &p.seen);
    Ok((to_csv(&warnings, &p.ids), p.seen.len(), warnings.len()))
}
