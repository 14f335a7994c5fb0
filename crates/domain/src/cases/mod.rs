//! The case (案件/工单) workflow, the first user of the work-item kernel ([`crate::work`]):
//! `decide` (in `decide.rs`) says whether a caller may take a step now and which event
//! records it; `apply` here is that event's effect on the state. The store keeps the events
//! as an append-only timeline and this state as a projection, both in one transaction.
//!
//! The closed loop: 信息收集 (reported) → 立案 (filed) or 不予立案 (rejected) → 派遣
//! (dispatched) → 签收 (accepted) or 退回 (returned) → 处置 (handled) → 核查 (verified, and
//! so closed) or 返工 (rework) → 评价 (rated). Around it: extension (延期), parking (挂账),
//! escalation (升级), merging duplicates (合并), comments and reopening (重启).

use crate::Invalid;

mod decide;
pub mod public;
pub use decide::{CaseFlow, Command, FixOnSpot, Relation, Step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待立案
    Reported,
    /// 已立案，待派遣
    Filed,
    /// 已派遣，待签收
    Dispatched,
    /// 处置中
    Handling,
    /// 已处置，待核查
    Handled,
    /// 已结案
    Closed,
    /// 不予立案
    Rejected,
    /// 挂账
    Parked,
    /// 已并入主案
    Merged,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Reported,
        Status::Filed,
        Status::Dispatched,
        Status::Handling,
        Status::Handled,
        Status::Closed,
        Status::Rejected,
        Status::Parked,
        Status::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Filed => "filed",
            Status::Dispatched => "dispatched",
            Status::Handling => "handling",
            Status::Handled => "handled",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Parked => "parked",
            Status::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Result<Status, Invalid> {
        Status::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Invalid::new("status", format!("`{s}` is not a case status")))
    }

    /// Still needs someone's work. Every query that counts or lists open cases takes its
    /// statuses from [`Status::open`], so this is the only place the set is written.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected | Status::Merged)
    }

    /// The stages a case can be escalated from (升级): filed, dispatched, being handled.
    pub fn escalatable() -> Vec<&'static str> {
        Status::ALL.into_iter().filter(|s| s.can_escalate()).map(Status::as_str).collect()
    }

    pub(crate) fn can_escalate(self) -> bool {
        matches!(self, Status::Filed | Status::Dispatched | Status::Handling)
    }

    /// 应结案 while still open: a filed case whose stage is due counts as one that should be
    /// closed — except a parked (挂账) one, which is not due.
    pub fn awaiting_closure() -> Vec<&'static str> {
        Status::ALL.into_iter().filter(|s| s.is_open() && *s != Status::Parked).map(Status::as_str).collect()
    }

    /// The open statuses, by name.
    pub fn open() -> Vec<&'static str> {
        Status::ALL.into_iter().filter(|s| s.is_open()).map(Status::as_str).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] =
        [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied];

    pub fn parse(s: &str) -> Result<Satisfaction, Invalid> {
        Satisfaction::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            Invalid::new("satisfaction", format!("`{s}` is not satisfied, basically_satisfied or dissatisfied"))
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }
}

/// How many returns a case may take before the command centre must assign an owner.
pub const MAX_RETURNS: u32 = 3;

