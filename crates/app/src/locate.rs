//! Point → grid and its ancestors, from the in-memory [`GridIndex`]. The index is rebuilt
//! after a territory import on this server, and by [`App::refresh_index_if_stale`] when
//! another server sharing the database changed the territories.

use crate::{App, AppError, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use wuzhi_geo::territory::geometry_from_stored;
use wuzhi_geo::{Crs, GridIndex, gcj};

pub struct Locator {
    pub version: i64,
    index: GridIndex,
    grids: Vec<(String, String)>,
    /// Where each grid is in `grids`, by code.
    grid_at: HashMap<String, usize>,
    names: HashMap<String, String>,
    /// (scope prefix, city) for naming the top ancestor.
    cities: Vec<(String, Named)>,
    /// (text to look for in an address, territory code), most specific first.
    address_patterns: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Located {
    pub grid: Named,
    /// City, district, township, village: top first.
    pub ancestors: Vec<Named>,
}

impl Locator {
    pub fn empty() -> Locator {
        Locator {
            version: -1,
            index: GridIndex::build(&[]),
            grids: vec![],
            grid_at: HashMap::new(),
            names: HashMap::new(),
            cities: vec![],
            address_patterns: vec![],
        }
    }

    /// `grids` are (code, name, stored geometry); `names` the (code, name) of every
    /// territory above grid level.
    pub fn build(version: i64, grids: Vec<(String, String, String)>, names: Vec<(String, String)>) -> Locator {
        let mut grid_names = Vec::with_capacity(grids.len());
        let mut polys = Vec::with_capacity(grids.len());
        for (code, name, geometry) in grids {
            if let Some(g) = geometry_from_stored(&geometry) {
                polys.push(g);
                grid_names.push((code, name));
            }
        }
        let names: HashMap<String, String> = names.into_iter().collect();
        let cities = names
            .iter()
            .filter_map(|(c, n)| {
                let code = wuzhi_domain::TerritoryCode::parse(c).ok()?;
                (code.level() == wuzhi_domain::Level::City)
                    .then(|| (code.scope_prefix().to_owned(), Named { code: c.clone(), name: n.clone() }))
            })
            .collect();
        let address_patterns = address_patterns(&names);
        let grid_at = grid_names.iter().enumerate().map(|(i, (c, _))| (c.clone(), i)).collect();
        Locator {
            address_patterns,
            version,
            index: GridIndex::build(&polys),
            grids: grid_names,
            grid_at,
            names,
            cities,
        }
    }

    /// The most specific territory (village before township before district) whose name
    /// appears in an address text.
    pub fn match_address(&self, text: &str) -> Option<Named> {
        let (_, code) = self.address_patterns.iter().find(|(p, _)| text.contains(p.as_str()))?;
        Some(Named { code: code.clone(), name: self.names.get(code).cloned().unwrap_or_default() })
    }

    /// A territory and its ancestors, itself first, up to the city.
    pub fn chain(&self, code: &str) -> Vec<String> {
        let mut out = vec![code.to_owned()];
        let mut c = code;
        while c.len() > 6 {
            c = &c[..c.len() - 3];
            out.push(c.to_owned());
        }
        if let Some((_, city)) = self.cities.iter().find(|(p, _)| code.starts_with(p.as_str())) {
            if city.code != code {
                out.push(city.code.clone());
            }
        }
        out
    }

    /// Every grid's code, in the index's order.
    pub fn grid_codes(&self) -> impl Iterator<Item = &str> {
        self.grids.iter().map(|g| g.0.as_str())
    }

    /// Whether the code is one of the city's territories (grids included).
    pub fn knows(&self, code: &str) -> bool {
        self.names.contains_key(code) || self.grid_at.contains_key(code)
    }

    pub fn name_of(&self, code: &str) -> Option<String> {
        self.names.get(code).or_else(|| self.grid_at.get(code).map(|i| &self.grids[*i].1)).cloned()
    }

    pub fn grid_count(&self) -> usize {
        self.grids.len()
    }

    /// Locates a WGS84 point.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Located> {
        let i = self.index.locate(lon, lat)?;
        let (code, name) = &self.grids[i];
        let mut ancestors = Vec::new();
        for len in [6usize, 9, 12] {
            if code.len() > len {
                let c = &code[..len];
                ancestors.push(Named { code: c.to_owned(), name: self.names.get(c).cloned().unwrap_or_default() });
            }
        }
        if let Some((_, city)) = self.cities.iter().find(|(prefix, _)| code.starts_with(prefix.as_str())) {
            ancestors.insert(0, city.clone());
        }
        Some(Located { grid: Named { code: code.clone(), name: name.clone() }, ancestors })
    }
}

impl App {
    pub fn locator(&self) -> Arc<Locator> {
        self.locator.read().expect("locator lock").clone()
    }

    /// Rebuilds the grid index from the database.
    pub async fn reload_index(&self) -> Result<()> {
        let mut conn = self.db.read().await?;
        let version = wuzhi_store::territory::version(&mut conn).await?;
        let grids = wuzhi_store::territory::grids_with_geometry(&mut conn).await?;
        let names = wuzhi_store::territory::names_above_grid(&mut conn).await?;
        drop(conn);
        let built = tokio::task::spawn_blocking(move || Locator::build(version, grids, names))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        *self.locator.write().expect("locator lock") = Arc::new(built);
        Ok(())
    }

    /// Rebuilds the index when the territories changed since it was built (another server
    /// may have imported). Returns whether it rebuilt.
    pub async fn refresh_index_if_stale(&self) -> Result<bool> {
        let mut conn = self.db.read().await?;
        let version = wuzhi_store::territory::version(&mut conn).await?;
        drop(conn);
        if version != self.locator().version {
            self.reload_index().await?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// Parses and checks a point given as longitude/latitude in `crs`; returns WGS84.
pub fn point(lon: f64, lat: f64, crs: Crs) -> Result<(f64, f64)> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(AppError::invalid("lon", "must be a longitude between -180 and 180"));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(AppError::invalid("lat", "must be a latitude between -90 and 90"));
    }
    Ok(match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => gcj::gcj02_to_wgs84(lon, lat),
    })
}

/// Locates a point for anyone signed in: which grid a place is in is public geography.
pub fn locate(app: &App, lon: f64, lat: f64, crs: Crs) -> Result<Located> {
    let (x, y) = point(lon, lat, crs)?;
    app.locator().locate(x, y).ok_or_else(|| AppError::NotFound { what: format!("grid at ({lon}, {lat})") })
}

/// Address patterns for every named territory below the city: the full name and the name
/// without the committee suffix (花园路社区居委会 → 花园路社区), longest codes first.
fn address_patterns(names: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (code, name) in names {
        if code.len() <= 6 && code.ends_with("00") {
            continue;
        }
        out.push((name.clone(), code.clone()));
        for (suffix, keep) in
            [("居委会", ""), ("居民委员会", ""), ("村委会", "村"), ("村民委员会", "村"), ("街道", "街")]
        {
            if let Some(stem) = name.strip_suffix(suffix) {
                let short = if stem.ends_with(keep) { stem.to_owned() } else { format!("{stem}{keep}") };
                if short.chars().count() >= 3 {
                    out.push((short, code.clone()));
                }
            }
        }
    }
    out.sort_by(|a, b| {
        b.1.len().cmp(&a.1.len()).then(b.0.chars().count().cmp(&a.0.chars().count())).then(a.1.cmp(&b.1))
    });
    out
}
