//! Services: the leaf categories with their attributes (definitions, the attributes CSV).

use super::*;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// True when the service has attributes (read its definition).
    pub metadata: bool,
    /// realtime: a posted request gets its id at once.
    #[serde(rename = "type")]
    pub kind: String,
    pub keywords: String,
    pub group: String,
}

/// The leaf categories as Open311 services, in code order.
pub async fn services(app: &App) -> Result<Vec<Service>> {
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::cases::categories(&mut conn).await?;
    let with: HashSet<String> =
        wuzhi_store::open311::categories_with_attributes(&mut conn).await?.into_iter().collect();
    let names: HashMap<&str, &str> = rows.iter().map(|r| (r.code.as_str(), r.name.as_str())).collect();
    let mut out: Vec<Service> = rows
        .iter()
        .filter(|r| r.accept_limit.is_some())
        .map(|r| {
            let mut keywords = vec![r.kind.clone()];
            if r.emergency {
                keywords.push("emergency".into());
            }
            Service {
                service_code: r.code.clone(),
                service_name: r.name.clone(),
                description: r.filing_condition.clone().unwrap_or_else(|| r.name.clone()),
                metadata: with.contains(&r.code),
                kind: "realtime".into(),
                keywords: keywords.join(","),
                group: r.parent_code.as_deref().and_then(|p| names.get(p)).unwrap_or(&"").to_string(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.service_code.cmp(&b.service_code));
    Ok(out)
}

#[derive(Debug, Serialize, Clone, PartialEq, utoipa::ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Attribute {
    /// False for an informational attribute (nothing to answer).
    pub variable: bool,
    pub code: String,
    pub datatype: String,
    pub required: bool,
    pub datatype_description: String,
    pub order: i64,
    pub description: String,
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct Definition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

pub(super) fn to_attribute(a: AttributeRow) -> Attribute {
    let values: Vec<AttributeValue> = serde_json::from_str::<Vec<Value>>(&a.choices)
        .unwrap_or_default()
        .into_iter()
        .map(|v| AttributeValue {
            key: v["key"].as_str().unwrap_or_default().to_owned(),
            name: v["name"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    Attribute {
        variable: a.variable,
        code: a.code,
        datatype: a.datatype,
        required: a.required,
        datatype_description: a.datatype_description,
        order: a.ord,
        description: a.description,
        values,
    }
}

/// A service's definition; `NotFound` for an unknown code or a class that is not a leaf.
pub async fn definition(app: &App, code: &str) -> Result<Definition> {
    let mut conn = app.db.read().await?;
    let cat = wuzhi_store::cases::get_category(&mut conn, code).await?;
    if !cat.is_some_and(|c| c.accept_limit.is_some()) {
        return Err(AppError::not_found(format!("service_code {code}")));
    }
    let attributes = wuzhi_store::open311::attributes(&mut conn, code).await?.into_iter().map(to_attribute).collect();
    Ok(Definition { service_code: code.to_owned(), attributes })
}

/// Parses an attributes CSV (`data/categories/attributes.csv`): every problem by line.
/// `values` is `key:name|key:name` for the list datatypes.
pub fn parse_attributes_csv(text: &str, leaves: &HashSet<String>) -> Result<Vec<AttributeRow>, Vec<ImportError>> {
    let err = |line: u64, field: &str, reason: String| ImportError {
        location: format!("line {line}"),
        field: field.into(),
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![err(1, "header", e.to_string())]),
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    for need in ["category_code", "code", "datatype", "description"] {
        if col(need).is_none() {
            return Err(vec![err(1, "header", format!("needs a {need} column"))]);
        }
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e.position().map(|p| p.line()).unwrap_or(0), "row", e.to_string()));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).map(str::trim).unwrap_or("").to_owned();
        let flag = |n: &str, default: bool| match get(n).as_str() {
            "" => Ok(default),
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(format!("`{other}` is not true or false")),
        };
        let before = errors.len();
        let category = get("category_code");
        if !leaves.contains(&category) {
            errors.push(err(line, "category_code", format!("`{category}` is not a leaf category of the taxonomy")));
        }
        let code = get("code");
        if code.is_empty() || code.len() > 50 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errors.push(err(line, "code", format!("`{code}` must be 1–50 letters, digits and underscores")));
        } else if !seen.insert((category.clone(), code.clone())) {
            errors.push(err(line, "code", format!("`{code}` appears twice for {category}")));
        }
        let datatype = get("datatype");
        if !DATATYPES.contains(&datatype.as_str()) {
            errors.push(err(line, "datatype", format!("`{datatype}` is not one of {}", DATATYPES.join(", "))));
        }
        let required = flag("required", false).map_err(|r| errors.push(err(line, "required", r))).unwrap_or(false);
        let variable = flag("variable", true).map_err(|r| errors.push(err(line, "variable", r))).unwrap_or(true);
        let ord = match get("order").as_str() {
            "" => rows.iter().filter(|r: &&AttributeRow| r.category_code == category).count() as i64 + 1,
            o => o.parse().unwrap_or_else(|_| {
                errors.push(err(line, "order", format!("`{o}` is not a whole number")));
                0
            }),
        };
        let description = get("description");
        if description.is_empty() {
            errors.push(err(line, "description", "is empty".into()));
        }
        let mut choices = Vec::new();
        let values = get("values");
        for pair in values.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once(':') {
                Some((k, n)) if !k.trim().is_empty() && !n.trim().is_empty() => {
                    choices.push(json!({"key": k.trim(), "name": n.trim()}))
                }
                _ => errors.push(err(line, "values", format!("`{pair}` is not key:name"))),
            }
        }
        let listed = datatype.ends_with("valuelist");
        if listed && choices.is_empty() {
            errors.push(err(line, "values", format!("a {datatype} needs its values as key:name|key:name")));
        }
        if !listed && !choices.is_empty() {
            errors.push(err(line, "values", format!("a {datatype} takes no values")));
        }
        if errors.len() == before {
            rows.push(AttributeRow {
                category_code: category,
                code,
                datatype,
                required,
                variable,
                datatype_description: get("datatype_description"),
                ord,
                description,
                choices: Value::Array(choices).to_string(),
            });
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

pub(super) async fn leaves(app: &App) -> Result<HashSet<String>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::categories(&mut conn)
        .await?
        .into_iter()
        .filter(|c| c.accept_limit.is_some())
        .map(|c| c.code)
        .collect())
}

/// Replaces the attributes of every category the CSV names, all or nothing.
pub async fn import_attributes(app: &App, caller: Caller<'_>, text: &str) -> Result<usize> {
    let actor = caller.person();
    crate::require_city_admin(caller, wuzhi_domain::permission::Action::ManageCategories.as_str())?;
    let rows = parse_attributes_csv(text, &leaves(app).await?).map_err(AppError::Import)?;
    let cats: Vec<String> =
        rows.iter().map(|r| r.category_code.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    wuzhi_store::open311::replace_attributes(&mut tx, &cats, &rows).await?;
    record(&mut tx, now, actor, "import_category_attributes", "category", "*", json!({"rows": rows.len()})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(rows.len())
}
