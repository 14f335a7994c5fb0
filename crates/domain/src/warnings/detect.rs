//! The detectors: one engine, fed observations in time order, that keeps small counters per
//! territory, category, person and unit and emits a [`Signal`] when one of them says "this is
//! not usual". It is pure — no clock, no I/O — so the same code runs live (fed from the
//! outbox) and in a replay of a year of cases (fed from a CSV), and its answers can be pinned
//! by tests.
//!
//! - **Spikes**: for each report, the counts of its grid, community, township and district ×
//!   its category at each level of the tree (and all categories) in a one-hour and a one-day
//!   window, each against an expectation: the cell's daily rate (an exponentially weighted
//!   average over its history, with a floor) × the share of reports this hour of this day
//!   type (working day or rest day, from the calendar with its holidays) usually has. A cell
//!   fires when its count is at least `min_count`, `min_ratio` times the expectation, and
//!   the Poisson chance of so many is below `max_p`. Of the cells a report makes fire only
//!   the most specific is signalled (the finest territory, then the deepest category, then
//!   the shorter window), so a burst in one grid is one warning, and a burst spread over
//!   neighbouring grids shows at their community or township.
//! - **Repeats**: per person, phone, building and address (opaque tokens: no personal value
//!   enters the engine) × matter (the top-level category), the reports within `days`.
//! - **Unsolved**: a case reopened `reopenings` times.
//! - **Sensitive**: reports whose text matched lexicon entries (found by the caller), per class
//!   and grid within the window.
//! - **Failing units**: overdue marks and returns per unit in a day, against its usual rate.
//! - **Sensor storms**: device reports per community and township within a short window.

use super::rules::{LexiconEntry, Params, RuleSet};
use super::{Level, Rule};
use crate::calendar::{Calendar, DAY_MS, OFFSET_MS};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const FIVE_MIN: i64 = 300_000;
const HOUR: i64 = 3_600_000;
/// Evidence each counter keeps: its newest cases.
const RECENT: usize = 8;
/// The territory levels a code's prefixes stand for: grid, community/village, township, district.
const LEVELS: [usize; 4] = [15, 12, 9, 6];

/// A fast hasher for the engine's own integer keys (never fed outside input as a key).
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64)
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

fn fx_str(s: &str) -> u64 {
    let mut h = Fx::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    h.finish()
}

/// The category tree, its codes numbered once.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    ids: HashMap<String, u32>,
    codes: Vec<String>,
    /// Each category's path: itself first, then its ancestors up to its root.
    paths: Vec<Vec<u32>>,
}

impl Categories {
    /// From (code, parent code) pairs; a parent that is not among them ends the path.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Categories {
        let pairs: Vec<(&str, Option<&str>)> = pairs.into_iter().collect();
        let mut ids = HashMap::new();
        let mut codes = Vec::new();
        for (c, _) in &pairs {
            if !ids.contains_key(*c) {
                ids.insert((*c).to_owned(), codes.len() as u32);
                codes.push((*c).to_owned());
            }
        }
        let parent: HashMap<u32, u32> =
            pairs.iter().filter_map(|(c, p)| Some((ids[*c], *ids.get((*p)?)?))).filter(|(c, p)| c != p).collect();
        let paths = (0..codes.len() as u32)
            .map(|c| {
                let mut path = vec![c];
                while let Some(p) = parent.get(path.last().unwrap_or(&c)) {
                    if path.contains(p) || path.len() > 16 {
                        break;
                    }
                    path.push(*p);
                }
                path
            })
            .collect();
        Categories { ids, codes, paths }
    }

    fn path(&self, code: Option<&str>) -> &[u32] {
        code.and_then(|c| self.ids.get(c)).map(|i| self.paths[*i as usize].as_slice()).unwrap_or(&[])
    }

    /// The matter a report is about, for repeats: the category's first level below its root
    /// (its root when it is one; none without a category).
    fn matter(&self, code: Option<&str>) -> u32 {
        let p = self.path(code);
        match p.len() {
            0 => u32::MAX,
            1 => p[0],
            n => p[n - 2],
        }
    }

    pub fn code(&self, id: u32) -> Option<&str> {
        self.codes.get(id as usize).map(String::as_str)
    }
}

/// A new report, as the detectors see it.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub case_id: i64,
    pub at_ms: i64,
    /// Its territory code (a grid's, or coarser when it was located no finer).
    pub territory: &'a str,
    pub category: Option<&'a str>,
    /// Reported by a sensor.
    pub device: bool,
    /// Who raised it, as opaque tokens (a keyed hash of the phone, of the normalised address):
    /// the engine sees no personal value.
    pub person: Option<i64>,
    pub phone: Option<u64>,
    pub building: Option<i64>,
    pub address: Option<u64>,
    /// The lexicon entries its text matched (indices into the engine's lexicon).
    pub hits: &'a [u32],
}

/// What a unit failed to do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Miss {
    Overdue,
    Returned,
}

impl Miss {
    pub fn as_str(self) -> &'static str {
        match self {
            Miss::Overdue => "overdue",
            Miss::Returned => "returned",
        }
    }
}

/// One thing that happened, in the order it happened.
#[derive(Debug, Clone, Copy)]
pub enum Observation<'a> {
    Reported(Report<'a>),
    /// A case was reopened; `times` is how often now.
    Reopened {
        case_id: i64,
        at_ms: i64,
        territory: &'a str,
        category: Option<&'a str>,
        times: u32,
    },
    /// A case went overdue at, or was returned by, unit `org` (of territory `unit_territory`).
    Missed {
        case_id: i64,
        at_ms: i64,
        org: i64,
        unit_territory: &'a str,
        miss: Miss,
    },
}

