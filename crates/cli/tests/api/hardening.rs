//! Defects a security review found (issue 20), each pinned by a test that failed before the
//! fix: who may manage whose account, and the administrator the city must keep.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// A probe found that community staff could set the password of a person living in their
/// community who holds a city-wide post, sign in as them and read what that post may read,
/// and could disable grid workers and stewards. Managing an account now takes authority over
/// every post the person holds: nobody manages an account with more power than their own.
#[tokio::test]
async fn nobody_manages_an_account_with_more_power_than_their_own() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let security = app.login("security").await;
    let community = app.login("community").await;
    // A resident of 花园路 who is also a city dispatcher.
    let p = app
        .post(
            &security,
            "/api/people",
            json!({"name": "住在花园路的派遣员", "home_territory": "120101001001001", "username": "neighbour", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let neighbour = p.body["id"].as_i64().unwrap();
    let centre = app.org_id("120000", "天津市社会治理指挥中心").await;
    let m = app
        .post(
            &security,
            "/api/memberships",
            json!({"person_id": neighbour, "organisation_id": centre, "role": "dispatcher", "scope_code": "120000", "post": "派遣员"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.text);

    let account = |id: i64| format!("/api/people/{id}/account");
    let take_over = app.post(&community, &account(neighbour), json!({"password": "taken over by a neighbour"})).await;
    assert_eq!(take_over.status, StatusCode::FORBIDDEN, "{}", take_over.text);
    assert_eq!(
        app.try_login("neighbour", "taken over by a neighbour").await.status,
        StatusCode::UNAUTHORIZED,
        "the password did not change"
    );
    let edit = app
        .call(
            Some(&community),
            reqwest::Method::PATCH,
            &format!("/api/people/{neighbour}"),
            Some(json!({"phone": "13900000000"})),
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN, "nor the record: {}", edit.text);
    for staff in ["gridworker", "steward"] {
        let id = app.person_id(staff).await;
        let r = app.post(&community, &account(id), json!({"disabled": true})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{staff}: {}", r.text);
        app.login(staff).await;
    }
    // A resident's account is the community's to manage.
    let resident = app.person_id("resident").await;
    assert_eq!(
        app.post(&community, &account(resident), json!({"disabled": true})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.try_login("resident", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post(&community, &account(resident), json!({"disabled": false})).await.status,
        StatusCode::NO_CONTENT
    );
    app.login("resident").await;
    // The city's security administrator manages the dispatcher's account and the system
    // administrator's (三员分立: the system administrator manages none); nobody disables
    // their own.
    assert_eq!(
        app.post(&admin, &account(neighbour), json!({"password": "set by the system administrator"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&security, &account(neighbour), json!({"password": "set by the security administrator"})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.try_login("neighbour", "set by the security administrator").await.status, StatusCode::OK);
    let admin_id = app.person_id("admin").await;
    assert_eq!(app.post(&security, &account(admin_id), json!({"disabled": true})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.try_login("admin", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post(&security, &account(admin_id), json!({"disabled": false})).await.status,
        StatusCode::NO_CONTENT
    );
    let me = app.person_id("security").await;
    assert_eq!(app.post(&security, &account(me), json!({"disabled": true})).await.status, StatusCode::FORBIDDEN);
    app.login("security").await;
    app.login("admin").await;
}

/// The city keeps a system administrator and a security administrator: the last city post of
/// each cannot be ended; nobody grants themselves a post.
#[tokio::test]
async fn the_last_city_administrator_post_cannot_be_ended() {
    let app = spawn_app().await;
    let security = app.login("security").await;
    let post_of = |username: &'static str, role: &'static str| {
        let (app, security) = (&app, &security);
        async move {
            let id = app.person_id(username).await;
            let posts = app.get(security, &format!("/api/people/{id}/memberships")).await;
            posts.body.as_array().unwrap().iter().find(|m| m["role"] == role).unwrap()["id"].as_i64().unwrap()
        }
    };
    let end = |post: i64| {
        let (app, security) = (&app, &security);
        async move { app.call(Some(security), reqwest::Method::DELETE, &format!("/api/memberships/{post}"), None).await }
    };
    let admin_post = post_of("admin", "admin").await;
    let security_post = post_of("security", "security_admin").await;
    for post in [admin_post, security_post] {
        let r = end(post).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert_eq!(r.body["error"]["field"], "membership");
    }
    // The system administrator ends no post at all.
    let admin = app.login("admin").await;
    let r = app.call(Some(&admin), reqwest::Method::DELETE, &format!("/api/memberships/{admin_post}"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Nobody grants themselves a post: not even one the three duties allow together.
    let centre = app.org_id("120000", "天津市社会治理指挥中心").await;
    let me = app.person_id("security").await;
    let r = app
        .post(
            &security,
            "/api/memberships",
            json!({"person_id": me, "organisation_id": centre, "role": "dispatcher", "scope_code": "120000", "post": "派遣员"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // With a second city administrator of each kind, the first may step down.
    let office = app.org_id("120000", "天津市社会治理系统管理办公室").await;
    for (username, role) in [("admin2", "admin"), ("security2", "security_admin")] {
        let p = app
            .post(
                &security,
                "/api/people",
                json!({"name": "第二位管理员", "home_territory": "120101001001001", "username": username, "password": "a long enough password"}),
            )
            .await;
        let g = app
            .post(
                &security,
                "/api/memberships",
                json!({"person_id": p.body["id"], "organisation_id": office, "role": role, "scope_code": "120000", "post": "管理员"}),
            )
            .await;
        assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
    }
    for post in [admin_post, security_post] {
        let r = end(post).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
}

/// A probe found that the lockout was checked before the password and counted after it, so
/// 30 wrong passwords sent at once were all checked, and a right one among them signed in
/// past the limit. Each attempt is now counted before its password is checked, in one
/// statement with the lock: of 30 at once, exactly as many as the limit are checked.
#[tokio::test]
async fn concurrent_wrong_passwords_are_counted_before_they_are_checked() {
    let app = spawn_app().await;
    // Signed in first: thirty failures from one address lock the address as well.
    let auditor = app.login("auditor").await;
    let attempts = (0..30).map(|i| {
        let app = &app;
        async move { app.try_login("dispatcher", &format!("wrong password {i}")).await.status }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert!(answers.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::LOCKED), "{answers:?}");
    let dispatcher = app.person_id("dispatcher").await.to_string();
    let checked = app
        .get(&auditor, "/api/audit?limit=1000")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login_failed" && e["object_id"] == dispatcher.as_str())
        .count();
    assert_eq!(checked, 5, "only the first five attempts had their password checked");
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::LOCKED).count(), 26, "{answers:?}");
    // Locked: even the right password is refused until the lock runs out; then it works.
    assert_eq!(app.try_login("dispatcher", PASSWORD).await.status, StatusCode::LOCKED);
    app.clock.advance_ms(16 * 60_000);
    app.login("dispatcher").await;
}

async fn act(app: &TestApp, s: &Session, id: i64, body: serde_json::Value) -> Reply {
    app.post(s, &format!("/api/cases/{id}/actions"), body).await
}

/// A probe stored a verification note of 7 million characters (the rating text and the
/// extension note had no limit either), which the public Open311 read then sent to anyone.
/// Every free text now has a limit, from one table (`wuzhi_domain::text::LIMITS`), and a
/// refused text changes nothing.
#[tokio::test]
async fn every_free_text_has_a_limit() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = crate::cases::point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let long = |field: &str| "长".repeat(wuzhi_domain::text::limit(field) + 1);
    let report = |subject: String, description: String| json!({"channel": "app", "kind": "report", "subject": subject, "description": description, "category": "E0102", "lon": x, "lat": y});
    for (subject, description, field) in
        [(long("subject"), "d".to_owned(), "subject"), ("门口垃圾".to_owned(), long("description"), "description")]
    {
        let r = app.post(&resident, "/api/cases", report(subject, description)).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{field}");
        assert!(r.text.len() < 1000, "the error does not echo the text ({} bytes)", r.text.len());
    }
    let id = app.post(&resident, "/api/cases", report("门口垃圾".into(), "三天无人清理".into())).await.body["id"]
        .as_i64()
        .unwrap();
    let dispatcher = app.login("dispatcher").await;
    let commander = app.login("commander").await;
    let gw = app.login("gridworker").await;
    act(&app, &dispatcher, id, json!({"action": "file"})).await;
    act(&app, &dispatcher, id, json!({"action": "dispatch"})).await;
    act(&app, &commander, id, json!({"action": "accept"})).await;
    let ext =
        act(&app, &commander, id, json!({"action": "request_extension", "working_days": 2, "reason": "等待配件"}))
            .await;
    assert_eq!(ext.status, StatusCode::OK, "{}", ext.text);
    let r =
        act(&app, &dispatcher, id, json!({"action": "decide_extension", "granted": true, "note": long("note")})).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("note")),
        "{}",
        &r.text[..200.min(r.text.len())]
    );
    act(&app, &dispatcher, id, json!({"action": "decide_extension", "granted": true, "note": "同意"})).await;
    act(&app, &commander, id, json!({"action": "handle", "result": "已清运"})).await;
    let r = act(&app, &gw, id, json!({"action": "verify", "note": long("note")})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("note")));
    assert!(r.text.len() < 1000, "the error does not echo the note ({} bytes)", r.text.len());
    // Seven million characters do not even reach the step: the body is over the route's limit.
    let huge = "字".repeat(7_000_000);
    let r = act(&app, &gw, id, json!({"action": "verify", "note": huge})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let before = app.get(&gw, &format!("/api/cases/{id}")).await.body;
    assert_eq!(before["status"], "handled", "a refused step changes nothing");
    let r = act(&app, &gw, id, json!({"action": "verify", "note": "现场核查合格\n已拍照"})).await;
    assert_eq!(r.body["status"], "closed", "{}", r.text);
    let r =
        act(&app, &resident, id, json!({"action": "rate", "satisfaction": "satisfied", "text": long("text")})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("text")));
    let r = act(&app, &resident, id, json!({"action": "rate", "satisfaction": "satisfied", "text": "很快"})).await;
    assert_eq!(r.body["satisfaction"], "satisfied", "{}", r.text);
    assert_projections_replay(&app).await;
}

/// A probe sent a 30 MB body and got a 63 MB error back, without signing in: the error
/// quoted the value it refused. Errors now quote at most a few dozen characters of it.
#[tokio::test]
async fn errors_do_not_echo_what_they_refuse() {
    let app = spawn_app().await;
    // Half a megabyte: under the body limit, so the field itself is refused.
    let huge = "x".repeat(500_000);
    let resident = app.login("resident").await;
    for body in [
        json!({"channel": "app", "kind": huge, "subject": "s", "description": "d", "address": "花园路"}),
        json!({"channel": "app", "kind": "report", "subject": "s", "description": "d", "lon": huge, "lat": 39.1}),
    ] {
        let r = app.post(&resident, "/api/cases", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.text.len() < 1000, "{} bytes: {}", r.text.len(), &r.text[..300.min(r.text.len())]);
    }
    // Signed out, on a public Open311 read.
    let long = "x".repeat(4000);
    let r = app.client.get(format!("{}/open311/v2/requests.json?status={long}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().len() < 1000);
}

/// A probe found that API tokens outlived a password change or reset (a stolen token kept
/// working after the owner changed their password), that an empty `PUT /api/calendar`
/// deleted the whole calendar, and that a request with a made-up method added a metrics
/// series of its own.
#[tokio::test]
async fn tokens_end_with_the_password_an_empty_calendar_is_refused_and_metrics_stay_bounded() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    async fn token(app: &TestApp, s: &Session) -> String {
        app.post(s, "/api/me/tokens", json!({"name": "hotline bridge"})).await.body["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    let with_token = |t: String| {
        let c = app.client.clone();
        let url = format!("{}/api/me", app.base);
        async move { c.get(url).bearer_auth(t).send().await.unwrap().status() }
    };
    let own = token(&app, &s).await;
    assert_eq!(with_token(own.clone()).await, StatusCode::OK);
    let r = app
        .post(&s, "/api/me/password", json!({"current_password": PASSWORD, "new_password": "A new long password 2026"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(with_token(own).await, StatusCode::UNAUTHORIZED, "a change of one's password ends one's tokens");
    let s = app.login_with("dispatcher", "A new long password 2026").await;
    let again = token(&app, &s).await;
    let admin = app.login("admin").await;
    let security = app.login("security").await;
    let id = app.person_id("dispatcher").await;
    let reset = app
        .post(&security, &format!("/api/people/{id}/account"), json!({"password": "reset by the administrator"}))
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text);
    assert_eq!(with_token(again).await, StatusCode::UNAUTHORIZED, "so does a reset");

    let empty = app.send_text(&admin, reqwest::Method::PUT, "/api/calendar", "").await;
    assert_eq!(
        (empty.status, empty.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body")),
        "{}",
        empty.text
    );
    let header_only = app.send_text(&admin, reqwest::Method::PUT, "/api/calendar", "date,kind,name\n").await;
    assert_eq!(header_only.status, StatusCode::BAD_REQUEST, "{}", header_only.text);
    let mut conn = app.app.db.read().await.unwrap();
    assert!(wuzhi_store::kernel::calendar(&mut conn).await.unwrap().len() > 10, "the calendar is still there");
    drop(conn);

    let odd = reqwest::Method::from_bytes(b"BREWCOFFEEX").unwrap();
    app.client.request(odd, format!("{}/healthz", app.base)).send().await.unwrap();
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("BREWCOFFEEX"), "a made-up method is counted as other");
    assert!(metrics.contains("method=\"other\""));
}

/// A review asked for the headers a browser needs to keep the pages safe: a policy that
/// allows no inline script and no framing, no content sniffing, no referrer to other sites,
/// and HSTS behind TLS. On every answer, errors included.
#[tokio::test]
async fn every_answer_carries_the_browser_safety_headers() {
    let app = spawn_app().await;
    let get = |path: &str, https: bool| {
        let mut rq = app.client.get(format!("{}{path}", app.base));
        if https {
            rq = rq.header("x-forwarded-proto", "https");
        }
        async move { rq.send().await.unwrap() }
    };
    for path in ["/", "/healthz", "/api/me", "/api/nowhere", "/ui/app.js", "/open311/v2/services.json"] {
        let r = get(path, false).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "{path}: no HSTS over plain HTTP");
    }
    let page = get("/", true).await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for part in ["script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(page.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    // The page has no inline script for the policy to forbid.
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>") && html.contains("<script type=\"module\" src=\"/ui/app.js\">"), "{html}");
}

/// A probe registered a webhook at a loopback address and had the server post to its own
/// internal network (SSRF). By default a webhook may reach only public addresses: checked
/// when it is registered and again before each delivery.
#[tokio::test]
async fn webhooks_do_not_reach_the_internal_network() {
    let app = spawn_app_with_settings(|s| s.allow_private_webhooks = false).await;
    let admin = app.login("admin").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/x",
        "http://192.168.0.1:8080/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80/x",
        "http://[fd00::1]/x",
        "http://100.64.0.1/x",
        "http://user@example.com/x",
    ] {
        let r = app.post(&admin, "/api/webhooks", json!({"url": url, "topics": "*"})).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("url")),
            "{url}: {}",
            r.text
        );
    }
    for ip in ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"] {
        assert!(!wuzhi_app::webhooks::is_internal(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["127.0.0.2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "224.0.0.1"] {
        assert!(wuzhi_app::webhooks::is_internal(ip.parse().unwrap()), "{ip}");
    }
}

/// A webhook registered where internal addresses were allowed is still refused, at delivery,
/// by a server that does not allow them.
#[tokio::test]
async fn a_webhook_delivery_checks_its_destination_again() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let w = app.post(&admin, "/api/webhooks", json!({"url": "http://127.0.0.1:9/hook", "topics": "*"})).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
    let (x, y) = crate::cases::point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let r = app
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "路灯不亮", "description": "d", "lon": x, "lat": y}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    wuzhi_app::notify::run_once(&app.app, "a").await.unwrap();
    // A second server on the same database, with the default settings.
    let store = wuzhi_store::Db::connect(&app.db.url, 2).await.unwrap();
    let strict = wuzhi_app::App::open(store, app.clock.clone(), wuzhi_app::Settings::default()).await.unwrap();
    let o = wuzhi_app::webhooks::run_once(&strict, "strict", &reqwest::Client::new()).await.unwrap();
    assert_eq!((o.delivered, o.failed), (0, 1), "{o:?}");
    let d = app.get(&admin, &format!("/api/webhooks/{}/deliveries", w.body["id"])).await.body;
    let err = d[0]["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(err.contains("private address"), "{d}");
}

/// MLPS level 3 asks for an idle timeout besides the absolute limit: a session unused for 30
/// minutes ends; one in use lives on, up to its 12 hours.
#[tokio::test]
async fn an_idle_session_ends() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    for _ in 0..3 {
        app.clock.advance_ms(20 * 60_000);
        assert_eq!(app.get(&s, "/api/me").await.status, StatusCode::OK, "used every 20 minutes");
    }
    app.clock.advance_ms(31 * 60_000);
    assert_eq!(app.get(&s, "/api/me").await.status, StatusCode::UNAUTHORIZED, "31 minutes idle");
    let s = app.login("dispatcher").await;
    for _ in 0..40 {
        app.clock.advance_ms(20 * 60_000);
        let _ = app.get(&s, "/api/me").await;
    }
    assert_eq!(app.get(&s, "/api/me").await.status, StatusCode::UNAUTHORIZED, "past 12 hours in use");
}

/// A probe found one body limit of 64 MB for every route, so anyone could make the server
/// read 64 MB to refuse a case report. Most routes now take at most 1 MB; only the routes
/// that take files (imports, attachments) take more.
#[tokio::test]
async fn only_the_routes_that_take_files_take_large_bodies() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = crate::cases::point_in(&app, &admin, "120101001001001").await;
    let resident = app.login("resident").await;
    let padded = json!({"channel": "app", "kind": "report", "subject": "s", "description": "d", "lon": x, "lat": y,
        "attributes": {"padding": "x".repeat(wuzhi_web::api::SMALL_BODY)}});
    let r = app.post(&resident, "/api/cases", padded).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", &r.text[..200.min(r.text.len())]);
    let signed_out = app
        .client
        .post(format!("{}/api/session", app.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * wuzhi_web::api::SMALL_BODY])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A 3 MB photo is still taken.
    let ok = app
        .post(
            &resident,
            "/api/cases",
            json!({"channel": "app", "kind": "report", "subject": "井盖缺失", "description": "d", "lon": x, "lat": y}),
        )
        .await;
    let id = ok.body["id"].as_i64().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(3 * 1024 * 1024, 0);
    let up = crate::cases::upload(&app, &resident, id, "photo.png", "image/png", png).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text);
}

/// Password rules (MLPS level 3): length, three kinds of character or a long passphrase, not
/// the username, not a common password — when an account is made, when its owner changes it
/// and when an administrator resets it; each refusal names the field and changes nothing.
#[tokio::test]
async fn passwords_follow_the_rules_wherever_they_are_set() {
    let app = spawn_app().await;
    let security = app.login("security").await;
    let make = |username: &'static str, password: &'static str| {
        let (app, security) = (&app, &security);
        async move {
            app.post(security, "/api/people", json!({"name": "新用户", "home_territory": "120101001001002", "username": username, "password": password}))
                .await
        }
    };
    for (user, pw, why) in [
        ("liuqiang", "onlylower12", "needs three of"),
        ("liuqiang", "Liuqiang-2026", "must not contain the username"),
        ("liuqiang", "Password1234", "most common"),
        ("liuqiang", "Sh0rt!", "at least 10"),
    ] {
        let r = make(user, pw).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{pw}: {}", r.text);
        assert_eq!(r.body["error"]["field"], "password", "{}", r.text);
        assert!(r.text.contains(why), "{pw}: {}", r.text);
        assert!(!r.text.contains(pw), "the refusal does not echo the password: {}", r.text);
    }
    assert_eq!(app.try_login("liuqiang", "onlylower12").await.status, StatusCode::UNAUTHORIZED, "no account was made");
    assert_eq!(make("liuqiang", "Tianjin-Hexi-88").await.status, StatusCode::CREATED);
    // The owner's change, and an administrator's reset.
    let s = app.login_with("liuqiang", "Tianjin-Hexi-88").await;
    let r = app
        .post(
            &s,
            "/api/me/password",
            json!({"current_password": "Tianjin-Hexi-88", "new_password": "liuqiang-again-2026"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("new_password")),
        "{}",
        r.text
    );
    let id = s.person_id;
    let r = app
        .call(
            Some(&security),
            reqwest::Method::POST,
            &format!("/api/people/{id}/account"),
            Some(json!({"password": "qwertyuiop"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(app.try_login("liuqiang", "Tianjin-Hexi-88").await.status, StatusCode::OK, "the password is unchanged");
}

/// Lockout by username and source address (MLPS level 3): wrong passwords from one address
/// lock that address out, not the person, who signs in from their own; an unknown username is
/// counted and answered exactly like a known one; each lock lasts twice the one before; a
/// forwarded address counts only from a proxy the servers trust.
#[tokio::test]
async fn nobody_can_lock_a_person_out_from_elsewhere() {
    use crate::auth::sign_in_from;
    let app = spawn_app_with_settings(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let answers = |who: &'static str| {
        let app = &app;
        async move {
            let mut out = Vec::new();
            for _ in 0..6 {
                let r = sign_in_from(app, "203.0.113.9", who, "wrong password 1").await;
                out.push((r.status, r.body["error"]["code"].as_str().unwrap_or("").to_owned()));
            }
            out
        }
    };
    let known = answers("community").await;
    let unknown = answers("nobody-at-all").await;
    assert_eq!(known, unknown, "an unknown username answers exactly like a known one");
    assert_eq!(known[3].0, StatusCode::UNAUTHORIZED);
    assert_eq!((known[4].0, known[5].0), (StatusCode::LOCKED, StatusCode::LOCKED), "{known:?}");
    // The attacker's address is locked even with the right password; the person's is not.
    assert_eq!(sign_in_from(&app, "203.0.113.9", "community", PASSWORD).await.status, StatusCode::LOCKED);
    assert_eq!(sign_in_from(&app, "198.51.100.4", "community", PASSWORD).await.status, StatusCode::OK);
    // After the lock, five more failures lock for twice as long.
    let lockout = app.app.settings.lockout_ms;
    app.clock.advance_ms(lockout + 1);
    let mut last = None;
    for _ in 0..5 {
        last = Some(sign_in_from(&app, "203.0.113.9", "community", "wrong password 2").await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::LOCKED, "{}", last.text);
    let r = sign_in_from(&app, "203.0.113.9", "community", PASSWORD).await;
    let until: i64 =
        r.body["error"]["message"].as_str().unwrap().split_whitespace().find_map(|w| w.parse().ok()).unwrap();
    assert_eq!(until, app.app.now_ms() + 2 * lockout, "the second lock is twice the first: {}", r.text);
    // A new password set by the security administrator lifts the locks on the username everywhere.
    let security = app.login("security").await;
    let id = app.person_id("community").await;
    let r = app.post(&security, &format!("/api/people/{id}/account"), json!({"password": "Huayuan-Road-2026"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(sign_in_from(&app, "203.0.113.9", "community", "Huayuan-Road-2026").await.status, StatusCode::OK);
}

/// Without a trusted proxy, `X-Forwarded-For` is ignored: an attacker cannot spread their
/// attempts over made-up addresses.
#[tokio::test]
async fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
    use crate::auth::sign_in_from;
    let app = spawn_app().await;
    for i in 0..5 {
        let r = sign_in_from(&app, &format!("203.0.113.{i}"), "community", "wrong password 3").await;
        assert!(matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::LOCKED), "{}", r.text);
    }
    assert_eq!(sign_in_from(&app, "198.51.100.4", "community", PASSWORD).await.status, StatusCode::LOCKED);
}

/// `/metrics` and the API's documentation can be closed by setting: metrics to the
/// monitoring system's address only, the documentation off.
#[tokio::test]
async fn metrics_and_api_docs_can_be_restricted() {
    let open = spawn_app().await;
    assert_eq!(open.client.get(format!("{}/metrics", open.base)).send().await.unwrap().status(), StatusCode::OK);
    let closed = spawn_app_with_settings(|s| {
        s.metrics_allow = Some(vec!["198.51.100.9".parse().unwrap()]);
        s.api_docs = false;
    })
    .await;
    for path in ["/metrics", "/api/docs/", "/api/openapi.json"] {
        let r = closed.client.get(format!("{}{path}", closed.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // From the allowed address (through a trusted proxy), the metrics are there.
    let proxied = spawn_app_with_settings(|s| {
        s.metrics_allow = Some(vec!["198.51.100.9".parse().unwrap()]);
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let r = proxied
        .client
        .get(format!("{}/metrics", proxied.base))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = proxied
        .client
        .get(format!("{}/metrics", proxied.base))
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// MLPS level 3 separates the administrators' duties (三员分立): the system administrator
/// who changes the city's settings, people and posts did not only read the audit log that
/// records those acts, but could also appoint whoever read it. Now the settings are the
/// system administrator's, people, accounts and posts the security administrator's, the log
/// the auditor's alone; an auditor does nothing else, is appointed and kept only from the
/// server's command line, and nobody holds two of the three posts.
#[tokio::test]
async fn the_administrators_do_not_audit_and_do_not_choose_the_auditor() {
    let app = spawn_app().await;
    let security = app.login("security").await;
    let auditor = app.login("auditor").await;
    let admin = app.login("admin").await;
    assert_eq!(app.get(&security, "/api/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&admin, "/api/audit").await.status, StatusCode::FORBIDDEN);
    let log = app.get(&auditor, "/api/audit?limit=1000").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    assert!(log.body.as_array().unwrap().iter().any(|e| e["action"] == "login"));
    // The auditor changes nothing.
    for (path, body) in [
        ("/api/people", json!({"name": "审计员建的人", "home_territory": "120101001001001"})),
        ("/api/organisations", json!({"name": "审计员建的单位", "kind": "command_centre", "territory_code": "120101"})),
        ("/api/open311/keys", json!({"name": "审计员的钥匙"})),
    ] {
        let r = app.post(&auditor, path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
    }

    // The security administrator cannot appoint an auditor …
    let p = app
        .post(
            &security,
            "/api/people",
            json!({"name": "管理员的朋友", "home_territory": "120101001001001", "username": "friend", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let friend = p.body["id"].as_i64().unwrap();
    let office = app.org_id("120000", "天津市社会治理系统管理办公室").await;
    let grant = |person: i64, role: &str| json!({"person_id": person, "organisation_id": office, "role": role, "scope_code": "120000", "post": role});
    let r = app.post(&security, "/api/memberships", grant(friend, "auditor")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let held = app.get(&security, &format!("/api/people/{friend}/memberships")).await;
    assert_eq!(held.body.as_array().map(Vec::len), Some(0), "nothing was granted: {}", held.text);
    // … nor take over, end or widen the auditor's post.
    let auditor_id = app.person_id("auditor").await;
    let r = app
        .post(&security, &format!("/api/people/{auditor_id}/account"), json!({"password": "set by the administrator"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(app.try_login("auditor", "set by the administrator").await.status, StatusCode::UNAUTHORIZED);
    let r = app.post(&security, &format!("/api/people/{auditor_id}/account"), json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let posts = app.get(&security, &format!("/api/people/{auditor_id}/memberships")).await.body;
    let post = posts.as_array().unwrap().iter().find(|m| m["role"] == "auditor").expect("the auditor's post")["id"]
        .as_i64()
        .unwrap();
    let r = app.call(Some(&security), reqwest::Method::DELETE, &format!("/api/memberships/{post}"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.post(&security, "/api/memberships", grant(auditor_id, "admin")).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("role")), "{}", r.text);
    // Nor does anyone become system and security administrator at once.
    let admin_id = app.person_id("admin").await;
    let r = app.post(&security, "/api/memberships", grant(admin_id, "security_admin")).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("role")), "{}", r.text);
    // The system administrator neither makes people nor grants posts.
    let r = app.post(&admin, "/api/memberships", grant(friend, "dispatcher")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.post(&admin, "/api/people", json!({"name": "管理员建的人", "home_territory": "120101001001001"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(app.get(&auditor, "/api/audit?limit=1").await.status, StatusCode::OK, "the auditor still audits");

    // The operator appoints another auditor at the console.
    let dir = app.db.dir.display().to_string();
    let (ok, out, err) = wuzhi(
        &[
            "user",
            "create",
            "--database-url",
            &app.db.url,
            "--data-dir",
            &dir,
            "--username",
            "auditor2",
            "--name",
            "第二审计员",
            "--role",
            "auditor",
            "--scope",
            "120000",
        ],
        "the second auditor's passphrase",
    );
    assert!(ok, "{out}{err}");
    let r = app.try_login("auditor2", "the second auditor's passphrase").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A path parameter that does not parse (found by schemathesis: an id past i64) is 400 with
/// the parameter's name, never its value, in our error shape.
#[tokio::test]
async fn a_path_id_that_does_not_parse_names_the_parameter_not_the_value() {
    let app = spawn_app().await;
    let s = app.login("dispatcher").await;
    for path in ["/api/cases/9223372036854775808", "/api/cases/abc", "/api/organisations/1e3"] {
        let r = app.get(&s, path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.body["error"]["code"], "invalid_input", "{path}: {}", r.text);
        assert_eq!(r.body["error"]["field"], "id", "{path}: {}", r.text);
        let value = path.rsplit('/').next().unwrap();
        assert!(!r.text.contains(value), "{path}: the value is not echoed: {}", r.text);
    }
}
