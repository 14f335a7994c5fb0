//! Every endpoint, for a grid worker and a resident: nothing outside the grid worker's grid,
//! nothing but the resident's own records. The table is checked against the OpenAPI
//! document, so an endpoint added without a row here fails the test.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OWN_GRID: &str = "120101001001001";
const OTHER_GRID: &str = "120101001001002";

struct Case {
    method: Method,
    /// The path as the OpenAPI document writes it.
    template: &'static str,
    path: String,
    body: Option<Value>,
    grid_worker: StatusCode,
    resident: StatusCode,
}

fn case(method: Method, template: &'static str, path: String, body: Option<Value>, gw: u16, res: u16) -> Case {
    Case {
        method,
        template,
        path,
        body,
        grid_worker: StatusCode::from_u16(gw).unwrap(),
        resident: StatusCode::from_u16(res).unwrap(),
    }
}

/// Counts of everything a write could change.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "territories",
        "organisations",
        "people",
        "accounts",
        "memberships",
        "api_tokens",
        "cases",
        "case_events",
        "categories",
        "calendar_days",
        "devices",
        "attachments",
        "open311_keys",
        "category_attributes",
        "text_models",
        "text_settings",
        "archive_people",
        "archive_person_tags",
        "archive_changes",
        "archive_components",
        "archive_links",
        "archive_requests",
        "archive_reads",
        "gridwork_members",
        "gridwork_duties",
        "gridwork_plans",
        "gridwork_patrols",
        "gridwork_track_chunks",
        "gridwork_findings",
        "gridwork_visit_rules",
        "gridwork_visits",
        "gridwork_notes",
        "gridwork_tasks",
        "gridwork_shares",
        "gridwork_share_cases",
        "warnings",
        "warning_events",
        "warning_rules",
        "warning_lexicon",
        "volunteers",
        "volunteer_activities",
        "volunteer_signups",
        "party_reports",
        "small_wishes",
        "official_reports",
        "official_commitments",
        "official_raters",
        "official_scores",
        "rating_campaigns",
        "rating_nominations",
        "rating_voters",
        "rating_objections",
    ] {
        let mut conn = app.app.db.read().await.unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap();
        out.push(n);
    }
    out
}

