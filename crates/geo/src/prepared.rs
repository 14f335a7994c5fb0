//! Polygons flattened for fast point tests: the grid index and the parent-containment check
//! both use them.

use geo::{BoundingRect, MultiPolygon};

#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) rings: Vec<Vec<[f64; 2]>>,
    pub(crate) min: [f64; 2],
    pub(crate) max: [f64; 2],
}

impl Prepared {
    pub(crate) fn new(mp: &MultiPolygon<f64>) -> Option<Prepared> {
        let rect = mp.bounding_rect()?;
        let mut rings = Vec::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                rings.push(ring.0.iter().map(|c| [c.x, c.y]).collect());
            }
        }
        Some(Prepared { rings, min: [rect.min().x, rect.min().y], max: [rect.max().x, rect.max().y] })
    }

    pub(crate) const EMPTY: Prepared = Prepared { rings: Vec::new(), min: [0.0; 2], max: [0.0; 2] };

    /// Crossing-number test over all rings (holes and several parts count by parity).
    #[inline]
    pub(crate) fn contains(&self, x: f64, y: f64) -> bool {
        if x < self.min[0] || x > self.max[0] || y < self.min[1] || y > self.max[1] {
            return false;
        }
        let mut inside = false;
        for ring in &self.rings {
            let mut j = ring.len() - 1;
            for i in 0..ring.len() {
                let [xi, yi] = ring[i];
                let [xj, yj] = ring[j];
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                j = i;
            }
        }
        inside
    }

    /// Inside, or within `tol` (degrees) of the boundary.
    pub(crate) fn covers(&self, x: f64, y: f64, tol: f64) -> bool {
        self.contains(x, y) || self.distance_to_boundary(x, y) <= tol
    }

    pub(crate) fn distance_to_boundary(&self, x: f64, y: f64) -> f64 {
        let mut best = f64::INFINITY;
        for ring in &self.rings {
            for w in ring.windows(2) {
                let ([ax, ay], [bx, by]) = (w[0], w[1]);
                let (dx, dy) = (bx - ax, by - ay);
                let len2 = dx * dx + dy * dy;
                let t = if len2 == 0.0 { 0.0 } else { (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0) };
                best = best.min((ax + t * dx - x).hypot(ay + t * dy - y));
            }
        }
        best
    }
}
