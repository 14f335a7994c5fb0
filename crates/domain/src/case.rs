//! The case (案件/工单) state machine: a pure function from the current state and one event
//! to the next state, or a refusal that says why. The store keeps the events as an
//! append-only timeline and this state as a projection, both in one transaction.
//!
//! The closed loop: 信息收集 (reported) → 立案 (filed) or 不予立案 (rejected) → 派遣
//! (dispatched) → 签收 (accepted) or 退回 (returned) → 处置 (handled) → 核查 (verified, and
//! so closed) or 返工 (rework) → 评价 (rated). Around it: extension (延期), parking (挂账),
//! escalation (升级), merging duplicates (合并), comments and reopening (重启).

use crate::Invalid;
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

    /// Still needs someone's work.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected | Status::Merged)
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
    pub fn parse(s: &str) -> Result<Satisfaction, Invalid> {
        match s {
            "satisfied" => Ok(Satisfaction::Satisfied),
            "basically_satisfied" => Ok(Satisfaction::BasicallySatisfied),
            "dissatisfied" => Ok(Satisfaction::Dissatisfied),
            _ => Err(Invalid::new(
                "satisfaction",
                format!("`{s}` is not satisfied, basically_satisfied or dissatisfied"),
            )),
        }
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

/// Why an event does not fit the case's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{action}` does not fit a case that is {status}{}", if hint.is_empty() { String::new() } else { format!(": {hint}") })]
pub struct Refused {
    pub action: &'static str,
    pub status: &'static str,
    pub hint: String,
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

    fn refuse(&self, e: &Event, hint: &str) -> Refused {
        Refused { action: e.kind(), status: self.status.as_str(), hint: hint.to_owned() }
    }

    /// The state machine.
    pub fn apply(&self, e: &Event, at_ms: i64) -> Result<CaseState, Refused> {
        use Status::*;
        let mut s = self.clone();
        let need = |ok: bool, hint: &str| {
            if ok { Ok(()) } else { Err(self.refuse(e, hint)) }
        };
        match e {
            Event::Reported { .. } => return Err(self.refuse(e, "a case is reported once")),
            Event::Filed { category, priority, due_ms } => {
                need(self.status == Reported, "")?;
                s.status = Filed;
                s.category = Some(category.clone());
                s.priority = Some(priority.clone());
                s.filed_at_ms = Some(at_ms);
                s.filed_late = self.overdue || self.due_ms.is_some_and(|d| at_ms > d);
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Rejected { .. } => {
                need(self.status == Reported, "")?;
                s.status = Rejected;
                s.due_ms = None;
                s.closed_at_ms = Some(at_ms);
            }
            Event::Dispatched { org, due_ms, assigned } => {
                need(matches!(self.status, Filed | Dispatched), "")?;
                if self.returns >= MAX_RETURNS && !assigned {
                    return Err(self.refuse(e, "returned three times: the command centre must assign an owner"));
                }
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
                need(self.status == Dispatched, "")?;
                s.status = Handling;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Returned { reason } => {
                need(self.status == Dispatched, "only a case not yet accepted can be returned")?;
                need(!reason.trim().is_empty(), "a return needs a reason")?;
                s.status = Filed;
                s.owner_org = None;
                s.returns += 1;
                s.total_returns += 1;
                s.due_ms = self.due_ms;
            }
            Event::Handled { .. } => {
                need(self.status == Handling, "")?;
                s.status = Handled;
            }
            Event::Verified { .. } => {
                need(self.status == Handled, "")?;
                s.status = Closed;
                s.closed_at_ms = Some(at_ms);
                s.closed_late = self.overdue || self.due_ms.is_some_and(|d| at_ms > d);
                s.due_ms = None;
            }
            Event::Reworked { due_ms, .. } => {
                need(self.status == Handled, "")?;
                s.status = Handling;
                s.reworks += 1;
                s.due_ms = Some(*due_ms);
            }
            Event::ExtensionRequested { until_ms, .. } => {
                need(self.status == Handling, "")?;
                need(self.extension_until_ms.is_none(), "an extension is already pending")?;
                need(self.due_ms.is_none_or(|d| *until_ms > d), "the new due time must be later")?;
                s.extension_until_ms = Some(*until_ms);
            }
            Event::ExtensionDecided { granted, .. } => {
                let until = self.extension_until_ms.ok_or_else(|| self.refuse(e, "no extension is pending"))?;
                s.extension_until_ms = None;
                if *granted {
                    s.due_ms = Some(until);
                    s.overdue = false;
                }
            }
            Event::Parked { .. } => {
                need(matches!(self.status, Handling | Filed), "")?;
                s.status = Parked;
                s.due_ms = None;
            }
            Event::Unparked { due_ms } => {
                need(self.status == Parked, "")?;
                s.status = if self.owner_org.is_some() { Handling } else { Filed };
                s.due_ms = Some(*due_ms);
            }
            Event::Escalated { org, due_ms, .. } => {
                need(matches!(self.status, Filed | Dispatched | Handling), "")?;
                s.status = Dispatched;
                s.owner_org = Some(*org);
                s.returns = 0;
                s.dispatches += 1;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::MergedInto { main } => {
                need(self.status.is_open(), "")?;
                s.status = Merged;
                s.merged_into = Some(*main);
                s.due_ms = None;
            }
            Event::Commented { text } => {
                need(!text.trim().is_empty(), "a comment needs text")?;
            }
            Event::Attached { .. } => {}
            Event::Reopened { due_ms, .. } => {
                need(self.status == Closed, "")?;
                s.status = Handling;
                s.closed_at_ms = None;
                s.closed_late = false;
                s.satisfaction = None;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Summoned { orgs, due_ms } => {
                need(self.status.is_open() && self.status != Parked, "")?;
                need(!orgs.is_empty(), "summon at least one department")?;
                let mut list = orgs.clone();
                list.sort_unstable();
                list.dedup();
                s.summoned = list.into_iter().map(|org| Summons { org, checked_in_ms: None }).collect();
                s.summon_due_ms = Some(*due_ms);
            }
            Event::CheckedIn { org } => {
                let i = self
                    .summoned
                    .iter()
                    .position(|x| x.org == *org)
                    .ok_or_else(|| self.refuse(e, "this unit was not summoned"))?;
                need(self.summoned[i].checked_in_ms.is_none(), "it has already checked in")?;
                s.summoned[i].checked_in_ms = Some(at_ms);
            }
            Event::JointAssigned { lead, cooperating, due_ms } => {
                need(matches!(self.status, Filed | Dispatched), "")?;
                need(!cooperating.contains(lead), "the lead unit cannot also cooperate")?;
                s.status = Dispatched;
                s.owner_org = Some(*lead);
                s.cooperating = cooperating.clone();
                s.dispatches += 1;
                s.returns = 0;
                s.due_ms = Some(*due_ms);
                s.overdue = false;
            }
            Event::Rated { .. } => {
                need(self.status == Closed, "")?;
                need(self.satisfaction.is_none(), "it is already rated")?;
                if let Event::Rated { satisfaction, .. } = e {
                    s.satisfaction = Some(*satisfaction);
                }
            }
            Event::MarkedOverdue { stage_due_ms } => {
                need(self.status.is_open() && self.status != Parked, "")?;
                need(!self.overdue && self.due_ms == Some(*stage_due_ms) && at_ms > *stage_due_ms, "not overdue")?;
                s.overdue = true;
            }
        }
        Ok(s)
    }

    /// Replays a whole timeline (the first event must be `Reported`).
    pub fn replay<'a>(events: impl IntoIterator<Item = (&'a Event, i64)>) -> Result<CaseState, Refused> {
        let mut it = events.into_iter();
        let mut s = match it.next() {
            Some((Event::Reported { due_ms }, _)) => CaseState::reported(*due_ms),
            _ => {
                return Err(Refused {
                    action: "replay",
                    status: "empty",
                    hint: "a timeline starts with reported".into(),
                });
            }
        };
        for (e, at) in it {
            s = s.apply(e, at)?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filed() -> CaseState {
        CaseState::reported(100)
            .apply(&Event::Filed { category: "E0102".into(), priority: "normal".into(), due_ms: 200 }, 10)
            .unwrap()
    }

    fn dispatch(s: &CaseState, org: i64, assigned: bool) -> Result<CaseState, Refused> {
        s.apply(&Event::Dispatched { org, due_ms: 300, assigned }, 20)
    }

    #[test]
    fn the_closed_loop() {
        let s = dispatch(&filed(), 7, false).unwrap();
        assert_eq!((s.status, s.owner_org), (Status::Dispatched, Some(7)));
        let s = s.apply(&Event::Accepted { due_ms: 1000 }, 30).unwrap();
        let s = s.apply(&Event::Handled { result: "已清理".into() }, 40).unwrap();
        let s = s.apply(&Event::Reworked { reason: "未清理干净".into(), due_ms: 2000 }, 50).unwrap();
        assert_eq!((s.status, s.reworks), (Status::Handling, 1));
        let s = s.apply(&Event::Handled { result: "已彻底清理".into() }, 60).unwrap();
        let s = s.apply(&Event::Verified { note: "现场核查合格".into() }, 70).unwrap();
        assert_eq!(s.status, Status::Closed);
        assert!(!s.closed_late);
        let s = s.apply(&Event::Rated { satisfaction: Satisfaction::Satisfied, text: String::new() }, 80).unwrap();
        assert!(s.apply(&Event::Rated { satisfaction: Satisfaction::Dissatisfied, text: String::new() }, 90).is_err());
    }

    #[test]
    fn three_returns_need_an_assigned_owner() {
        let mut s = filed();
        for _ in 0..3 {
            s = dispatch(&s, 7, false).unwrap();
            s = s.apply(&Event::Returned { reason: "不属本单位职责".into() }, 30).unwrap();
        }
        assert_eq!(s.returns, 3);
        let e = dispatch(&s, 8, false).unwrap_err();
        assert!(e.to_string().contains("must assign an owner"), "{e}");
        let s = dispatch(&s, 8, true).unwrap();
        assert_eq!((s.returns, s.total_returns, s.dispatches), (0, 3, 4));
    }

    #[test]
    fn refusals_name_the_action_and_state() {
        let e = CaseState::reported(100).apply(&Event::Accepted { due_ms: 1 }, 5).unwrap_err();
        assert_eq!(e.to_string(), "`accepted` does not fit a case that is reported");
        let s = dispatch(&filed(), 7, false).unwrap();
        assert!(s.apply(&Event::Returned { reason: " ".into() }, 30).is_err());
    }

    #[test]
    fn late_closure_and_overdue_marks() {
        let s = dispatch(&filed(), 7, false).unwrap().apply(&Event::Accepted { due_ms: 1000 }, 30).unwrap();
        assert!(s.apply(&Event::MarkedOverdue { stage_due_ms: 1000 }, 999).is_err(), "not yet due");
        let s = s.apply(&Event::MarkedOverdue { stage_due_ms: 1000 }, 1001).unwrap();
        assert!(s.overdue);
        assert!(s.apply(&Event::MarkedOverdue { stage_due_ms: 1000 }, 1002).is_err(), "marked once");
        let s = s
            .apply(&Event::Handled { result: "ok".into() }, 1100)
            .unwrap()
            .apply(&Event::Verified { note: String::new() }, 1200)
            .unwrap();
        assert!(s.closed_late);
    }

    #[test]
    fn extensions_move_the_due_time_only_when_granted() {
        let s = dispatch(&filed(), 7, false).unwrap().apply(&Event::Accepted { due_ms: 1000 }, 30).unwrap();
        assert!(s.apply(&Event::ExtensionRequested { until_ms: 900, reason: "x".into() }, 40).is_err());
        let s = s.apply(&Event::ExtensionRequested { until_ms: 5000, reason: "需协调".into() }, 40).unwrap();
        let denied = s.apply(&Event::ExtensionDecided { granted: false, note: String::new() }, 50).unwrap();
        assert_eq!(denied.due_ms, Some(1000));
        let granted = s.apply(&Event::ExtensionDecided { granted: true, note: String::new() }, 50).unwrap();
        assert_eq!(granted.due_ms, Some(5000));
        assert!(granted.apply(&Event::ExtensionDecided { granted: true, note: String::new() }, 60).is_err());
    }

    #[test]
    fn summons_and_joint_handling() {
        let s = filed().apply(&Event::Summoned { orgs: vec![5, 4, 5], due_ms: 500 }, 20).unwrap();
        assert_eq!(s.summoned.iter().map(|x| x.org).collect::<Vec<_>>(), vec![4, 5]);
        let s = s.apply(&Event::CheckedIn { org: 4 }, 30).unwrap();
        assert_eq!(s.summoned[0].checked_in_ms, Some(30));
        assert!(s.apply(&Event::CheckedIn { org: 4 }, 31).is_err(), "once");
        assert!(s.apply(&Event::CheckedIn { org: 9 }, 31).is_err(), "not summoned");
        let j = s.apply(&Event::JointAssigned { lead: 4, cooperating: vec![5], due_ms: 900 }, 40).unwrap();
        assert_eq!((j.status, j.owner_org, j.cooperating.clone()), (Status::Dispatched, Some(4), vec![5]));
        assert!(s.apply(&Event::JointAssigned { lead: 4, cooperating: vec![4], due_ms: 900 }, 40).is_err());
    }

    #[test]
    fn replay_equals_stepwise_application() {
        let events = vec![
            (Event::Reported { due_ms: 100 }, 0),
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