impl Observation<'_> {
    pub fn at_ms(&self) -> i64 {
        match self {
            Observation::Reported(r) => r.at_ms,
            Observation::Reopened { at_ms, .. } | Observation::Missed { at_ms, .. } => *at_ms,
        }
    }
}

/// A detector saying "this is not usual", with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub rule: Rule,
    /// What the warning is about (one open warning per rule and key): `120101001001/H01/1h`,
    /// `phone:3fa2…/H01`, `case:17`, `life/120101001001001`, `unit:12/overdue`, …
    pub key: String,
    pub level: Level,
    pub territory: String,
    pub category: Option<String>,
    /// The case that made it fire, and when.
    pub case_id: i64,
    pub at_ms: i64,
    pub observed: u32,
    /// The count the baseline expected in the window (0 where the rule has no baseline).
    pub expected: f64,
    pub window_ms: i64,
    /// The Poisson chance of the observed count under the expectation, where there is one.
    pub p: Option<f64>,
    pub rule_version: i64,
    /// The newest cases the counter holds (case, time), this one included.
    pub cases: Vec<(i64, i64)>,
    /// What matched, for the reader: `phone`, `跳楼`, …
    pub detail: String,
}

/// ln(k!)
fn ln_factorial(k: u32) -> f64 {
    if k <= 20 {
        (2..=k).map(|i| (i as f64).ln()).sum()
    } else {
        let n = k as f64;
        n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n) - 1.0 / (360.0 * n * n * n)
    }
}

/// The weight of `history_days` finished days in an exponentially weighted sum (0: none).
fn norm(alpha: f64, history_days: i64) -> f64 {
    if history_days <= 0 {
        return 0.0;
    }
    (1.0 - alpha.powi(history_days.min(3650) as i32)) / (1.0 - alpha)
}

/// P(X ≥ k) for X ~ Poisson(λ).
pub fn poisson_tail(k: u32, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    let ln_first = -lambda + k as f64 * lambda.ln() - ln_factorial(k);
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    for j in 1..2000u32 {
        term *= lambda / (k + j) as f64;
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    (ln_first.exp() * sum).min(1.0)
}

/// A counter of one cell: five-minute buckets over the last hour, hourly buckets over the last
/// day, the daily rate's weighted history, and its newest cases.
#[derive(Debug, Clone, Default)]
struct Cell {
    five: [u16; 12],
    five_at: i64,
    hours: [u16; 24],
    hour_at: i64,
    /// Σ count_j α^(d−1−j) over the finished days j before `day`.
    s: f64,
    day: i64,
    today: u32,
    recent: [(i64, i64); RECENT],
    recent_len: u8,
    recent_pos: u8,
}

impl Cell {
    fn roll(&mut self, at: i64, alpha: f64) {
        let f = at.div_euclid(FIVE_MIN);
        let gap = (f - self.five_at).clamp(0, 12);
        for i in 0..gap {
            self.five[((self.five_at + 1 + i).rem_euclid(12)) as usize] = 0;
        }
        self.five_at = self.five_at.max(f);
        let h = at.div_euclid(HOUR);
        let gap = (h - self.hour_at).clamp(0, 24);
        for i in 0..gap {
            self.hours[((self.hour_at + 1 + i).rem_euclid(24)) as usize] = 0;
        }
        self.hour_at = self.hour_at.max(h);
        let d = (at + OFFSET_MS).div_euclid(DAY_MS);
        if d > self.day {
            let g = (d - self.day) as i32;
            self.s = self.s * alpha.powi(g) + self.today as f64 * alpha.powi(g - 1);
            self.today = 0;
            self.day = d;
        }
    }

    fn fresh(at: i64) -> Cell {
        Cell {
            five_at: at.div_euclid(FIVE_MIN),
            hour_at: at.div_euclid(HOUR),
            day: (at + OFFSET_MS).div_euclid(DAY_MS),
            ..Cell::default()
        }
    }

    fn add(&mut self, case: i64, at: i64) {
        let f = (at.div_euclid(FIVE_MIN).rem_euclid(12)) as usize;
        self.five[f] = self.five[f].saturating_add(1);
        let h = (at.div_euclid(HOUR).rem_euclid(24)) as usize;
        self.hours[h] = self.hours[h].saturating_add(1);
        self.today += 1;
        self.recent[self.recent_pos as usize] = (case, at);
        self.recent_pos = ((self.recent_pos as usize + 1) % RECENT) as u8;
        self.recent_len = (self.recent_len + 1).min(RECENT as u8);
    }

    fn last_five(&self, buckets: usize) -> u32 {
        (0..buckets as i64).map(|i| self.five[((self.five_at - i).rem_euclid(12)) as usize] as u32).sum()
    }
    fn last_day(&self) -> u32 {
        self.hours.iter().map(|&c| c as u32).sum()
    }
    /// The daily rate at the cell's day, `norm` being [`norm`] of the engine's history.
    fn rate(&self, norm: f64) -> f64 {
        if norm <= 0.0 { 0.0 } else { self.s / norm }
    }
    fn cases_since(&self, from: i64) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> =
            self.recent[..self.recent_len as usize].iter().copied().filter(|(_, at)| *at >= from).collect();
        v.sort_by_key(|(c, at)| (*at, *c));
        v
    }
}

