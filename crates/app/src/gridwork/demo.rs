//! The demo city's grid work (`wuzhi demo`), made through the module's own use cases as the
//! demo's people would: the community registers its steward and grid workers and puts them on
//! today's roster, gives each grid a patrol plan; the steward and the grid worker have walked
//! a patrol this morning (with its track, a finding and a fix on the spot), left quick notes
//! and visited households of the care plan; the street has sent a key task that the first
//! grid has finished and the second has begun. Seeded after the archives, once.

use super::tasks::{self, NewTask, ShareCommand};
use super::*;
use crate::cases::NewCase;
use crate::demo::actor_of;

const GRID1: &str = "120101001001001";
const GRID2: &str = "120101001001002";
const HOUR: i64 = 3_600_000;

fn finding(subject: &str, description: &str, at: (f64, f64), fixed: Option<(&str, &str)>, key: &str) -> NewCase {
    NewCase {
        channel: Channel::Grid,
        kind: "report".into(),
        subject: subject.into(),
        description: description.into(),
        category: fixed.map(|f| f.0.to_owned()),
        lon: Some(at.0),
        lat: Some(at.1),
        crs: None,
        address: None,
        reporter_name: None,
        reporter_phone: None,
        anonymous: false,
        public: None,
        idempotency_key: Some(key.into()),
        fixed_on_spot: fixed.map(|f| f.1.to_owned()),
        reporter_email: None,
        attributes: None,
    }
}

