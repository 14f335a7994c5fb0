//! Territory records: parsing the statistics bureau's division-code CSV and GeoJSON feature
//! collections, validating a batch against the tree it joins, and writing GeoJSON back out.
//!
//! Validation collects every problem with the row or feature it comes from, so an importer
//! can show them all and import nothing.

use crate::gcj;
use crate::prepared::Prepared;
use geo::{Area, Coord, LineString, MapCoords, MultiPolygon, Polygon, Validation};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use wuzhi_domain::{Invalid, Level, TerritoryCode};

/// The coordinate system of incoming or outgoing geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    Wgs84,
    /// GCJ-02, used by Chinese map providers.
    Gcj02,
}

impl Crs {
    pub fn parse(s: &str) -> Result<Crs, Invalid> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            _ => Err(Invalid::new("crs", format!("`{s}` is not wgs84 or gcj02"))),
        }
    }
}

/// One territory as imported or exported.
#[derive(Debug, Clone)]
pub struct Record {
    pub code: TerritoryCode,
    pub name: String,
    pub parent: Option<TerritoryCode>,
    /// Stored in WGS84.
    pub geometry: Option<MultiPolygon<f64>>,
    /// The statistics bureau's urban–rural class (villages only), e.g. `111`.
    pub urban_rural: Option<String>,
}

impl Record {
    pub fn level(&self) -> Level {
        self.code.level()
    }
}

/// A problem found in an import, named by where it is (`line 12`, `feature 3`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    pub location: String,
    pub field: String,
    pub reason: String,
}

impl ImportError {
    fn new(location: &str, field: &str, reason: impl Into<String>) -> Self {
        ImportError { location: location.to_owned(), field: field.to_owned(), reason: reason.into() }
    }
    fn from_invalid(location: &str, e: Invalid) -> Self {
        ImportError { location: location.to_owned(), field: e.field, reason: e.reason }
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.field, self.reason)
    }
}

/// A batch with where each record came from, ready for [`validate`].
pub struct Batch {
    pub records: Vec<Record>,
    pub locations: Vec<String>,
}

/// Parses the division-code CSV (`code,name,level,parent_code[,urban_rural_type]`), codes
/// in 12-digit padded or plain form. The header row is required.
pub fn parse_divisions_csv(text: &str) -> Result<Batch, Vec<ImportError>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![ImportError::new("line 1", "header", e.to_string())]),
    };
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(c_code), Some(c_name)) = (col("code"), col("name")) else {
        return Err(vec![ImportError::new("line 1", "header", "needs the columns code and name")]);
    };
    let (c_level, c_parent, c_ur) = (col("level"), col("parent_code"), col("urban_rural_type"));
    let mut errors = Vec::new();
    let mut batch = Batch { records: Vec::new(), locations: Vec::new() };
    for row in rdr.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(ImportError::new(&format!("line {line}"), "row", e.to_string()));
                continue;
            }
        };
        let loc = format!("line {}", row.position().map(|p| p.line()).unwrap_or(0));
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map(str::trim).unwrap_or("");
        match record_from_fields(get(Some(c_code)), get(Some(c_name)), get(c_level), get(c_parent), get(c_ur), None) {
            Ok(r) => {
                batch.records.push(r);
                batch.locations.push(loc);
            }
            Err(e) => errors.push(ImportError::from_invalid(&loc, e)),
        }
    }
    if errors.is_empty() { Ok(batch) } else { Err(errors) }
}

fn record_from_fields(
    code: &str,
    name: &str,
    level: &str,
    parent: &str,
    urban_rural: &str,
    geometry: Option<MultiPolygon<f64>>,
) -> Result<Record, Invalid> {
    let code = TerritoryCode::parse_padded(code)?;
    if name.is_empty() {
        return Err(Invalid::new("name", "is empty"));
    }
    if name.chars().count() > 100 {
        return Err(Invalid::new("name", "is longer than 100 characters"));
    }
    if !level.is_empty() {
        let l = Level::parse(level)?;
        if l != code.level() {
            return Err(Invalid::new("level", format!("is {l} but code {code} is a {}", code.level())));
        }
    }
    let parent = if parent.is_empty() {
        None
    } else {
        Some(TerritoryCode::parse_padded(parent).map_err(|e| Invalid::new("parent_code", e.reason))?)
    };
    let urban_rural = (!urban_rural.is_empty()).then(|| urban_rural.to_owned());
    Ok(Record { code, name: name.to_owned(), parent, geometry, urban_rural })
}

