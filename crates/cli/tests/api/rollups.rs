//! The roll-ups (per-day counters, the handling-time histogram, open cases per territory)
//! change with every case write in the same transaction. Whatever mix of steps people take
//! — reports in intake batches, filing, dispatching, returns, handling, rework, parking,
//! merging, reopening, rating, imports, refused steps — they must equal a rebuild from the
//! cases, and every case row must equal the replay of its timeline.

use crate::cases::point_in;
use crate::helpers::*;
use serde_json::json;

/// A small deterministic generator (xorshift64*), so a failing mix can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

async fn rows(app: &TestApp, sql: &'static str) -> Vec<String> {
    let mut conn = app.app.db.read().await.unwrap();
    let mut out: Vec<String> = sqlx::query_scalar::<_, String>(sql).fetch_all(&mut *conn).await.unwrap();
    out.sort();
    out
}

/// The roll-up tables as text, rows that count nothing left out (a contribution that moved
/// away leaves a row of zeros behind, which a rebuild does not write).
async fn roll_ups(app: &TestApp) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        rows(
            app,
            "SELECT CAST(day AS TEXT) || ' ' || district || ' ' || CAST(org AS TEXT) || ' ' || CAST(filed AS TEXT) || ' ' || \
             CAST(filed_on_time AS TEXT) || ' ' || CAST(closed AS TEXT) || ' ' || CAST(closed_on_time AS TEXT) || ' ' || \
             CAST(closed_late AS TEXT) || ' ' || CAST(reworked AS TEXT) || ' ' || CAST(dispatches AS TEXT) || ' ' || \
             CAST(returns AS TEXT) || ' ' || CAST(rated AS TEXT) || ' ' || CAST(satisfied AS TEXT) || ' ' || \
             CAST(handling_ms AS TEXT) FROM kpi_days WHERE filed <> 0 OR dispatches <> 0 OR returns <> 0",
        )
        .await,
        rows(app, "SELECT CAST(day AS TEXT) || ' ' || district || ' ' || CAST(bucket AS TEXT) || ' ' || CAST(n AS TEXT) FROM kpi_hist WHERE n <> 0").await,
        rows(app, "SELECT territory_code || ' ' || CAST(open AS TEXT) FROM open_cases WHERE open <> 0").await,
    )
}

