//! Open311 GeoReport v2 at /open311/v2/: every endpoint in JSON and XML, bad input of
//! every kind, the key's rate limit and revocation, and the round trip of the real MyLA311
//! requests through an LA deployment.

use crate::cases::point_in;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use wuzhi_app::Clock;

const GRID: &str = "120101001001001";

pub(crate) async fn key(app: &TestApp, rate: i64) -> String {
    let admin = app.login("admin").await;
    let r = app.post(&admin, "/api/open311/keys", json!({"name": "12345热线系统", "rate_per_minute": rate})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["api_key"].as_str().unwrap().to_owned()
}

pub(crate) async fn form(app: &TestApp, path: &str, pairs: &[(&str, String)]) -> Reply {
    let r = app.client.post(format!("{}{path}", app.base)).form(pairs).send().await.unwrap();
    into_reply(r).await
}

async fn get(app: &TestApp, path: &str) -> Reply {
    into_reply(app.client.get(format!("{}{path}", app.base)).send().await.unwrap()).await
}

fn content_type(r: &Reply) -> String {
    r.headers.get("content-type").unwrap().to_str().unwrap().to_owned()
}

async fn cases(app: &TestApp) -> i64 {
    let mut conn = app.app.db.read().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&mut *conn).await.unwrap()
}

/// A valid 道路积水 (E0507) request at `(x, y)` with every attribute answered.
pub(crate) fn flooding(key: &str, x: f64, y: f64) -> Vec<(&'static str, String)> {
    vec![
        ("api_key", key.into()),
        ("service_code", "E0507".into()),
        ("lat", y.to_string()),
        ("long", x.to_string()),
        ("description", "路口积水没过脚踝，请联系13812345678".into()),
        ("attribute[water_depth_cm]", "25".into()),
        ("attribute[hazards][]", "traffic".into()),
        ("attribute[hazards][]", "home".into()),
        ("attribute[started_at]", "2026-11-27T08:00:00+08:00".into()),
        ("first_name", "张".into()),
        ("last_name", "三".into()),
        ("phone", "13812345678".into()),
        ("email", "zhangsan@example.cn".into()),
    ]
}