#[tokio::test]
async fn grid_worker_and_resident_are_confined_on_every_endpoint() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let resident2 = app.person_id("resident2").await;
    let community = app.org_id("120101001001", "花园路社区居委会").await;
    let r2_membership =
        app.get(&admin, &format!("/api/people/{resident2}/memberships")).await.body[0]["id"].as_i64().unwrap();
    let admin_token = app.post(&admin, "/api/me/tokens", json!({"name": "admin's"})).await.body["id"].as_i64().unwrap();

    let (x2, y2) = crate::cases::point_in(&app, &admin, OTHER_GRID).await;
    let r2s = app.login("resident2").await;
    let other_case = app
        .post(&r2s, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "网格二的案件", "description": "d", "lon": x2, "lat": y2}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let photo =
        crate::cases::upload(&app, &r2s, other_case, "p.png", "image/png", crate::cases::PNG.to_vec()).await.body["id"]
            .as_i64()
            .unwrap();
    let csv = format!("code,name,level,parent_code\n{OTHER_GRID},改名网格,grid,120101001001\n");
    // The archives of the other grid: a building, a person (claimed by resident2, who asked
    // for its deletion), a component.
    let mut rng = wuzhi_app::archives::demo::Rng::new(5);
    let other_id = wuzhi_app::archives::demo::id_number(&mut rng, "120101", 1970, true);
    let up = |kind: &str, body: String| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/archives/import?kind={kind}");
        async move {
            let r = app.post_text(admin, &path, &body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    };
    up("buildings", format!("ref,grid_code,address,kind\nOB,{OTHER_GRID},二网格1号楼,residential\n")).await;
    up("houses", "ref,building_ref,number,use\nOH,OB,1-101,自住\n".into()).await;
    up(
        "people",
        format!(
            "ref,house_ref,household_ref,name,id_number,phone,residence,tags\nOP,OH,O1,赵二,{other_id},13800000012,registered,living_alone\n"
        ),
    )
    .await;
    up("components", format!("code,name,grid_code\n1201010101009999,上水井盖,{OTHER_GRID}\n")).await;
    let one = |sql: &'static str| {
        let app = &app;
        async move {
            let mut conn = app.app.db.read().await.unwrap();
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *conn).await.unwrap()
        }
    };
    let (o_building, o_person, o_component) = (
        one("SELECT id FROM archive_buildings WHERE ref = 'OB'").await,
        one("SELECT id FROM archive_people WHERE ref = 'OP'").await,
        one("SELECT id FROM archive_components WHERE code = '1201010101009999'").await,
    );
    assert_eq!(app.post(&r2s, "/api/me/archives/claim", json!({"id_number": other_id})).await.status, StatusCode::OK);
    let o_request = app
        .post(
            &r2s,
            "/api/archives/requests",
            json!({"archive_person_id": o_person, "kind": "deletion", "detail": "请删除"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();

    // Grid work of the other grid: its grid worker registered and on duty, a plan, a
    // patrol with a track, a note and a visit; a key task of another street.
    let gw2 = app.person_id("gridworker2").await;
    let (community_s, gw2s, leader) =
        (app.login("community").await, app.login("gridworker2").await, app.login("district_leader").await);
    let street2 =
        app.app.locator().grid_codes().into_iter().map(|g| g[..9].to_owned()).find(|s| s != "120101001").unwrap();
    let ok = |r: Reply| -> Value {
        assert!(r.status.is_success(), "{}", r.text);
        r.body
    };
    let g_member = ok(app
        .post(
            &community_s,
            "/api/gridwork/members",
            json!({"person_id": gw2, "grid_code": OTHER_GRID, "kind": "grid_worker"}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    let now = app.app.now_ms();
    let g_duty = ok(app
        .post(
            &community_s,
            "/api/gridwork/duties",
            json!({"grid_code": OTHER_GRID, "person_id": gw2, "starts_ms": now, "ends_ms": now + 3_600_000}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    ok(app
        .post(&community_s, "/api/gridwork/plans", json!({"grid_code": OTHER_GRID, "name": "巡查", "every_days": 1}))
        .await);
    let g_patrol =
        ok(app.post(&gw2s, "/api/gridwork/patrols", json!({"grid_code": OTHER_GRID})).await)["id"].as_i64().unwrap();
    ok(app
        .post(
            &gw2s,
            &format!("/api/gridwork/patrols/{g_patrol}/track"),
            json!({"seq": 0, "points": [{"at_ms": now, "lat": y2, "lon": x2}]}),
        )
        .await);
    let g_note = ok(app
        .post(&gw2s, "/api/gridwork/notes", json!({"kind": "hazard", "text": "井盖松动", "grid_code": OTHER_GRID}))
        .await)["id"]
        .as_i64()
        .unwrap();
    let o_house = one("SELECT id FROM archive_houses WHERE ref = 'OH'").await;
    let household = format!("{o_house}:O1");
    let g_visit = ok(app
        .post(&gw2s, "/api/gridwork/visits", json!({"household_key": household, "way": "home", "outcome": "well"}))
        .await)["id"]
        .as_i64()
        .unwrap();
    let task = ok(app
        .post(&leader, "/api/gridwork/tasks", json!({"title": "防汛隐患排查", "checklist": ["地下室"], "territory_code": street2, "level": "village", "deadline_ms": now + 86_400_000}))
        .await);
    let (g_task, g_share) = (task["id"].as_i64().unwrap(), {
        let s = ok(app.get(&leader, &format!("/api/gridwork/tasks/{}/shares", task["id"])).await);
        s[0]["id"].as_i64().unwrap()
    });
    let finding =
        json!({"channel": "grid", "kind": "report", "subject": "s", "description": "d", "lon": x2, "lat": y2});
    // A warning in the other grid, raised by the detectors from a report there.
    wuzhi_app::warnings::run_once(&app.app, "p").await.unwrap();
    let danger = ok(app
        .post(&r2s, "/api/cases", json!({"channel": "app", "kind": "report", "subject": "燃气泄漏", "description": "楼道燃气泄漏", "lon": x2, "lat": y2}))
        .await)["id"]
        .as_i64()
        .unwrap();
    wuzhi_app::warnings::run_once(&app.app, "p").await.unwrap();
    let warning = {
        let mut conn = app.app.db.read().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT id FROM warnings").fetch_one(&mut *conn).await.unwrap()
    };
    let lexicon = json!({"phrase": "高空抛物", "class": "safety", "level": "orange"});
    // A volunteer activity of the other grid that approves its volunteers, and resident2's
    // sign-up waiting for the organiser.
    let v_activity = ok(app
        .post(&community_s, "/api/volunteer-activities", json!({"organiser_org_id": community, "territory_code": OTHER_GRID,
            "title": "楼道清理", "place": "二网格1号楼", "starts_at_ms": now + 86_400_000, "ends_at_ms": now + 93_600_000,
            "capacity": 3, "approval": true}))
        .await)["id"]
        .as_i64()
        .unwrap();
    let w_open = ok(app
        .post(
            &community_s,
            "/api/wishes",
            json!({"territory_code": OTHER_GRID, "title": "添置轮椅", "value_yuan": 300,
            "consent": "本人同意"}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    // A report of another street, with a commitment not yet due.
    let o_report = ok(app
        .post(&leader, "/api/official-reports", json!({"territory_code": street2, "title": "向居民汇报", "way": "meeting",
            "held_at_ms": now - 3_600_000, "place": "x", "done": "x", "commitments": [{"text": "x", "due_ms": now + 86_400_000}]}))
        .await);
    let (o_report, o_commitment) =
        (o_report["id"].as_i64().unwrap(), o_report["commitments"][0]["id"].as_i64().unwrap());
    // A rating campaign of another street, taking nominations.
    let r_campaign = ok(app
        .post(
            &leader,
            "/api/rating-campaigns",
            json!({"territory_code": street2, "kind": "person", "honour": "文明个人",
            "title": "x", "criteria": "x", "places": 1, "nominations_close_ms": now + 86_400_000}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    let v_signup =
        ok(app.post(&r2s, &format!("/api/volunteer-activities/{v_activity}/signups"), json!({})).await)["id"]
            .as_i64()
            .unwrap();

    let cases = vec![
        case(Method::GET, "/api/territories/{code}", format!("/api/territories/{OTHER_GRID}"), None, 403, 403),
        case(
            Method::GET,
            "/api/territories/{code}/export.geojson",
            "/api/territories/120101001/export.geojson".into(),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/territories/import",
            "/api/territories/import?format=csv".into(),
            Some(Value::String(csv)),
            403,
            403,
        ),
        case(Method::GET, "/api/territories", "/api/territories".into(), None, 200, 403),
        case(Method::GET, "/api/territories/counts", "/api/territories/counts".into(), None, 200, 200),
        case(Method::GET, "/api/locate", "/api/locate?lon=117.2&lat=39.12".into(), None, 200, 200),
        // Boundaries are public geography, as where a point lies is.
        case(Method::GET, "/api/map/outline/{code}", format!("/api/map/outline/{OTHER_GRID}"), None, 200, 200),
        case(
            Method::GET,
            "/api/territories/{code}/duty",
            format!("/api/territories/{OTHER_GRID}/duty"),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/organisations", "/api/organisations".into(), None, 200, 403),
        case(
            Method::POST,
            "/api/organisations",
            "/api/organisations".into(),
            Some(json!({"name": "越权组织", "kind": "volunteer_team", "territory_code": OTHER_GRID})),
            403,
            403,
        ),
        case(Method::GET, "/api/organisations/{id}", format!("/api/organisations/{community}"), None, 403, 403),
        case(Method::GET, "/api/people", "/api/people".into(), None, 200, 403),
        case(
            Method::POST,
            "/api/people",
            "/api/people".into(),
            Some(json!({"name": "越权居民", "home_territory": OTHER_GRID, "phone": "13900000000"})),
            403,
            403,
        ),
        case(Method::GET, "/api/people/{id}", format!("/api/people/{resident2}?reveal=true"), None, 403, 403),
        case(
            Method::PATCH,
            "/api/people/{id}",
            format!("/api/people/{resident2}"),
            Some(json!({"name": "改名"})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/people/{id}/account",
            format!("/api/people/{resident2}/account"),
            Some(json!({"disabled": true})),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/people/{id}/memberships",
            format!("/api/people/{resident2}/memberships"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/memberships",
            "/api/memberships".into(),
            Some(
                json!({"person_id": resident2, "organisation_id": community, "role": "admin", "scope_code": OTHER_GRID, "post": "x"}),
            ),
            403,
            403,
        ),
        case(Method::DELETE, "/api/memberships/{id}", format!("/api/memberships/{r2_membership}"), None, 403, 403),
        case(Method::GET, "/api/audit", "/api/audit".into(), None, 403, 403),
        case(Method::GET, "/api/audit/verify", "/api/audit/verify".into(), None, 403, 403),
        // Background jobs: the list is the administrators'; a job is its asker's.
        case(Method::GET, "/api/jobs", "/api/jobs".into(), None, 403, 403),
        case(Method::GET, "/api/jobs/{id}", "/api/jobs/1".into(), None, 404, 404),
        case(
            Method::POST,
            "/api/cases",
            "/api/cases".into(),
            Some(
                json!({"channel": "hotline", "kind": "complaint", "subject": "s", "description": "d", "lon": x2, "lat": y2}),
            ),
            403,
            403,
        ),
        case(Method::GET, "/api/cases", "/api/cases".into(), None, 200, 200),
        case(Method::GET, "/api/cases/{id}", format!("/api/cases/{other_case}"), None, 403, 403),
        case(
            Method::POST,
            "/api/cases/{id}/actions",
            format!("/api/cases/{other_case}/actions"),
            Some(json!({"action": "comment", "text": "越权评论"})),
            403,
            403,
        ),
        case(Method::GET, "/api/categories", "/api/categories".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/categories/import",
            "/api/categories/import".into(),
            Some(Value::String("code,name,parent_code\nX1,越权分类,\n".into())),
            403,
            403,
        ),
        case(
            Method::PUT,
            "/api/calendar",
            "/api/calendar".into(),
            Some(Value::String("date,kind,name\n".into())),
            403,
            403,
        ),
        case(Method::GET, "/api/me/notifications", "/api/me/notifications".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/me/notifications/{id}/read",
            "/api/me/notifications/999999/read".into(),
            Some(json!({})),
            404,
            404,
        ),
        case(Method::GET, "/api/kpi", "/api/kpi?territory=120101001001002".into(), None, 403, 403),
        case(Method::GET, "/api/kpi/ranking", "/api/kpi/ranking?by=grid&territory=120101001".into(), None, 403, 403),
        case(Method::GET, "/api/devices", "/api/devices".into(), None, 403, 403),
        case(
            Method::POST,
            "/api/devices",
            "/api/devices".into(),
            Some(json!({"name": "越权设备", "territory_code": OWN_GRID})),
            403,
            403,
        ),
        case(Method::DELETE, "/api/devices/{id}", "/api/devices/1".into(), None, 404, 404),
        case(Method::POST, "/api/devices/{id}/events", "/api/devices/1/events".into(), Some(json!({})), 401, 401),
        case(
            Method::GET,
            "/api/cases/{id}/attachments",
            format!("/api/cases/{other_case}/attachments"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/cases/{id}/attachments",
            format!("/api/cases/{other_case}/attachments?name=x.pdf"),
            Some(Value::String("%PDF-1.4 x".into())),
            403,
            403,
        ),
        case(Method::GET, "/api/attachments/{id}", format!("/api/attachments/{photo}"), None, 403, 403),
        case(Method::GET, "/api/cases/export", "/api/cases/export?format=csv".into(), None, 200, 200),
        // Everyone exports what they may read, in the background; a job's file is its asker's
        // only (and none exists before the job is done).
        case(Method::POST, "/api/cases/exports", "/api/cases/exports".into(), Some(json!({"format": "csv"})), 202, 202),
        case(Method::GET, "/api/jobs/{id}/file", "/api/jobs/1/file".into(), None, 404, 404),
        case(
            Method::POST,
            "/api/cases/import",
            "/api/cases/import".into(),
            Some(Value::String(
                "external_id,subject,created_at,address\nx1,越权导入,2026-11-20 09:00,花园路社区\n".into(),
            )),
            403,
            403,
        ),
        case(Method::GET, "/api/webhooks", "/api/webhooks".into(), None, 403, 403),
        case(
            Method::POST,
            "/api/webhooks",
            "/api/webhooks".into(),
            Some(json!({"url": "http://127.0.0.1:9/x", "topics": "*"})),
            403,
            403,
        ),
        case(Method::DELETE, "/api/webhooks/{id}", "/api/webhooks/1".into(), None, 403, 403),
        case(Method::GET, "/api/webhooks/{id}/deliveries", "/api/webhooks/1/deliveries".into(), None, 403, 403),
        case(Method::GET, "/api/kpi/open-per-grid", "/api/kpi/open-per-grid".into(), None, 200, 403),
        case(Method::GET, "/api/open311/keys", "/api/open311/keys".into(), None, 403, 403),
        case(
            Method::POST,
            "/api/open311/keys",
            "/api/open311/keys".into(),
            Some(json!({"name": "越权密钥"})),
            403,
            403,
        ),
        case(Method::DELETE, "/api/open311/keys/{id}", "/api/open311/keys/1".into(), None, 403, 403),
        case(
            Method::POST,
            "/api/categories/attributes",
            "/api/categories/attributes".into(),
            Some(Value::String("category_code,code,datatype,description\nE0507,x,string,越权\n".into())),
            403,
            403,
        ),
        // Text intelligence: search and hot topics only over what each may read; model
        // administration for city administrators; suggestions, duplicate checks and
        // supports for anyone signed in (they show only public facts of other cases).
        case(Method::GET, "/api/search", "/api/search?q=网格二".into(), None, 200, 200),
        case(Method::POST, "/api/search/rebuild", "/api/search/rebuild".into(), None, 403, 403),
        case(Method::POST, "/api/classify", "/api/classify".into(), Some(json!({"subject": "路灯不亮"})), 200, 200),
        case(Method::GET, "/api/classifier/models", "/api/classifier/models".into(), None, 403, 403),
        case(Method::POST, "/api/classifier/models", "/api/classifier/models".into(), None, 403, 403),
        case(
            Method::POST,
            "/api/classifier/models/{id}/activate",
            "/api/classifier/models/1/activate".into(),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/classifier/settings", "/api/classifier/settings".into(), None, 200, 200),
        case(
            Method::PUT,
            "/api/classifier/settings",
            "/api/classifier/settings".into(),
            Some(json!({"auto_dispatch_threshold": 0.5})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/cases/similar",
            "/api/cases/similar".into(),
            Some(json!({"subject": "网格二的案件", "territory": OTHER_GRID})),
            200,
            200,
        ),
        case(Method::GET, "/api/cases/{id}/similar", format!("/api/cases/{other_case}/similar"), None, 403, 403),
        case(Method::GET, "/api/hot-topics", format!("/api/hot-topics?territory={OTHER_GRID}"), None, 403, 403),
        // Supporting is what anyone may do for a case they heard of (it is not in the
        // snapshot: supports are counted apart from the case).
        case(Method::POST, "/api/cases/{id}/support", format!("/api/cases/{other_case}/support"), None, 200, 200),
        // Session endpoints act on the caller only.
        case(Method::GET, "/api/me", "/api/me".into(), None, 200, 200),
        case(Method::GET, "/api/me/tokens", "/api/me/tokens".into(), None, 200, 200),
        case(Method::POST, "/api/me/tokens", "/api/me/tokens".into(), Some(json!({"name": "mine"})), 201, 201),
        case(Method::DELETE, "/api/me/tokens/{id}", format!("/api/me/tokens/{admin_token}"), None, 404, 404),
        case(
            Method::POST,
            "/api/me/password",
            "/api/me/password".into(),
            Some(json!({"current_password": "not my password", "new_password": "whatever long enough"})),
            400,
            400,
        ),
        case(
            Method::POST,
            "/api/session",
            "/api/session".into(),
            Some(json!({"username": "admin", "password": "guess guess"})),
            401,
            401,
        ),
        case(
            Method::POST,
            "/api/session/second-factor",
            "/api/session/second-factor".into(),
            Some(json!({"challenge": "not a challenge", "code": "123456"})),
            401,
            401,
        ),
        // One's own second factor: neither has one, nor must.
        case(Method::GET, "/api/me/second-factor", "/api/me/second-factor".into(), None, 200, 200),
        case(Method::POST, "/api/me/second-factor", "/api/me/second-factor".into(), None, 201, 201),
        case(
            Method::POST,
            "/api/me/second-factor/confirm",
            "/api/me/second-factor/confirm".into(),
            Some(json!({"challenge": "not a challenge", "code": "123456"})),
            400,
            400,
        ),
        case(
            Method::DELETE,
            "/api/me/second-factor",
            "/api/me/second-factor".into(),
            Some(json!({"code": "123456"})),
            404,
            404,
        ),
        // The archives: nothing of the other grid, in clear or masked; the resident reads
        // only their own record and the public classification table.
        case(
            Method::POST,
            "/api/archives/import",
            "/api/archives/import?kind=people".into(),
            Some(json!(format!("ref,grid_code,name,residence,sex\nZZ,{OTHER_GRID},钱三,registered,男\n"))),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/archives/people/{id}",
            format!("/api/archives/people/{o_person}?purpose_kind=reason&purpose=%E6%A0%B8%E5%AE%9E%E4%BF%A1%E6%81%AF"),
            None,
            403,
            403,
        ),
        case(
            Method::PATCH,
            "/api/archives/people/{id}",
            format!("/api/archives/people/{o_person}"),
            Some(json!({"version": 1, "residence": "floating"})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/archives/lookup",
            "/api/archives/lookup".into(),
            Some(json!({"id_number": other_id})),
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/archives/grids/{code}/households",
            format!("/api/archives/grids/{OTHER_GRID}/households"),
            None,
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/archives/grids/{code}/export",
            format!("/api/archives/grids/{OTHER_GRID}/export"),
            None,
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/archives/buildings/{id}",
            format!("/api/archives/buildings/{o_building}"),
            None,
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/archives/components/{id}",
            format!("/api/archives/components/{o_component}"),
            None,
            403,
            403,
        ),
        case(
            Method::PATCH,
            "/api/archives/components/{id}",
            format!("/api/archives/components/{o_component}"),
            Some(json!({"version": 1, "state": "damaged"})),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/archives/history/{record}/{id}",
            format!("/api/archives/history/person/{o_person}"),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/archives/search", "/api/archives/search?q=%E8%B5%B5".into(), None, 200, 403),
        case(Method::GET, "/api/archives/layers/{layer}", "/api/archives/layers/buildings".into(), None, 200, 403),
        case(
            Method::POST,
            "/api/archives/cases/{id}/links",
            format!("/api/archives/cases/{other_case}/links"),
            Some(json!({"record": "building", "record_id": o_building})),
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/archives/cases/{id}/links",
            format!("/api/archives/cases/{other_case}/links"),
            None,
            404,
            404,
        ),
        case(Method::GET, "/api/archives/fields", "/api/archives/fields".into(), None, 200, 200),
        case(Method::GET, "/api/me/archives", "/api/me/archives".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/me/archives/claim",
            "/api/me/archives/claim".into(),
            Some(json!({"id_number": other_id})),
            400,
            400,
        ),
        case(
            Method::POST,
            "/api/archives/requests",
            "/api/archives/requests".into(),
            Some(json!({"archive_person_id": o_person, "kind": "deletion", "detail": "删"})),
            404,
            404,
        ),
        case(Method::GET, "/api/archives/requests", "/api/archives/requests".into(), None, 200, 200),
        case(Method::GET, "/api/archives/requests/{id}", format!("/api/archives/requests/{o_request}"), None, 404, 404),
        case(
            Method::POST,
            "/api/archives/requests/{id}/{action}",
            format!("/api/archives/requests/{o_request}/answer"),
            Some(json!({"version": 1, "text": "x"})),
            404,
            404,
        ),
        // Grid work: nothing of the other grid, of another community's task share, or of
        // anyone else's patrol, track, note or visit; one's own week and lists are one's own.
        case(
            Method::POST,
            "/api/gridwork/members",
            "/api/gridwork/members".into(),
            Some(json!({"person_id": gw2, "grid_code": OTHER_GRID, "kind": "volunteer"})),
            403,
            403,
        ),
        case(Method::DELETE, "/api/gridwork/members/{id}", format!("/api/gridwork/members/{g_member}"), None, 403, 403),
        case(Method::GET, "/api/gridwork/roster/{code}", format!("/api/gridwork/roster/{OTHER_GRID}"), None, 403, 403),
        case(
            Method::POST,
            "/api/gridwork/duties",
            "/api/gridwork/duties".into(),
            Some(json!({"grid_code": OTHER_GRID, "person_id": gw2, "starts_ms": now, "ends_ms": now + 60_000})),
            403,
            403,
        ),
        case(Method::DELETE, "/api/gridwork/duties/{id}", format!("/api/gridwork/duties/{g_duty}"), None, 403, 403),
        case(Method::GET, "/api/gridwork/me/week", "/api/gridwork/me/week".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/gridwork/plans",
            "/api/gridwork/plans".into(),
            Some(json!({"grid_code": OTHER_GRID, "name": "x", "every_days": 1})),
            403,
            403,
        ),
        case(Method::GET, "/api/gridwork/plans/{code}", format!("/api/gridwork/plans/{OTHER_GRID}"), None, 403, 403),
        case(
            Method::POST,
            "/api/gridwork/patrols",
            "/api/gridwork/patrols".into(),
            Some(json!({"grid_code": OTHER_GRID})),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/gridwork/patrols",
            format!("/api/gridwork/patrols?territory={OTHER_GRID}"),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/gridwork/patrols/running", "/api/gridwork/patrols/running".into(), None, 200, 200),
        case(Method::GET, "/api/gridwork/patrols/{id}", format!("/api/gridwork/patrols/{g_patrol}"), None, 404, 404),
        case(
            Method::POST,
            "/api/gridwork/patrols/{id}/track",
            format!("/api/gridwork/patrols/{g_patrol}/track"),
            Some(json!({"seq": 1, "points": [{"at_ms": now, "lat": y2, "lon": x2}]})),
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/gridwork/patrols/{id}/track",
            format!("/api/gridwork/patrols/{g_patrol}/track"),
            None,
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/gridwork/patrols/{id}/end",
            format!("/api/gridwork/patrols/{g_patrol}/end"),
            Some(json!({})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/gridwork/patrols/{id}/findings",
            format!("/api/gridwork/patrols/{g_patrol}/findings"),
            Some(finding.clone()),
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/gridwork/coverage",
            format!("/api/gridwork/coverage?territory={OTHER_GRID}"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/gridwork/notes",
            "/api/gridwork/notes".into(),
            Some(json!({"kind": "worry", "text": "x", "grid_code": OTHER_GRID})),
            403,
            403,
        ),
        case(Method::GET, "/api/gridwork/notes", format!("/api/gridwork/notes?territory={OTHER_GRID}"), None, 403, 403),
        case(
            Method::POST,
            "/api/gridwork/notes/{id}/review",
            format!("/api/gridwork/notes/{g_note}/review"),
            Some(json!({"action": "case"})),
            404,
            404,
        ),
        case(Method::GET, "/api/gridwork/rules/{code}", format!("/api/gridwork/rules/{OTHER_GRID}"), None, 403, 403),
        case(
            Method::PUT,
            "/api/gridwork/rules/{code}",
            format!("/api/gridwork/rules/{OTHER_GRID}"),
            Some(json!([{"tag": null, "every_days": 30}])),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/gridwork/visit-plan",
            format!("/api/gridwork/visit-plan?territory={OTHER_GRID}"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/gridwork/visits",
            "/api/gridwork/visits".into(),
            Some(json!({"household_key": household, "way": "home", "outcome": "well"})),
            404,
            404,
        ),
        case(Method::GET, "/api/gridwork/visits/{id}", format!("/api/gridwork/visits/{g_visit}"), None, 404, 404),
        case(
            Method::POST,
            "/api/gridwork/visits/{id}/photo",
            format!("/api/gridwork/visits/{g_visit}/photo?consent=true"),
            None,
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/gridwork/visits/{id}/photo",
            format!("/api/gridwork/visits/{g_visit}/photo"),
            None,
            404,
            404,
        ),
        // Filtered: the household's visits the caller may read (none).
        case(
            Method::GET,
            "/api/gridwork/households/{key}/visits",
            format!("/api/gridwork/households/{household}/visits"),
            None,
            200,
            200,
        ),
        case(
            Method::POST,
            "/api/gridwork/tasks",
            "/api/gridwork/tasks".into(),
            Some(
                json!({"title": "t", "checklist": ["a"], "territory_code": OWN_GRID, "level": "grid", "deadline_ms": now + 86_400_000}),
            ),
            403,
            403,
        ),
        case(Method::GET, "/api/gridwork/tasks", "/api/gridwork/tasks".into(), None, 200, 200),
        case(Method::GET, "/api/gridwork/tasks/{id}", format!("/api/gridwork/tasks/{g_task}"), None, 404, 404),
        case(
            Method::GET,
            "/api/gridwork/tasks/{id}/rollup",
            format!("/api/gridwork/tasks/{g_task}/rollup"),
            None,
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/gridwork/tasks/{id}/shares",
            format!("/api/gridwork/tasks/{g_task}/shares"),
            None,
            404,
            404,
        ),
        case(Method::GET, "/api/gridwork/shares/mine", "/api/gridwork/shares/mine".into(), None, 200, 200),
        case(Method::GET, "/api/gridwork/shares/{id}", format!("/api/gridwork/shares/{g_share}"), None, 404, 404),
        case(
            Method::POST,
            "/api/gridwork/shares/{id}/actions",
            format!("/api/gridwork/shares/{g_share}/actions"),
            Some(json!({"version": 1, "action": "complete"})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/gridwork/shares/{id}/cases",
            format!("/api/gridwork/shares/{g_share}/cases?item=0"),
            Some(finding.clone()),
            404,
            404,
        ),
        case(
            Method::GET,
            "/api/gridwork/indicators",
            format!("/api/gridwork/indicators?territory={OTHER_GRID}"),
            None,
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/gridwork/indicators/breakdown",
            format!("/api/gridwork/indicators/breakdown?territory={OTHER_GRID}"),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/warnings", "/api/warnings".into(), None, 200, 403),
        case(Method::GET, "/api/warnings/{id}", format!("/api/warnings/{warning}"), None, 404, 404),
        case(
            Method::POST,
            "/api/warnings/{id}/actions",
            format!("/api/warnings/{warning}/actions"),
            Some(json!({"version": 1, "action": "acknowledge"})),
            404,
            404,
        ),
        case(Method::GET, "/api/warnings/{id}/units", format!("/api/warnings/{warning}/units"), None, 404, 404),
        case(Method::GET, "/api/cases/{id}/warnings", format!("/api/cases/{danger}/warnings"), None, 403, 403),
        case(Method::GET, "/api/warnings/layer", "/api/warnings/layer?under=120101".into(), None, 403, 403),
        case(Method::GET, "/api/warnings/digest", "/api/warnings/digest".into(), None, 200, 403),
        case(Method::GET, "/api/warnings/rules", "/api/warnings/rules".into(), None, 403, 403),
        case(
            Method::PUT,
            "/api/warnings/rules/{territory}",
            "/api/warnings/rules/120101".into(),
            Some(serde_json::to_value(wuzhi_domain::warnings::rules::Params::default()).unwrap()),
            403,
            403,
        ),
        case(Method::DELETE, "/api/warnings/rules/{territory}", "/api/warnings/rules/120101".into(), None, 403, 403),
        case(Method::GET, "/api/warnings/lexicon", "/api/warnings/lexicon".into(), None, 403, 403),
        case(Method::PUT, "/api/warnings/lexicon", "/api/warnings/lexicon".into(), Some(lexicon), 403, 403),
        // The points ledger: one's own account; nothing of another grid's, and no keeping of
        // points without the community's post.
        case(Method::GET, "/api/points/me", "/api/points/me".into(), None, 200, 200),
        case(Method::GET, "/api/points/accounts/{id}", "/api/points/accounts/1".into(), None, 404, 404),
        case(
            Method::GET,
            "/api/points/accounts/{id}/statement",
            "/api/points/accounts/1/statement".into(),
            None,
            404,
            404,
        ),
        case(Method::GET, "/api/points/rules", format!("/api/points/rules?territory={OTHER_GRID}"), None, 403, 403),
        case(
            Method::POST,
            "/api/points/rules",
            "/api/points/rules".into(),
            Some(json!({"territory_code": OTHER_GRID, "code": "x", "name": "x", "points": 1})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/points/awards",
            "/api/points/awards".into(),
            Some(json!({"person_id": resident2, "rule_id": 1, "reason": "x"})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/points/awards/batch",
            "/api/points/awards/batch".into(),
            Some(json!({"rule_id": 1, "reason": "x", "awards": [{"person_id": resident2, "source": "x"}]})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/points/deductions",
            "/api/points/deductions".into(),
            Some(json!({"person_id": resident2, "points": 1, "decision": "x", "reason": "x"})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/points/transfers/{id}/objection",
            "/api/points/transfers/1/objection".into(),
            Some(json!({"objection": "x"})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/points/transfers/{id}/settlement",
            "/api/points/transfers/1/settlement".into(),
            Some(json!({"post": true})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/points/transfers/{id}/reversal",
            "/api/points/transfers/1/reversal".into(),
            Some(json!({"reason": "x"})),
            404,
            404,
        ),
        case(Method::GET, "/api/points/items", format!("/api/points/items?territory={OTHER_GRID}"), None, 403, 403),
        case(
            Method::POST,
            "/api/points/items",
            "/api/points/items".into(),
            Some(json!({"territory_code": OTHER_GRID, "name": "x", "price": 1, "stock": 1})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/points/items/{id}/redemptions",
            "/api/points/items/1/redemptions".into(),
            Some(json!({"key": "x"})),
            404,
            404,
        ),
        // Volunteer service: recruitment is public to the signed-in, but deciding sign-ups,
        // confirming attendance and closing are the organisers'; another's record is not
        // found; a certificate that does not match is not found.
        case(Method::GET, "/api/volunteers/me", "/api/volunteers/me".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/volunteers/me",
            "/api/volunteers/me".into(),
            Some(json!({"skills": "长".repeat(21)})),
            400,
            400,
        ),
        case(Method::GET, "/api/volunteers/{person_id}", format!("/api/volunteers/{resident2}"), None, 404, 404),
        case(Method::GET, "/api/volunteer-activities", "/api/volunteer-activities".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/volunteer-activities",
            "/api/volunteer-activities".into(),
            Some(
                json!({"organiser_org_id": community, "title": "越权活动", "place": "x", "starts_at_ms": now + 86_400_000,
                "ends_at_ms": now + 90_000_000, "capacity": 5}),
            ),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/volunteer-activities/{id}",
            format!("/api/volunteer-activities/{v_activity}"),
            None,
            200,
            200,
        ),
        case(
            Method::POST,
            "/api/volunteer-activities/{id}/signups",
            "/api/volunteer-activities/999999/signups".into(),
            Some(json!({})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/volunteer-activities/{id}/withdrawal",
            format!("/api/volunteer-activities/{v_activity}/withdrawal"),
            None,
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/volunteer-signups/{id}/decision",
            format!("/api/volunteer-signups/{v_signup}/decision"),
            Some(json!({"accept": true})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/volunteer-activities/{id}/attendance",
            format!("/api/volunteer-activities/{v_activity}/attendance"),
            Some(json!({"served": [{"signup_id": v_signup, "minutes": 30}]})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/volunteer-activities/{id}/closing",
            format!("/api/volunteer-activities/{v_activity}/closing"),
            Some(json!({"completed": false, "reason": "越权取消"})),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/volunteer-certificates/{number}",
            "/api/volunteer-certificates/ZY-1-1-000000000000".into(),
            None,
            404,
            404,
        ),
        // 双报到: one's own registration (neither is a party member); a community's list is
        // its organisers'.
        case(Method::GET, "/api/party-reports/me", "/api/party-reports/me".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/party-reports/me",
            "/api/party-reports/me".into(),
            Some(json!({"posts": ["policy"]})),
            400,
            400,
        ),
        case(Method::DELETE, "/api/party-reports/me", "/api/party-reports/me".into(), None, 404, 404),
        case(Method::GET, "/api/party-reports", "/api/party-reports?community=120101001001".into(), None, 403, 403),
        // Small wishes: read by all; posting, confirming for the resident and withdrawing are
        // the community's; a claim is one's own (none to let go or fulfil).
        case(Method::GET, "/api/wishes", "/api/wishes".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/wishes",
            "/api/wishes".into(),
            Some(json!({"territory_code": OTHER_GRID, "title": "x", "value_yuan": 1, "consent": "x"})),
            403,
            403,
        ),
        case(Method::GET, "/api/wishes/{id}", format!("/api/wishes/{w_open}"), None, 200, 200),
        case(Method::POST, "/api/wishes/{id}/claim", "/api/wishes/999999/claim".into(), Some(json!({})), 404, 404),
        case(Method::POST, "/api/wishes/{id}/release", format!("/api/wishes/{w_open}/release"), None, 404, 404),
        case(
            Method::POST,
            "/api/wishes/{id}/fulfilment",
            format!("/api/wishes/{w_open}/fulfilment"),
            Some(json!({"evidence": "x"})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/wishes/{id}/confirmation",
            format!("/api/wishes/{w_open}/confirmation"),
            Some(json!({})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/wishes/{id}/withdrawal",
            format!("/api/wishes/{w_open}/withdrawal"),
            Some(json!({"reason": "x"})),
            403,
            403,
        ),
        // Officials' reports: read by all; rated only by the residents of their territory (the
        // grid worker and the resident live in another street); kept by who reports there.
        case(Method::GET, "/api/official-reports", "/api/official-reports".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/official-reports",
            "/api/official-reports".into(),
            Some(
                json!({"territory_code": street2, "title": "x", "way": "meeting", "held_at_ms": now, "place": "x", "done": "x"}),
            ),
            403,
            403,
        ),
        case(
            Method::GET,
            "/api/official-reports/satisfaction",
            format!("/api/official-reports/satisfaction?territory={street2}"),
            None,
            403,
            403,
        ),
        case(Method::GET, "/api/official-reports/{id}", format!("/api/official-reports/{o_report}"), None, 200, 200),
        case(
            Method::POST,
            "/api/official-reports/{id}/rating",
            format!("/api/official-reports/{o_report}/rating"),
            Some(json!({"score": 5})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/official-commitments/{id}/rating",
            format!("/api/official-commitments/{o_commitment}/rating"),
            Some(json!({"score": 5})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/official-commitments/{id}/progress",
            format!("/api/official-commitments/{o_commitment}/progress"),
            Some(json!({"progress": 50})),
            403,
            403,
        ),
        // Rating campaigns: read by all; nominations, votes and objections are for the
        // residents of the territory (neither lives in that street); its stages are its
        // committee's; the honours board and one's household's points are everyone's own.
        case(Method::GET, "/api/rating-campaigns", "/api/rating-campaigns".into(), None, 200, 200),
        case(
            Method::POST,
            "/api/rating-campaigns",
            "/api/rating-campaigns".into(),
            Some(json!({"territory_code": street2, "kind": "person", "honour": "x", "title": "x", "criteria": "x",
                "places": 1, "nominations_close_ms": now + 86_400_000})),
            403,
            403,
        ),
        case(Method::GET, "/api/rating-campaigns/{id}", format!("/api/rating-campaigns/{r_campaign}"), None, 200, 200),
        case(
            Method::POST,
            "/api/rating-campaigns/{id}/nominations",
            format!("/api/rating-campaigns/{r_campaign}/nominations"),
            Some(json!({"by": "self", "deeds": "x"})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/rating-campaigns/{id}/voting",
            format!("/api/rating-campaigns/{r_campaign}/voting"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/rating-campaigns/{id}/votes",
            format!("/api/rating-campaigns/{r_campaign}/votes"),
            Some(json!({"nomination_id": 1})),
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/rating-campaigns/{id}/publicity",
            format!("/api/rating-campaigns/{r_campaign}/publicity"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/rating-campaigns/{id}/award",
            format!("/api/rating-campaigns/{r_campaign}/award"),
            None,
            403,
            403,
        ),
        case(
            Method::POST,
            "/api/rating-nominations/{id}/consent",
            "/api/rating-nominations/999999/consent".into(),
            Some(json!({"agree": true})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/rating-nominations/{id}/review",
            "/api/rating-nominations/999999/review".into(),
            Some(json!({"accept": true})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/rating-nominations/{id}/objections",
            "/api/rating-nominations/999999/objections".into(),
            Some(json!({"reason": "x"})),
            404,
            404,
        ),
        case(
            Method::POST,
            "/api/rating-objections/{id}/answer",
            "/api/rating-objections/999999/answer".into(),
            Some(json!({"upheld": false, "answer": "x"})),
            404,
            404,
        ),
        case(Method::GET, "/api/honours", "/api/honours".into(), None, 200, 200),
        case(Method::GET, "/api/points/me/household", "/api/points/me/household".into(), None, 200, 200),
        case(Method::DELETE, "/api/session", "/api/session".into(), None, 204, 204),
    ];

    // Every documented operation has a row.
    let doc =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json::<Value>().await.unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            assert!(cases.iter().any(|c| c.template == path && c.method == m), "no permission row for {method} {path}");
        }
    }

    let before = snapshot(&app).await;
    for (username, pick) in [("gridworker", 0), ("resident", 1)] {
        for c in &cases {
            // Signing out ends the session, so each row gets a fresh one.
            let s = app.login(username).await;
            let r = match (&c.body, c.template) {
                (Some(Value::String(text)), _) => app.send_text(&s, c.method.clone(), &c.path, text).await,
                _ => app.call(Some(&s), c.method.clone(), &c.path, c.body.clone()).await,
            };
            let want = if pick == 0 { c.grid_worker } else { c.resident };
            assert_eq!(r.status, want, "{username} {} {}: {}", c.method, c.path, r.text);
            if want == StatusCode::FORBIDDEN {
                assert_eq!(r.body["error"]["code"], "forbidden", "{}", r.text);
            }
        }
    }
    let after = snapshot(&app).await;
    // Only the two "mine" tokens were added; nothing else changed.
    let mut expected = before.clone();
    expected[5] += 2;
    assert_eq!(after, expected);
}

#[tokio::test]
async fn lists_show_a_grid_worker_only_their_grid() {
    let app = spawn_app().await;
    let gw = app.login("gridworker").await;
    let t = app.get(&gw, "/api/territories?limit=1000").await;
    assert_eq!(t.body["total"], 1);
    assert_eq!(t.body["items"][0]["code"], OWN_GRID);
    let counts = app.get(&gw, "/api/territories/counts").await.body;
    assert_eq!(counts, json!({"city": 0, "district": 0, "township": 0, "village": 0, "grid": 1}));
    let own = app.get(&gw, &format!("/api/territories/{OWN_GRID}?geometry=true")).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["geometry"]["type"], "MultiPolygon");
    let export = app.get(&gw, &format!("/api/territories/{OWN_GRID}/export.geojson")).await;
    assert_eq!(export.body["features"].as_array().unwrap().len(), 1);
    let people = app.get(&gw, "/api/people?limit=1000").await.body;
    let homes: Vec<&str> = people.as_array().unwrap().iter().map(|p| p["home_territory"].as_str().unwrap()).collect();
    assert_eq!(homes.len(), 3, "grid worker, steward and resident live or work in grid 1: {people}");
    assert!(homes.iter().all(|h| *h == OWN_GRID));
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["revealed"] == false && p["phone"].as_str().unwrap().contains("****"))
    );
    assert_eq!(app.get(&gw, "/api/organisations").await.body, json!([]));
}

#[tokio::test]
async fn resident_sees_only_their_own_record() {
    let app = spawn_app().await;
    let r = app.login("resident").await;
    let me = app.get(&r, &format!("/api/people/{}?reveal=true", r.person_id)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["phone"], "13800000011");
    assert_eq!(app.get(&r, &format!("/api/people/{}/memberships", r.person_id)).await.status, StatusCode::OK);
    let gw = app.person_id("gridworker").await;
    assert_eq!(app.get(&r, &format!("/api/people/{gw}")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&r, "/api/territories/counts").await.body,
        json!({"city": 0, "district": 0, "township": 0, "village": 0, "grid": 0})
    );
}

#[tokio::test]
async fn personal_data_is_masked_unless_revealed_and_every_reveal_is_audited() {
    let app = spawn_app().await;
    let resident = app.person_id("resident").await;
    let gw = app.login("gridworker").await;
    let masked = app.get(&gw, &format!("/api/people/{resident}")).await;
    assert_eq!(masked.body["phone"], "138****0011");
    assert_eq!(masked.body["revealed"], false);
    let full = app.get(&gw, &format!("/api/people/{resident}?reveal=true")).await;
    assert_eq!(full.body["phone"], "13800000011");
    // A steward serves the grid but has no need for phone numbers.
    let steward = app.login("steward").await;
    assert_eq!(app.get(&steward, &format!("/api/people/{resident}?reveal=true")).await.status, StatusCode::FORBIDDEN);
    // A street commander may read people (masked) but not reveal.
    let cmd = app.login("commander").await;
    assert_eq!(app.get(&cmd, &format!("/api/people/{resident}")).await.body["phone"], "138****0011");
    assert_eq!(app.get(&cmd, &format!("/api/people/{resident}?reveal=true")).await.status, StatusCode::FORBIDDEN);

    let log = app.get(&app.login("auditor").await, "/api/audit?limit=1000").await.body;
    let reveals: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "read_personal_data" && e["object_id"] == resident.to_string())
        .collect();
    assert_eq!(reveals.len(), 1, "exactly the one reveal: {reveals:?}");
    assert_eq!(reveals[0]["actor_id"], gw.person_id);
}

/// Generated from the OpenAPI document (the route table), not kept by hand: every operation
/// but the few public ones declares the sign-in schemes and refuses, changing nothing, a
/// caller who is signed out, a browser session's change without its CSRF token, and an API
/// token that was revoked. The public ones (`wuzhi_web::doc::PUBLIC`) declare none.
#[tokio::test]
async fn every_operation_refuses_the_signed_out_a_change_without_csrf_and_a_revoked_token() {
    let app = spawn_app().await;
    let doc = serde_json::to_value(wuzhi_web::openapi()).unwrap();
    let admin = app.login("admin").await;
    let token = app.post(&admin, "/api/me/tokens", json!({"name": "to revoke"})).await.body;
    let revoked = token["token"].as_str().unwrap().to_owned();
    let r = app.call(Some(&admin), Method::DELETE, &format!("/api/me/tokens/{}", token["id"]), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let session = app.login("dispatcher").await;
    let before = snapshot(&app).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        // Every parameter as `1`: no request gets as far as reading it.
        let url: String =
            path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/");
        for (method, op) in ops.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let public = wuzhi_web::doc::PUBLIC.contains(&(method.as_str(), path.as_str()));
            assert_eq!(op.get("security").is_none(), public, "{method} {path}: its security in the document");
            if public {
                continue;
            }
            let send = |req: reqwest::RequestBuilder| async {
                let req = if m == Method::GET { req } else { req.json(&json!({})) };
                into_reply(req.send().await.unwrap()).await
            };
            let target = format!("{}{url}", app.base);
            let out = send(app.client.request(m.clone(), &target)).await;
            assert_eq!(out.status, StatusCode::UNAUTHORIZED, "signed out {method} {path}: {}", out.text);
            assert_eq!(out.body["error"]["code"], "unauthenticated", "{method} {path}");
            let ended = send(app.client.request(m.clone(), &target).bearer_auth(&revoked)).await;
            assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "revoked token {method} {path}: {}", ended.text);
            if m != Method::GET {
                let forged = send(app.client.request(m.clone(), &target).header("cookie", &session.cookie)).await;
                assert_eq!(
                    (forged.status, forged.body["error"]["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("csrf_failed")),
                    "no CSRF token {method} {path}: {}",
                    forged.text
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 140, "{checked} operations checked");
    assert_eq!(snapshot(&app).await, before, "no refused request changed anything");
}
