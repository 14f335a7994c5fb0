//! Risk early warning (issue 15). So far its store: the rules the database itself keeps —
//! one open warning per rule and key whichever server raises it, each evidence case once, and
//! one detector lease at a time — on SQLite and PostgreSQL alike.

use crate::helpers::spawn_app;
use wuzhi_store::warnings::{self as w, NewWarning};

fn new<'a>(key: &'a str, now: i64) -> NewWarning<'a> {
    NewWarning {
        rule: "spike",
        key,
        level: "blue",
        territory: "120101001001001",
        category: Some("H01"),
        detail: "",
        status: "new",
        observed: 3,
        expected: 0.004,
        window_ms: 3_600_000,
        p: Some(1.2e-8),
        rule_version: 0,
        first_case_at_ms: now - 600_000,
        now_ms: now,
    }
}

#[tokio::test]
async fn the_database_keeps_one_open_warning_per_key_each_case_once_and_one_detector() {
    let app = spawn_app().await;
    let now = app.app.now_ms();
    let mut tx = app.app.db.write().await.unwrap();
    let first = w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap();
    assert!(first.is_some());
    // A second raise of the same rule and key, as a second server would try: refused by the index.
    assert_eq!(w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap(), None);
    // Another key is another warning.
    assert!(w::insert(&mut tx, &new("120101001001002/H01/1h", now)).await.unwrap().is_some());
    let id = first.unwrap();
    assert_eq!(w::add_cases(&mut tx, id, &[(1, now - 600_000), (2, now - 300_000), (3, now)]).await.unwrap(), 3);
    assert_eq!(
        w::add_cases(&mut tx, id, &[(2, now - 300_000), (3, now), (4, now)]).await.unwrap(),
        1,
        "each case once"
    );
    w::update_evidence(&mut tx, id, 4, 0.004, Some(1e-10), now - 900_000, now).await.unwrap();
    // Once it has ended, the same key may raise a new warning.
    w::set_projection(&mut tx, id, "resolved", false, "blue", None, now).await.unwrap();
    assert!(w::insert(&mut tx, &new("120101001001001/H01/1h", now)).await.unwrap().is_some());
    let cases = w::cases(&mut tx, id, 100).await.unwrap();
    assert_eq!(cases.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(w::points(&mut tx, id).await.unwrap(), vec![(now, 4, 0.004)]);
    // One detector at a time: server A holds the lease, B is refused until it lapses.
    let a = w::take_lease(&mut tx, "a", now, now + 30_000).await.unwrap().expect("free lease");
    assert_eq!((a.cursor_ms, a.cursor_id), (0, 0));
    assert!(w::take_lease(&mut tx, "b", now + 1_000, now + 31_000).await.unwrap().is_none());
    assert!(w::advance(&mut tx, "a", (now, 17)).await.unwrap());
    assert!(!w::advance(&mut tx, "b", (now, 18)).await.unwrap(), "only the holder moves the cursor");
    let b = w::take_lease(&mut tx, "b", now + 30_001, now + 60_000).await.unwrap().expect("lapsed lease");
    assert_eq!((b.cursor_ms, b.cursor_id), (now, 17));
    assert!(!w::advance(&mut tx, "a", (now, 19)).await.unwrap(), "a lapsed holder no longer moves it");
    // The digest of a day is claimed once.
    assert!(w::claim_digest(&mut tx, 20_000).await.unwrap());
    assert!(!w::claim_digest(&mut tx, 20_000).await.unwrap());
    // Parameters per territory keep a version.
    assert_eq!(w::set_rules(&mut tx, "120101", "{}", None, now).await.unwrap(), 1);
    assert_eq!(w::set_rules(&mut tx, "120101", "{}", None, now).await.unwrap(), 2);
    assert_eq!(
        w::put_lexicon(&mut tx, "燃气泄漏", "safety", "red", "[]", true, None, now).await.unwrap(),
        w::put_lexicon(&mut tx, "燃气泄漏", "safety", "orange", "[]", true, None, now).await.unwrap()
    );
    assert_eq!(w::lexicon(&mut tx).await.unwrap()[0].level, "orange");
    wuzhi_store::commit(tx).await.unwrap();
}
