//! Territory codes (辖区编码) and levels.
//!
//! Codes follow the national scheme: a 6-digit GB/T 2260 division code for the city
//! (`120000`) and its districts (`120101`), +3 digits for a township (街道/乡镇), +3 for a
//! village or community (村/社区), +3 for a grid (网格): 15 digits in all. Because the scheme
//! nests by prefix, "is this object inside that territory" is a string-prefix test and
//! territory filters in SQL are `code LIKE 'prefix%'`.

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The five levels of the territory tree, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 市
    City,
    /// 区
    District,
    /// 街道/乡镇
    Township,
    /// 社区/村
    Village,
    /// 网格
    Grid,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::City, Level::District, Level::Township, Level::Village, Level::Grid];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Township => "township",
            Level::Village => "village",
            Level::Grid => "grid",
        }
    }

    pub fn parse(s: &str) -> Result<Level, Invalid> {
        Level::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| {
            Invalid::new("level", format!("`{s}` is not one of city, district, township, village, grid"))
        })
    }

    /// The level one step up, if any.
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::District => Some(Level::City),
            Level::Township => Some(Level::District),
            Level::Village => Some(Level::Township),
            Level::Grid => Some(Level::Village),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid territory code. The level follows from the code: 6 digits ending in `00` is a
/// city, other 6-digit codes are districts, 9 a township, 12 a village, 15 a grid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TerritoryCode(String);

impl TerritoryCode {
    pub fn parse(s: &str) -> Result<TerritoryCode, Invalid> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new("code", format!("`{s}` must be digits only")));
        }
        if ![6, 9, 12, 15].contains(&s.len()) {
            return Err(Invalid::new(
                "code",
                format!("`{s}` has {} digits; a territory code has 6, 9, 12 or 15", s.len()),
            ));
        }
        if s.starts_with("00") {
            return Err(Invalid::new("code", format!("`{s}` does not start with a province code")));
        }
        if s.len() > 6 && s[s.len() - 3..] == *"000" {
            return Err(Invalid::new("code", format!("`{s}` ends in 000, which no township, village or grid has")));
        }
        if s.len() > 6 && s[4..6] == *"00" {
            return Err(Invalid::new("code", format!("`{s}` is not under a district (digits 5–6 are 00)")));
        }
        Ok(TerritoryCode(s.to_owned()))
    }

    /// Parses the zero-padded 12-digit form used by the statistics bureau's division tables
    /// (`120101000000` is the district `120101`, `120101001000` the township `120101001`).
    pub fn parse_padded(s: &str) -> Result<TerritoryCode, Invalid> {
        let s = s.trim();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            let mut t = s;
            while t.len() > 6 && t.ends_with("000") {
                t = &t[..t.len() - 3];
            }
            return TerritoryCode::parse(t);
        }
        TerritoryCode::parse(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.len() {
            6 if self.0.ends_with("00") => Level::City,
            6 => Level::District,
            9 => Level::Township,
            12 => Level::Village,
            _ => Level::Grid,
        }
    }

    /// The prefix every code inside this territory starts with. For a city the trailing
    /// zero pairs are dropped (`120000` → `12`, `440300` → `4403`).
    pub fn scope_prefix(&self) -> &str {
        if self.level() == Level::City {
            let mut p = self.0.as_str();
            while p.len() > 2 && p.ends_with("00") {
                p = &p[..p.len() - 2];
            }
            p
        } else {
            &self.0
        }
    }

    /// True when `other` is this territory or lies inside it.
    pub fn contains(&self, other: &TerritoryCode) -> bool {
        other.0.starts_with(self.scope_prefix()) && (self.level() != Level::City || other.level() >= Level::City)
    }

    /// The code of the parent implied by the scheme, for every level below district.
    pub fn implied_parent(&self) -> Option<TerritoryCode> {
        match self.level() {
            Level::City | Level::District => None,
            _ => Some(TerritoryCode(self.0[..self.0.len() - 3].to_owned())),
        }
    }

    /// The code of the `seq`-th child (1-based) of a township, village or district.
    pub fn child(&self, seq: u32) -> Result<TerritoryCode, Invalid> {
        if !(1..=999).contains(&seq) {
            return Err(Invalid::new("seq", format!("{seq} is outside 1–999")));
        }
        match self.level() {
            Level::City | Level::Grid => Err(Invalid::new("code", format!("{} has no numbered children", self.0))),
            _ => TerritoryCode::parse(&format!("{}{:03}", self.0, seq)),
        }
    }
}

impl fmt::Display for TerritoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TerritoryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TerritoryCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> TerritoryCode {
        TerritoryCode::parse(s).unwrap()
    }

    #[test]
    fn levels_follow_length() {
        assert_eq!(code("120000").level(), Level::City);
        assert_eq!(code("120101").level(), Level::District);
        assert_eq!(code("120101001").level(), Level::Township);
        assert_eq!(code("120101001001").level(), Level::Village);
        assert_eq!(code("120101001001001").level(), Level::Grid);
    }

    #[test]
    fn malformed_codes_are_refused_with_reason() {
        for bad in ["", "12a101", "1201011", "000000", "120101000", "120101001000", "120000001"] {
            let e = TerritoryCode::parse(bad).unwrap_err();
            assert_eq!(e.field, "code", "{bad}");
        }
    }

    #[test]
    fn containment_is_by_scope_prefix() {
        let city = code("120000");
        let d = code("120101");
        let t = code("120101001");
        let g = code("120101001001002");
        assert!(city.contains(&d) && city.contains(&g) && d.contains(&g) && t.contains(&g));
        assert!(g.contains(&g));
        assert!(!g.contains(&t));
        assert!(!code("120102").contains(&g));
        assert!(!city.contains(&code("110101")));
        assert_eq!(code("440300").scope_prefix(), "4403");
        assert!(code("440300").contains(&code("440303")));
        assert!(!code("440300").contains(&code("440403")));
    }

    #[test]
    fn implied_parent_and_children() {
        assert_eq!(code("120101001001002").implied_parent(), Some(code("120101001001")));
        assert_eq!(code("120101").implied_parent(), None);
        assert_eq!(code("120101001001").child(7).unwrap(), code("120101001001007"));
        assert!(code("120101001001").child(0).is_err());
    }

    #[test]
    fn padded_statistics_codes_normalise() {
        assert_eq!(TerritoryCode::parse_padded("120101000000").unwrap(), code("120101"));
        assert_eq!(TerritoryCode::parse_padded("120101001000").unwrap(), code("120101001"));
        assert_eq!(TerritoryCode::parse_padded("120101001001").unwrap(), code("120101001001"));
        assert_eq!(TerritoryCode::parse_padded("120000000000").unwrap(), code("120000"));
    }
}