/// A walk of `minutes` from `at`, a point every 30 seconds, wandering about a metre a second.
fn walk(start_ms: i64, minutes: i64, at: (f64, f64), seed: u64) -> Vec<TrackPoint> {
    let mut r = seed;
    let mut next = || {
        r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (r >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut lon, mut lat) = at;
    (0..minutes * 2)
        .map(|i| {
            lon += next() * 0.0004;
            lat += next() * 0.0003;
            TrackPoint { at_ms: start_ms + i * 30_000, lat, lon }
        })
        .collect()
}

/// Seeds the demo's grid work; returns how many records it made (0 when already there).
pub async fn seed(app: &App) -> Result<usize> {
    let community = actor_of(app, "community").await?;
    let steward = actor_of(app, "steward").await?;
    let gw = actor_of(app, "gridworker").await?;
    let gw2 = actor_of(app, "gridworker2").await?;
    let commander = actor_of(app, "commander").await?;
    {
        let mut conn = app.db.read().await?;
        if !store::members_in(&mut conn, "120101001001").await?.is_empty() {
            return Ok(0);
        }
    }
    let mut made = 0usize;
    let now = app.now_ms();
    for (who, grid, kind, team) in [
        (&steward, GRID1, "steward", "花园路红袖标巡逻队"),
        (&gw, GRID1, "grid_worker", ""),
        (&gw2, GRID2, "grid_worker", ""),
    ] {
        let n = NewMember { person_id: who.person_id, grid_code: grid.into(), kind: kind.into(), team: team.into() };
        register_member(app, &community, &n).await?;
        made += 1;
    }
    // Today's roster: the steward's morning round, the grid workers' day.
    let day = now - (now + 8 * HOUR).rem_euclid(domain::DAY_MS);
    for (who, grid, from, to, note) in [
        (&steward, GRID1, 7, 11, "早班巡查"),
        (&gw, GRID1, 9, 18, ""),
        (&gw2, GRID2, 9, 18, ""),
        (&steward, GRID1, 24 + 7, 24 + 11, "早班巡查"),
    ] {
        let d = NewDuty {
            grid_code: grid.into(),
            person_id: who.person_id,
            starts_ms: day + from * HOUR,
            ends_ms: day + to * HOUR,
            note: note.into(),
        };
        add_duty(app, &community, &d).await?;
        made += 1;
    }
    let p1 = grid_point(app, GRID1).await?.ok_or_else(|| AppError::not_found("grid 1's boundary"))?;
    let p2 = grid_point(app, GRID2).await?.ok_or_else(|| AppError::not_found("grid 2's boundary"))?;
    let route = |p: (f64, f64)| json!({"type": "LineString", "coordinates": [[p.0, p.1], [p.0 + 0.0008, p.1], [p.0 + 0.0008, p.1 + 0.0006], [p.0, p.1 + 0.0006]]});
    let mut plan1 = None;
    for (grid, name, places, p) in [
        (GRID1, "每日早巡", vec!["沿街商铺门前", "小区消防通道", "垃圾分类投放点", "楼道堆物"], p1),
        (GRID2, "每日巡查", vec!["菜市场周边", "老旧楼院", "非机动车停放点"], p2),
    ] {
        let n = NewPlan {
            grid_code: grid.into(),
            name: name.into(),
            every_days: 1,
            places: places.into_iter().map(str::to_owned).collect(),
            route: Some(route(p)),
        };
        let v = add_plan(app, &community, &n).await?;
        plan1 = plan1.or(Some(v.id));
        made += 1;
    }

    // This morning's patrols, ended, with their tracks and what they found.
    for (who, grid, p, minutes, seed, key) in
        [(&steward, GRID1, p1, 70, 1, "demo-patrol-steward"), (&gw, GRID1, p1, 50, 2, "demo-patrol-gw")]
    {
        let start = now - 3 * HOUR + seed as i64 * 20 * 60_000;
        let s = StartPatrol {
            grid_code: grid.into(),
            plan_id: plan1,
            started_at_ms: Some(start),
            idempotency_key: Some(key.into()),
        };
        let (patrol, _) = start_patrol(app, who, &s).await?;
        for (seq, chunk) in walk(start, minutes, p, seed).chunks(20).enumerate() {
            add_track(app, who, patrol.id, &TrackUpload { seq: seq as i64, points: chunk.to_vec() }).await?;
        }
        if who.person_id == steward.person_id {
            let f = finding(
                "楼道堆放纸箱杂物",
                "2号楼一单元一至三层楼道堆满纸箱和旧家具，堵塞消防通道",
                p,
                None,
                "demo-finding-1",
            );
            report_finding(app, who, patrol.id, f).await?;
        } else {
            let f = finding(
                "电线杆小广告",
                "花园路口电线杆上贴满小广告",
                p,
                Some(("E0201", "已当场清除")),
                "demo-finding-2",
            );
            report_finding(app, who, patrol.id, f).await?;
        }
        let e = EndPatrol { note: "巡查完毕".into(), ended_at_ms: Some(start + minutes * 60_000) };
        end_patrol(app, who, patrol.id, &e).await?;
        made += 2;
    }

    // Quick notes.
    for (who, kind, text, key) in [
        (&steward, "worry", "3号楼的独居老人这两天没开灯，邻居有些担心", "demo-note-1"),
        (&gw, "hazard", "1号楼外墙瓷砖有松动，雨天需注意", "demo-note-2"),
        (&gw2, "need", "菜市场东侧缺少非机动车停放架，居民建议增设", "demo-note-3"),
    ] {
        let grid = if who.person_id == gw2.person_id { GRID2 } else { GRID1 };
        let n = NewNote {
            grid_code: Some(grid.into()),
            kind: kind.into(),
            text: text.into(),
            lat: None,
            lon: None,
            house_id: None,
            archive_person_id: None,
            idempotency_key: Some(key.into()),
        };
        add_note(app, who, &n).await?;
        made += 1;
    }

    // Visits to the households the plan says are due first.
    let plan = visit_plan(app, &gw, GRID1, true).await?;
    for (i, h) in plan.iter().take(3).enumerate() {
        let (outcome, found, needs, raise) = match i {
            0 => ("well", "老人身体尚好，子女每周来看望", "", false),
            1 => ("needs_help", "老人行动不便，独自居住", "希望社区协助申请居家养老助餐服务", true),
            _ => ("not_home", "", "", false),
        };
        let v = NewVisit {
            household_key: h.household_key.clone(),
            way: "home".into(),
            outcome: outcome.into(),
            found: found.into(),
            needs: needs.into(),
            raise_case: raise,
            at_ms: Some(now - (i as i64 + 1) * HOUR),
            updates: vec![],
            idempotency_key: Some(format!("demo-visit-{i}")),
        };
        log_visit(app, &gw, &v).await?;
        made += 1;
    }

    // The street's key task: grid 1 has finished it, grid 2 has begun.
    let task = NewTask {
        title: "冬季燃气安全入户排查".into(),
        description: "排查燃气表具、软管、报警器和通风条件，发现隐患当场告知并上报".into(),
        checklist: vec!["燃气表具".into(), "软管老化".into(), "报警器".into(), "通风条件".into()],
        territory_code: "120101001".into(),
        level: "grid".into(),
        deadline_ms: now + 5 * domain::DAY_MS,
    };
    let t = tasks::create(app, &commander, &task).await?;
    made += t.shares as usize;
    for (who, grid, answers) in [(&gw, GRID1, 4usize), (&gw2, GRID2, 1)] {
        let share = tasks::my_shares(app, who)
            .await?
            .into_iter()
            .find(|s| s.task_id == t.id && s.territory_code == grid)
            .ok_or_else(|| AppError::not_found("the demo task's share"))?;
        let mut version = share.version;
        for item in 0..answers {
            let c = ShareCommand::Progress {
                item,
                state: if item == 2 { "not_applicable".into() } else { "checked".into() },
                found: if item == 1 { 2 } else { 0 },
                note: if item == 2 { "该户未安装燃气报警器，已建议安装".into() } else { String::new() },
            };
            version = tasks::act(app, who, share.id, version, &c).await?.version;
        }
        if answers == 4 {
            tasks::act(app, who, share.id, version, &ShareCommand::Complete).await?;
        }
    }
    Ok(made)
}
