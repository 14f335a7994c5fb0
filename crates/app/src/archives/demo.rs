//! The demo city's archives: a deterministic **synthetic** population (no real person's data
//! may be used), generated per grid and imported through the same all-or-nothing import as a
//! city's own files. What it draws from:
//!
//! - buildings placed at random points inside their grid's polygon (checked with the locator);
//! - household sizes with a mean of about 2.4 people (Tianjin's 2020 census: 2.40);
//! - ages from Tianjin's 2020 census shares (0–14: 13.5 %, 15–59: 64.9 %, 60+: 21.7 %);
//! - surnames by their approximate national frequency (the Ministry of Public Security's 2007
//!   figures for the twenty commonest, then a tail of fifty);
//! - identity numbers whose region is the grid's real district code, with the right birth
//!   date, sex digit and check digit; phones in the `100` prefix, which no operator issues;
//! - care groups at plausible rates (living alone, very old, disabled, low income…) and the
//!   special groups at rates of a few per thousand.
//!
//! Same seed, same grids: same population, so tests and screenshots can rely on it.

use super::import::{Table, import};
use crate::{App, Result};
use wuzhi_domain::archives::ids::id_check_char;
use wuzhi_domain::work::{Caller, System};

/// SplitMix64: small, fast, and the same sequence on every machine and version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|i| i.1).sum();
        let mut x = self.unit() * total;
        for (t, w) in items {
            if x < *w {
                return t;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

/// The twenty commonest surnames with their approximate share (per cent) of the population
/// (Ministry of Public Security, 2007); the rest share the remainder.
const SURNAMES: &[(&str, f64)] = &[
    ("王", 7.25),
    ("李", 7.19),
    ("张", 6.83),
    ("刘", 5.38),
    ("陈", 4.53),
    ("杨", 3.08),
    ("赵", 2.29),
    ("黄", 2.23),
    ("周", 2.12),
    ("吴", 2.05),
    ("徐", 1.67),
    ("孙", 1.54),
    ("胡", 1.31),
    ("朱", 1.26),
    ("高", 1.21),
    ("林", 1.18),
    ("何", 1.17),
    ("郭", 1.15),
    ("马", 1.05),
    ("罗", 0.86),
];
const TAIL: &str = "梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段";
const GIVEN: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌宇浩然欣怡子涵梓萱一诺雨泽嘉怡思远晨曦佳琪俊杰海燕春梅淑珍凤兰德胜永福振华立新";

fn surname(rng: &mut Rng) -> String {
    let common: f64 = SURNAMES.iter().map(|s| s.1).sum();
    if rng.unit() * 100.0 < common {
        (*rng.weighted(SURNAMES)).to_owned()
    } else {
        let tail: Vec<char> = TAIL.chars().collect();
        tail[rng.below(tail.len() as u64) as usize].to_string()
    }
}

fn given(rng: &mut Rng) -> String {
    let chars: Vec<char> = GIVEN.chars().collect();
    let n = if rng.chance(0.3) { 1 } else { 2 };
    (0..n).map(|_| chars[rng.below(chars.len() as u64) as usize]).collect()
}

/// An age drawn from the 2020 shares: 0–14, 15–59, 60–79, 80–99.
fn age(rng: &mut Rng, adult: bool) -> u32 {
    let bands: &[((u32, u32), f64)] = if adult {
        &[((18, 60), 64.9), ((60, 80), 18.5), ((80, 98), 3.2)]
    } else {
        &[((0, 15), 13.5), ((15, 60), 64.9), ((60, 80), 18.5), ((80, 98), 3.2)]
    };
    let (lo, hi) = *rng.weighted(bands);
    lo + rng.below(u64::from(hi - lo)) as u32
}

/// A valid resident identity number for someone born in `year` in district `region`.
pub fn id_number(rng: &mut Rng, region: &str, year: u32, male: bool) -> String {
    let month = 1 + rng.below(12) as u32;
    let day = 1 + rng.below(28) as u32;
    let mut seq = rng.below(500) as u32 * 2;
    if male {
        seq += 1;
    }
    let first = format!("{region}{year:04}{month:02}{day:02}{seq:03}");
    format!("{first}{}", id_check_char(first.as_bytes()))
}

/// The CSV tables of a synthetic population for `grids` ((code, a point sampler)), with
/// `buildings` buildings per grid and `houses` houses per building, as of `year`.
pub struct Population {
    pub buildings: Table,
    pub houses: Table,
    pub people: Table,
    pub vehicles: Table,
    pub components: Table,
}

fn table(headers: &[&str]) -> Table {
    Table { headers: headers.iter().map(|h| (*h).to_owned()).collect(), rows: vec![] }
}

fn push(t: &mut Table, cells: Vec<String>) {
    let line = t.rows.len() + 2;
    t.rows.push((line, cells));
}

/// Generates the population. `point(grid, rng)` gives a point inside the grid (lon, lat), or
/// none when the grid has no polygon; `owner` is the organisation components belong to.
pub fn generate(
    seed: u64,
    grids: &[String],
    buildings: usize,
    houses: usize,
    year: u32,
    mut point: impl FnMut(&str, &mut Rng) -> Option<(f64, f64)>,
    owner: Option<i64>,
) -> Population {
    let mut rng = Rng::new(seed);
    let mut p = Population {
        buildings: table(&["ref", "grid_code", "address", "kind", "floors", "lat", "lon"]),
        houses: table(&["ref", "building_ref", "number", "area_m2", "use", "ownership"]),
        people: table(&[
            "ref",
            "house_ref",
            "household_ref",
            "relation",
            "name",
            "id_number",
            "phone",
            "residence",
            "moved_in",
            "tags",
        ]),
        vehicles: table(&["plate", "grid_code", "owner_ref", "parking"]),
        components: table(&["code", "name", "grid_code", "lat", "lon", "state", "owner_org"]),
    };
    let plate_letters = b"ABCDEFGHJKLMNQR";
    // Identity numbers and plates are unique: a number drawn twice is drawn again.
    let mut issued: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut component_serial = 0u32;
    for (gi, grid) in grids.iter().enumerate() {
        let region = &grid[..6];
        for b in 0..buildings {
            let bref = format!("B{grid}-{b:02}");
            let floors = 3 + rng.below(16);
            let pt = point(grid, &mut rng);
            let (lat, lon) = pt.map(|(x, y)| (format!("{y:.6}"), format!("{x:.6}"))).unwrap_or_default();
            push(
                &mut p.buildings,
                vec![
                    bref.clone(),
                    grid.clone(),
                    format!("第{}网格{}号楼", gi % 100 + 1, b + 1),
                    "residential".into(),
                    floors.to_string(),
                    lat,
                    lon,
                ],
            );
            for h in 0..houses {
                let href = format!("H{grid}-{b:02}-{h:03}");
                let number = format!("{}-{}{:02}", h % 3 + 1, h / 6 + 1, h % 6 + 1);
                let vacant = rng.chance(0.08);
                let rented = !vacant && rng.chance(0.18);
                let use_kind = if vacant {
                    "vacant"
                } else if rented {
                    "rented"
                } else {
                    "own"
                };
                let area = 45 + rng.below(90);
                push(
                    &mut p.houses,
                    vec![
                        href.clone(),
                        bref.clone(),
                        number,
                        area.to_string(),
                        use_kind.into(),
                        if rented { "私产出租" } else { "私产" }.into(),
                    ],
                );
                if vacant {
                    continue;
                }
                // Household size: 1..5+, mean ≈ 2.4.
                let size = *rng.weighted(&[(1usize, 25.0), (2, 33.0), (3, 24.0), (4, 10.0), (5, 6.0), (6, 2.0)]);
                let family = surname(&mut rng);
                let head_age = age(&mut rng, true);
                let residence = if rented {
                    *rng.weighted(&[("floating", 55.0), ("resident", 35.0), ("registered", 10.0)])
                } else {
                    *rng.weighted(&[("registered", 85.0), ("resident", 12.0), ("floating", 3.0)])
                };
                for m in 0..size {
                    let (relation, a) = match m {
                        0 => ("head", head_age),
                        1 => ("spouse", head_age.saturating_sub(3) + rng.below(6) as u32),
                        _ if head_age > 55 && rng.chance(0.3) => ("grandchild", rng.below(15) as u32),
                        _ if head_age > 45 && m == 2 && rng.chance(0.2) => {
                            ("parent", (head_age + 22 + rng.below(10) as u32).min(99))
                        }
                        _ => ("child", head_age.saturating_sub(22 + rng.below(12) as u32)),
                    };
                    let male = if m == 1 { !rng.chance(0.5) } else { rng.chance(0.5) };
                    let name = if m == 1 {
                        format!("{}{}", surname(&mut rng), given(&mut rng))
                    } else {
                        format!("{family}{}", given(&mut rng))
                    };
                    let born = year.saturating_sub(a).max(1905);
                    let mut id = id_number(&mut rng, region, born, male);
                    while !issued.insert(id.clone()) {
                        id = id_number(&mut rng, region, born, male);
                    }
                    let phone = if a >= 16 { format!("100{:08}", rng.below(100_000_000)) } else { String::new() };
                    let mut tags: Vec<&str> = Vec::new();
                    if a >= 80 {
                        tags.push("very_old");
                    }
                    if a >= 60 && size == 1 {
                        tags.push("living_alone");
                    }
                    if a >= 60 && size == 2 && head_age >= 60 && rng.chance(0.6) {
                        tags.push("empty_nest");
                    }
                    if rng.chance(0.025) {
                        tags.push("disabled");
                    }
                    if rng.chance(0.012) {
                        tags.push("low_income");
                    }
                    if rng.chance(0.005) {
                        tags.push("entitled");
                    }
                    if a < 16 && rng.chance(0.01) {
                        tags.push("left_behind_child");
                    }
                    if a >= 18 && rng.chance(0.004) {
                        tags.push("severe_mental_illness");
                    }
                    if a >= 18 && rng.chance(0.0006) {
                        tags.push("community_correction");
                    }
                    if a >= 18 && rng.chance(0.001) {
                        tags.push("key_person");
                    }
                    let pref = format!("P{grid}-{b:02}-{h:03}-{m}");
                    let moved_in =
                        format!("{}-{:02}-01", (born + 18).clamp(1990, year - 1).max(born), 1 + rng.below(12));
                    push(
                        &mut p.people,
                        vec![
                            pref.clone(),
                            href.clone(),
                            format!("{href}-1"),
                            relation.into(),
                            name,
                            id,
                            phone,
                            residence.into(),
                            moved_in,
                            tags.join(";"),
                        ],
                    );
                    if m == 0 && rng.chance(0.3) {
                        let nev = rng.chance(0.12);
                        let letter = plate_letters[rng.below(plate_letters.len() as u64) as usize] as char;
                        let digits = rng.below(100_000);
                        let plate =
                            if nev { format!("津{letter}D{digits:05}") } else { format!("津{letter}{digits:05}") };
                        if !issued.insert(plate.clone()) {
                            continue;
                        }
                        push(&mut p.vehicles, vec![plate, grid.clone(), pref, "小区地面车位".into()]);
                    }
                }
            }
        }
        // A few components per grid: manhole covers (01), street lamps and hydrants, each
        // owned by the district's unit that maintains it.
        for (minor, name) in [("01", "上水井盖"), ("02", "污水井盖"), ("05", "路灯")] {
            component_serial += 1;
            let code = format!("{region}01{minor}{:06}", component_serial % 1_000_000);
            let pt = point(grid, &mut rng);
            let (lat, lon) = pt.map(|(x, y)| (format!("{y:.6}"), format!("{x:.6}"))).unwrap_or_default();
            let state = if rng.chance(0.05) { "damaged" } else { "normal" };
            push(
                &mut p.components,
                vec![
                    code,
                    name.into(),
                    grid.clone(),
                    lat,
                    lon,
                    state.into(),
                    owner.map(|o| o.to_string()).unwrap_or_default(),
                ],
            );
        }
    }
    p
}

/// The demo resident's grid and (synthetic) identity number.
pub const DEMO_RESIDENT_GRID: &str = "120101001001001";
pub const DEMO_RESIDENT_ID: &str = "120101198003150887";

/// Seeds the demo archives for every grid under `prefix` (e.g. `120101`, 和平区) unless the
/// archives already hold people. Returns the people imported.
pub async fn seed(app: &App, prefix: &str, buildings: usize, houses: usize) -> Result<usize> {
    let mut conn = app.db.read().await?;
    if wuzhi_store::archives::counts(&mut conn).await?.0 > 0 {
        return Ok(0);
    }
    let grids: Vec<(String, String, String)> = wuzhi_store::territory::grids_with_geometry(&mut conn)
        .await?
        .into_iter()
        .filter(|g| g.0.starts_with(prefix))
        .collect();
    let district = &prefix[..6.min(prefix.len())];
    let owner =
        wuzhi_store::org::find(&mut conn, district, &format!("{}城市管理委员会", district_name(app, prefix))).await?;
    drop(conn);
    let loc = app.locator();
    let shapes: std::collections::HashMap<String, (f64, f64, f64, f64)> = grids
        .iter()
        .filter_map(|(code, _, g)| Some((code.clone(), wuzhi_geo::territory::bbox_of_stored(g)?)))
        .collect();
    let codes: Vec<String> = grids.iter().map(|g| g.0.clone()).collect();
    let year = 2026;
    let pop = generate(
        20_260_401,
        &codes,
        buildings,
        houses,
        year,
        |grid, rng| {
            let (x0, y0, x1, y1) = *shapes.get(grid)?;
            // The point as the CSV will carry it (six decimals), so rounding never moves it
            // across a grid's edge.
            let six = |v: f64| (v * 1e6).round() / 1e6;
            for _ in 0..200 {
                let x = six(x0 + rng.unit() * (x1 - x0));
                let y = six(y0 + rng.unit() * (y1 - y0));
                if loc.locate(x, y).is_some_and(|l| l.grid.code == grid) {
                    return Some((x, y));
                }
            }
            None
        },
        owner,
    );
    let mut pop = pop;
    // The demo resident (花园路居民, phone 13800000011) has a record of their own, so "my data"
    // in the portal shows something: they claim it with this number.
    if codes.iter().any(|c| c == DEMO_RESIDENT_GRID) {
        let cells = vec![
            "P-demo-resident".into(),
            String::new(),
            String::new(),
            "head".into(),
            "花园路居民".into(),
            DEMO_RESIDENT_ID.into(),
            "13800000011".into(),
            "registered".into(),
            "2010-05-01".into(),
            String::new(),
        ];
        let line = pop.people.rows.len() + 2;
        pop.people.rows.push((line, cells));
        // A grid, since the row names no house.
        pop.people.headers.push("grid_code".into());
        for (_, r) in pop.people.rows.iter_mut() {
            r.push(if r[0] == "P-demo-resident" { DEMO_RESIDENT_GRID.into() } else { String::new() });
        }
    }
    let caller = Caller::System(System::CommandLine);
    import(app, caller, "buildings", &pop.buildings, false).await?;
    import(app, caller, "houses", &pop.houses, false).await?;
    let people = import(app, caller, "people", &pop.people, false).await?.created;
    import(app, caller, "vehicles", &pop.vehicles, false).await?;
    import(app, caller, "components", &pop.components, false).await?;
    Ok(people)
}

fn district_name(app: &App, prefix: &str) -> String {
    app.locator().name_of(&prefix[..6.min(prefix.len())]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wuzhi_domain::archives::ids::IdNumber;

    #[test]
    fn the_population_is_deterministic_and_valid() {
        let grids = vec!["120101001001001".to_owned(), "120101001001002".to_owned()];
        let a = generate(7, &grids, 3, 12, 2026, |_, _| Some((117.2, 39.1)), Some(1));
        let b = generate(7, &grids, 3, 12, 2026, |_, _| Some((117.2, 39.1)), Some(1));
        assert_eq!(a.people.rows, b.people.rows);
        let people = &a.people.rows;
        assert!(people.len() > 100, "{}", people.len());
        let mut elderly = 0;
        let mut numbers = std::collections::HashSet::new();
        for (_, row) in people {
            let id = IdNumber::parse("id", &row[5]).expect("every number valid");
            assert!(numbers.insert(row[5].clone()), "every number once");
            assert_eq!(id.region(), "120101");
            if 2026 - id.birth_date().0 >= 60 {
                elderly += 1;
            }
        }
        let share = elderly as f64 / people.len() as f64;
        assert!((0.10..0.45).contains(&share), "share of 60+ {share}");
        let mean = people.len() as f64
            / a.people.rows.iter().map(|r| &r.1[2]).collect::<std::collections::HashSet<_>>().len() as f64;
        assert!((1.9..3.0).contains(&mean), "household size {mean}");
        assert!(
            a.components
                .rows
                .iter()
                .all(|(_, r)| wuzhi_domain::archives::ids::ComponentCode::parse("c", &r[0]).is_ok())
        );
        assert!(a.vehicles.rows.iter().all(|(_, r)| wuzhi_domain::archives::ids::Plate::parse("p", &r[0]).is_ok()));
    }
}
