//! `wuzhi bench NAME`: benchmarks that print each figure on its own line as
//! `name: value unit`.

use std::time::Instant;
use wuzhi_domain::Level;
use wuzhi_geo::GridIndex;

/// A small deterministic generator (PCG-style LCG), so every run uses the same points.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Points located per second against the demo city's grids, on one core.
pub fn locate(points: usize) {
    let t = Instant::now();
    let batch = wuzhi_geo::demo::tianjin(None);
    println!("locate_demo_city_build_ms: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let grids: Vec<_> =
        batch.records.iter().filter(|r| r.level() == Level::Grid).filter_map(|r| r.geometry.clone()).collect();
    let city = batch.records.iter().find(|r| r.level() == Level::City).and_then(|r| r.geometry.clone()).expect("city");
    println!("locate_grids: {} grids", grids.len());
    let t = Instant::now();
    let index = GridIndex::build(&grids);
    println!("locate_index_build_ms: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let (nx, ny) = index.raster_size();
    println!("locate_index_raster: {} cells", nx * ny);
    println!("locate_index_memory_mb: {:.1} MB", index.memory_bytes() as f64 / 1e6);
    use geo::BoundingRect;
    let bb = city.bounding_rect().expect("city has a box");
    let mut rng = Lcg::new(20261127);
    let pts: Vec<(f64, f64)> = (0..points)
        .map(|_| (bb.min().x + rng.next_f64() * bb.width(), bb.min().y + rng.next_f64() * bb.height()))
        .collect();
    // Warm up, then measure over the whole set.
    for p in pts.iter().take(10_000) {
        std::hint::black_box(index.locate(p.0, p.1));
    }
    let t = Instant::now();
    let mut hits = 0usize;
    for p in &pts {
        hits += std::hint::black_box(index.locate(p.0, p.1)).is_some() as usize;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("locate_points_per_second: {:.0} points/s", pts.len() as f64 / secs);
    println!("locate_hit_ratio: {:.1} %", hits as f64 * 100.0 / pts.len() as f64);
    let inside: Vec<(f64, f64)> = pts.iter().copied().filter(|p| index.locate(p.0, p.1).is_some()).collect();
    let t = Instant::now();
    let mut found = 0usize;
    for p in &inside {
        found += std::hint::black_box(index.locate(p.0, p.1)).is_some() as usize;
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(found, inside.len());
    println!("locate_inside_points_per_second: {:.0} points/s", inside.len() as f64 / secs);
    println!("locate_ns_per_point: {:.1} ns", secs * 1e9 / inside.len().max(1) as f64);
}