/// Parses a GeoJSON FeatureCollection whose features carry `code` (or `adcode`), `name`,
/// optionally `level` and `parent_code`, with Polygon or MultiPolygon geometry in `crs`.
pub fn parse_geojson(text: &str, crs: Crs) -> Result<Batch, Vec<ImportError>> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| vec![ImportError::new("document", "json", format!("is not valid JSON: {e}"))])?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(vec![ImportError::new("document", "type", "must be FeatureCollection")]);
    }
    let Some(features) = doc.get("features").and_then(Value::as_array) else {
        return Err(vec![ImportError::new("document", "features", "must be an array")]);
    };
    let mut errors = Vec::new();
    let mut batch = Batch { records: Vec::new(), locations: Vec::new() };
    for (i, f) in features.iter().enumerate() {
        let loc = format!("feature {}", i + 1);
        let props = f.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        let text = |k: &str| match props.get(k) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let code = if text("code").is_empty() { text("adcode") } else { text("code") };
        let geometry = match f.get("geometry") {
            None | Some(Value::Null) => Ok(None),
            Some(g) => parse_geometry(g, crs).map(Some),
        };
        let rec = geometry.and_then(|g| {
            record_from_fields(&code, &text("name"), &text("level"), &text("parent_code"), &text("urban_rural_type"), g)
        });
        match rec {
            Ok(r) => {
                batch.records.push(r);
                batch.locations.push(loc);
            }
            Err(e) => errors.push(ImportError::from_invalid(&loc, e)),
        }
    }
    if errors.is_empty() { Ok(batch) } else { Err(errors) }
}

fn parse_ring(v: &Value, crs: Crs) -> Result<LineString<f64>, Invalid> {
    let pts = v.as_array().ok_or_else(|| Invalid::new("geometry", "a ring must be an array of positions"))?;
    let mut coords = Vec::with_capacity(pts.len());
    for p in pts {
        let (x, y) = match p.as_array().map(|a| a.as_slice()) {
            Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(Invalid::new("geometry", "a position must be numbers")),
            },
            _ => {
                return Err(Invalid::new("geometry", "a position must be [longitude, latitude]"));
            }
        };
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(Invalid::new("geometry", format!("position [{x}, {y}] is not a longitude/latitude")));
        }
        let (x, y) = if crs == Crs::Gcj02 { gcj::gcj02_to_wgs84(x, y) } else { (x, y) };
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(Invalid::new("geometry", format!("a ring has {} positions; it needs at least 4", coords.len())));
    }
    let (first, last) = (pts.first().unwrap(), pts.last().unwrap());
    if first != last {
        return Err(Invalid::new("geometry", "a ring is open: its first and last positions differ"));
    }
    Ok(LineString(coords))
}

fn parse_polygon(v: &Value, crs: Crs) -> Result<Polygon<f64>, Invalid> {
    let rings = v.as_array().ok_or_else(|| Invalid::new("geometry", "a polygon must be an array of rings"))?;
    let mut it = rings.iter();
    let ext = it.next().ok_or_else(|| Invalid::new("geometry", "a polygon has no ring"))?;
    let ext = parse_ring(ext, crs)?;
    let holes = it.map(|r| parse_ring(r, crs)).collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(ext, holes))
}