/// One thing that happened to a case. Deadlines are computed by the caller (with the
/// calendar) and carried in the event, so replaying the timeline needs no calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Reported {
        due_ms: i64,
        /// The reporter's own choice of category, kept as a suggestion until the case is filed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suggested: Option<String>,
    },
    Filed {
        category: String,
        priority: String,
        due_ms: i64,
    },
    Rejected {
        reason: String,
    },
    /// To an organisation; `assigned` when the command centre fixes the owner after returns.
    Dispatched {
        org: i64,
        due_ms: i64,
        assigned: bool,
    },
    Accepted {
        due_ms: i64,
    },
    Returned {
        reason: String,
    },
    Handled {
        result: String,
    },
    Verified {
        note: String,
    },
    Reworked {
        reason: String,
        due_ms: i64,
    },
    ExtensionRequested {
        until_ms: i64,
        reason: String,
    },
    ExtensionDecided {
        granted: bool,
        note: String,
    },
    Parked {
        reason: String,
    },
    Unparked {
        due_ms: i64,
    },
    Escalated {
        org: i64,
        reason: String,
        due_ms: i64,
    },
    MergedInto {
        main: i64,
    },
    Commented {
        text: String,
    },
    /// A photo or document was attached.
    Attached {
        attachment: i64,
        name: String,
    },
    Reopened {
        reason: String,
        due_ms: i64,
    },
    /// 吹哨: a street commander summons departments, who must check in by `due_ms`.
    Summoned {
        orgs: Vec<i64>,
        due_ms: i64,
    },
    /// 报到
    CheckedIn {
        org: i64,
    },
    /// 联合处置: a lead unit owns the case, cooperating units work with it.
    JointAssigned {
        lead: i64,
        cooperating: Vec<i64>,
        due_ms: i64,
    },
    Rated {
        satisfaction: Satisfaction,
        text: String,
    },
    MarkedOverdue {
        stage_due_ms: i64,
    },
    /// 历史数据导入: the first event of a case from another system's history, carrying its
    /// state as that system recorded it.
    Imported {
        history: History,
    },
}

/// A historical case's state as the system it comes from recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub external_id: String,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub filed_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    pub closed_late: bool,
    /// When an open one is due.
    pub due_ms: Option<i64>,
    pub satisfaction: Option<Satisfaction>,
}

impl History {
    pub fn state(&self) -> CaseState {
        let closed = self.closed_at_ms.is_some();
        CaseState {
            status: if closed { Status::Closed } else { Status::Filed },
            category: self.category.clone(),
            priority: self.priority.clone(),
            due_ms: if closed { None } else { self.due_ms },
            filed_at_ms: Some(self.filed_at_ms),
            closed_at_ms: self.closed_at_ms,
            closed_late: self.closed_late,
            satisfaction: self.satisfaction,
            ..CaseState::reported(0)
        }
    }
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Reported { .. } => "reported",
            Event::Filed { .. } => "filed",
            Event::Rejected { .. } => "rejected",
            Event::Dispatched { .. } => "dispatched",
            Event::Accepted { .. } => "accepted",
            Event::Returned { .. } => "returned",
            Event::Handled { .. } => "handled",
            Event::Verified { .. } => "verified",
            Event::Reworked { .. } => "reworked",
            Event::ExtensionRequested { .. } => "extension_requested",
            Event::ExtensionDecided { .. } => "extension_decided",
            Event::Parked { .. } => "parked",
            Event::Unparked { .. } => "unparked",
            Event::Escalated { .. } => "escalated",
            Event::MergedInto { .. } => "merged_into",
            Event::Commented { .. } => "commented",
            Event::Attached { .. } => "attached",
            Event::Reopened { .. } => "reopened",
            Event::Rated { .. } => "rated",
            Event::Summoned { .. } => "summoned",
            Event::CheckedIn { .. } => "checked_in",
            Event::JointAssigned { .. } => "joint_assigned",
            Event::MarkedOverdue { .. } => "marked_overdue",
            Event::Imported { .. } => "imported",
        }
    }
}

/// The projection of a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseState {
    pub status: Status,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub owner_org: Option<i64>,
    /// Returns since the owner was last assigned by the command centre.
    pub returns: u32,
    pub dispatches: u32,
    pub total_returns: u32,
    pub reworks: u32,
    /// When the current stage is due.
    pub due_ms: Option<i64>,
    pub overdue: bool,
    pub extension_until_ms: Option<i64>,
    pub satisfaction: Option<Satisfaction>,
    pub merged_into: Option<i64>,
    pub filed_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// Closed after its due time.
    pub closed_late: bool,
    /// Filed after the filing deadline.
    pub filed_late: bool,
    /// 吹哨报到: departments summoned by a street commander, and when each checked in.
    pub summoned: Vec<Summons>,
    pub summon_due_ms: Option<i64>,
    /// 联合处置: units cooperating with the owner (the lead unit).
    pub cooperating: Vec<i64>,
}

