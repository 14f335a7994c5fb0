//! GCJ-02 ↔ WGS84. Chinese map providers (and the Tianjin source polygons) publish GCJ-02,
//! an obfuscated datum offset by a few hundred metres; wuzhi stores WGS84. The forward
//! transform is the published polynomial; the inverse is found by fixed-point iteration to
//! well under a millimetre.

use std::f64::consts::PI;

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// GCJ-02 applies only inside (a box around) mainland China.
pub fn in_china(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn t_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn t_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

fn offset(lon: f64, lat: f64) -> (f64, f64) {
    let dlat = t_lat(lon - 105.0, lat - 35.0);
    let dlon = t_lon(lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sq = magic.sqrt();
    (dlon * 180.0 / (A / sq * rad.cos() * PI), dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sq) * PI))
}

/// WGS84 → GCJ-02 (unchanged outside China).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let (dx, dy) = offset(lon, lat);
    (lon + dx, lat + dy)
}

/// GCJ-02 → WGS84 (unchanged outside China), accurate to about 1e-9 degrees.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let (mut x, mut y) = (lon, lat);
    for _ in 0..30 {
        let (gx, gy) = wgs84_to_gcj02(x, y);
        let (ex, ey) = (gx - lon, gy - lat);
        x -= ex;
        y -= ey;
        if ex.abs() < 1e-11 && ey.abs() < 1e-11 {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_in_tianjin_is_a_few_hundred_metres_and_round_trips() {
        let (lon, lat) = (117.2009, 39.0842);
        let (gx, gy) = wgs84_to_gcj02(lon, lat);
        let metres = ((gx - lon) * 86_000.0).hypot((gy - lat) * 111_000.0);
        assert!((100.0..1000.0).contains(&metres), "{metres}");
        let (bx, by) = gcj02_to_wgs84(gx, gy);
        assert!((bx - lon).abs() < 1e-8 && (by - lat).abs() < 1e-8);
    }

    #[test]
    fn outside_china_is_unchanged() {
        assert_eq!(wgs84_to_gcj02(-118.25, 34.05), (-118.25, 34.05));
        assert_eq!(gcj02_to_wgs84(-118.25, 34.05), (-118.25, 34.05));
    }
}
