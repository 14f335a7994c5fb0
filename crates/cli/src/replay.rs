//! `wuzhi replay la311`: replays the real Los Angeles MyLA311 requests through any Open311
//! GeoReport v2 endpoint, as an Open311 client would: it reads the services, maps each
//! request type to a service by name, posts every request (form-encoded, with the API key)
//! and, with `--check`, reads them all back and compares the fields.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// What a replay did.
pub struct Report {
    pub rows: usize,
    pub posted: usize,
    pub refused: BTreeMap<String, usize>,
    pub seconds: f64,
    pub latencies_ms: Vec<f64>,
    pub checked: usize,
    pub mismatches: Vec<String>,
}

impl Report {
    pub fn print(&self, label: &str) {
        let l = if label.is_empty() { String::new() } else { format!(".{label}") };
        println!("la311_rows{l}: {} requests", self.rows);
        println!("la311_posted{l}: {} requests", self.posted);
        let refused: usize = self.refused.values().sum();
        println!("la311_refused{l}: {refused} requests");
        for (reason, n) in &self.refused {
            println!("  refused {n}: {reason}");
        }
        println!("la311_requests_per_second{l}: {:.0} requests/s", self.posted as f64 / self.seconds.max(1e-9));
        let mut lat = self.latencies_ms.clone();
        lat.sort_by(f64::total_cmp);
        println!("la311_p50_ms{l}: {:.2} ms", crate::bench::percentile(&lat, 0.50));
        println!("la311_p99_ms{l}: {:.2} ms", crate::bench::percentile(&lat, 0.99));
        println!("la311_checked{l}: {} requests", self.checked);
        println!("la311_mismatches{l}: {}", self.mismatches.len());
        for m in self.mismatches.iter().take(20) {
            println!("  mismatch: {m}");
        }
    }
}

struct Row {
    sr: String,
    kind: String,
    source: String,
    address: String,
    lat: Option<String>,
    long: Option<String>,
    council: String,
}

fn read_rows(path: &std::path::Path) -> Result<Vec<Row>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n).ok_or_else(|| format!("{}: no {n} column", path.display()));
    let (sr, kind, source, address, lat, long, council) = (
        col("SRNumber")?,
        col("RequestType")?,
        col("RequestSource")?,
        col("Address")?,
        col("Latitude")?,
        col("Longitude")?,
        col("NCName")?,
    );
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_owned();
        let opt = |i: usize| Some(get(i)).filter(|s| !s.is_empty());
        rows.push(Row {
            sr: get(sr),
            kind: get(kind),
            source: get(source),
            address: get(address),
            lat: opt(lat),
            long: opt(long),
            council: get(council),
        });
    }
    Ok(rows)
}

impl Row {
    fn description(&self) -> String {
        format!("MyLA311 {}: {} (reported by {})", self.sr, self.kind, self.source)
    }

    /// The address as a 311 operator writes it, with the neighbourhood council when known.
    fn address_string(&self) -> String {
        match (self.address.is_empty(), self.council.is_empty()) {
            (false, false) => format!("{}, {}", self.address, self.council),
            (false, true) => self.address.clone(),
            (true, _) => self.council.clone(),
        }
    }

    fn form(&self, api_key: &str, service_code: &str) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("api_key", api_key.to_owned()),
            ("service_code", service_code.to_owned()),
            ("description", self.description()),
            ("address_string", self.address_string()),
        ];
        if let (Some(lat), Some(long)) = (&self.lat, &self.long) {
            f.push(("lat", lat.clone()));
            f.push(("long", long.clone()));
        }
        f
    }
}