#[tokio::test]
async fn roll_ups_equal_a_rebuild_after_any_mix_of_steps() {
    const WEDNESDAY_10AM: i64 = 20_782 * 86_400_000 + 2 * 3_600_000;
    // Staff sign in at the start of each shift; the idle timeout is not what this test is about.
    let app = spawn_app_at_with(WEDNESDAY_10AM, |s| s.session_idle_ms = s.session_ttl_ms).await;
    let admin = app.login("admin").await;
    let (x, y) = point_in(&app, &admin, "120101001001001").await;
    let names = ["resident", "dispatcher", "commander", "handler", "gridworker"];
    let mut who = Vec::new();
    for n in names {
        who.push(app.login(n).await);
    }
    let orgs = [app.org_id("120101001", "劝业场街道办事处").await, app.org_id("120101", "和平区城市管理委员会").await];
    // History from another system, open and closed.
    let csv = "external_id,kind,subject,description,category,address,created_at,status,closed_at,satisfaction\n\
               h1,request,旧案一,路灯不亮,C0108,花园路社区,2026-11-20 09:00,closed,2026-11-21 09:00,satisfied\n\
               h2,request,旧案二,井盖缺失,C0108,花园路社区,2026-11-24 09:00,open,,\n";
    assert!(app.post_text(&admin, "/api/cases/import", csv).await.status.is_success());
    let mut ids: Vec<i64> = Vec::new();
    for seed in [11u64, 2026] {
        let mut rng = Rng(seed);
        for step in 0..300 {
            // Time moves on, past due times and working days (signing in again before the
            // sessions expire).
            app.clock.advance_ms((rng.below(40) as i64) * 60_000);
            if step % 60 == 59 {
                for (s, n) in who.iter_mut().zip(names) {
                    *s = app.login(n).await;
                }
            }
            if ids.is_empty() || rng.below(12) == 0 {
                let body = json!({"channel": "app", "kind": "report", "subject": format!("第{seed}-{step}件"),
                    "description": "路边垃圾堆积", "category": "E0102", "lon": x, "lat": y});
                if let Some(id) = app.post(&who[0], "/api/cases", body).await.body["id"].as_i64() {
                    ids.push(id);
                }
                continue;
            }
            // Work concentrates on the latest cases, as a day's work does.
            let id = ids[ids.len() - 1 - rng.below(ids.len().min(8))];
            // What the case offers each person now.
            let mut offers: Vec<Vec<String>> = Vec::new();
            for s in &who {
                let mut o: Vec<String> = app.get(s, &format!("/api/cases/{id}")).await.body["actions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                o.retain(|a| a != "comment");
                offers.push(o);
            }
            let forward = |a: &String| ["file", "dispatch", "accept", "handle", "verify", "rate"].contains(&a.as_str());
            let movers: Vec<usize> = (0..who.len()).filter(|i| offers[*i].iter().any(forward)).collect();
            let any: Vec<usize> = (0..who.len()).filter(|i| !offers[*i].is_empty()).collect();
            let turn =
                |a: &String| ["return", "rework", "park", "unpark", "reopen", "merge", "reject"].contains(&a.as_str());
            let turners: Vec<usize> = (0..who.len()).filter(|i| offers[*i].iter().any(turn)).collect();
            let roll = rng.below(10);
            // Mostly the loop moves on; sometimes it turns (returns, rework, parking, merging,
            // reopening); sometimes someone asks for any step at all (mostly refused: a
            // refusal changes nothing).
            let (k, name, must_work) = if !movers.is_empty() && roll < 6 {
                let k = movers[rng.below(movers.len())];
                let f: Vec<&String> = offers[k].iter().filter(|a| forward(a)).collect();
                (k, f[rng.below(f.len())].clone(), true)
            } else if !turners.is_empty() && roll < 9 {
                let k = turners[rng.below(turners.len())];
                let t: Vec<&String> = offers[k].iter().filter(|a| turn(a)).collect();
                (k, t[rng.below(t.len())].clone(), true)
            } else if !any.is_empty() && roll < 9 {
                let k = any[rng.below(any.len())];
                (k, offers[k][rng.below(offers[k].len())].clone(), true)
            } else {
                let all = [
                    "file", "dispatch", "accept", "return", "handle", "verify", "rework", "park", "unpark", "reopen",
                    "rate", "merge",
                ];
                (rng.below(who.len()), all[rng.below(all.len())].to_owned(), false)
            };
            let actor = &who[k];
            let other = ids[rng.below(ids.len())];
            let body = match name.as_str() {
                "dispatch" => json!({"action": "dispatch", "org_id": orgs[rng.below(2)]}),
                "reject" | "return" | "rework" | "park" | "reopen" | "escalate" => {
                    json!({"action": name, "reason": "原因"})
                }
                "handle" => json!({"action": "handle", "result": "已处理"}),
                "request_extension" => json!({"action": name, "working_days": 2, "reason": "需协调"}),
                "decide_extension" => json!({"action": name, "granted": rng.below(2) == 0}),
                "rate" => {
                    let satisfaction = ["satisfied", "dissatisfied"][rng.below(2)];
                    json!({"action": "rate", "satisfaction": satisfaction})
                }
                "merge" => json!({"action": "merge", "into": other}),
                "summon" => json!({"action": "summon", "org_ids": [orgs[1]]}),
                "assign_joint" => json!({"action": name, "lead": orgs[0], "cooperating": [orgs[1]]}),
                "comment" => json!({"action": "comment", "text": "备注"}),
                _ => json!({"action": name}),
            };
            let r = app.post(actor, &format!("/api/cases/{id}/actions"), body).await;
            // Steps that depend on another case or unit (merge, escalate, summon, joint
            // handling, check-in) may still be refused for that one's reasons.
            let depends = ["merge", "escalate", "summon", "assign_joint", "check_in"].contains(&name.as_str());
            if must_work && !depends {
                assert!(r.status.is_success(), "{} offered {name} on case {id}: {}", names[k], r.text);
            }
        }
        if seed == 11 {
            // The sweep's marks and escalations are writes too.
            wuzhi_app::sweep::run_once(&app.app).await.unwrap();
        }
    }
    // The mix reached every step that moves a counter.
    for kind in [
        "filed",
        "dispatched",
        "returned",
        "handled",
        "verified",
        "reworked",
        "parked",
        "unparked",
        "merged_into",
        "reopened",
        "rated",
        "rejected",
        "marked_overdue",
    ] {
        let mut conn = app.app.db.read().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE kind = $1")
            .bind(kind)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert!(n > 0, "no {kind} step in the mix");
    }
    let incremental = roll_ups(&app).await;
    assert!(!incremental.0.is_empty() && !incremental.2.is_empty(), "the mix wrote counters");
    let mut tx = app.app.db.write().await.unwrap();
    wuzhi_store::rollup::rebuild(&mut tx).await.unwrap();
    wuzhi_store::commit(tx).await.unwrap();
    let rebuilt = roll_ups(&app).await;
    assert_eq!(incremental.0, rebuilt.0, "per-day counters");
    assert_eq!(incremental.1, rebuilt.1, "handling-time histogram");
    assert_eq!(incremental.2, rebuilt.2, "open cases per territory");
    assert_projections_replay(&app).await;
}