/// Parses a GeoJSON Polygon or MultiPolygon, converting to WGS84 and checking it is valid
/// (closed rings, no self-intersection).
pub fn parse_geometry(g: &Value, crs: Crs) -> Result<MultiPolygon<f64>, Invalid> {
    let coords = g.get("coordinates").ok_or_else(|| Invalid::new("geometry", "has no coordinates"))?;
    let mp = match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => MultiPolygon(vec![parse_polygon(coords, crs)?]),
        Some("MultiPolygon") => MultiPolygon(
            coords
                .as_array()
                .ok_or_else(|| Invalid::new("geometry", "MultiPolygon coordinates must be an array"))?
                .iter()
                .map(|p| parse_polygon(p, crs))
                .collect::<Result<_, _>>()?,
        ),
        Some(t) => {
            return Err(Invalid::new("geometry", format!("type {t} is not Polygon or MultiPolygon")));
        }
        None => return Err(Invalid::new("geometry", "has no type")),
    };
    for p in &mp.0 {
        if let Err(e) = p.check_validation() {
            return Err(Invalid::new("geometry", format!("is not a valid polygon: {e}")));
        }
    }
    // Parts of a multipolygon that touch along a line or overlap (common in published
    // boundary files) are merged; only invalid rings are refused.
    let mp = if mp.check_validation().is_err() { geo::unary_union(&mp.0) } else { mp };
    if let Err(e) = mp.check_validation() {
        return Err(Invalid::new("geometry", format!("is not a valid polygon: {e}")));
    }
    if mp.unsigned_area() == 0.0 {
        return Err(Invalid::new("geometry", "has no area"));
    }
    Ok(mp)
}

