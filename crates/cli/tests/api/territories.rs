//! The territory tree: the full demo city, imports (CSV and GeoJSON, GCJ-02), validation
//! with nothing imported on error, export, locating points, index refresh across servers.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn city_administrator_lists_the_whole_demo_city() {
    let app = spawn_app_with(None).await;
    let admin = app.login("admin").await;
    let counts = app.get(&admin, "/api/territories/counts").await.body;
    assert_eq!(counts, json!({"city": 1, "district": 16, "township": 299, "village": 5617, "grid": 21408}));
    let districts = app.get(&admin, "/api/territories?level=district&limit=1000").await.body;
    let names: Vec<&str> = districts["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 16);
    assert!(names.contains(&"滨海新区") && names.contains(&"和平区"));
    // Paging through all townships by keyset returns each once.
    let mut seen = 0;
    let mut after = String::new();
    loop {
        let page = app.get(&admin, &format!("/api/territories?level=township&limit=100&after={after}")).await.body;
        assert_eq!(page["total"], 299);
        seen += page["items"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 299);
    let villages = app.get(&admin, "/api/territories?level=village&limit=1").await.body;
    assert_eq!(villages["total"], 5617);
    let grids = app.get(&admin, "/api/territories?level=grid&parent=120101001001&limit=1000").await.body;
    let codes: Vec<&str> = grids["items"].as_array().unwrap().iter().map(|g| g["code"].as_str().unwrap()).collect();
    assert!(codes.len() >= 2 && codes.iter().all(|c| c.len() == 15 && c.starts_with("120101001001")));
    // A district leader sees only their district.
    let dl = app.login("district_leader").await;
    let c = app.get(&dl, "/api/territories/counts").await.body;
    assert_eq!(c["district"], 1);
    assert_eq!(c["township"], 6, "和平区 has six streets");
}

/// "location field reason" of each problem in a rejected import.
fn problems(r: &Reply) -> Vec<String> {
    let list = r.body["error"]["details"].as_array().unwrap();
    list.iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["location"].as_str().unwrap(),
                d["field"].as_str().unwrap(),
                d["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_bad_import_names_every_problem_and_imports_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let before = app.get(&admin, "/api/territories/counts").await.body;
    let csv = "code,name,level,parent_code\n\
               120101900000,新街道,township,120101000000\n\
               1201019000x1,坏编码,village,120101900000\n\
               120102001001,错父级,village,120101001000\n\
               120101009001,无父级,village,120101009000\n";
    let r = app.post_text(&admin, "/api/territories/import?format=csv", csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "import_rejected");
    let details = problems(&r);
    assert_eq!(details, vec!["line 3 code `1201019000x1` must be digits only"], "parse errors come first, alone");
    let csv = "code,name,level,parent_code\n\
               120101900000,新街道,township,120101000000\n\
               120102001001,错父级,village,120101001000\n\
               120101009001,无父级,village,120101009000\n";
    let r = app.post_text(&admin, "/api/territories/import?format=csv", csv).await;
    let details = problems(&r);
    assert_eq!(
        details,
        vec![
            "line 3 code 120102001001 is not under its parent 120101001",
            "line 4 parent_code 120101009 is not in the file nor in the tree",
        ]
    );
    assert_eq!(app.get(&admin, "/api/territories/counts").await.body, before, "nothing imported");
    assert_eq!(app.get(&admin, "/api/territories/120101900").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn geometry_problems_are_refused_by_feature() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    // A grid of 花园路社区 drawn far outside it, and one with a self-intersecting ring.
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "120101001001900", "name": "外部网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[117.9, 39.5], [117.91, 39.5], [117.91, 39.51], [117.9, 39.5]]]}},
        {"type": "Feature", "properties": {"code": "120101001001901", "name": "自交网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[117.19, 39.12], [117.2, 39.13], [117.2, 39.12], [117.19, 39.13], [117.19, 39.12]]]}},
        {"type": "Feature", "properties": {"code": "120101001001902", "name": "开口网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[117.19, 39.12], [117.2, 39.13], [117.2, 39.12], [117.19, 39.125]]]}}
    ]});
    let r = app.post_text(&admin, "/api/territories/import?format=geojson", &fc.to_string()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let d = r.body["error"]["details"].as_array().unwrap();
    assert_eq!(d.len(), 2, "parse errors (rings) are reported before tree checks: {d:?}");
    assert_eq!(d[0]["location"], "feature 2");
    assert!(d[0]["reason"].as_str().unwrap().starts_with("is not a valid polygon"));
    assert_eq!(d[1]["location"], "feature 3");
    assert_eq!(d[1]["reason"], "a ring is open: its first and last positions differ");
    let only_outside = json!({"type": "FeatureCollection", "features": [fc["features"][0].clone()]});
    let r = app.post_text(&admin, "/api/territories/import?format=geojson", &only_outside.to_string()).await;
    assert_eq!(r.body["error"]["details"][0]["field"], "geometry");
    assert!(
        r.body["error"]["details"][0]["reason"].as_str().unwrap().starts_with("lies outside its parent 120101001001")
    );
}

#[tokio::test]
async fn a_city_is_bootstrapped_from_the_real_files_on_the_command_line() {
    let db = fresh_db().await;
    let dir = db.dir.clone();
    let divisions =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tianjin/divisions.csv")).unwrap();
    let with_city = divisions.replacen('\n', "\n120000000000,天津市,city,,\n", 1);
    let csv_path = dir.join("divisions.csv");
    std::fs::write(&csv_path, with_city).unwrap();
    let url = db.url.clone();
    let (ok, out, err) =
        wuzhi(&["territory", "import", "--database-url", &url, "--file", csv_path.to_str().unwrap(), "--dry-run"], "");
    assert!(ok, "{err}");
    assert!(out.contains("validated 5933 territories"), "{out}");
    let (ok, out, err) =
        wuzhi(&["territory", "import", "--database-url", &url, "--file", csv_path.to_str().unwrap()], "");
    assert!(ok, "{err}");
    assert!(out.contains("imported 5933"), "{out}");
    let geojson = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tianjin/districts.geojson");
    let (ok, out, err) =
        wuzhi(&["territory", "import", "--database-url", &url, "--file", geojson, "--crs", "gcj02"], "");
    assert!(ok, "{err}");
    assert!(out.contains("imported 16"), "{out}");
    // The first administrator, password from standard input.
    let create_root = [
        "user",
        "create",
        "--database-url",
        &url,
        "--username",
        "root",
        "--name",
        "管理员",
        "--role",
        "admin",
        "--scope",
        "120000",
    ];
    let (ok, _, err) = wuzhi(&create_root, "short\n");
    assert!(!ok && err.contains("password: must be at least 10 characters"), "{err}");
    let (ok, out, err) = wuzhi(&create_root, "correct horse battery staple\n");
    assert!(ok, "{err}");
    assert!(out.contains("account root as admin over 120000"), "{out}");

    let (app, clock) = open_app(&url).await;
    let app = serve(app, clock, db).await;
    let r = app.try_login("root", "correct horse battery staple").await;
    assert_eq!(r.status, StatusCode::OK);
    let s = Session {
        cookie: r.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().into(),
        csrf: r.body["csrf_token"].as_str().unwrap().into(),
        person_id: r.body["person_id"].as_i64().unwrap(),
    };
    assert_eq!(
        app.get(&s, "/api/territories/counts").await.body,
        json!({"city": 1, "district": 16, "township": 299, "village": 5617, "grid": 0})
    );
    // Exported in GCJ-02, the district polygons come back as they went in (to 1e-7°).
    let exported = app.get(&s, "/api/territories/120000/export.geojson?level=district&crs=gcj02").await;
    assert_eq!(exported.headers["content-type"], "application/geo+json");
    let source: Value = serde_json::from_str(&std::fs::read_to_string(geojson).unwrap()).unwrap();
    let first_in = &source["features"][0]["geometry"]["coordinates"][0][0][0];
    let feature =
        exported.body["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == "120101").unwrap();
    let first_out = &feature["geometry"]["coordinates"][0][0][0];
    for k in 0..2 {
        assert!(
            (first_in[k].as_f64().unwrap() - first_out[k].as_f64().unwrap()).abs() < 2e-7,
            "{first_in} vs {first_out}"
        );
    }
    // Stored in WGS84: a few hundred metres from the GCJ-02 source.
    let wgs = app.get(&s, "/api/territories/120101?geometry=true").await.body;
    let x = wgs["geometry"]["coordinates"][0][0][0][0].as_f64().unwrap();
    assert!((x - first_in[0].as_f64().unwrap()).abs() > 1e-3);
}

#[tokio::test]
async fn points_are_located_to_their_grid_in_either_datum() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    // The centre of grid 1 of 花园路社区, from its own polygon.
    let g = app.get(&s, "/api/territories/120101001001001?geometry=true").await.body;
    let ring = g["geometry"]["coordinates"][0][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let cx = ring[..ring.len() - 1].iter().map(|p| p[0].as_f64().unwrap()).sum::<f64>() / n;
    let cy = ring[..ring.len() - 1].iter().map(|p| p[1].as_f64().unwrap()).sum::<f64>() / n;
    let r = app.get(&s, &format!("/api/locate?lon={cx}&lat={cy}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["grid"]["code"], "120101001001001");
    assert_eq!(r.body["grid"]["name"], "花园路社区居委会第1网格");
    let chain: Vec<&str> =
        r.body["ancestors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(chain, vec!["天津市", "和平区", "劝业场街道", "花园路社区居委会"]);
    let (gx, gy) = wuzhi_geo::gcj::wgs84_to_gcj02(cx, cy);
    let r = app.get(&s, &format!("/api/locate?lon={gx}&lat={gy}&crs=gcj02")).await;
    assert_eq!(r.body["grid"]["code"], "120101001001001");
    // Beijing is outside every grid of this city.
    let out = app.get(&s, "/api/locate?lon=116.40&lat=39.90").await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
    assert_eq!(out.body["error"]["code"], "not_found");
    let bad = app.get(&s, "/api/locate?lon=117.2&lat=95").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "lat");
    let bad = app.get(&s, "/api/locate?lon=abc&lat=39").await;
    assert_eq!(bad.body["error"]["field"], "lon", "{}", bad.text);
}

#[tokio::test]
async fn another_server_on_the_same_database_picks_up_territory_changes() {
    let app = spawn_app().await;
    let (other, _clock) = open_app(&app.db.url).await;
    let admin = app.login("admin").await;
    let csv = "code,name,level,parent_code\n120101001001001,花园路社区第一网格（更名）,grid,120101001001\n";
    let r = app.post_text(&admin, "/api/territories/import?format=csv", csv).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["imported"], 1);
    assert!(other.refresh_index_if_stale().await.unwrap(), "the other server sees a new version");
    assert!(!other.refresh_index_if_stale().await.unwrap(), "and then is current");
    // The renamed grid kept its polygon (the CSV carries none): updating a name must not
    // drop a polygon. It is still located, under its new name.
    let g = app.get(&admin, "/api/territories/120101001001001?geometry=true").await.body;
    assert!(g["geometry"].is_object(), "{g}");
    assert_eq!(other.locator().version, app.app.locator().version);
    let ring = g["geometry"]["coordinates"][0][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let cx = ring[..ring.len() - 1].iter().map(|p| p[0].as_f64().unwrap()).sum::<f64>() / n;
    let cy = ring[..ring.len() - 1].iter().map(|p| p[1].as_f64().unwrap()).sum::<f64>() / n;
    assert_eq!(other.locator().locate(cx, cy).unwrap().grid.name, "花园路社区第一网格（更名）");
}
