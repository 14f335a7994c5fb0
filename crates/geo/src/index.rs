//! The grid index (网格定位): point → grid, in memory.
//!
//! A raster over the bounding box of all grids: each cell holds either nothing, the one grid
//! that covers it whole, or a short list of candidates (grids that cover it whole, then grids
//! whose boundary crosses it). Most points are answered by one array read; the rest by an
//! exact point-in-polygon test on one or two small polygons. The raster cell is chosen so that
//! an average grid spans a few dozen cells.

use crate::prepared::Prepared;
use geo::MultiPolygon;

const EMPTY: u32 = u32::MAX;
const MIXED: u32 = 1 << 31;

/// Point → grid. Grids are numbered by their position in the slice given to [`GridIndex::build`].
#[derive(Debug, Clone)]
pub struct GridIndex {
    polys: Vec<Prepared>,
    origin: [f64; 2],
    cell: [f64; 2],
    nx: usize,
    ny: usize,
    /// `EMPTY`, a grid number, or `MIXED | k` pointing at `spans[k]`.
    cells: Vec<u32>,
    /// (start, whole, len) into `items`: the first `whole` items cover the cell entirely.
    spans: Vec<(u32, u16, u16)>,
    items: Vec<u32>,
}

impl GridIndex {
    /// Builds the index. `target_cells_per_grid` trades memory for speed (≈ 32 is good).
    pub fn build(grids: &[MultiPolygon<f64>]) -> GridIndex {
        Self::build_with(grids, 32.0)
    }

    pub fn build_with(grids: &[MultiPolygon<f64>], target_cells_per_grid: f64) -> GridIndex {
        let polys: Vec<Prepared> = grids.iter().map(|g| Prepared::new(g).unwrap_or(Prepared::EMPTY)).collect();
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        let mut area = 0.0;
        for p in polys.iter().filter(|p| !p.rings.is_empty()) {
            for k in 0..2 {
                min[k] = min[k].min(p.min[k]);
                max[k] = max[k].max(p.max[k]);
            }
            area += (p.max[0] - p.min[0]) * (p.max[1] - p.min[1]);
        }
        if polys.iter().all(|p| p.rings.is_empty()) {
            return GridIndex {
                polys,
                origin: [0.0; 2],
                cell: [1.0; 2],
                nx: 0,
                ny: 0,
                cells: vec![],
                spans: vec![],
                items: vec![],
            };
        }
        // Square-ish cells (in degrees) so that an average bounding box holds the target count.
        let side = (area / polys.len() as f64 / target_cells_per_grid).sqrt().max(1e-7);
        let nx = (((max[0] - min[0]) / side).ceil() as usize).clamp(1, 8192);
        let ny = (((max[1] - min[1]) / side).ceil() as usize).clamp(1, 8192);
        let cell = [(max[0] - min[0]) / nx as f64 * (1.0 + 1e-12), (max[1] - min[1]) / ny as f64 * (1.0 + 1e-12)];
        let mut idx =
            GridIndex { polys, origin: min, cell, nx, ny, cells: vec![EMPTY; nx * ny], spans: vec![], items: vec![] };
        idx.fill();
        idx
    }

    fn col(&self, x: f64) -> isize {
        ((x - self.origin[0]) / self.cell[0]).floor() as isize
    }
    fn row(&self, y: f64) -> isize {
        ((y - self.origin[1]) / self.cell[1]).floor() as isize
    }