/// GeoJSON geometry object for a WGS84 multipolygon, written in `crs`, rounded to 1e-7°.
pub fn geometry_json(mp: &MultiPolygon<f64>, crs: Crs) -> Value {
    let conv = |c: Coord<f64>| {
        let (x, y) = if crs == Crs::Gcj02 { gcj::wgs84_to_gcj02(c.x, c.y) } else { (c.x, c.y) };
        json!([round7(x), round7(y)])
    };
    let poly = |p: &Polygon<f64>| {
        let mut rings = vec![Value::Array(p.exterior().0.iter().map(|c| conv(*c)).collect())];
        rings.extend(p.interiors().iter().map(|r| Value::Array(r.0.iter().map(|c| conv(*c)).collect())));
        Value::Array(rings)
    };
    json!({"type": "MultiPolygon", "coordinates": mp.0.iter().map(poly).collect::<Vec<_>>()})
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Reads a GeoJSON geometry that wuzhi itself stored (WGS84, already validated).
/// The bounding box (min x, min y, max x, max y) of a stored geometry.
pub fn bbox_of_stored(text: &str) -> Option<(f64, f64, f64, f64)> {
    use geo::BoundingRect;
    let r = geometry_from_stored(text)?.bounding_rect()?;
    Some((r.min().x, r.min().y, r.max().x, r.max().y))
}

/// A point inside a stored geometry (on its largest part), for placing something that
/// belongs to the area but has no point of its own.
pub fn interior_point_of_stored(text: &str) -> Option<(f64, f64)> {
    use geo::InteriorPoint;
    let p = geometry_from_stored(text)?.interior_point()?;
    Some((p.x(), p.y()))
}

pub fn geometry_from_stored(text: &str) -> Option<MultiPolygon<f64>> {
    let v: Value = serde_json::from_str(text).ok()?;
    let polys = v.get("coordinates")?.as_array()?;
    let ring = |r: &Value| -> Option<LineString<f64>> {
        Some(LineString(
            r.as_array()?
                .iter()
                .map(|p| Some(Coord { x: p.get(0)?.as_f64()?, y: p.get(1)?.as_f64()? }))
                .collect::<Option<Vec<_>>>()?,
        ))
    };
    let mut out = Vec::new();
    for p in polys {
        let rings = p.as_array()?;
        let ext = ring(rings.first()?)?;
        let holes = rings[1..].iter().map(ring).collect::<Option<Vec<_>>>()?;
        out.push(Polygon::new(ext, holes));
    }
    Some(MultiPolygon(out))
}

/// A feature for export.
pub fn feature_json(code: &str, name: &str, level: Level, parent: Option<&str>, geometry: Option<Value>) -> Value {
    let mut props = Map::new();
    props.insert("code".into(), json!(code));
    props.insert("name".into(), json!(name));
    props.insert("level".into(), json!(level.as_str()));
    props.insert("parent_code".into(), json!(parent));
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

/// How to turn a flat set of named areas (a foreign city's neighbourhood councils, custom
/// service areas) into a territory tree: a city, a district per group, and for each area a
/// township with one village and one grid sharing its polygon, so cases locate into it.
pub struct AreasSpec<'a> {
    /// A 6-digit city code ending in 00 (e.g. `990000`); districts get `{first 4}{01..}`.
    pub city_code: &'a str,
    pub city_name: &'a str,
    /// The property naming each area.
    pub name_field: &'a str,
    /// The property grouping areas into districts; areas without it form the group "其他".
    pub group_field: Option<&'a str>,
}

/// Converts a FeatureCollection of areas into wuzhi's own territory GeoJSON (codes, levels,
/// parents), in the order of the groups' first appearance and then of the areas. The
/// result imports through [`parse_geojson`] like any other file.
pub fn areas_to_geojson(text: &str, spec: &AreasSpec) -> Result<Value, Vec<ImportError>> {
    let city = TerritoryCode::parse(spec.city_code).ok().filter(|c| c.level() == Level::City).ok_or_else(|| {
        vec![ImportError::new("options", "city_code", format!("`{}` is not a city code like 990000", spec.city_code))]
    })?;
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| vec![ImportError::new("document", "json", format!("is not valid JSON: {e}"))])?;
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| vec![ImportError::new("document", "features", "must be an array")])?;
    let mut errors = Vec::new();
    let mut groups: Vec<(String, Vec<(String, Value)>)> = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties").cloned().unwrap_or(Value::Null);
        let name = props.get(spec.name_field).and_then(Value::as_str).map(str::trim).unwrap_or("");
        if name.is_empty() {
            errors.push(ImportError::new(&format!("feature {}", i + 1), spec.name_field, "is empty"));
            continue;
        }
        let group = spec
            .group_field
            .and_then(|g| props.get(g))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .unwrap_or("其他")
            .to_owned();
        let geometry = f.get("geometry").cloned().unwrap_or(Value::Null);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, areas)) => areas.push((name.to_owned(), geometry)),
            None => groups.push((group, vec![(name.to_owned(), geometry)])),
        }
    }
    if groups.len() > 99 {
        errors.push(ImportError::new(
            "document",
            "group",
            format!("{} groups; at most 99 districts fit", groups.len()),
        ));
    }
    if groups.iter().any(|(_, a)| a.len() > 999) {
        errors.push(ImportError::new("document", "group", "a group has more than 999 areas"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = vec![feature_json(city.as_str(), spec.city_name, Level::City, None, None)];
    for (gi, (group, areas)) in groups.iter().enumerate() {
        let district = format!("{}{:02}", &city.as_str()[..4], gi + 1);
        out.push(feature_json(&district, group, Level::District, Some(city.as_str()), None));
        for (ai, (name, geometry)) in areas.iter().enumerate() {
            let township = format!("{district}{:03}", ai + 1);
            let village = format!("{township}001");
            let grid = format!("{village}001");
            out.push(feature_json(&township, name, Level::Township, Some(&district), Some(geometry.clone())));
            out.push(feature_json(&village, name, Level::Village, Some(&township), Some(geometry.clone())));
            out.push(feature_json(&grid, name, Level::Grid, Some(&village), Some(geometry.clone())));
        }
    }
    Ok(json!({"type": "FeatureCollection", "features": out}))
}

/// What the validator needs to know of a territory already in the tree.
pub struct Existing {
    pub geometry: Option<MultiPolygon<f64>>,
}

/// Checks a batch against itself and the existing tree. Returns every problem; empty means
/// the batch can be imported as a whole. `existing` is asked for codes not in the batch.
pub fn validate(batch: &mut Batch, existing: &dyn Fn(&TerritoryCode) -> Option<Existing>) -> Vec<ImportError> {
    let mut errors = Vec::new();
    let mut seen: HashMap<TerritoryCode, usize> = HashMap::new();
    for (i, r) in batch.records.iter().enumerate() {
        if let Some(first) = seen.insert(r.code.clone(), i) {
            errors.push(ImportError::new(
                &batch.locations[i],
                "code",
                format!("{} appears twice (first at {})", r.code, batch.locations[first]),
            ));
        }
    }
    // The city a parentless district belongs to: the one in the batch.
    let cities: Vec<TerritoryCode> =
        batch.records.iter().filter(|r| r.level() == Level::City).map(|r| r.code.clone()).collect();
    let mut prepared_cache: HashMap<TerritoryCode, Option<Prepared>> = HashMap::new();
    for i in 0..batch.records.len() {
        let loc = batch.locations[i].clone();
        let r = &batch.records[i];
        let level = r.level();
        let parent = match (&r.parent, level) {
            (_, Level::City) => None,
            (Some(p), _) => Some(p.clone()),
            (None, Level::District) => match cities.as_slice() {
                [c] => Some(c.clone()),
                [] => {
                    // The city already in the tree, derived from the province digits.
                    let guess = TerritoryCode::parse(&format!("{}0000", &r.code.as_str()[..2])).ok();
                    let guess2 = TerritoryCode::parse(&format!("{}00", &r.code.as_str()[..4])).ok();
                    [guess, guess2].into_iter().flatten().find(|g| existing(g).is_some())
                }
                _ => None,
            },
            (None, _) => r.code.implied_parent(),
        };
        let Some(parent) = parent else {
            if level != Level::City {
                errors.push(ImportError::new(
                    &loc,
                    "parent_code",
                    "is missing and no single city is known to attach to",
                ));
            }
            continue;
        };
        if parent.level() != level.parent().unwrap_or(Level::City) {
            errors.push(ImportError::new(
                &loc,
                "parent_code",
                format!("{parent} is a {} but a {level} belongs to a {}", parent.level(), level.parent().unwrap()),
            ));
            continue;
        }
        if !parent.contains(&r.code) {
            errors.push(ImportError::new(&loc, "code", format!("{} is not under its parent {parent}", r.code)));
            continue;
        }
        let parent_geom: Option<MultiPolygon<f64>> = match seen.get(&parent) {
            Some(&pi) => batch.records[pi].geometry.clone(),
            None => match existing(&parent) {
                Some(e) => e.geometry,
                None => {
                    errors.push(ImportError::new(
                        &loc,
                        "parent_code",
                        format!("{parent} is not in the file nor in the tree"),
                    ));
                    continue;
                }
            },
        };
        batch.records[i].parent = Some(parent.clone());
        let r = &batch.records[i];
        if let (Some(g), Some(pg)) = (&r.geometry, parent_geom) {
            let prep = prepared_cache.entry(parent.clone()).or_insert_with(|| Prepared::new(&pg));
            if let Some(prep) = prep {
                if let Some(c) = g.0.iter().flat_map(|p| p.exterior().0.iter()).find(|c| !prep.covers(c.x, c.y, 1e-6)) {
                    errors.push(ImportError::new(
                        &loc,
                        "geometry",
                        format!("lies outside its parent {parent} (at {:.6}, {:.6})", c.x, c.y),
                    ));
                }
            }
        }
    }
    errors
}

/// Converts WGS84 geometry to GCJ-02 or back (for tests and tools).
pub fn convert(mp: &MultiPolygon<f64>, to: Crs) -> MultiPolygon<f64> {
    mp.map_coords(|c| {
        let (x, y) = match to {
            Crs::Gcj02 => gcj::wgs84_to_gcj02(c.x, c.y),
            Crs::Wgs84 => gcj::gcj02_to_wgs84(c.x, c.y),
        };
        Coord { x, y }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &TerritoryCode) -> Option<Existing> {
        None
    }

    fn errors_of(csv: &str) -> Vec<String> {
        match parse_divisions_csv(csv) {
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
            Ok(mut b) => validate(&mut b, &none).iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn csv_errors_name_line_field_and_reason() {
        let head = "code,name,level,parent_code,urban_rural_type\n120000000000,天津市,city,,\n";
        assert_eq!(errors_of(&format!("{head}120101000000,和平区,district,,\n")), Vec::<String>::new());
        assert_eq!(
            errors_of(&format!("{head}1201x1000000,和平区,district,,\n")),
            vec!["line 3: code: `1201x1000000` must be digits only"]
        );
        assert_eq!(
            errors_of(&format!("{head}120101001000,劝业场街道,township,120102000000,\n")),
            vec!["line 3: code: 120101001 is not under its parent 120102"]
        );
        assert_eq!(
            errors_of(&format!("{head}120101001000,劝业场街道,township,,\n")),
            vec!["line 3: parent_code: 120101 is not in the file nor in the tree"]
        );
        assert_eq!(
            errors_of(&format!("{head}120101000000,和平区,township,,\n")),
            vec!["line 3: level: is township but code 120101 is a district"]
        );
        assert_eq!(
            errors_of(&format!("{head}120101000000,和平区,district,,\n120101000000,和平区,district,,\n")),
            vec!["line 4: code: 120101 appears twice (first at line 3)"]
        );
    }

    fn fc(geom: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","properties":{{"code":"120000","name":"天津市"}},"geometry":{{"type":"Polygon","coordinates":[[[117,39],[118,39],[118,40],[117,40],[117,39]]]}}}},
            {{"type":"Feature","properties":{{"code":"120101","name":"和平区"}},"geometry":{geom}}}]}}"#
        )
    }

    fn geo_errors(text: &str) -> Vec<String> {
        match parse_geojson(text, Crs::Wgs84) {
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
            Ok(mut b) => validate(&mut b, &none).iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn geojson_geometry_problems_are_named() {
        let ok = r#"{"type":"Polygon","coordinates":[[[117.1,39.1],[117.2,39.1],[117.2,39.2],[117.1,39.1]]]}"#;
        assert!(geo_errors(&fc(ok)).is_empty());
        let open = r#"{"type":"Polygon","coordinates":[[[117.1,39.1],[117.2,39.1],[117.2,39.2],[117.1,39.3]]]}"#;
        assert_eq!(
            geo_errors(&fc(open)),
            vec!["feature 2: geometry: a ring is open: its first and last positions differ"]
        );
        let bowtie =
            r#"{"type":"Polygon","coordinates":[[[117.1,39.1],[117.2,39.2],[117.2,39.1],[117.1,39.2],[117.1,39.1]]]}"#;
        let e = geo_errors(&fc(bowtie));
        assert!(e.len() == 1 && e[0].starts_with("feature 2: geometry: is not a valid polygon"), "{e:?}");
        let outside = r#"{"type":"Polygon","coordinates":[[[117.1,39.1],[118.5,39.1],[118.5,39.2],[117.1,39.1]]]}"#;
        let e = geo_errors(&fc(outside));
        assert!(e.len() == 1 && e[0].starts_with("feature 2: geometry: lies outside its parent 120000"), "{e:?}");
    }

    #[test]
    fn gcj_import_and_export_round_trip() {
        let g = r#"{"type":"Polygon","coordinates":[[[117.1,39.1],[117.2,39.1],[117.2,39.2],[117.1,39.1]]]}"#;
        let b = parse_geojson(&fc(g), Crs::Gcj02).unwrap();
        let wgs = b.records[1].geometry.as_ref().unwrap();
        assert!((wgs.0[0].exterior().0[0].x - 117.1).abs() > 1e-4, "converted");
        let back = geometry_json(wgs, Crs::Gcj02);
        assert_eq!(back["coordinates"][0][0][0], json!([117.1, 39.1]));
    }
}