/// Reports per (day type, hour): the share of a day's reports each hour usually has on working
/// and rest days, and how busy each kind of day is — each weekday on its own (Mondays are not
/// Fridays), public holidays apart from weekends.
#[derive(Debug, Clone)]
struct Profile {
    slots: [[f64; 24]; 2],
    days: [FxMap<i64, ()>; 2],
    /// Reports and days per kind of day: Monday … Sunday as they fall, 7 for a holiday on a
    /// weekday, 8 for a working day moved to a weekend.
    kinds: [f64; 9],
    kind_days: [FxMap<i64, ()>; 9],
    /// The day being counted and its reports so far.
    today: (i64, f64),
    /// Reports per day type (the sums of `slots`' rows), kept as they come.
    totals: [f64; 2],
}

/// The kind of a day for the busyness (see [`Profile::kinds`]).
fn day_kind(day: i64, rest: bool) -> usize {
    let w = Calendar::weekday(day) as usize;
    match (w < 5, rest) {
        (true, true) => 7,
        (false, false) => 8,
        _ => w,
    }
}

impl Profile {
    fn new() -> Profile {
        Profile {
            slots: [[0.0; 24]; 2],
            days: Default::default(),
            kinds: [0.0; 9],
            kind_days: Default::default(),
            today: (i64::MIN, 0.0),
            totals: [0.0; 2],
        }
    }
    fn add(&mut self, rest: bool, hour: usize, day: i64) {
        self.slots[rest as usize][hour] += 1.0;
        self.totals[rest as usize] += 1.0;
        self.days[rest as usize].entry(day).or_insert(());
        let k = day_kind(day, rest);
        self.kinds[k] += 1.0;
        self.kind_days[k].entry(day).or_insert(());
        if self.today.0 != day {
            self.today = (day, 0.0);
        }
        self.today.1 += 1.0;
    }
    /// The expected share of a day's reports that falls in `hour` of day `day`, relative to an
    /// average day: a smoothed hour share of its day type × how busy its kind of day is (its
    /// weekday's own once two of them were seen, else its day type's).
    fn factor(&self, day: i64, rest: bool, hour: Option<usize>) -> f64 {
        let t = rest as usize;
        let total_t = self.totals[t];
        let days_t = self.days[t].len().max(1) as f64;
        let all = self.totals[0] + self.totals[1];
        let days_all = (self.days[0].len() + self.days[1].len()).max(1) as f64;
        let k = day_kind(day, rest);
        // Days and reports before this day (it is still being counted).
        let (today, counted) = if self.today.0 == day { (self.today.1, 1.0) } else { (0.0, 0.0) };
        let kind_days = self.kind_days[k].len() as f64 - counted;
        let (all_before, days_before) = (all - today, days_all - counted);
        let busy = if all <= 0.0 {
            1.0
        } else if kind_days >= 2.0 && all_before > 0.0 && days_before >= 1.0 {
            ((self.kinds[k] - today) / kind_days) / (all_before / days_before)
        } else if total_t > 0.0 {
            (total_t / days_t) / (all / days_all)
        } else {
            1.0
        };
        match hour {
            None => busy,
            Some(h) => busy * (self.slots[t][h] + 1.0) / (total_t + 24.0),
        }
    }
}

/// The engine's counters. Feed it observations in time order with [`Engine::observe`].
pub struct Engine {
    rules: RuleSet,
    categories: Categories,
    lexicon: Vec<LexiconEntry>,
    calendar: Calendar,
    start_day: Option<i64>,
    profile: Profile,
    cells: FxMap<(u64, u32), Cell>,
    repeats: FxMap<(u8, u64, u32), Vec<(i64, i64)>>,
    sensitive: FxMap<(u32, u64), Vec<(i64, i64)>>,
    units: FxMap<(i64, u8), Cell>,
    storms: FxMap<u64, Cell>,
    observed: u64,
    pruned_at: i64,
    cells_pruned_day: i64,
}

/// Adds (case, at) to a list of the newest cases within `span` before `at`, at most 32.
fn push_within(v: &mut Vec<(i64, i64)>, case: i64, at: i64, span: i64) {
    v.retain(|(_, t)| *t > at - span);
    v.push((case, at));
    if v.len() > 32 {
        v.remove(0);
    }
}

/// Whether `territory`'s prefix of length `n` is one of its levels.
fn prefixes(territory: &str) -> impl Iterator<Item = &str> {
    LEVELS.into_iter().filter(move |&n| n <= territory.len()).map(move |n| &territory[..n])
}

impl Engine {
    pub fn new(rules: RuleSet, categories: Categories, lexicon: Vec<LexiconEntry>, calendar: Calendar) -> Engine {
        Engine {
            rules,
            categories,
            lexicon,
            calendar,
            start_day: None,
            profile: Profile::new(),
            cells: FxMap::default(),
            repeats: FxMap::default(),
            sensitive: FxMap::default(),
            units: FxMap::default(),
            storms: FxMap::default(),
            observed: 0,
            pruned_at: 0,
            cells_pruned_day: 0,
        }
    }

    pub fn lexicon(&self) -> &[LexiconEntry] {
        &self.lexicon
    }

    /// How many observations it has taken in.
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// Counters held (cells, repeat keys, units, …): the engine's size.
    pub fn counters(&self) -> usize {
        self.cells.len() + self.repeats.len() + self.sensitive.len() + self.units.len() + self.storms.len()
    }

