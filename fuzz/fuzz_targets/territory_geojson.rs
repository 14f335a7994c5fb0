//! The GeoJSON import in both coordinate systems: any text parses to a batch or a list of
//! problems, a batch validates, and its geometries convert and serialise, without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wuzhi_geo::territory::{Crs, convert, geometry_json, parse_geojson, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for crs in [Crs::Wgs84, Crs::Gcj02] {
        if let Ok(mut batch) = parse_geojson(text, crs) {
            for r in &batch.records {
                if let Some(g) = &r.geometry {
                    let _ = geometry_json(&convert(g, Crs::Gcj02), Crs::Gcj02);
                }
            }
            let _ = validate(&mut batch, &|_| None);
        }
    }
});