    fn fill(&mut self) {
        let (nx, ny) = (self.nx as isize, self.ny as isize);
        // 1. Cells each polygon's boundary touches (a conservative supercover, row by row).
        let mut edge: Vec<(u32, u32)> = Vec::new();
        for (pi, p) in self.polys.iter().enumerate() {
            for ring in &p.rings {
                for w in ring.windows(2) {
                    let ([ax, ay], [bx, by]) = (w[0], w[1]);
                    let (r0, r1) = (self.row(ay.min(by)).clamp(0, ny - 1), self.row(ay.max(by)).clamp(0, ny - 1));
                    for r in r0..=r1 {
                        let y0 = self.origin[1] + r as f64 * self.cell[1];
                        let y1 = y0 + self.cell[1];
                        let (xa, xb) = if ay == by {
                            (ax.min(bx), ax.max(bx))
                        } else {
                            let t0 = ((y0 - ay) / (by - ay)).clamp(0.0, 1.0);
                            let t1 = ((y1 - ay) / (by - ay)).clamp(0.0, 1.0);
                            let (u, v) = (ax + (bx - ax) * t0, ax + (bx - ax) * t1);
                            (u.min(v), u.max(v))
                        };
                        let (c0, c1) = (self.col(xa).clamp(0, nx - 1), self.col(xb).clamp(0, nx - 1));
                        for c in c0..=c1 {
                            edge.push(((r * nx + c) as u32, pi as u32));
                        }
                    }
                }
            }
        }
        edge.sort_unstable();
        edge.dedup();
        // 2. Cells a polygon covers whole: inside its bounding box, not touched by its
        // boundary, with the centre inside.
        let mut whole: Vec<(u32, u32)> = Vec::new();
        let mut own_edges: Vec<u32> = Vec::new();
        let mut by_poly: Vec<Vec<u32>> = vec![Vec::new(); self.polys.len()];
        for &(cell, pi) in &edge {
            by_poly[pi as usize].push(cell);
        }
        for (pi, p) in self.polys.iter().enumerate() {
            if p.rings.is_empty() {
                continue;
            }
            own_edges.clear();
            own_edges.extend_from_slice(&by_poly[pi]);
            own_edges.sort_unstable();
            let (c0, c1) = (self.col(p.min[0]).clamp(0, nx - 1), self.col(p.max[0]).clamp(0, nx - 1));
            let (r0, r1) = (self.row(p.min[1]).clamp(0, ny - 1), self.row(p.max[1]).clamp(0, ny - 1));
            for r in r0..=r1 {
                let cy = self.origin[1] + (r as f64 + 0.5) * self.cell[1];
                for c in c0..=c1 {
                    let cell = (r * nx + c) as u32;
                    if own_edges.binary_search(&cell).is_ok() {
                        continue;
                    }
                    let cx = self.origin[0] + (c as f64 + 0.5) * self.cell[0];
                    if p.contains(cx, cy) {
                        whole.push((cell, pi as u32));
                    }
                }
            }
        }
        whole.sort_unstable();
        // 3. Merge into the raster.
        let (mut i, mut j) = (0, 0);
        while i < whole.len() || j < edge.len() {
            let cell = match (whole.get(i), edge.get(j)) {
                (Some(a), Some(b)) => a.0.min(b.0),
                (Some(a), None) => a.0,
                (None, Some(b)) => b.0,
                (None, None) => unreachable!(),
            };
            let wi = i;
            while i < whole.len() && whole[i].0 == cell {
                i += 1;
            }
            let ej = j;
            while j < edge.len() && edge[j].0 == cell {
                j += 1;
            }
            let (nw, ne) = (i - wi, j - ej);
            self.cells[cell as usize] = if nw == 1 && ne == 0 {
                whole[wi].1
            } else {
                let start = self.items.len() as u32;
                self.items.extend(whole[wi..i].iter().map(|e| e.1));
                self.items.extend(edge[ej..j].iter().map(|e| e.1));
                self.spans.push((start, nw.min(u16::MAX as usize) as u16, (nw + ne).min(u16::MAX as usize) as u16));
                MIXED | (self.spans.len() as u32 - 1)
            };
        }
    }

    /// The grid (by number) containing the point, or `None` when it is outside every grid.
    #[inline]
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        let (c, r) = (self.col(x), self.row(y));
        if c < 0 || r < 0 || c >= self.nx as isize || r >= self.ny as isize {
            return None;
        }
        let v = self.cells[r as usize * self.nx + c as usize];
        if v == EMPTY {
            return None;
        }
        if v & MIXED == 0 {
            return Some(v as usize);
        }
        let (start, whole, len) = self.spans[(v & !MIXED) as usize];
        let items = &self.items[start as usize..start as usize + len as usize];
        if whole > 0 {
            return Some(items[0] as usize);
        }
        items.iter().map(|&i| i as usize).find(|&i| self.polys[i].contains(x, y))
    }

    /// Bytes held by the raster and the prepared polygons (for the benchmark).
    pub fn memory_bytes(&self) -> usize {
        self.cells.len() * 4
            + self.spans.len() * 8
            + self.items.len() * 4
            + self.polys.iter().map(|p| p.rings.iter().map(|r| r.len() * 16).sum::<usize>()).sum::<usize>()
    }

    pub fn raster_size(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    pub fn len(&self) -> usize {
        self.polys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.polys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Coord, LineString, Point, Polygon, polygon};

    fn square(x0: f64, y0: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s)]])
    }

    #[test]
    fn agrees_with_geo_contains_on_irregular_polygons() {
        // A ring with a hole and a concave notch next to a plain square.
        let outer = LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 2.5), (0.0, 4.0), (0.0, 0.0)]);
        let hole = LineString::from(vec![(1.0, 0.5), (1.5, 0.5), (1.5, 1.0), (1.0, 1.0), (1.0, 0.5)]);
        let a = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
        let b = square(4.0, 0.0, 2.0);
        let grids = vec![a.clone(), b.clone()];
        let idx = GridIndex::build_with(&grids, 50.0);
        let mut seed = 12345u64;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = (seed >> 11) as f64 / (1u64 << 53) as f64 * 7.0 - 0.5;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let y = (seed >> 11) as f64 / (1u64 << 53) as f64 * 5.0 - 0.5;
            let p = Point(Coord { x, y });
            let expect = if a.contains(&p) {
                Some(0)
            } else if b.contains(&p) {
                Some(1)
            } else {
                None
            };
            let got = idx.locate(x, y);
            // Points exactly on a shared boundary may go either way; random points never are.
            assert_eq!(got, expect, "({x}, {y})");
        }
    }

    #[test]
    fn empty_index_answers_none() {
        let idx = GridIndex::build(&[]);
        assert_eq!(idx.locate(1.0, 1.0), None);
    }
}
