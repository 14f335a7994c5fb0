//! Derived polygons for the demo city (演示辖区划分).
//!
//! Public data gives Tianjin's district polygons and the codes and names of every township
//! and village, but no polygons below district. The demo derives them deterministically by
//! recursive bisection: a polygon and an ordered list of weights is cut along its longer
//! side at the line that gives the first half of the weights its share of the area, and each
//! side is cut again. Children are clips of their parent, so the tree nests, and the two
//! sides of every cut share the cut line, so siblings cover their parent without gaps or
//! overlaps (up to floating-point snapping of the clipping library, < 1e-8°).

use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};

/// Area of the part of `mp` on the low side of `c` along `axis` (0 = x, 1 = y), in square
/// degrees: Sutherland–Hodgman clipping of each ring by the half-plane, then the shoelace.
fn area_below(mp: &MultiPolygon<f64>, axis: usize, c: f64) -> f64 {
    let mut total = 0.0;
    let mut buf: Vec<[f64; 2]> = Vec::new();
    for p in &mp.0 {
        for (k, ring) in std::iter::once(p.exterior()).chain(p.interiors()).enumerate() {
            buf.clear();
            let pts = &ring.0;
            for i in 0..pts.len().saturating_sub(1) {
                let (a, b) = (pts[i], pts[i + 1]);
                let (av, bv) = (coord(a, axis), coord(b, axis));
                let (ain, bin) = (av <= c, bv <= c);
                if ain {
                    buf.push([a.x, a.y]);
                }
                if ain != bin {
                    let t = (c - av) / (bv - av);
                    buf.push([a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t]);
                }
            }
            let mut s = 0.0;
            for i in 0..buf.len() {
                let ([x0, y0], [x1, y1]) = (buf[i], buf[(i + 1) % buf.len()]);
                s += x0 * y1 - x1 * y0;
            }
            let a = (s / 2.0).abs();
            total += if k == 0 { a } else { -a };
        }
    }
    total
}

fn coord(c: Coord<f64>, axis: usize) -> f64 {
    if axis == 0 { c.x } else { c.y }
}

/// Cuts `mp` into `weights.len()` parts with areas in proportion to the weights, in order.
pub fn split(mp: &MultiPolygon<f64>, weights: &[f64]) -> Vec<MultiPolygon<f64>> {
    let mut out = Vec::with_capacity(weights.len());
    split_into(mp.clone(), weights, &mut out);
    out
}

fn split_into(mp: MultiPolygon<f64>, weights: &[f64], out: &mut Vec<MultiPolygon<f64>>) {
    if weights.len() <= 1 {
        if !weights.is_empty() {
            out.push(mp);
        }
        return;
    }
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut k = 1;
    let mut best = f64::INFINITY;
    for (i, w) in weights[..weights.len() - 1].iter().enumerate() {
        acc += w;
        let d = (acc - total / 2.0).abs();
        if d < best {
            best = d;
            k = i + 1;
        }
    }
    let frac = weights[..k].iter().sum::<f64>() / total;
    let Some(bb) = mp.bounding_rect() else {
        // Nothing to cut: every part is empty.
        out.extend(weights.iter().map(|_| MultiPolygon(vec![])));
        return;
    };
    let (min, max) = (bb.min(), bb.max());
    let mid_lat = ((min.y + max.y) / 2.0).to_radians();
    let axis = if (max.x - min.x) * mid_lat.cos() >= max.y - min.y { 0 } else { 1 };
    let (lo, hi) = (coord(min, axis), coord(max, axis));
    let want = mp.unsigned_area() * frac;
    let (mut a, mut b) = (lo, hi);
    for _ in 0..60 {
        let m = (a + b) / 2.0;
        if area_below(&mp, axis, m) < want {
            a = m;
        } else {
            b = m;
        }
    }
    let c = (a + b) / 2.0;
    // A small margin: the clipper snaps to a grid scaled to its inputs' extent.
    let pad = ((max.x - min.x).max(max.y - min.y)) * 0.01 + 1e-9;
    let (low, high) = if axis == 0 {
        (
            Rect::new(Coord { x: lo - pad, y: min.y - pad }, Coord { x: c, y: max.y + pad }),
            Rect::new(Coord { x: c, y: min.y - pad }, Coord { x: hi + pad, y: max.y + pad }),
        )
    } else {
        (
            Rect::new(Coord { x: min.x - pad, y: lo - pad }, Coord { x: max.x + pad, y: c }),
            Rect::new(Coord { x: min.x - pad, y: c }, Coord { x: max.x + pad, y: hi + pad }),
        )
    };
    let left = mp.intersection(&low.to_polygon());
    let right = mp.intersection(&high.to_polygon());
    split_into(left, &weights[..k], out);
    split_into(right, &weights[k..], out);
}

/// How many grids each village gets: `total` shared out by weight (largest remainder), at
/// least one each.
pub fn allocate(weights: &[f64], total: usize) -> Vec<usize> {
    let n = weights.len();
    if n == 0 {
        return vec![];
    }
    let total = total.max(n);
    let sum: f64 = weights.iter().sum();
    let extra = (total - n) as f64;
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * extra).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| 1 + e.floor() as usize).collect();
    let mut left = total - counts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{BooleanOps, polygon};

    #[test]
    fn parts_have_their_share_and_cover_the_whole() {
        let p: MultiPolygon<f64> = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 3.0), (x: 2.0, y: 1.0), (x: 0.0, y: 3.0)
        ]]);
        let w = [1.0, 2.0, 3.0, 1.0, 5.0];
        let parts = split(&p, &w);
        assert_eq!(parts.len(), 5);
        let whole = p.unsigned_area();
        let total_w: f64 = w.iter().sum();
        for (part, wi) in parts.iter().zip(w) {
            assert!((part.unsigned_area() / whole - wi / total_w).abs() < 1e-6);
        }
        // No overlaps: pairwise intersections have (almost) no area.
        for i in 0..parts.len() {
            for j in i + 1..parts.len() {
                let overlap = parts[i].intersection(&parts[j]).unsigned_area();
                assert!(overlap < 1e-9 * whole, "parts {i} and {j} overlap by {overlap}");
            }
        }
        let sum: f64 = parts.iter().map(|x| x.unsigned_area()).sum();
        assert!((sum - whole).abs() < 1e-9 * whole, "parts cover {sum} of {whole}");
    }

    #[test]
    fn allocation_hits_the_total_exactly() {
        let c = allocate(&[5.0, 5.0, 2.0, 1.0], 20);
        assert_eq!(c.iter().sum::<usize>(), 20);
        assert!(c.iter().all(|&x| x >= 1));
        assert!(c[0] > c[2] && c[2] >= c[3]);
        assert_eq!(allocate(&[1.0, 1.0], 1), vec![1, 1]);
    }
}