/// Replays `file` against `base` (the server, e.g. `http://127.0.0.1:8080`).
pub async fn la311(
    base: &str,
    api_key: &str,
    file: &std::path::Path,
    concurrency: usize,
    check: bool,
) -> Result<Report, String> {
    let rows = Arc::new(read_rows(file)?);
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(concurrency.max(1) * 2).build().map_err(|e| e.to_string())?;
    let services: serde_json::Value = client
        .get(format!("{base}/open311/v2/services.json"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let by_name: Arc<HashMap<String, String>> = Arc::new(
        services
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["service_name"].as_str()?.to_owned(), s["service_code"].as_str()?.to_owned())))
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (rows, by_name, next, client) = (rows.clone(), by_name.clone(), next.clone(), client.clone());
        let (base, key) = (base.to_owned(), api_key.to_owned());
        workers.push(tokio::spawn(async move {
            let mut posted: Vec<(usize, i64)> = Vec::new();
            let mut refused: Vec<String> = Vec::new();
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                let Some(code) = by_name.get(&row.kind) else {
                    refused.push(format!("no service named `{}`", row.kind));
                    continue;
                };
                let t0 = Instant::now();
                let r =
                    client.post(format!("{base}/open311/v2/requests.json")).form(&row.form(&key, code)).send().await;
                lat.push(t0.elapsed().as_secs_f64() * 1e3);
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        match v[0]["service_request_id"].as_i64() {
                            Some(id) => posted.push((i, id)),
                            None => refused.push("201 without a service_request_id".into()),
                        }
                    }
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        let d = v[0]["description"].as_str().unwrap_or("").to_owned();
                        // The reason without the row's own values, so alike refusals add up.
                        let reason: String = d.split('`').step_by(2).collect::<Vec<_>>().join("…");
                        let mut depth = 0;
                        let reason: String = reason
                            .chars()
                            .filter(|c| {
                                match c {
                                    '(' => depth += 1,
                                    ')' => depth -= 1,
                                    _ => return depth == 0,
                                }
                                false
                            })
                            .collect();
                        refused.push(format!("{status} {reason}"));
                    }
                    Err(e) => refused.push(format!("transport: {e}")),
                }
            }
            (posted, refused, lat)
        }));
    }
    let mut posted = Vec::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies_ms = Vec::new();
    for w in workers {
        let (p, r, l) = w.await.map_err(|e| e.to_string())?;
        posted.extend(p);
        for reason in r {
            *refused.entry(reason).or_default() += 1;
        }
        latencies_ms.extend(l);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    if check {
        posted.sort_by_key(|(_, id)| *id);
        for chunk in posted.chunks(200) {
            let ids: Vec<String> = chunk.iter().map(|(_, id)| id.to_string()).collect();
            let got: serde_json::Value = client
                .get(format!("{base}/open311/v2/requests.json?service_request_id={}", ids.join(",")))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let by_id: HashMap<i64, &serde_json::Value> = got
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| Some((r["service_request_id"].as_i64()?, r)))
                .collect();
            for (i, id) in chunk {
                let row = &rows[*i];
                let Some(r) = by_id.get(id) else {
                    mismatches.push(format!("{}: request {id} not returned", row.sr));
                    continue;
                };
                checked += 1;
                let mut differ = |field: &str, want: String, got: String| {
                    if want != got {
                        mismatches.push(format!("{} {field}: sent `{want}`, read `{got}`", row.sr));
                    }
                };
                let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
                differ("service_code", by_name.get(&row.kind).cloned().unwrap_or_default(), text("service_code"));
                differ("service_name", row.kind.clone(), text("service_name"));
                differ("description", row.description(), text("description"));
                differ("address", row.address_string(), text("address"));
                differ("status", "open".into(), text("status"));
                let coord = |k: &str| r[k].as_f64().map(|v| format!("{v:.9}")).unwrap_or_default();
                // Public reads show locations as the public sees them (to about 100 m).
                let sent = |v: &Option<String>| {
                    v.as_deref()
                        .and_then(|s| s.parse::<f64>().ok())
                        .map(|v| format!("{:.9}", wuzhi_domain::cases::public::coarse(v)))
                        .unwrap_or_default()
                };
                differ("lat", sent(&row.lat), coord("lat"));
                differ("long", sent(&row.long), coord("long"));
                for k in ["requested_datetime", "updated_datetime", "expected_datetime"] {
                    let v = text(k);
                    if wuzhi_domain::calendar::parse_datetime(k, &v).is_err() {
                        mismatches.push(format!("{} {k}: `{v}` is not a date-time with a zone", row.sr));
                    }
                }
            }
        }
    }
    Ok(Report { rows: rows.len(), posted: posted.len(), refused, seconds, latencies_ms, checked, mismatches })
}
