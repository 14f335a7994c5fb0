//! The demo city: Tianjin's real districts (polygons), townships and villages (codes and
//! names), with derived polygons below district and 21,408 grids (see [`crate::partition`]).
//! The source files are embedded, so `wuzhi demo` works from any directory.

use crate::partition::{allocate, split};
use crate::territory::{Batch, Crs, Record, parse_divisions_csv, parse_geojson};
use geo::{BooleanOps, MultiPolygon};
use std::collections::BTreeMap;
use wuzhi_domain::{Level, TerritoryCode};

pub const DIVISIONS_CSV: &str = include_str!("../../../data/tianjin/divisions.csv");
pub const DISTRICTS_GEOJSON: &str = include_str!("../../../data/tianjin/districts.geojson");
/// The number of grids Tianjin publishes.
pub const TIANJIN_GRIDS: usize = 21_408;

/// Relative land area of a village by its urban–rural class: dense urban communities are
/// small, rural villages large.
fn area_weight(urban_rural: Option<&str>) -> f64 {
    match urban_rural {
        Some("111") => 1.0,
        Some("112") => 3.0,
        Some("121") => 6.0,
        Some("122" | "123") => 8.0,
        Some(_) => 20.0,
        None => 4.0,
    }
}

/// Relative number of grids (≈ households) by urban–rural class.
fn grid_weight(urban_rural: Option<&str>) -> f64 {
    match urban_rural {
        Some("111") => 5.0,
        Some("112" | "121") => 4.0,
        Some("122" | "123") => 3.0,
        Some(_) => 2.0,
        None => 3.0,
    }
}

/// Builds the demo city's records top-down: city, districts, townships, villages, grids.
/// Only the first `districts` districts (in code order) when given, for small test cities.
pub fn tianjin(districts: Option<usize>) -> Batch {
    let divisions = parse_divisions_csv(DIVISIONS_CSV).expect("embedded divisions parse");
    let shapes = parse_geojson(DISTRICTS_GEOJSON, Crs::Gcj02).expect("embedded districts parse");
    let shape_of: BTreeMap<TerritoryCode, MultiPolygon<f64>> =
        shapes.records.into_iter().filter_map(|r| Some((r.code, r.geometry?))).collect();

    let mut by_parent: BTreeMap<TerritoryCode, Vec<Record>> = BTreeMap::new();
    let mut district_rows = Vec::new();
    for r in divisions.records {
        match r.level() {
            Level::District => district_rows.push(r),
            _ => by_parent.entry(r.code.implied_parent().expect("below district")).or_default().push(r),
        }
    }
    district_rows.sort_by(|a, b| a.code.cmp(&b.code));
    district_rows.truncate(districts.unwrap_or(usize::MAX));

    // Grid counts are shared out over the whole city at once, so the full demo has exactly
    // Tianjin's published total.
    let all_villages: Vec<&Record> = district_rows
        .iter()
        .flat_map(|d| by_parent.get(&d.code).into_iter().flatten())
        .flat_map(|t| by_parent.get(&t.code).into_iter().flatten())
        .collect();
    let total = (TIANJIN_GRIDS as f64 * all_villages.len() as f64 / 5617.0).round() as usize;
    let counts =
        allocate(&all_villages.iter().map(|v| grid_weight(v.urban_rural.as_deref())).collect::<Vec<_>>(), total);
    let grid_count: BTreeMap<TerritoryCode, usize> =
        all_villages.iter().zip(counts).map(|(v, c)| (v.code.clone(), c)).collect();

    let city_code = TerritoryCode::parse("120000").expect("valid");
    let mut city_geom = MultiPolygon(vec![]);
    for d in &district_rows {
        if let Some(g) = shape_of.get(&d.code) {
            city_geom = city_geom.union(g);
        }
    }
    let mut out = vec![Record {
        code: city_code.clone(),
        name: "天津市".into(),
        parent: None,
        geometry: Some(city_geom),
        urban_rural: None,
    }];
    for d in district_rows {
        let geom = shape_of.get(&d.code).cloned().expect("every Tianjin district has a polygon");
        let townships = by_parent.remove(&d.code).unwrap_or_default();
        let village_lists: Vec<Vec<Record>> =
            townships.iter().map(|t| by_parent.remove(&t.code).unwrap_or_default()).collect();
        let t_weights: Vec<f64> = village_lists
            .iter()
            .map(|vs| vs.iter().map(|v| area_weight(v.urban_rural.as_deref())).sum::<f64>().max(1.0))
            .collect();
        let t_geoms = split(&geom, &t_weights);
        out.push(Record { parent: Some(city_code.clone()), geometry: Some(geom), ..d });
        for ((t, villages), tg) in townships.into_iter().zip(village_lists).zip(t_geoms) {
            let v_weights: Vec<f64> = villages.iter().map(|v| area_weight(v.urban_rural.as_deref())).collect();
            let v_geoms = split(&tg, &v_weights);
            out.push(Record { geometry: Some(tg), ..t });
            for (v, vg) in villages.into_iter().zip(v_geoms) {
                let n = grid_count[&v.code];
                let g_geoms = split(&vg, &vec![1.0; n]);
                let vcode = v.code.clone();
                let vname = v.name.clone();
                out.push(Record { geometry: Some(vg), ..v });
                for (i, gg) in g_geoms.into_iter().enumerate() {
                    out.push(Record {
                        code: vcode.child(i as u32 + 1).expect("fewer than 1000 grids"),
                        name: format!("{vname}第{}网格", i + 1),
                        parent: Some(vcode.clone()),
                        geometry: Some(gg),
                        urban_rural: None,
                    });
                }
            }
        }
    }
    let locations = out.iter().map(|r| format!("demo {}", r.code)).collect();
    Batch { records: out, locations }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn whole_demo_city_has_tianjins_counts_and_nests() {
        let b = tianjin(None);
        let count = |l: Level| b.records.iter().filter(|r| r.level() == l).count();
        assert_eq!(count(Level::City), 1);
        assert_eq!(count(Level::District), 16);
        assert_eq!(count(Level::Township), 299);
        assert_eq!(count(Level::Village), 5617);
        assert_eq!(count(Level::Grid), TIANJIN_GRIDS);
        // Children's areas add up to their parent's.
        let mut area: BTreeMap<&TerritoryCode, f64> = BTreeMap::new();
        let mut child_sum: BTreeMap<&TerritoryCode, f64> = BTreeMap::new();
        for r in &b.records {
            let a = r.geometry.as_ref().unwrap().unsigned_area();
            assert!(a > 0.0, "{} has no area", r.code);
            area.insert(&r.code, a);
            if let Some(p) = &r.parent {
                *child_sum.entry(p).or_default() += a;
            }
        }
        for (p, s) in child_sum {
            let rel = (s - area[p]).abs() / area[p];
            assert!(rel < 1e-6, "children of {p} cover {rel} off");
        }
    }
}