#[tokio::test]
async fn discovery_services_and_definitions_answer_in_json_and_xml() {
    let app = spawn_app().await;
    let d = get(&app, "/open311/discovery.json").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(content_type(&d).starts_with("application/json"));
    assert!(d.body["endpoints"][0]["url"].as_str().unwrap().ends_with("/open311/v2"));
    assert_eq!(d.body["endpoints"][0]["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(d.body["endpoints"][0]["formats"], json!(["application/json", "text/xml"]));
    let d = get(&app, "/open311/discovery.xml").await;
    assert!(content_type(&d).starts_with("text/xml"));
    assert!(d.text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><discovery>"), "{}", d.text);
    assert!(d.text.contains("<formats><format>application/json</format><format>text/xml</format></formats>"));

    // Services are the leaf categories.
    let admin = app.login("admin").await;
    let leaves =
        app.get(&admin, "/api/categories").await.body.as_array().unwrap().iter().filter(|c| c["leaf"] == true).count();
    let s = get(&app, "/open311/v2/services.json").await;
    assert_eq!(s.status, StatusCode::OK);
    let services = s.body.as_array().unwrap();
    assert_eq!(services.len(), leaves);
    assert!(leaves > 500);
    let flood = services.iter().find(|s| s["service_code"] == "E0507").unwrap();
    assert_eq!(flood["service_name"], "道路积水");
    assert_eq!((flood["metadata"].as_bool(), flood["type"].as_str()), (Some(true), Some("realtime")));
    assert_eq!(flood["group"], "突发事件");
    assert!(flood["keywords"].as_str().unwrap().contains("emergency"));
    let plain = services.iter().find(|s| s["service_code"] == "E0103").unwrap();
    assert_eq!(plain["metadata"], false);
    let x = get(&app, "/open311/v2/services.xml").await;
    assert!(x.text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>"));
    assert_eq!(x.text.matches("<service>").count(), leaves);
    assert!(
        x.text.contains("<service_code>E0507</service_code><service_name>道路积水</service_name>"),
        "{}",
        &x.text[..300]
    );

    // Definitions carry every datatype.
    let def = get(&app, "/open311/v2/services/E0507.json").await;
    assert_eq!(def.status, StatusCode::OK, "{}", def.text);
    assert_eq!(def.body["service_code"], "E0507");
    let attrs = def.body["attributes"].as_array().unwrap();
    let shape: Vec<(&str, &str, bool)> = attrs
        .iter()
        .map(|a| (a["code"].as_str().unwrap(), a["datatype"].as_str().unwrap(), a["required"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [("water_depth_cm", "number", true), ("hazards", "multivaluelist", false), ("started_at", "datetime", false)]
    );
    assert_eq!(attrs[1]["values"][0], json!({"key": "traffic", "name": "阻碍交通"}));
    assert_eq!(attrs[0]["order"], 1);
    let mut types: Vec<String> = Vec::new();
    for code in ["E0507", "E0503", "C0108", "E0402"] {
        let d = get(&app, &format!("/open311/v2/services/{code}.json")).await;
        types.extend(
            d.body["attributes"].as_array().unwrap().iter().map(|a| a["datatype"].as_str().unwrap().to_owned()),
        );
    }
    for t in ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] {
        assert!(types.iter().any(|x| x == t), "no {t} attribute among {types:?}");
    }
    let gas = get(&app, "/open311/v2/services/E0503.xml").await;
    assert!(gas.text.contains("<service_definition><service_code>E0503</service_code><attributes><attribute><variable>false</variable><code>safety_notice</code>"), "{}", gas.text);
    assert!(gas.text.contains("<values><value><key>yes</key><name>已撤离</name></value>"));

    // Unknown services, classes and formats.
    let r = get(&app, "/open311/v2/services/E05.json").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body[0]["code"], 404);
    assert!(r.body[0]["description"].as_str().unwrap().contains("E05"));
    let r = get(&app, "/open311/v2/services/NOPE.xml").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("<errors><error><code>404</code><description>"), "{}", r.text);
    assert_eq!(get(&app, "/open311/v2/services.txt").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/open311/v2/services").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_posted_request_goes_through_intake_and_reads_back_without_personal_data() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, GRID).await;
    let key = key(&app, 600).await;

    // No key, a wrong key: 403 and nothing written.
    let before = cases(&app).await;
    let mut no_key = flooding(&key, x, y);
    no_key.remove(0);
    let r = form(&app, "/open311/v2/requests.json", &no_key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body[0]["code"], 403);
    assert!(r.body[0]["description"].as_str().unwrap().contains("api_key"));
    let r = form(&app, "/open311/v2/requests.xml", &flooding("not-a-key", x, y)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("<errors><error><code>403</code>"), "{}", r.text);
    assert_eq!(cases(&app).await, before);

    let r = form(&app, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body[0]["service_request_id"].as_i64().unwrap();
    let token = r.body[0]["token"].as_str().unwrap().to_owned();
    assert_eq!(r.body[0]["service_notice"], "");
    assert_eq!(cases(&app).await, before + 1);

    // A retry with the same Idempotency-Key gets the same request, not a second one.
    let retry = |k: &'static str| {
        let (app, pairs) = (&app, flooding(&key, x, y));
        async move {
            let r = app
                .client
                .post(format!("{}/open311/v2/requests.json", app.base))
                .header("idempotency-key", k)
                .form(&pairs)
                .send()
                .await
                .unwrap();
            into_reply(r).await
        }
    };
    let first = retry("hotline-call-88").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = retry("hotline-call-88").await;
    assert_eq!(again.body[0]["service_request_id"], first.body[0]["service_request_id"]);
    assert_eq!(again.body[0]["token"], first.body[0]["token"]);
    assert_ne!(retry("hotline-call-89").await.body[0]["service_request_id"], first.body[0]["service_request_id"]);
    assert_eq!(cases(&app).await, before + 3);

    let t = get(&app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(t.body, json!([{"service_request_id": id, "token": token}]));
    let t = get(&app, &format!("/open311/v2/tokens/{token}.xml")).await;
    assert!(t.text.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><token>{token}</token></request></service_requests>")));
    assert_eq!(get(&app, "/open311/v2/tokens/unknown.json").await.status, StatusCode::NOT_FOUND);

    let r = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let req = &r.body[0];
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(req["service_request_id"], id);
    assert_eq!((req["status"].as_str(), req["service_code"].as_str()), (Some("open"), Some("E0507")));
    assert_eq!(req["service_name"], "道路积水");
    assert_eq!(req["description"], "路口积水没过脚踝，请联系138****5678");
    assert_eq!(req["address_id"], GRID);
    assert_eq!(req["address"], "天津市和平区劝业场街道花园路社区居委会第1网格", "no address: the place's full name");
    // Public reads show the point to about 100 m, so no home is pinpointed.
    let coarse = wuzhi_domain::cases::public::coarse;
    assert!((req["lat"].as_f64().unwrap() - coarse(y)).abs() < 1e-9, "{}", req["lat"]);
    assert!((req["long"].as_f64().unwrap() - coarse(x)).abs() < 1e-9);
    for k in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert!(req[k].as_str().unwrap().ends_with("+08:00"), "{k}: {}", req[k]);
    }
    assert_eq!(req["agency_responsible"], "");
    assert!(req.get("extended_attributes").is_none());
    // The reporter's name, phone and e-mail never leave through Open311.
    for secret in ["张", "13812345678", "zhangsan@example.cn"] {
        assert!(!r.text.contains(secret), "{secret} in {}", r.text);
    }

    let e = get(&app, &format!("/open311/v2/requests/{id}.json?extensions=true")).await;
    let ext = &e.body[0]["extended_attributes"];
    assert_eq!(ext["channel"], "open311");
    assert_eq!(ext["detailed_status"], "reported");
    assert_eq!(
        ext["attributes"],
        json!({"water_depth_cm": 25.0, "hazards": ["traffic", "home"], "started_at": "2026-11-27T08:00:00+08:00"})
    );
    assert_eq!(ext["notes"][0]["type"], "reported");
    let xml = get(&app, &format!("/open311/v2/requests/{id}.xml?extensions=true")).await;
    assert!(xml.text.contains("<extended_attributes><channel>open311</channel>"), "{}", xml.text);
    assert!(xml.text.contains("<hazards><value>traffic</value><value>home</value></hazards>"), "{}", xml.text);

    // Staff see the case like any other, the reporter masked until revealed.
    let dispatcher = app.login("dispatcher").await;
    let c = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    assert_eq!((c["channel"].as_str(), c["status"].as_str()), (Some("open311"), Some("reported")));
    assert_eq!(c["reporter"]["name"], "张**");
    assert_eq!(c["reporter"]["phone"], "138****5678");
    assert_eq!(c["reporter"]["email"], "z*******@example.cn");
    assert_eq!(c["category_code"], "E0507");

    // By address, in XML.
    let r = form(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.clone()),
            ("service_code", "C0108".into()),
            ("address_string", "花园路社区3号楼东侧".into()),
            ("attribute[lamp_state]", "off".into()),
            ("attribute[lamp_count]", "2".into()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(content_type(&r).starts_with("text/xml"));
    assert!(
        r.text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>")
    );
    // And by address_id, a territory code.
    let r = form(
        &app,
        "/open311/v2/requests.json",
        &[("api_key", key.clone()), ("service_code", "E0103".into()), ("address_id", "120101001001".into())],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id3 = r.body[0]["service_request_id"].as_i64().unwrap();
    let back = get(&app, &format!("/open311/v2/requests/{id3}.json")).await;
    assert_eq!(back.body[0]["address_id"], "120101001001");
    assert_eq!(back.body[0]["description"], "积存垃圾渣土", "the service's name stands in for a missing description");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_parameter_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, GRID).await;
    let key = key(&app, 100_000).await;
    let before = cases(&app).await;
    let with = |edit: &dyn Fn(&mut Vec<(&'static str, String)>)| {
        let mut f = flooding(&key, x, y);
        edit(&mut f);
        f
    };
    let without = |name: &'static str| move |f: &mut Vec<(&'static str, String)>| f.retain(|(k, _)| *k != name);
    let set = |name: &'static str, v: &'static str| {
        move |f: &mut Vec<(&'static str, String)>| {
            f.retain(|(k, _)| *k != name);
            f.push((name, v.into()));
        }
    };
    let cases_: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (with(&without("service_code")), "service_code"),
        (with(&set("service_code", "ZZ99")), "service_code"),
        (with(&set("service_code", "E05")), "service_code"),
        (with(&|f| f.retain(|(k, _)| *k != "lat" && *k != "long")), "lat"),
        (with(&without("long")), "long"),
        (with(&without("lat")), "lat"),
        (with(&set("lat", "north")), "lat"),
        (with(&set("lat", "95")), "lat"),
        (with(&set("long", "200")), "long"),
        (
            with(&|f| {
                f.retain(|(k, _)| *k != "lat" && *k != "long");
                f.push(("lat", "0".into()));
                f.push(("long", "0".into()));
            }),
            "long",
        ),
        (
            with(&|f| {
                f.retain(|(k, _)| *k != "lat" && *k != "long");
                f.push(("address_string", "火星基地".into()));
            }),
            "address_string",
        ),
        (
            with(&|f| {
                f.retain(|(k, _)| *k != "lat" && *k != "long");
                f.push(("address_id", "999999999".into()));
            }),
            "address_id",
        ),
        (with(&without("attribute[water_depth_cm]")), "attribute[water_depth_cm]"),
        (with(&set("attribute[water_depth_cm]", "deep")), "attribute[water_depth_cm]"),
        (with(&|f| f.push(("attribute[water_depth_cm]", "30".into()))), "attribute[water_depth_cm]"),
        (with(&|f| f.push(("attribute[hazards][]", "volcano".into()))), "attribute[hazards]"),
        (with(&set("attribute[started_at]", "this morning")), "attribute[started_at]"),
        (with(&set("attribute[colour]", "red")), "attribute[colour]"),
        (with(&set("email", "not an address")), "email"),
        (with(&set("media_url", "file:///etc/passwd")), "media_url"),
        (with(&set("phone", "call me")), "phone"),
        (with(&set("description", "")), "!"),
    ];
    for (pairs, field) in &cases_ {
        let r = form(&app, "/open311/v2/requests.json", pairs).await;
        if *field == "!" {
            // An empty description is absent, which Open311 allows.
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            continue;
        }
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.text);
        assert_eq!(r.body[0]["code"], 400);
        let d = r.body[0]["description"].as_str().unwrap();
        assert!(d.starts_with(&format!("{field}: ")), "{field}: {d}");
    }
    // An informational attribute takes no answer.
    let gas = vec![
        ("api_key", key.clone()),
        ("service_code", "E0503".into()),
        ("lat", y.to_string()),
        ("long", x.to_string()),
        ("attribute[evacuated]", "maybe".into()),
    ];
    let r = form(&app, "/open311/v2/requests.json", &gas).await;
    assert!(
        r.body[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("attribute[evacuated]: `maybe` is not one of yes, no, unknown"),
        "{}",
        r.text
    );
    let mut notice = gas.clone();
    notice[4] = ("attribute[safety_notice]", "ok".into());
    let r = form(&app, "/open311/v2/requests.xml", &notice).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("<description>attribute[safety_notice]: is not an attribute of this service</description>"),
        "{}",
        r.text
    );
    // A body that holds no parameters at all.
    let r =
        into_reply(app.client.post(format!("{}/open311/v2/requests.json", app.base)).body("%zz").send().await.unwrap())
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body[0]["description"].as_str().unwrap().contains("api_key"), "{}", r.text);
    // POST to what takes none.
    let r = form(&app, "/open311/v2/services.json", &[("api_key", key.clone())]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Only the one request with an empty description was written.
    assert_eq!(cases(&app).await, before + 1);
}

#[tokio::test]
async fn requests_filter_page_and_default_to_the_last_ninety_days() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, GRID).await;
    let key = key(&app, 100_000).await;
    let mut ids = Vec::new();
    for code in ["E0507", "C0108", "E0102"] {
        let mut f = flooding(&key, x, y);
        f[1].1 = code.into();
        f.retain(|(k, _)| !k.starts_with("attribute") || code == "E0507");
        if code == "C0108" {
            f.push(("attribute[lamp_state]", "flicker".into()));
        }
        let r = form(&app, "/open311/v2/requests.json", &f).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body[0]["service_request_id"].as_i64().unwrap());
        app.clock.advance_ms(10_000);
    }
    let dispatcher = app.login("dispatcher").await;
    let r = app
        .post(
            &dispatcher,
            &format!("/api/cases/{}/actions", ids[2]),
            json!({"action": "reject", "reason": "重复反映，已另案办理"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let list = |q: &str| {
        let path = format!("/open311/v2/requests.json{q}");
        let app = &app;
        async move {
            let r = get(app, &path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            r.body.as_array().unwrap().iter().map(|v| v["service_request_id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, [ids[2], ids[1], ids[0]], "newest first");
    assert_eq!(list("?service_code=C0108").await, [ids[1]]);
    assert_eq!(list("?service_code=E0507,C0108").await, [ids[1], ids[0]]);
    assert_eq!(list("?status=closed").await, [ids[2]]);
    assert_eq!(list("?status=open").await, [ids[1], ids[0]]);
    assert_eq!(list("?status=open,closed").await.len(), 3);
    assert_eq!(list("?status=&service_code=&start_date=&end_date=").await.len(), 3, "empty parameters are absent");
    assert_eq!(list("?page_size=2").await, [ids[2], ids[1]]);
    assert_eq!(list("?page_size=2&page=2").await, [ids[0]]);
    assert_eq!(list(&format!("?service_request_id={},{}&service_code=C0108", ids[0], ids[2])).await, [ids[2], ids[0]]);
    let closed = get(&app, &format!("/open311/v2/requests/{}.json", ids[2])).await;
    assert_eq!(
        (closed.body[0]["status"].as_str(), closed.body[0]["status_notes"].as_str()),
        (Some("closed"), Some("重复反映，已另案办理"))
    );
    assert_eq!(closed.body[0]["expected_datetime"], "");
    let now = app.clock.now_ms();
    let at = |ms: i64| wuzhi_domain::calendar::format_local(ms).replace('+', "%2B");
    assert_eq!(list(&format!("?start_date={}", at(now + 60_000))).await.len(), 0);
    assert_eq!(list(&format!("?start_date={}&end_date={}", at(now - 25_000), at(now))).await, [ids[2], ids[1]]);
    for (q, field) in [
        ("?status=pending", "status"),
        ("?start_date=yesterday", "start_date"),
        (&*format!("?start_date={}&end_date={}", at(now), at(now - 10_000)), "end_date"),
        ("?page_size=0", "page_size"),
        ("?page_size=1001", "page_size"),
        ("?page=abc", "page"),
        ("?service_request_id=1,x", "service_request_id"),
    ] {
        let r = get(&app, &format!("/open311/v2/requests.json{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(r.body[0]["description"].as_str().unwrap().starts_with(&format!("{field}: ")), "{q}: {}", r.text);
    }
    assert_eq!(get(&app, "/open311/v2/requests/999999.json").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/open311/v2/requests/abc.xml").await.status, StatusCode::NOT_FOUND);
    // 91 days on, the default period no longer holds them; an explicit one does.
    app.clock.advance_ms(91 * 86_400_000);
    assert_eq!(list("").await.len(), 0);
    assert_eq!(list(&format!("?start_date={}", at(now - 86_400_000))).await.len(), 3);
}

#[tokio::test]
async fn the_loop_shows_in_status_notes_and_the_updates_feed_both_ways() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, GRID).await;
    let key = key(&app, 600).await;
    let start = wuzhi_domain::calendar::format_local(app.clock.now_ms() - 1000).replace('+', "%2B");
    let r = form(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", key.clone()),
            ("service_code", "E0102".into()),
            ("lat", y.to_string()),
            ("long", x.to_string()),
            ("description", "小区门口垃圾堆积".into()),
            ("attribute[volume]", "cart".into()),
        ],
    )
    .await;
    let id = r.body[0]["service_request_id"].as_i64().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let commander = app.login("commander").await;
    let gw = app.login("gridworker").await;
    for (s, body) in [
        (&dispatcher, json!({"action": "file"})),
        (&dispatcher, json!({"action": "dispatch"})),
        (&commander, json!({"action": "accept"})),
        (&commander, json!({"action": "handle", "result": "已清运，联系人13912345678"})),
    ] {
        app.clock.advance_ms(60_000);
        let r = app.post(s, &format!("/api/cases/{id}/actions"), body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // A photo from the site becomes the request's media_url, read with the whole page's
    // photos in one query.
    let photo =
        crate::cases::upload(&app, &gw, id, "site.png", "image/png", crate::cases::PNG.to_vec()).await.body["id"]
            .as_i64()
            .unwrap();
    let open = get(&app, &format!("/open311/v2/requests/{id}.json")).await.body;
    assert_eq!(open[0]["media_url"], format!("/api/attachments/{photo}"));
    assert_eq!(open[0]["status"], "open");
    assert_eq!(open[0]["agency_responsible"], "劝业场街道办事处");
    assert_ne!(open[0]["expected_datetime"], "");
    app.clock.advance_ms(60_000);
    let r =
        app.post(&gw, &format!("/api/cases/{id}/actions"), json!({"action": "verify", "note": "现场核查合格"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let closed = get(&app, &format!("/open311/v2/requests/{id}.json?extensions=true")).await.body;
    let c = &closed[0];
    assert_eq!((c["status"].as_str(), c["status_notes"].as_str()), (Some("closed"), Some("现场核查合格")));
    assert_eq!(c["extended_attributes"]["detailed_status"], "closed");
    assert_eq!(c["extended_attributes"]["photos"], json!([format!("/api/attachments/{photo}")]));
    let notes: Vec<&str> =
        c["extended_attributes"]["notes"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(notes, ["reported", "filed", "dispatched", "accepted", "handled", "verified"]);
    assert_eq!(c["extended_attributes"]["notes"][2]["description"], "劝业场街道办事处");
    assert_eq!(c["extended_attributes"]["notes"][4]["description"], "已清运，联系人139****5678");

    // The feed: every public step, oldest first, with the status after it.
    let feed = get(&app, &format!("/open311/v2/servicerequestupdates.json?start_date={start}")).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.text);
    let mine: Vec<(&str, &str)> = feed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == id)
        .map(|u| (u["external_status_code"].as_str().unwrap(), u["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        mine,
        [
            ("reported", "open"),
            ("filed", "open"),
            ("dispatched", "open"),
            ("accepted", "open"),
            ("handled", "open"),
            ("verified", "closed")
        ]
    );
    let list = get(&app, "/open311/v2/requests.xml?status=closed").await;
    assert!(
        list.text
            .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>"),
        "{}",
        list.text
    );
    assert!(list.text.contains("<status>closed</status><status_notes>现场核查合格</status_notes>"), "{}", list.text);
    let xml = get(&app, &format!("/open311/v2/servicerequestupdates.xml?start_date={start}")).await;
    assert!(xml.text.contains("<service_request_updates><request_update><update_id>"), "{}", xml.text);

    // An external system posts an update: a note on the timeline, the case stays as it is.
    let up = |pairs: Vec<(&'static str, String)>| {
        let app = &app;
        async move { form(app, "/open311/v2/servicerequestupdates.json", &pairs).await }
    };
    let r = up(vec![
        ("api_key", key.clone()),
        ("service_request_id", id.to_string()),
        ("update_id", "ext-7".into()),
        ("status", "CLOSED".into()),
        ("updated_datetime", "2026-11-27T10:00:00+08:00".into()),
        ("description", "回访居民，确认已解决".into()),
        ("first_name", "王".into()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let update_id = r.body[0]["update_id"].as_i64().unwrap();
    let x = form(
        &app,
        "/open311/v2/servicerequestupdates.xml",
        &[
            ("api_key", key.clone()),
            ("service_request_id", id.to_string()),
            ("status", "open".into()),
            ("description", "已电话回访".into()),
        ],
    )
    .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.text);
    assert!(x.text.contains(&format!("<service_request_updates><request_update><update_id>{}</update_id></request_update></service_request_updates>", update_id + 1)), "{}", x.text);
    let case = app.get(&dispatcher, &format!("/api/cases/{id}")).await.body;
    let last = case["timeline"].as_array().unwrap().iter().rev().nth(1).unwrap().clone();
    assert_eq!(last["kind"], "commented");
    let text = last["data"]["text"].as_str().unwrap();
    assert!(text.starts_with("[12345热线系统 · 王] 回访居民，确认已解决") && text.contains("ext-7"), "{text}");
    assert_eq!(case["status"], "closed");
    let feed = get(&app, &format!("/open311/v2/servicerequestupdates.json?start_date={start}")).await;
    assert!(feed.body.as_array().unwrap().iter().any(|u| u["update_id"] == update_id));
    for (pairs, status, field) in [
        (
            vec![("api_key", key.clone()), ("service_request_id", id.to_string()), ("status", "open".into())],
            400,
            "description",
        ),
        (
            vec![("api_key", key.clone()), ("service_request_id", id.to_string()), ("description", "x".into())],
            400,
            "status",
        ),
        (
            vec![
                ("api_key", key.clone()),
                ("service_request_id", id.to_string()),
                ("status", "done".into()),
                ("description", "x".into()),
            ],
            400,
            "status",
        ),
        (
            vec![("api_key", key.clone()), ("status", "open".into()), ("description", "x".into())],
            400,
            "service_request_id",
        ),
        (
            vec![
                ("api_key", key.clone()),
                ("service_request_id", "999999".into()),
                ("status", "open".into()),
                ("description", "x".into()),
            ],
            404,
            "",
        ),
        (
            vec![("service_request_id", id.to_string()), ("status", "open".into()), ("description", "x".into())],
            403,
            "api_key",
        ),
    ] {
        let r = up(pairs).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text);
        assert!(r.body[0]["description"].as_str().unwrap().contains(field), "{}", r.text);
    }
}

#[tokio::test]
async fn keys_are_rate_limited_revoked_and_managed_by_administrators() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, GRID).await;
    let dispatcher = app.login("dispatcher").await;
    let r = app.post(&dispatcher, "/api/open311/keys", json!({"name": "越权"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post(&admin, "/api/open311/keys", json!({"name": "x", "rate_per_minute": 0})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("rate_per_minute")));

    let key = key(&app, 3).await;
    // Start at the beginning of a minute, so the four posts share one window.
    let now = app.clock.now_ms();
    app.clock.set_ms(now - now.rem_euclid(60_000) + 60_000);
    for i in 0..3 {
        let r = form(&app, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
        assert_eq!(r.status, StatusCode::CREATED, "post {i}: {}", r.text);
    }
    let before = cases(&app).await;
    let r = form(&app, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.body[0]["description"].as_str().unwrap().contains("3 requests a minute"), "{}", r.text);
    assert_eq!(cases(&app).await, before);
    app.clock.advance_ms(60_000);
    assert_eq!(form(&app, "/open311/v2/requests.json", &flooding(&key, x, y)).await.status, StatusCode::CREATED);

    let keys = app.get(&admin, "/api/open311/keys").await;
    let row = keys.body.as_array().unwrap().iter().find(|k| k["name"] == "12345热线系统").unwrap().clone();
    assert_eq!((row["rate_per_minute"].as_i64(), row["revoked"].as_bool()), (Some(3), Some(false)));
    assert!(row.get("api_key").is_none(), "a key is shown once");
    let id = row["id"].as_i64().unwrap();
    let r = app.call(Some(&admin), reqwest::Method::DELETE, &format!("/api/open311/keys/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.clock.advance_ms(60_000);
    let r = form(&app, "/open311/v2/requests.json", &flooding(&key, x, y)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.call(Some(&admin), reqwest::Method::DELETE, &format!("/api/open311/keys/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audit = app.get(&app.login("auditor").await, "/api/audit?limit=50").await.text;
    assert!(audit.contains("create_open311_key") && audit.contains("revoke_open311_key"));

    // The command line issues keys while the server runs.
    let (ok, out, err) =
        wuzhi(&["open311", "key", "create", "--database-url", &app.db.url, "--name", "区网格化平台"], "");
    assert!(ok, "{err}");
    let cli_key = out.trim();
    assert_eq!(cli_key.len(), 64, "{out}");
    let r = form(&app, "/open311/v2/requests.json", &flooding(cli_key, x, y)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (ok, out, _) = wuzhi(&["open311", "key", "list", "--database-url", &app.db.url], "");
    assert!(ok && out.contains("区网格化平台") && out.contains("revoked"), "{out}");
}

#[tokio::test]
async fn a_configured_jurisdiction_refuses_another() {
    let app = spawn_app_with_settings(|s| s.open311_jurisdiction = Some("tianjin.gov.cn".into())).await;
    assert_eq!(get(&app, "/open311/v2/services.json?jurisdiction_id=tianjin.gov.cn").await.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/open311/v2/services.json").await.status,
        StatusCode::OK,
        "one jurisdiction: may be left out"
    );
    let r = get(&app, "/open311/v2/services.json?jurisdiction_id=beijing.gov.cn").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body[0]["description"].as_str().unwrap().starts_with("jurisdiction_id: "), "{}", r.text);
    let r = get(&app, "/open311/v2/services/E0507.xml?jurisdiction_id=beijing.gov.cn").await;
    assert!(r.text.contains("<code>404</code>"));
}

/// The 9,999 real MyLA311 requests, posted through Open311 by `wuzhi replay la311` into an
/// LA deployment (its 99 neighbourhood councils imported as territory, its request types as
/// categories), then all read back and compared field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_la311_requests_round_trip_through_open311() {
    let db = fresh_db().await;
    let (app, clock) = open_app_with_files(&db.url, db.dir.join("files")).await;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/la311");
    let councils = std::fs::read_to_string(format!("{root}/nc_boundaries.geojson")).unwrap();
    let key = wuzhi_app::demo::la_city(&app, &councils).await.unwrap();
    let mut conn = app.db.read().await.unwrap();
    let grids: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM territories WHERE level = 'grid'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(grids, 99, "one grid per council");
    drop(conn);
    let app = serve(app, clock, db).await;

    let file = format!("{root}/requests_2017_sample.csv");
    // The command runs while this process serves it: wait for it off the runtime's threads.
    let base = app.base.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        wuzhi(
            &["replay", "la311", "--url", &base, "--api-key", &key, "--file", &file, "--concurrency", "8", "--check"],
            "",
        )
    })
    .await
    .unwrap();
    assert!(ok, "{out}\n{err}");
    let figure = |name: &str| -> i64 {
        let line =
            out.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} in {out}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(figure("la311_rows"), 9999);
    // 105 located requests lie outside every council polygon and 57 without coordinates name
    // no council by its current name: refused with the reason, everything else is in.
    assert_eq!(figure("la311_posted"), 9837, "{out}");
    assert_eq!(figure("la311_refused"), 162, "{out}");
    assert!(out.contains("refused 105: 400 long:") && out.contains("refused 57: 400 address_string:"), "{out}");
    assert_eq!(figure("la311_checked"), 9837);
    assert_eq!(figure("la311_mismatches"), 0, "{out}");
    // Every request is a case of the LA categories, located in a council.
    let mut conn = app.app.db.read().await.unwrap();
    let (n, outside): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN territory_code LIKE '99%' THEN 0 ELSE 1 END), 0) FROM cases \
         WHERE channel = 'open311' AND category_code LIKE 'LA%'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!((n, outside), (9837, 0));
    // Every row is still the replay of its timeline.
    assert_projections_replay(&app).await;
}