/// One summoned department and when it checked in (报到).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summons {
    pub org: i64,
    pub checked_in_ms: Option<i64>,
}

impl CaseState {
    /// The state right after a report, due for filing at `due_ms`.
    pub fn reported(due_ms: i64) -> CaseState {
        CaseState {
            status: Status::Reported,
            category: None,
            priority: None,
            owner_org: None,
            returns: 0,
            dispatches: 0,
            total_returns: 0,
            reworks: 0,
            due_ms: Some(due_ms),
            overdue: false,
            extension_until_ms: None,
            satisfaction: None,
            merged_into: None,
            filed_at_ms: None,
            closed_at_ms: None,
            closed_late: false,
            filed_late: false,
            summoned: Vec::new(),
            summon_due_ms: None,
            cooperating: Vec::new(),
        }
    }

    /// The event's effect on the state. It never refuses: `decide` checked the step before the
    /// event was written, and an event on the timeline happened.
    pub fn apply(&self, e: &Event, at_ms: i64) -> CaseState {
        use Status::*;
        let mut s = self.clone();
        match e {
            Event::Reported { due_ms, suggested } => {
                return CaseState { category: suggested.clone(), ..CaseState::reported(*due_ms) };
            }
            Event::Filed { category, priority, due_ms } => {
                s.status = Filed;
                s.category = Some(category.clone());
                s.priority = Some(priority.clone());
                s.filed_at_ms = Some(at_ms);
                s.filed_late = self.overdue || self.due_ms.is_some_and(|d| at_ms > d);
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Rejected { .. } => {
                s.status = Rejected;
                s.due_ms = None;
                s.extension_until_ms = None;
                s.closed_at_ms = Some(at_ms);
            }
            Event::Dispatched { org, due_ms, assigned } => {
                s.status = Dispatched;
                s.owner_org = Some(*org);
                s.dispatches += 1;
                if *assigned {
                    s.returns = 0;
                }
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Accepted { due_ms } => {
                s.status = Handling;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Returned { .. } => {
                s.status = Filed;
                s.owner_org = None;
                s.returns += 1;
                s.total_returns += 1;
            }
            Event::Handled { .. } => s.status = Handled,
            Event::Verified { .. } => {
                s.status = Closed;
                s.closed_at_ms = Some(at_ms);
                s.closed_late = self.overdue || self.due_ms.is_some_and(|d| at_ms > d);
                s.due_ms = None;
                s.extension_until_ms = None;
            }
            Event::Reworked { due_ms, .. } => {
                s.status = Handling;
                s.reworks += 1;
                s.due_ms = Some(*due_ms);
            }
            Event::ExtensionRequested { until_ms, .. } => s.extension_until_ms = Some(*until_ms),
            Event::ExtensionDecided { granted, .. } => {
                if *granted {
                    s.due_ms = self.extension_until_ms.or(self.due_ms);
                    s.overdue = false;
                }
                s.extension_until_ms = None;
            }
            Event::Parked { .. } => {
                s.status = Parked;
                s.due_ms = None;
            }
            Event::Unparked { due_ms } => {
                s.status = if self.owner_org.is_some() { Handling } else { Filed };
                s.due_ms = Some(*due_ms);
            }
            Event::Escalated { org, due_ms, .. } => {
                s.status = Dispatched;
                s.owner_org = Some(*org);
                s.returns = 0;
                s.dispatches += 1;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::MergedInto { main } => {
                s.status = Merged;
                s.merged_into = Some(*main);
                s.due_ms = None;
                s.extension_until_ms = None;
            }
            Event::Commented { .. } | Event::Attached { .. } => {}
            Event::Reopened { due_ms, .. } => {
                s.status = Handling;
                s.closed_at_ms = None;
                s.closed_late = false;
                s.satisfaction = None;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Summoned { orgs, due_ms } => {
                let mut list = orgs.clone();
                list.sort_unstable();
                list.dedup();
                s.summoned = list.into_iter().map(|org| Summons { org, checked_in_ms: None }).collect();
                s.summon_due_ms = Some(*due_ms);
            }
            Event::CheckedIn { org } => {
                if let Some(x) = s.summoned.iter_mut().find(|x| x.org == *org && x.checked_in_ms.is_none()) {
                    x.checked_in_ms = Some(at_ms);
                }
            }
            Event::JointAssigned { lead, cooperating, due_ms } => {
                s.status = Dispatched;
                s.owner_org = Some(*lead);
                s.cooperating = cooperating.clone();
                s.dispatches += 1;
                s.returns = 0;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Rated { satisfaction, .. } => s.satisfaction = Some(*satisfaction),
            Event::MarkedOverdue { .. } => s.overdue = true,
            Event::Imported { history } => return history.state(),
        }
        s
    }

    /// Replays a whole timeline, which starts with `reported` (or `imported`, for a case from
    /// another system's history).
    pub fn replay<'a>(events: impl IntoIterator<Item = (&'a Event, i64)>) -> Option<CaseState> {
        let mut it = events.into_iter();
        let mut s = match it.next() {
            Some((e @ Event::Reported { .. }, at)) => CaseState::reported(0).apply(e, at),
            Some((Event::Imported { history }, _)) => history.state(),
            _ => return None,
        };
        for (e, at) in it {
            s = s.apply(e, at);
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::work::{Refusal, System};

    /// A dispatcher of the case's territory who is also in the owning unit 7 and reported it:
    /// every step the relation can allow, so these tests exercise the state rules.
    fn all() -> Relation {
        Relation {
            reporter: true,
            owner: true,
            orgs: vec![4, 7],
            may: vec![
                Action::FileCase,
                Action::DispatchCase,
                Action::VerifyCase,
                Action::ApproveCase,
                Action::MergeCase,
            ],
            system: None,
        }
    }

    fn step(s: &CaseState, cmd: Command, at: i64) -> Result<CaseState, Refusal> {
        step_as(s, &all(), cmd, at)
    }

    fn step_as(s: &CaseState, rel: &Relation, cmd: Command, at: i64) -> Result<CaseState, Refusal> {
        let e = s.decide(rel, &cmd, at)?;
        Ok(s.apply(&e, at))
    }

    fn filed() -> CaseState {
        step(
            &CaseState::reported(100),
            Command::File { category: "E0102".into(), priority: "normal".into(), due_ms: 200 },
            10,
        )
        .unwrap()
    }

    fn dispatch(s: &CaseState, org: i64, assigned: bool) -> Result<CaseState, Refusal> {
        step(s, Command::Dispatch { org, due_ms: 300, assigned }, 20)
    }

    fn handling() -> CaseState {
        step(&dispatch(&filed(), 7, false).unwrap(), Command::Accept { due_ms: 1000 }, 30).unwrap()
    }

    #[test]
    fn the_closed_loop() {
        let s = dispatch(&filed(), 7, false).unwrap();
        assert_eq!((s.status, s.owner_org), (Status::Dispatched, Some(7)));
        let s = step(&s, Command::Accept { due_ms: 1000 }, 30).unwrap();
        let s = step(&s, Command::Handle { result: "已清理".into() }, 40).unwrap();
        let s = step(&s, Command::Rework { reason: "未清理干净".into(), due_ms: 2000 }, 50).unwrap();
        assert_eq!((s.status, s.reworks), (Status::Handling, 1));
        let s = step(&s, Command::Handle { result: "已彻底清理".into() }, 60).unwrap();
        let s = step(&s, Command::Verify { note: "现场核查合格".into() }, 70).unwrap();
        assert_eq!(s.status, Status::Closed);
        assert!(!s.closed_late);
        let rate = |x| Command::Rate { satisfaction: x, text: String::new() };
        let s = step(&s, rate(Satisfaction::Satisfied), 80).unwrap();
        assert!(step(&s, rate(Satisfaction::Dissatisfied), 90).is_err());
    }

    #[test]
    fn three_returns_need_an_assigned_owner() {
        let mut s = filed();
        for _ in 0..3 {
            s = dispatch(&s, 7, false).unwrap();
            s = step(&s, Command::Return { reason: "不属本单位职责".into() }, 30).unwrap();
        }
        assert_eq!(s.returns, 3);
        let e = dispatch(&s, 8, false).unwrap_err();
        assert!(e.to_string().contains("must assign an owner"), "{e}");
        let s = dispatch(&s, 8, true).unwrap();
        assert_eq!((s.returns, s.total_returns, s.dispatches), (0, 3, 4));
    }

    #[test]
    fn refusals_name_the_step_and_state() {
        let e = step(&CaseState::reported(100), Command::Accept { due_ms: 1 }, 5).unwrap_err();
        assert_eq!(e.to_string(), "`accept` does not fit an item that is reported");
        let s = dispatch(&filed(), 7, false).unwrap();
        let e = step(&s, Command::Return { reason: " ".into() }, 30).unwrap_err();
        assert_eq!(e, Refusal::Invalid(Invalid::new("reason", "is empty")));
    }

    #[test]
    fn the_relation_is_checked_before_anything_else() {
        let resident = Relation { orgs: vec![], may: vec![], ..Relation::default() };
        let e = step_as(&CaseState::reported(100), &resident, Command::Reject { reason: String::new() }, 5);
        assert_eq!(e.unwrap_err(), Refusal::Forbidden { step: "reject" });
        let sweep = Relation { system: Some(System::Sweep), ..Relation::default() };
        let s = handling();
        assert!(step_as(&s, &sweep, Command::Handle { result: "x".into() }, 40).is_err());
        assert!(step_as(&s, &sweep, Command::MarkOverdue { stage_due_ms: 1000 }, 1001).is_ok());
        assert!(step_as(&s, &all(), Command::MarkOverdue { stage_due_ms: 1000 }, 1001).is_err(), "only the sweep");
        let classifier = Relation { system: Some(System::Classifier), ..Relation::default() };
        let file = Command::File { category: "E0102".into(), priority: "normal".into(), due_ms: 200 };
        assert!(step_as(&CaseState::reported(100), &classifier, file, 10).is_ok());
        assert!(step_as(&CaseState::reported(100), &classifier, Command::Reject { reason: "x".into() }, 10).is_err());
    }

    #[test]
    fn late_closure_and_overdue_marks() {
        let sweep = Relation { system: Some(System::Sweep), ..Relation::default() };
        let s = handling();
        let mark = || Command::MarkOverdue { stage_due_ms: 1000 };
        assert!(step_as(&s, &sweep, mark(), 999).is_err(), "not yet due");
        let s = step_as(&s, &sweep, mark(), 1001).unwrap();
        assert!(s.overdue);
        assert!(step_as(&s, &sweep, mark(), 1002).is_err(), "marked once");
        let s = step(&s, Command::Handle { result: "ok".into() }, 1100).unwrap();
        let s = step(&s, Command::Verify { note: String::new() }, 1200).unwrap();
        assert!(s.closed_late);
    }

    #[test]
    fn extensions_move_the_due_time_only_when_granted() {
        let s = handling();
        assert!(step(&s, Command::RequestExtension { until_ms: 900, reason: "x".into() }, 40).is_err());
        let s = step(&s, Command::RequestExtension { until_ms: 5000, reason: "需协调".into() }, 40).unwrap();
        let decide = |granted| Command::DecideExtension { granted, note: String::new() };
        let denied = step(&s, decide(false), 50).unwrap();
        assert_eq!(denied.due_ms, Some(1000));
        let granted = step(&s, decide(true), 50).unwrap();
        assert_eq!(granted.due_ms, Some(5000));
        assert!(step(&granted, decide(true), 60).is_err());
    }

    /// Reading found that an extension could be decided on a closed case.
    #[test]
    fn an_extension_is_not_decided_once_the_case_is_closed() {
        let s = step(&handling(), Command::RequestExtension { until_ms: 5000, reason: "需协调".into() }, 40).unwrap();
        let s = step(&s, Command::Handle { result: "ok".into() }, 50).unwrap();
        let closed = step(&s, Command::Verify { note: String::new() }, 60).unwrap();
        assert_eq!(closed.extension_until_ms, None, "closing ends the request");
        let e = step(&closed, Command::DecideExtension { granted: true, note: String::new() }, 70).unwrap_err();
        assert!(matches!(e, Refusal::State { .. }), "{e}");
        assert!(!closed.available(&all(), 70).contains(&Step::DecideExtension));
    }

    #[test]
    fn summons_and_joint_handling() {
        let s = step(&filed(), Command::Summon { orgs: vec![5, 4, 5], due_ms: 500 }, 20).unwrap();
        assert_eq!(s.summoned.iter().map(|x| x.org).collect::<Vec<_>>(), vec![4, 5]);
        let s = step(&s, Command::CheckIn { org: 4 }, 30).unwrap();
        assert_eq!(s.summoned[0].checked_in_ms, Some(30));
        assert!(step(&s, Command::CheckIn { org: 4 }, 31).is_err(), "once");
        assert!(step(&s, Command::CheckIn { org: 9 }, 31).is_err(), "not summoned, nor mine");
        let j = step(&s, Command::AssignJoint { lead: 4, cooperating: vec![5], due_ms: 900 }, 40).unwrap();
        assert_eq!((j.status, j.owner_org, j.cooperating.clone()), (Status::Dispatched, Some(4), vec![5]));
        assert!(step(&s, Command::AssignJoint { lead: 4, cooperating: vec![4], due_ms: 900 }, 40).is_err());
    }

    #[test]
    fn what_may_be_done_now_follows_the_relation_and_the_state() {
        let owner = Relation { owner: true, orgs: vec![7], ..Relation::default() };
        let s = dispatch(&filed(), 7, false).unwrap();
        let names = |v: Vec<Step>| v.into_iter().map(Step::as_str).collect::<Vec<_>>();
        assert_eq!(names(s.available(&owner, 25)), ["accept", "return", "escalate", "comment"]);
        let reporter = Relation { reporter: true, ..Relation::default() };
        assert_eq!(names(s.available(&reporter, 25)), ["comment"]);
        let handled = step(&handling(), Command::Handle { result: "ok".into() }, 40).unwrap();
        assert_eq!(names(handled.available(&reporter, 45)), ["verify", "rework", "comment"]);
        let closed = step(&handled, Command::Verify { note: String::new() }, 50).unwrap();
        assert_eq!(names(closed.available(&reporter, 60)), ["reopen", "rate", "comment"]);
    }

    #[test]
    fn replay_equals_stepwise_application() {
        let events = vec![
            (Event::Reported { due_ms: 100, suggested: None }, 0),
            (Event::Filed { category: "H010101".into(), priority: "normal".into(), due_ms: 200 }, 10),
            (Event::Dispatched { org: 3, due_ms: 300, assigned: false }, 20),
            (Event::Accepted { due_ms: 400 }, 30),
            (Event::Parked { reason: "待资金".into() }, 35),
            (Event::Unparked { due_ms: 900 }, 36),
            (Event::Handled { result: "done".into() }, 40),
            (Event::Verified { note: String::new() }, 50),
            (Event::Reopened { reason: "复发".into(), due_ms: 999 }, 60),
        ];
        let s = CaseState::replay(events.iter().map(|(e, t)| (e, *t))).unwrap();
        assert_eq!(s.status, Status::Handling);
        assert_eq!(s.owner_org, Some(3));
        // Events round-trip through their stored JSON form.
        for (e, _) in &events {
            let back: Event = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
            assert_eq!(&back, e);
        }
    }
}
