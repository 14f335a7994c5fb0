//! `POST requests`: a request filed as a case through the intake path.

use super::*;

/// A `POST requests` form, decoded.
#[derive(Debug, Default, Clone)]
pub struct NewRequest {
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[CODE]` and `attribute[CODE][]`, in the order sent.
    pub attributes: Vec<(String, String)>,
    /// The client's `Idempotency-Key` header: a retry with the same key returns the same request.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Posted {
    pub service_request_id: i64,
    /// Also answers `GET tokens/{token}`.
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

pub(super) fn number(field: &str, s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| AppError::invalid(field, format!("`{s}` is not a number")))
}

/// Checks the answers against the service's attributes: every required one present, each
/// of its datatype, list values among the keys, no unknown codes.
pub(super) fn check_attributes(defs: &[Attribute], sent: &[(String, String)]) -> Result<BTreeMap<String, Value>> {
    let mut given: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (code, v) in sent {
        given.entry(code.as_str()).or_default().push(v.as_str());
    }
    let mut out = BTreeMap::new();
    for (code, _) in &given {
        if !defs.iter().any(|d| d.code == *code && d.variable) {
            return Err(AppError::invalid(format!("attribute[{code}]"), "is not an attribute of this service"));
        }
    }
    for d in defs.iter().filter(|d| d.variable) {
        let field = format!("attribute[{}]", d.code);
        let values: Vec<&str> = given
            .get(d.code.as_str())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if values.is_empty() {
            if d.required {
                return Err(AppError::invalid(field, format!("is required ({})", d.description)));
            }
            continue;
        }
        let one = || -> Result<&str> {
            if values.len() > 1 {
                return Err(AppError::invalid(field.clone(), "takes one value"));
            }
            Ok(values[0].trim())
        };
        let key_ok = |v: &str| d.values.iter().any(|x| x.key == v);
        let value = match d.datatype.as_str() {
            "number" => json!(number(&field, one()?)?),
            "datetime" => {
                let v = one()?;
                json!(format_local(parse_datetime(&field, v)?))
            }
            "singlevaluelist" => {
                let v = one()?;
                if !key_ok(v) {
                    let keys: Vec<&str> = d.values.iter().map(|x| x.key.as_str()).collect();
                    return Err(AppError::invalid(field, format!("`{v}` is not one of {}", keys.join(", "))));
                }
                json!(v)
            }
            "multivaluelist" => {
                for v in &values {
                    if !key_ok(v.trim()) {
                        let keys: Vec<&str> = d.values.iter().map(|x| x.key.as_str()).collect();
                        return Err(AppError::invalid(field, format!("`{v}` is not one of {}", keys.join(", "))));
                    }
                }
                json!(values.iter().map(|v| v.trim()).collect::<Vec<_>>())
            }
            "text" => {
                let v = one()?;
                if v.chars().count() > 4000 {
                    return Err(AppError::invalid(field, "is longer than 4000 characters"));
                }
                json!(v)
            }
            _ => {
                let v = one()?;
                if v.chars().count() > 500 {
                    return Err(AppError::invalid(field, "is longer than 500 characters"));
                }
                json!(v)
            }
        };
        out.insert(d.code.clone(), value);
    }
    Ok(out)
}

/// Files an Open311 request as a case through the intake path. `key` is the checked key.
pub async fn post_request(app: &App, key: &KeyRow, r: NewRequest) -> Result<Posted> {
    let code = r.service_code.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let code = code.ok_or_else(|| AppError::invalid("service_code", "is required"))?;
    let mut conn = app.db.read().await?;
    let service_name = match wuzhi_store::cases::get_category(&mut conn, code).await? {
        Some(c) if c.accept_limit.is_some() => c.name,
        _ => return Err(AppError::invalid("service_code", format!("`{code}` is not a service here (see services)"))),
    };
    let attributes: Vec<Attribute> =
        wuzhi_store::open311::attributes(&mut conn, code).await?.into_iter().map(to_attribute).collect();
    drop(conn);
    let answers = check_attributes(&attributes, &r.attributes)?;
    let some = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (lat, long) = (some(&r.lat), some(&r.long));
    let (lon, lat) = match (long, lat) {
        (Some(x), Some(y)) => {
            let (x, y) = (number("long", &x)?, number("lat", &y)?);
            if !(-180.0..=180.0).contains(&x) {
                return Err(AppError::invalid("long", "must be between -180 and 180"));
            }
            if !(-90.0..=90.0).contains(&y) {
                return Err(AppError::invalid("lat", "must be between -90 and 90"));
            }
            (Some(x), Some(y))
        }
        (None, None) => (None, None),
        (None, Some(_)) => return Err(AppError::invalid("long", "lat and long come together")),
        (Some(_), None) => return Err(AppError::invalid("lat", "lat and long come together")),
    };
    let address = some(&r.address_string);
    let address_id = some(&r.address_id);
    if lon.is_none() && address.is_none() && address_id.is_none() {
        return Err(AppError::invalid("lat", "a location is required: lat and long, address_string or address_id"));
    }
    // address_id names a territory (its code) when there is no point.
    let address = match (&address_id, lon) {
        (Some(id), None) => {
            let name = app
                .locator()
                .name_of(id)
                .ok_or_else(|| AppError::invalid("address_id", format!("`{id}` is not a territory code here")))?;
            Some(match &address {
                Some(a) => format!("{a} {name}"),
                None => name,
            })
        }
        _ => address,
    };
    let description = some(&r.description).unwrap_or_else(|| service_name.clone());
    if description.chars().count() > 4000 {
        return Err(AppError::invalid("description", "is longer than 4000 characters"));
    }
    let subject: String = {
        let first_line = description.lines().next().unwrap_or("").trim();
        let s: String = first_line.chars().take(40).collect();
        if s.is_empty() { service_name.clone() } else { s }
    };
    let name = match (some(&r.first_name), some(&r.last_name)) {
        (None, None) => None,
        (f, l) => Some([f, l].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    let email = some(&r.email);
    if let Some(e) = &email {
        let ok = e.len() <= 200 && e.split_once('@').is_some_and(|(u, d)| !u.is_empty() && d.contains('.'));
        if !ok {
            return Err(AppError::invalid("email", format!("`{e}` is not an e-mail address")));
        }
    }
    let media_url = some(&r.media_url);
    if let Some(m) = &media_url {
        if !(m.starts_with("http://") || m.starts_with("https://")) || m.len() > 2000 {
            return Err(AppError::invalid("media_url", "must be an http(s) URL of at most 2000 characters"));
        }
    }
    let mut extra = json!({"open311_key": key.id});
    if !answers.is_empty() {
        extra["attributes"] = json!(answers);
    }
    for (k, v) in [("media_url", &media_url), ("device_id", &some(&r.device_id)), ("account_id", &some(&r.account_id))]
    {
        if let Some(v) = v {
            extra[k] = json!(v);
        }
    }
    // A retry carrying the same Idempotency-Key gets the same token, so intake recognises it.
    let token = match r.idempotency_key.as_deref().map(str::trim) {
        Some(k) if k.is_empty() || k.len() > 200 => {
            return Err(AppError::invalid("Idempotency-Key", "must be 1 to 200 characters"));
        }
        Some(k) => crate::auth::sha256_hex(&format!("{}:{k}", key.id)),
        None => crate::auth::random_token(),
    };
    let n = NewCase {
        channel: Channel::Open311,
        kind: "request".into(),
        subject,
        description,
        category: Some(code.to_owned()),
        lon,
        lat,
        crs: Some("wgs84".into()),
        address,
        reporter_name: name,
        reporter_phone: some(&r.phone),
        reporter_email: email,
        attributes: Some(extra.to_string()),
        anonymous: false,
        public: None,
        idempotency_key: Some(token.clone()),
        fixed_on_spot: None,
    };
    // Intake names its own fields; an Open311 client knows them by the specification's names.
    let retry = r.idempotency_key.is_some();
    let answer = report_checked(app, Caller::System(System::Open311Client), n, None).await;
    // A retry finds its case written before; the client may not read cases as staff do, so
    // it gets the request's id by its token.
    if retry && matches!(answer, Err(AppError::Forbidden { .. })) {
        let id = self::token(app, &token).await?;
        return Ok(Posted {
            service_request_id: id,
            token,
            service_notice: String::new(),
            account_id: some(&r.account_id),
        });
    }
    let (case, _) = answer.map_err(|e| match e {
        AppError::Invalid { field, reason } => {
            let field = match field.as_str() {
                "lon" => "long".to_owned(),
                "address" => "address_string".to_owned(),
                "reporter_name" => "first_name".to_owned(),
                _ => field,
            };
            AppError::Invalid { field, reason }
        }
        other => other,
    })?;
    Ok(Posted { service_request_id: case.id, token, service_notice: String::new(), account_id: some(&r.account_id) })
}

pub(super) async fn category_names(app: &App) -> Result<HashMap<String, String>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code, c.name)).collect())
}

/// The idempotency key intake stores for an Open311 token.
pub(crate) fn token_key(token: &str) -> String {
    format!("open311:0:{token}")
}

/// The request a token stands for.
pub async fn token(app: &App, token: &str) -> Result<i64> {
    let mut conn = app.db.read().await?;
    wuzhi_store::cases::by_idempotency_key(&mut conn, &token_key(token))
        .await?
        .ok_or_else(|| AppError::not_found(format!("token {token}")))
}