    /// Takes in one observation and returns what it made fire (empty mostly).
    pub fn observe(&mut self, o: &Observation<'_>) -> Vec<Signal> {
        self.observed += 1;
        let at = o.at_ms();
        let day = (at + OFFSET_MS).div_euclid(DAY_MS);
        let start = *self.start_day.get_or_insert(day);
        // Forgetting walks every counter: every six hours of the stream (cells and repeats once a day).
        if at - self.pruned_at > 6 * HOUR {
            self.prune(at);
        }
        let mut out = Vec::new();
        match o {
            Observation::Reported(r) => {
                let rest = !self.calendar.is_workday(day);
                let hour = ((at + OFFSET_MS).rem_euclid(DAY_MS) / HOUR) as usize;
                self.profile.add(rest, hour, day);
                self.spike(r, day - start, rest, hour, &mut out);
                self.repeat(r, &mut out);
                self.sensitive(r, &mut out);
                if r.device {
                    self.storm(r, &mut out);
                }
            }
            Observation::Reopened { case_id, at_ms, territory, category, times } => {
                let (p, v) = self.rules.for_territory(territory);
                let u = p.unsolved;
                if u.enabled && *times >= u.reopenings {
                    out.push(Signal {
                        rule: Rule::Unsolved,
                        key: format!("case:{case_id}"),
                        level: if *times > u.reopenings { u.level.up() } else { u.level },
                        territory: (*territory).to_owned(),
                        category: category.map(str::to_owned),
                        case_id: *case_id,
                        at_ms: *at_ms,
                        observed: *times,
                        expected: 0.0,
                        window_ms: 0,
                        p: None,
                        rule_version: v,
                        cases: vec![(*case_id, *at_ms)],
                        detail: format!("reopened {times} times"),
                    });
                }
            }
            Observation::Missed { case_id, at_ms, org, unit_territory, miss } => {
                self.unit(*case_id, *at_ms, *org, unit_territory, *miss, day - start, &mut out);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn spike(&mut self, r: &Report<'_>, history: i64, rest: bool, hour: usize, out: &mut Vec<Signal>) {
        let path = self.categories.path(r.category);
        let mut fired: Option<Signal> = None;
        // What every cell shares, computed once per report: the hour's and the day type's
        // share of a day's reports.
        let day = (r.at_ms + OFFSET_MS).div_euclid(DAY_MS);
        let (f_hour, f_day) = (self.profile.factor(day, rest, Some(hour)), self.profile.factor(day, rest, None));
        let mut last: Option<(f64, f64, f64)> = None;
        for terr in prefixes(r.territory) {
            let (params, version) = self.rules.for_territory(terr);
            let p: &Params = params;
            let sp = p.spike;
            let (alpha, w) = match last {
                Some((hl, a, w)) if hl == sp.half_life_days => (a, w),
                _ => {
                    let a = 0.5f64.powf(1.0 / sp.half_life_days);
                    let w = norm(a, history);
                    last = Some((sp.half_life_days, a, w));
                    (a, w)
                }
            };
            let th = fx_str(terr);
            for cat in path.iter().copied().chain(std::iter::once(u32::MAX)) {
                let cell = self.cells.entry((th, cat)).or_insert_with(|| Cell::fresh(r.at_ms));
                cell.roll(r.at_ms, alpha);
                cell.add(r.case_id, r.at_ms);
                if fired.is_some() || !sp.enabled || history < sp.min_history_days as i64 {
                    continue;
                }
                let rate = cell.rate(w).max(sp.floor_per_day);
                for (window, observed, expected) in
                    [(HOUR, cell.last_five(12), rate * f_hour), (DAY_MS, cell.last_day(), rate * f_day)]
                {
                    if observed < sp.min_count || (observed as f64) < sp.min_ratio * expected {
                        continue;
                    }
                    let chance = poisson_tail(observed, expected);
                    if chance >= sp.max_p {
                        continue;
                    }
                    let cat_code = self.categories.code(cat).map(str::to_owned);
                    fired = Some(Signal {
                        rule: Rule::Spike,
                        key: format!(
                            "{terr}/{}/{}",
                            cat_code.as_deref().unwrap_or("*"),
                            if window == HOUR { "1h" } else { "1d" }
                        ),
                        level: sp.levels.level(observed),
                        territory: terr.to_owned(),
                        category: cat_code,
                        case_id: r.case_id,
                        at_ms: r.at_ms,
                        observed,
                        expected,
                        window_ms: window,
                        p: Some(chance),
                        rule_version: version,
                        cases: cell.cases_since(r.at_ms - window),
                        detail: String::new(),
                    });
                    break;
                }
            }
        }
        out.extend(fired);
    }

    fn repeat(&mut self, r: &Report<'_>, out: &mut Vec<Signal>) {
        let (p, version) = self.rules.for_territory(r.territory);
        let rp = p.repeat;
        let matter = self.categories.matter(r.category);
        // A report of no known category is no known matter: nothing to repeat.
        if matter == u32::MAX {
            return;
        }
        let span = rp.days as i64 * DAY_MS;
        let keys = [
            (0u8, r.person.map(|x| x as u64)),
            (1, r.phone),
            (2, r.building.map(|x| x as u64)),
            (3, if r.building.is_none() { r.address } else { None }),
        ];
        let mut fired = false;
        for (kind, token) in keys {
            let Some(token) = token else { continue };
            let v = self.repeats.entry((kind, token, matter)).or_default();
            push_within(v, r.case_id, r.at_ms, span);
            let n = v.len() as u32;
            if fired || !rp.enabled || n < rp.min_count {
                continue;
            }
            fired = true;
            let name = ["person", "phone", "building", "address"][kind as usize];
            let matter_code = self.categories.code(matter).map(str::to_owned);
            out.push(Signal {
                rule: Rule::Repeat,
                key: format!("{name}:{token:x}/{}", matter_code.as_deref().unwrap_or("*")),
                level: rp.levels.level(n),
                territory: r.territory.to_owned(),
                category: matter_code,
                case_id: r.case_id,
                at_ms: r.at_ms,
                observed: n,
                expected: 0.0,
                window_ms: span,
                p: None,
                rule_version: version,
                cases: v.clone(),
                detail: name.to_owned(),
            });
        }
    }

    fn sensitive(&mut self, r: &Report<'_>, out: &mut Vec<Signal>) {
        if r.hits.is_empty() {
            return;
        }
        let (p, version) = self.rules.for_territory(r.territory);
        let sp = p.sensitive;
        if !sp.enabled {
            return;
        }
        let path = self.categories.path(r.category);
        // Per class: the highest level among the matching entries and their phrases.
        let mut classes: Vec<(&str, Level, Vec<&str>)> = Vec::new();
        for &h in r.hits {
            let Some(e) = self.lexicon.get(h as usize) else { continue };
            let applies = e.categories.is_empty()
                || e.categories.iter().any(|c| self.categories.ids.get(c).is_some_and(|id| path.contains(id)));
            if !applies {
                continue;
            }
            match classes.iter_mut().find(|c| c.0 == e.class) {
                Some(c) => {
                    c.1 = c.1.max(e.level);
                    if !c.2.contains(&e.phrase.as_str()) {
                        c.2.push(&e.phrase);
                    }
                }
                None => classes.push((&e.class, e.level, vec![&e.phrase])),
            }
        }
        let window = sp.window_minutes as i64 * 60_000;
        let grid = fx_str(r.territory);
        let mut signals = Vec::new();
        for (class, level, phrases) in classes {
            let class_id = fx_str(class) as u32;
            let v = self.sensitive.entry((class_id, grid)).or_default();
            push_within(v, r.case_id, r.at_ms, window);
            let n = v.len() as u32;
            signals.push(Signal {
                rule: Rule::Sensitive,
                key: format!("{class}/{}", r.territory),
                level: if n >= sp.raise_after { level.up() } else { level },
                territory: r.territory.to_owned(),
                category: r.category.map(str::to_owned),
                case_id: r.case_id,
                at_ms: r.at_ms,
                observed: n,
                expected: 0.0,
                window_ms: window,
                p: None,
                rule_version: version,
                cases: v.clone(),
                detail: phrases.join("、"),
            });
        }
        out.extend(signals);
    }

    fn storm(&mut self, r: &Report<'_>, out: &mut Vec<Signal>) {
        let mut fired = false;
        for terr in prefixes(r.territory).filter(|t| t.len() == 12 || t.len() == 9) {
            let (p, version) = self.rules.for_territory(terr);
            let st = p.sensor_storm;
            let cell = self.storms.entry(fx_str(terr)).or_insert_with(|| Cell::fresh(r.at_ms));
            cell.roll(r.at_ms, 0.5);
            cell.add(r.case_id, r.at_ms);
            let buckets = (st.window_minutes / 5) as usize;
            let n = cell.last_five(buckets);
            if fired || !st.enabled || n < st.min_count {
                continue;
            }
            fired = true;
            let window = st.window_minutes as i64 * 60_000;
            out.push(Signal {
                rule: Rule::SensorStorm,
                key: format!("storm/{terr}"),
                level: st.levels.level(n),
                territory: terr.to_owned(),
                category: None,
                case_id: r.case_id,
                at_ms: r.at_ms,
                observed: n,
                expected: 0.0,
                window_ms: window,
                p: None,
                rule_version: version,
                cases: cell.cases_since(r.at_ms - window),
                detail: String::new(),
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn unit(&mut self, case: i64, at: i64, org: i64, territory: &str, miss: Miss, history: i64, out: &mut Vec<Signal>) {
        let (p, version) = self.rules.for_territory(territory);
        let up = p.failing_unit;
        let alpha = 0.5f64.powf(1.0 / p.spike.half_life_days);
        let cell = self.units.entry((org, miss as u8)).or_insert_with(|| Cell::fresh(at));
        cell.roll(at, alpha);
        cell.add(case, at);
        if !up.enabled || history < p.spike.min_history_days as i64 {
            return;
        }
        let n = cell.last_day();
        let expected = cell.rate(norm(alpha, history)).max(p.spike.floor_per_day);
        if n < up.min_count || (n as f64) < up.min_ratio * expected {
            return;
        }
        let chance = poisson_tail(n, expected);
        if chance >= up.max_p {
            return;
        }
        out.push(Signal {
            rule: Rule::FailingUnit,
            key: format!("unit:{org}/{}", miss.as_str()),
            level: up.levels.level(n),
            territory: territory.to_owned(),
            category: None,
            case_id: case,
            at_ms: at,
            observed: n,
            expected,
            window_ms: DAY_MS,
            p: Some(chance),
            rule_version: version,
            cases: cell.cases_since(at - DAY_MS),
            detail: miss.as_str().to_owned(),
        });
    }

    /// Forgets counters that can no longer fire or inform a baseline: repeats and sensitive
    /// matches past their window, cells quiet for two half-lives × 8 (their weight < 1/256).
    fn prune(&mut self, now: i64) {
        self.pruned_at = now;
        let longest = self.rules.sets.iter().map(|s| s.1.repeat.days).max().unwrap_or(30) as i64 * DAY_MS;
        self.sensitive.retain(|_, v| v.last().is_some_and(|(_, at)| *at > now - DAY_MS));
        let half = self.rules.sets.iter().map(|s| s.1.spike.half_life_days).fold(14.0f64, f64::max);
        let quiet = (half * 8.0) as i64 * DAY_MS;
        let day = (now + OFFSET_MS).div_euclid(DAY_MS);
        if day > self.cells_pruned_day {
            self.cells_pruned_day = day;
            self.cells.retain(|_, c| (day - c.day) * DAY_MS < quiet);
            // A key per phone and matter: the biggest map, and windows of days.
            self.repeats.retain(|_, v| v.last().is_some_and(|(_, at)| *at > now - longest));
        }
        self.storms.retain(|_, c| c.hour_at * HOUR > now - DAY_MS);
    }
}

/// The warnings a replay raises: signals folded into one warning per rule and key while it is
/// open, as the live store does with its "one open warning per rule and key". A replay has no
/// people to resolve warnings, so one closes itself when its key has been quiet for a day.
#[derive(Debug, Default)]
pub struct Tracker {
    open: HashMap<(Rule, String), Tracked>,
    closed: Vec<Tracked>,
}

/// One warning as a replay raised it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub rule: Rule,
    pub key: String,
    pub level: Level,
    pub territory: String,
    pub category: Option<String>,
    /// When the first case of its evidence came in.
    pub first_case_at_ms: i64,
    /// When the detector first fired.
    pub raised_at_ms: i64,
    pub last_at_ms: i64,
    /// Its cases, in the order they joined.
    pub cases: Vec<i64>,
}

impl Tracker {
    /// Folds a signal in; true when it raised a new warning.
    pub fn add(&mut self, s: &Signal) -> bool {
        self.close_quiet(s.at_ms);
        let k = (s.rule, s.key.clone());
        if let Some(t) = self.open.get_mut(&k) {
            t.level = t.level.max(s.level);
            t.last_at_ms = s.at_ms;
            for (c, at) in &s.cases {
                if !t.cases.contains(c) {
                    t.cases.push(*c);
                    t.first_case_at_ms = t.first_case_at_ms.min(*at);
                }
            }
            return false;
        }
        let mut cases: Vec<i64> = Vec::new();
        for (c, _) in &s.cases {
            if !cases.contains(c) {
                cases.push(*c);
            }
        }
        self.open.insert(
            k,
            Tracked {
                rule: s.rule,
                key: s.key.clone(),
                level: s.level,
                territory: s.territory.clone(),
                category: s.category.clone(),
                first_case_at_ms: s.cases.iter().map(|c| c.1).min().unwrap_or(s.at_ms),
                raised_at_ms: s.at_ms,
                last_at_ms: s.at_ms,
                cases,
            },
        );
        true
    }

    fn close_quiet(&mut self, now: i64) {
        if self.open.len() < 64 && self.open.values().all(|t| now - t.last_at_ms <= DAY_MS) {
            return;
        }
        let quiet: Vec<(Rule, String)> =
            self.open.iter().filter(|(_, t)| now - t.last_at_ms > DAY_MS).map(|(k, _)| k.clone()).collect();
        for k in quiet {
            if let Some(t) = self.open.remove(&k) {
                self.closed.push(t);
            }
        }
    }

    /// Every warning raised, in the order they were raised.
    pub fn finish(mut self) -> Vec<Tracked> {
        self.closed.extend(self.open.into_values());
        self.closed.sort_by(|a, b| (a.raised_at_ms, &a.key).cmp(&(b.raised_at_ms, &b.key)));
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRID: &str = "120101001001001";
    const GRID2: &str = "120101001001002";
    const GRID3: &str = "120101001001003";
    /// 2026-11-02 00:00 Asia/Shanghai, a Monday.
    const T0: i64 = 1_793_548_800_000 - OFFSET_MS;

    fn cats() -> Categories {
        Categories::new([
            ("H", None),
            ("H01", Some("H")),
            ("H0101", Some("H01")),
            ("H0102", Some("H01")),
            ("H02", Some("H")),
            ("H0201", Some("H02")),
        ])
    }

    fn engine(p: Params) -> Engine {
        let lexicon = vec![
            LexiconEntry::new("跳楼", "life", Level::Red, vec![]).unwrap(),
            LexiconEntry::new("燃气味", "safety", Level::Orange, vec![]).unwrap(),
            LexiconEntry::new("起火", "safety", Level::Red, vec!["H02".into()]).unwrap(),
        ];
        Engine::new(RuleSet { sets: vec![(String::new(), p, 3)] }, cats(), lexicon, Calendar::new([]))
    }

    fn report(case: i64, at: i64, territory: &str, category: &str) -> Observation<'static> {
        let territory: &'static str = Box::leak(territory.to_owned().into_boxed_str());
        let category: &'static str = Box::leak(category.to_owned().into_boxed_str());
        Observation::Reported(Report {
            case_id: case,
            at_ms: at,
            territory,
            category: Some(category),
            device: false,
            person: None,
            phone: None,
            building: None,
            address: None,
            hits: &[],
        })
    }

    /// Three weeks of background: one report a day in each of the first three grids, each of
    /// two categories, at midday.
    fn background(e: &mut Engine, days: i64) -> i64 {
        let mut id = 1_000_000;
        for d in 0..days {
            for g in [GRID, GRID2, GRID3] {
                for c in ["H0101", "H0201"] {
                    id += 1;
                    e.observe(&report(id, T0 + d * DAY_MS + 12 * HOUR + id % 7 * 60_000, g, c));
                }
            }
        }
        id
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        assert!((poisson_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X ≥ 3 | λ = 2) = 1 − e^−2 (1 + 2 + 2) = 0.3233235…
        assert!((poisson_tail(3, 2.0) - 0.323_323_583_816_936_5).abs() < 1e-9);
        // Far in the tail, where a plain sum would lose it.
        let p = poisson_tail(30, 0.5);
        assert!(p > 0.0 && p < 1e-40, "{p}");
        assert!((ln_factorial(25) - 58.003_605_222_980_52).abs() < 1e-6);
    }

    #[test]
    fn a_burst_in_one_grid_raises_one_spike_and_the_usual_load_none() {
        let mut e = engine(Params::default());
        let id = background(&mut e, 21);
        // The usual day after three weeks: nothing.
        let day = T0 + 21 * DAY_MS;
        let mut signals = Vec::new();
        for (i, g) in [GRID, GRID2, GRID3].iter().enumerate() {
            signals.extend(e.observe(&report(id + 1 + i as i64, day + 12 * HOUR, g, "H0101")));
        }
        assert!(signals.is_empty(), "{signals:?}");
        // Gas smell in one grid: four reports within twenty minutes at 20:00.
        let mut fired = Vec::new();
        for k in 0..4 {
            fired.push(e.observe(&report(id + 10 + k, day + 20 * HOUR + k * 5 * 60_000, GRID, "H0102")));
        }
        assert!(fired[0].is_empty() && fired[1].is_empty(), "two are not yet a spike: {fired:?}");
        let third = &fired[2];
        assert_eq!(third.len(), 1, "{third:?}");
        let s = &third[0];
        assert_eq!((s.rule, s.territory.as_str(), s.category.as_deref()), (Rule::Spike, GRID, Some("H0102")));
        assert_eq!(s.key, format!("{GRID}/H0102/1h"));
        assert_eq!(s.observed, 3);
        assert!(s.expected < 0.01 && s.p.unwrap() < 1e-6, "{s:?}");
        assert_eq!(s.cases.iter().map(|c| c.0).collect::<Vec<_>>(), vec![id + 10, id + 11, id + 12]);
        assert_eq!(s.rule_version, 3);
        // The fourth grows the same warning.
        assert_eq!(fired[3][0].key, s.key);
        assert_eq!(fired[3][0].observed, 4);
    }

    #[test]
    fn a_spike_spread_over_neighbouring_grids_shows_at_their_community() {
        let mut e = engine(Params::default());
        let id = background(&mut e, 21);
        let at = T0 + 21 * DAY_MS + 3 * HOUR;
        let mut all = Vec::new();
        // Two reports in each of three grids of one community at 03:00: no grid has three.
        for (k, g) in [GRID, GRID2, GRID3, GRID, GRID2, GRID3].iter().enumerate() {
            all.extend(e.observe(&report(id + 1 + k as i64, at + k as i64 * 60_000, g, "H0102")));
        }
        assert!(!all.is_empty());
        assert!(all.iter().all(|s| s.territory == "120101001001"), "{all:?}");
        assert_eq!(all[0].category.as_deref(), Some("H0102"));
    }

    #[test]
    fn no_spike_before_enough_history_nor_when_the_cell_is_usually_busy() {
        let mut e = engine(Params::default());
        for k in 0..5 {
            assert!(e.observe(&report(k, T0 + HOUR + k * 60_000, GRID, "H0101")).is_empty(), "no history yet");
        }
        // A grid that always has five an hour at midday does not spike with five.
        let mut e = engine(Params::default());
        let mut id = 0;
        for d in 0..21 {
            for k in 0..5 {
                id += 1;
                e.observe(&report(id, T0 + d * DAY_MS + 12 * HOUR + k * 60_000, GRID, "H0101"));
            }
        }
        let d = T0 + 21 * DAY_MS + 12 * HOUR;
        for k in 0..5 {
            id += 1;
            assert!(e.observe(&report(id, d + k * 60_000, GRID, "H0101")).is_empty());
        }
    }

    #[test]
    fn the_same_caller_again_and_again_is_a_repeat_that_rises() {
        let mut p = Params::default();
        p.spike.enabled = false;
        let mut e = engine(p);
        let mut levels = Vec::new();
        for k in 0..9 {
            let Observation::Reported(mut r) = report(k, T0 + k * 2 * DAY_MS, GRID, "H0101") else { unreachable!() };
            r.phone = Some(0xabc);
            // A different sub-class of the same matter still counts.
            if k % 2 == 1 {
                r.category = Some("H0102");
            }
            let s = e.observe(&Observation::Reported(r));
            levels.push(s.iter().find(|s| s.rule == Rule::Repeat).map(|s| (s.level, s.observed)));
        }
        assert_eq!(levels[0], None);
        assert_eq!(levels[1], None);
        assert_eq!(levels[2], Some((Level::Blue, 3)));
        assert_eq!(levels[4], Some((Level::Yellow, 5)));
        assert_eq!(levels[8], Some((Level::Red, 9)));
        // Another matter from the same phone starts its own count; old calls fall out.
        let Observation::Reported(mut r) = report(99, T0 + 17 * DAY_MS, GRID, "H0201") else { unreachable!() };
        r.phone = Some(0xabc);
        assert!(e.observe(&Observation::Reported(r)).is_empty());
        let Observation::Reported(mut r) = report(100, T0 + 80 * DAY_MS, GRID, "H0101") else { unreachable!() };
        r.phone = Some(0xabc);
        assert!(e.observe(&Observation::Reported(r)).is_empty(), "30 days later the count starts again");
    }

    #[test]
    fn sensitive_words_flag_at_once_within_their_categories() {
        let mut e = engine(Params::default());
        let r = |case, hits: &'static [u32], category: &'static str| {
            Observation::Reported(Report {
                case_id: case,
                at_ms: T0 + case * 60_000,
                territory: GRID,
                category: Some(category),
                device: false,
                person: None,
                phone: None,
                building: None,
                address: None,
                hits,
            })
        };
        let s = e.observe(&r(1, &[0], "H0101"));
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].rule, s[0].level, s[0].detail.as_str()), (Rule::Sensitive, Level::Red, "跳楼"));
        assert_eq!(s[0].key, format!("life/{GRID}"));
        // 起火 counts only in H02's subtree.
        assert!(e.observe(&r(2, &[2], "H0101")).is_empty());
        assert_eq!(e.observe(&r(3, &[2], "H0201"))[0].level, Level::Red);
        // Gas smell: orange, and one level up from the third in the window.
        assert_eq!(e.observe(&r(4, &[1], "H0101"))[0].level, Level::Orange, "a second safety report in the hour");
        let mut e = engine(Params::default());
        assert_eq!(e.observe(&r(1, &[1], "H0101"))[0].level, Level::Orange);
        assert_eq!(e.observe(&r(2, &[1], "H0101"))[0].level, Level::Orange);
        assert_eq!(e.observe(&r(3, &[1], "H0101"))[0].level, Level::Red);
    }

    #[test]
    fn a_unit_whose_overdue_cases_pile_up_fails_and_a_reopened_case_is_unsolved() {
        let mut e = engine(Params::default());
        // One overdue case every other day for three weeks: its usual level.
        let miss = |case, at| Observation::Missed {
            case_id: case,
            at_ms: at,
            org: 12,
            unit_territory: "120101",
            miss: Miss::Overdue,
        };
        for d in (0..21).step_by(3) {
            assert!(e.observe(&miss(d, T0 + d * DAY_MS + 10 * HOUR)).is_empty());
        }
        let day = T0 + 22 * DAY_MS;
        let fired: Vec<Vec<Signal>> = (0..8).map(|k| e.observe(&miss(100 + k, day + k * HOUR))).collect();
        // Seven in a day against about one in three days: by chance less than once in a million.
        assert!(fired[..6].iter().all(Vec::is_empty), "{fired:?}");
        assert_eq!(fired[6][0].key, "unit:12/overdue", "{fired:?}");
        assert_eq!(fired[6][0].observed, 7);
        assert!(fired[6][0].expected < 0.5 && fired[6][0].p.unwrap() < 1e-6);
        let reopen =
            |times| Observation::Reopened { case_id: 7, at_ms: day, territory: GRID, category: Some("H0101"), times };
        assert!(e.observe(&reopen(1)).is_empty());
        assert_eq!(e.observe(&reopen(2))[0].key, "case:7");
    }

    #[test]
    fn the_baseline_knows_each_weekday_and_holidays() {
        // From Monday 2026-11-02: two weeks of 30 reports on Mondays, 10 on other working days,
        // 5 at weekends.
        let mut p = Profile::new();
        let day0 = crate::calendar::days_from_civil(2026, 11, 2);
        assert_eq!(Calendar::weekday(day0), 0);
        for d in 0..14 {
            let w = Calendar::weekday(day0 + d);
            let n = match w {
                0 => 30,
                5 | 6 => 5,
                _ => 10,
            };
            for i in 0..n {
                p.add(w >= 5, 9 + (i % 8) as usize, day0 + d);
            }
        }
        let mean = (2.0 * (30.0 + 40.0 + 10.0)) / 14.0;
        let monday = p.factor(day0 + 14, false, None);
        let tuesday = p.factor(day0 + 15, false, None);
        let sunday = p.factor(day0 + 20, true, None);
        assert!((monday - 30.0 / mean).abs() < 1e-9, "{monday}");
        assert!((tuesday - 10.0 / mean).abs() < 1e-9, "{tuesday}");
        assert!((sunday - 5.0 / mean).abs() < 1e-9, "{sunday}");
        // A holiday on a weekday has no history of its own yet: it takes the rest days'.
        let holiday = p.factor(day0 + 16, true, None);
        assert!((holiday - 5.0 / mean).abs() < 1e-9, "{holiday}");
        // The hour's share comes from its day type.
        assert!(p.factor(day0 + 15, false, Some(3)) < p.factor(day0 + 15, false, Some(9)));
    }

    #[test]
    fn device_alarms_in_one_community_are_a_storm() {
        let mut e = engine(Params::default());
        let mut fired = Vec::new();
        for k in 0..6 {
            let Observation::Reported(mut r) = report(k, T0 + k * 60_000, [GRID, GRID2][k as usize % 2], "H0101")
            else {
                unreachable!()
            };
            r.device = true;
            fired.push(e.observe(&Observation::Reported(r)));
        }
        assert!(fired[..4].iter().all(|s| s.iter().all(|s| s.rule != Rule::SensorStorm)));
        let s: Vec<&Signal> = fired[4].iter().filter(|s| s.rule == Rule::SensorStorm).collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].territory, "120101001001");
    }

    #[test]
    fn the_tracker_folds_one_warning_per_key_until_it_is_quiet() {
        let mut t = Tracker::default();
        let s = |at, cases: Vec<(i64, i64)>| Signal {
            rule: Rule::Spike,
            key: "k".into(),
            level: Level::Blue,
            territory: GRID.into(),
            category: None,
            case_id: cases.last().unwrap().0,
            at_ms: at,
            observed: 3,
            expected: 0.1,
            window_ms: HOUR,
            p: Some(1e-7),
            rule_version: 0,
            cases,
            detail: String::new(),
        };
        assert!(t.add(&s(10, vec![(1, 1), (2, 5), (3, 10)])));
        assert!(!t.add(&s(20, vec![(2, 5), (3, 10), (4, 20)])));
        assert!(t.add(&s(20 + 2 * DAY_MS, vec![(9, 20 + 2 * DAY_MS)])));
        let w = t.finish();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].cases, vec![1, 2, 3, 4]);
        assert_eq!((w[0].first_case_at_ms, w[0].raised_at_ms), (1, 10));
    }
}
