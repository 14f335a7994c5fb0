//! A patrol's track, stored compactly: each upload's points as one blob of zigzag varint
//! deltas — seconds since the previous point, and latitude and longitude in millionths of a
//! degree (about 0.1 m) — so a point every 30 s costs a few bytes, not a row.

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// When, epoch milliseconds (kept to the second).
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
}

/// A point in whole units: seconds and millionths of a degree.
fn units(p: &Point) -> (i64, i64, i64) {
    (p.at_ms.div_euclid(1000), (p.lat * 1e6).round() as i64, (p.lon * 1e6).round() as i64)
}

/// The points of one upload, checked: 1 to 2,000 of them, in time order, each a real place
/// (a GPS fix, not 0,0) within `window` (the patrol's start and now).
pub fn check(points: &[Point], window: (i64, i64)) -> Result<(), Invalid> {
    if points.is_empty() || points.len() > 2000 {
        return Err(Invalid::new("points", "must hold 1 to 2000 points"));
    }
    let mut last = i64::MIN;
    for (i, p) in points.iter().enumerate() {
        let f = |what: &str| format!("points[{i}].{what}");
        if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) || p.lat == 0.0 {
            return Err(Invalid::new(f("lat"), "is not a latitude"));
        }
        if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) || p.lon == 0.0 {
            return Err(Invalid::new(f("lon"), "is not a longitude"));
        }
        if p.at_ms < window.0 - 60_000 || p.at_ms > window.1 + 60_000 {
            return Err(Invalid::new(f("at_ms"), "is outside the patrol's time"));
        }
        if p.at_ms < last {
            return Err(Invalid::new(f("at_ms"), "is earlier than the point before it"));
        }
        last = p.at_ms;
    }
    Ok(())
}

fn put(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn take(b: &[u8], at: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(*at)?;
        *at += 1;
        if shift >= 64 {
            return None;
        }
        z |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    Some(((z >> 1) as i64) ^ -((z & 1) as i64))
}

/// Encodes points (the first absolute, the rest as deltas).
pub fn encode(points: &[Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * 6 + 16);
    let mut prev = (0, 0, 0);
    for p in points {
        let u = units(p);
        put(&mut out, u.0 - prev.0);
        put(&mut out, u.1 - prev.1);
        put(&mut out, u.2 - prev.2);
        prev = u;
    }
    out
}

/// Decodes what [`encode`] wrote; None when the bytes are not such a blob.
pub fn decode(b: &[u8]) -> Option<Vec<Point>> {
    let mut at = 0;
    let mut prev = (0i64, 0i64, 0i64);
    let mut out = Vec::new();
    while at < b.len() {
        let t = prev.0.checked_add(take(b, &mut at)?)?;
        let la = prev.1.checked_add(take(b, &mut at)?)?;
        let lo = prev.2.checked_add(take(b, &mut at)?)?;
        prev = (t, la, lo);
        out.push(Point { at_ms: t * 1000, lat: la as f64 / 1e6, lon: lo as f64 / 1e6 });
    }
    Some(out)
}

/// The track's length in metres (haversine between consecutive points).
pub fn length_m(points: &[Point]) -> f64 {
    points
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let r = 6_371_008.8;
            let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
            let dp = p2 - p1;
            let dl = (b.lon - a.lon).to_radians();
            let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
            2.0 * r * h.sqrt().asin()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                at_ms: 1_764_000_000_000 + i as i64 * 30_000,
                lat: 39.123456 + i as f64 * 0.00021,
                lon: 117.201234 - (i % 7) as f64 * 0.00013,
            })
            .collect()
    }

    #[test]
    fn round_trips_to_the_second_and_the_micro_degree() {
        let pts = walk(240);
        let back = decode(&encode(&pts)).unwrap();
        assert_eq!(back.len(), 240);
        for (a, b) in pts.iter().zip(&back) {
            assert_eq!(a.at_ms / 1000 * 1000, b.at_ms);
            assert!((a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6);
        }
    }

    #[test]
    fn a_walking_point_costs_a_few_bytes() {
        let pts = walk(240);
        let per_point = encode(&pts).len() as f64 / 240.0;
        assert!(per_point < 7.0, "{per_point} bytes per point");
    }

    #[test]
    fn garbage_is_not_a_track() {
        assert!(decode(&[0xff, 0xff]).is_none());
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }

    #[test]
    fn checks_name_the_bad_point() {
        let mut pts = walk(3);
        let w = (pts[0].at_ms, pts[2].at_ms);
        assert!(check(&pts, w).is_ok());
        pts[1].lat = 95.0;
        assert_eq!(check(&pts, w).unwrap_err().field, "points[1].lat");
        let mut pts = walk(3);
        pts.swap(0, 2);
        assert_eq!(check(&pts, (pts[2].at_ms, pts[0].at_ms)).unwrap_err().field, "points[1].at_ms");
        assert_eq!(check(&walk(3), (0, 1)).unwrap_err().field, "points[0].at_ms");
    }

    #[test]
    fn length_is_in_metres() {
        let a = Point { at_ms: 0, lat: 39.0, lon: 117.0 };
        let b = Point { at_ms: 0, lat: 39.001, lon: 117.0 };
        let m = length_m(&[a, b]);
        assert!((m - 111.2).abs() < 0.5, "{m}");
    }
}
