//! Snapshots of whole workflow traces: who asked for which step, what `decide` answered,
//! and what the case offered each caller afterwards. A change in the policy shows up as a
//! readable diff of these traces.

use wuzhi_domain::Action;
use wuzhi_domain::cases::{CaseState, Command, Event, Relation, Satisfaction, Step};
use wuzhi_domain::work::System;

fn dispatcher() -> Relation {
    Relation {
        may: vec![Action::FileCase, Action::DispatchCase, Action::ApproveCase, Action::MergeCase],
        ..Relation::default()
    }
}
fn handler() -> Relation {
    Relation { owner: true, orgs: vec![7], ..Relation::default() }
}
fn reporter() -> Relation {
    Relation { reporter: true, ..Relation::default() }
}
fn grid_worker() -> Relation {
    Relation { may: vec![Action::VerifyCase, Action::FixOnSpot], orgs: vec![3], ..Relation::default() }
}
fn sweep() -> Relation {
    Relation { system: Some(System::Sweep), ..Relation::default() }
}

/// Runs the steps from a new report and writes the trace.
fn trace(steps: Vec<(&str, Relation, Command, i64)>) -> String {
    let mut s = CaseState::reported(0).apply(&Event::Reported { due_ms: 100, suggested: None }, 0);
    let mut out = String::new();
    let names = |v: Vec<Step>| v.into_iter().map(Step::as_str).collect::<Vec<_>>().join(" ");
    for (who, rel, cmd, at) in steps {
        let answer = match s.decide(&rel, &cmd, at) {
            Ok(e) => {
                s = s.apply(&e, at);
                format!(
                    "ok {} → {} owner={:?} due={:?} overdue={}",
                    e.kind(),
                    s.status.as_str(),
                    s.owner_org,
                    s.due_ms,
                    s.overdue
                )
            }
            Err(r) => format!("refused: {r}"),
        };
        out.push_str(&format!("t={at:<5} {who:<10} {:<18} {answer}\n", cmd.step().as_str()));
    }
    for (who, rel) in
        [("dispatcher", dispatcher()), ("handler", handler()), ("reporter", reporter()), ("gridworker", grid_worker())]
    {
        out.push_str(&format!("offered to {who}: {}\n", names(s.available(&rel, 10_000))));
    }
    out
}

#[test]
fn the_closed_loop_with_a_return_an_extension_and_a_rework() {
    let t = trace(vec![
        ("reporter", reporter(), Command::File { category: "E0102".into(), priority: "normal".into(), due_ms: 200 }, 5),
        (
            "dispatcher",
            dispatcher(),
            Command::File { category: "E0102".into(), priority: "normal".into(), due_ms: 200 },
            10,
        ),
        ("dispatcher", dispatcher(), Command::Dispatch { org: 8, assigned: false, due_ms: 300 }, 20),
        ("handler", handler(), Command::Accept { due_ms: 400 }, 25),
        ("dispatcher", dispatcher(), Command::Return { reason: "不属本单位".into() }, 26),
        ("dispatcher", dispatcher(), Command::Dispatch { org: 7, assigned: false, due_ms: 500 }, 30),
        ("handler", handler(), Command::Return { reason: " ".into() }, 31),
        ("handler", handler(), Command::Accept { due_ms: 900 }, 40),
        ("handler", handler(), Command::RequestExtension { until_ms: 2000, reason: "需协调".into() }, 50),
        ("dispatcher", dispatcher(), Command::DecideExtension { granted: true, note: String::new() }, 60),
        ("sweep", sweep(), Command::MarkOverdue { stage_due_ms: 2000 }, 1500),
        ("handler", handler(), Command::Handle { result: "已清理".into() }, 1600),
        ("gridworker", grid_worker(), Command::Rework { reason: "未清理干净".into(), due_ms: 3000 }, 1700),
        ("handler", handler(), Command::Handle { result: "已彻底清理".into() }, 1800),
        ("gridworker", grid_worker(), Command::Verify { note: "现场核查合格".into() }, 1900),
        ("handler", handler(), Command::DecideExtension { granted: true, note: String::new() }, 1950),
        ("reporter", reporter(), Command::Rate { satisfaction: Satisfaction::Satisfied, text: String::new() }, 2000),
    ]);
    insta::assert_snapshot!(t);
}

#[test]
fn overdue_marks_and_escalation_by_the_sweep() {
    let t = trace(vec![
        ("sweep", sweep(), Command::MarkOverdue { stage_due_ms: 100 }, 50),
        ("sweep", sweep(), Command::MarkOverdue { stage_due_ms: 100 }, 150),
        ("sweep", sweep(), Command::MarkOverdue { stage_due_ms: 100 }, 160),
        ("sweep", sweep(), Command::Escalate { org: 9, reason: "超期".into(), due_ms: 400 }, 170),
        (
            "dispatcher",
            dispatcher(),
            Command::File { category: "E0102".into(), priority: "urgent".into(), due_ms: 300 },
            180,
        ),
        (
            "sweep",
            sweep(),
            Command::Escalate { org: 9, reason: "超期一个工作日未办结，自动升级".into(), due_ms: 600 },
            400,
        ),
        ("dispatcher", dispatcher(), Command::Park { reason: "待资金".into() }, 410),
        ("dispatcher", dispatcher(), Command::Summon { orgs: vec![4, 5], due_ms: 700 }, 420),
    ]);
    insta::assert_snapshot!(t);
}
