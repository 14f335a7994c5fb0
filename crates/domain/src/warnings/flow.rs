//! A warning's lifecycle: raised by a detector (new), acknowledged by someone who watches the
//! territory, assigned to a unit with a deadline (a case-like stage the sweep marks overdue),
//! and ended as resolved or as a false alarm, each with its reason. New evidence may raise its
//! level while it is open. Every step is an event on its timeline with the person who took it.

use super::Level;
use crate::Invalid;
use crate::work::{Head, Refusal, System, Workflow};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningStatus {
    New,
    Acknowledged,
    Assigned,
    Resolved,
    FalseAlarm,
}

impl WarningStatus {
    pub const ALL: [WarningStatus; 5] = [
        WarningStatus::New,
        WarningStatus::Acknowledged,
        WarningStatus::Assigned,
        WarningStatus::Resolved,
        WarningStatus::FalseAlarm,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            WarningStatus::New => "new",
            WarningStatus::Acknowledged => "acknowledged",
            WarningStatus::Assigned => "assigned",
            WarningStatus::Resolved => "resolved",
            WarningStatus::FalseAlarm => "false_alarm",
        }
    }
    pub fn parse(s: &str) -> Result<WarningStatus, Invalid> {
        WarningStatus::ALL.into_iter().find(|x| x.as_str() == s.trim()).ok_or_else(|| {
            Invalid::new("status", format!("`{s}` is not one of new, acknowledged, assigned, resolved, false_alarm"))
        })
    }
    pub fn open(self) -> bool {
        !matches!(self, WarningStatus::Resolved | WarningStatus::FalseAlarm)
    }
    /// The statuses of open warnings: every query of open warnings takes them from here.
    pub fn open_statuses() -> Vec<&'static str> {
        WarningStatus::ALL.into_iter().filter(|s| s.open()).map(WarningStatus::as_str).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningState {
    pub status: WarningStatus,
    pub level: Level,
    /// The unit it is assigned to, and by when it must act.
    pub unit: Option<i64>,
    pub due_ms: Option<i64>,
    pub overdue: bool,
}

impl WarningState {
    pub fn raised(level: Level) -> WarningState {
        WarningState { status: WarningStatus::New, level, unit: None, due_ms: None, overdue: false }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningStep {
    Acknowledge,
    Assign,
    Resolve,
    Dismiss,
    RaiseLevel,
    MarkOverdue,
}

impl WarningStep {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningStep::Acknowledge => "acknowledge",
            WarningStep::Assign => "assign",
            WarningStep::Resolve => "resolve",
            WarningStep::Dismiss => "dismiss",
            WarningStep::RaiseLevel => "raise_level",
            WarningStep::MarkOverdue => "mark_overdue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningCommand {
    Acknowledge {
        note: Option<String>,
    },
    /// To unit `unit`, due at `due_ms` (computed by the use case on the calendar).
    Assign {
        unit: i64,
        due_ms: i64,
        note: Option<String>,
    },
    Resolve {
        reason: String,
    },
    /// 误报: a false alarm, with why.
    Dismiss {
        reason: String,
    },
    /// New evidence made the detector's level higher.
    RaiseLevel {
        level: Level,
    },
    MarkOverdue {
        due_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WarningEvent {
    /// Raised by a detector: its rule and key, the level, and the evidence as the detector saw it.
    Raised {
        rule: super::Rule,
        key: String,
        level: Level,
    },
    LevelRaised {
        from: Level,
        to: Level,
    },
    Acknowledged {
        note: Option<String>,
    },
    Assigned {
        unit: i64,
        due_ms: i64,
        note: Option<String>,
    },
    Resolved {
        reason: String,
    },
    Dismissed {
        reason: String,
    },
    MarkedOverdue {
        due_ms: i64,
    },
}

/// How the caller stands to the warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WarningRelation {
    /// Holds `handle_warnings` over its territory (a dispatcher, the street's commander).
    pub handler: bool,
    /// Is staff of the unit it is assigned to.
    pub assigned_unit: bool,
    pub system: Option<System>,
}

pub struct WarningFlow;

fn note(n: &Option<String>) -> Result<Option<String>, Invalid> {
    let t = crate::text::optional("note", n.as_deref().unwrap_or(""))?;
    Ok((!t.is_empty()).then_some(t))
}

impl Workflow for WarningFlow {
    const KIND: &'static str = "warnings.warning";
    type State = WarningState;
    type Event = WarningEvent;
    type Command = WarningCommand;
    type Relation = WarningRelation;
    type Step = WarningStep;
    const STEPS: &'static [WarningStep] = &[
        WarningStep::Acknowledge,
        WarningStep::Assign,
        WarningStep::Resolve,
        WarningStep::Dismiss,
        WarningStep::RaiseLevel,
        WarningStep::MarkOverdue,
    ];

    fn decide(
        s: &WarningState,
        rel: &WarningRelation,
        c: &WarningCommand,
        now_ms: i64,
    ) -> Result<WarningEvent, Refusal> {
        let state =
            |step: &'static str, hint: &str| Refusal::State { step, status: s.status.as_str(), hint: hint.into() };
        let person = rel.system.is_none();
        match c {
            WarningCommand::Acknowledge { note: n } => {
                if !(person && rel.handler) {
                    return Err(Refusal::Forbidden { step: "acknowledge" });
                }
                if s.status != WarningStatus::New {
                    return Err(state("acknowledge", "only a new warning is acknowledged"));
                }
                Ok(WarningEvent::Acknowledged { note: note(n)? })
            }
            WarningCommand::Assign { unit, due_ms, note: n } => {
                if !(person && rel.handler) {
                    return Err(Refusal::Forbidden { step: "assign" });
                }
                if !s.status.open() {
                    return Err(state("assign", "it has ended"));
                }
                if *due_ms <= now_ms {
                    return Err(Invalid::new("due", "must be in the future").into());
                }
                Ok(WarningEvent::Assigned { unit: *unit, due_ms: *due_ms, note: note(n)? })
            }
            WarningCommand::Resolve { reason } => {
                if !(person && (rel.handler || (rel.assigned_unit && s.status == WarningStatus::Assigned))) {
                    return Err(Refusal::Forbidden { step: "resolve" });
                }
                if !s.status.open() {
                    return Err(state("resolve", "it has ended"));
                }
                Ok(WarningEvent::Resolved { reason: crate::text::required("reason", reason)? })
            }
            WarningCommand::Dismiss { reason } => {
                if !(person && rel.handler) {
                    return Err(Refusal::Forbidden { step: "dismiss" });
                }
                if !s.status.open() {
                    return Err(state("dismiss", "it has ended"));
                }
                Ok(WarningEvent::Dismissed { reason: crate::text::required("reason", reason)? })
            }
            WarningCommand::RaiseLevel { level } => {
                if rel.system != Some(System::Detector) {
                    return Err(Refusal::Forbidden { step: "raise_level" });
                }
                if !s.status.open() || *level <= s.level {
                    return Err(state("raise_level", "not above its level"));
                }
                Ok(WarningEvent::LevelRaised { from: s.level, to: *level })
            }
            WarningCommand::MarkOverdue { due_ms } => {
                if rel.system != Some(System::Sweep) {
                    return Err(Refusal::Forbidden { step: "mark_overdue" });
                }
                if s.status != WarningStatus::Assigned || s.overdue || s.due_ms != Some(*due_ms) || now_ms <= *due_ms {
                    return Err(state("mark_overdue", "not overdue"));
                }
                Ok(WarningEvent::MarkedOverdue { due_ms: *due_ms })
            }
        }
    }

    fn apply(s: &WarningState, e: &WarningEvent, _at_ms: i64) -> WarningState {
        let mut n = s.clone();
        match e {
            WarningEvent::Raised { level, .. } => n = WarningState::raised(*level),
            WarningEvent::LevelRaised { to, .. } => n.level = *to,
            WarningEvent::Acknowledged { .. } => n.status = WarningStatus::Acknowledged,
            WarningEvent::Assigned { unit, due_ms, .. } => {
                n.status = WarningStatus::Assigned;
                n.unit = Some(*unit);
                n.due_ms = Some(*due_ms);
                n.overdue = false;
            }
            WarningEvent::Resolved { .. } => n.status = WarningStatus::Resolved,
            WarningEvent::Dismissed { .. } => n.status = WarningStatus::FalseAlarm,
            WarningEvent::MarkedOverdue { .. } => n.overdue = true,
        }
        n
    }

    fn probe(step: WarningStep, s: &WarningState, _rel: &WarningRelation, now_ms: i64) -> WarningCommand {
        match step {
            WarningStep::Acknowledge => WarningCommand::Acknowledge { note: None },
            WarningStep::Assign => WarningCommand::Assign { unit: 0, due_ms: now_ms + 1, note: None },
            WarningStep::Resolve => WarningCommand::Resolve { reason: "-".into() },
            WarningStep::Dismiss => WarningCommand::Dismiss { reason: "-".into() },
            WarningStep::RaiseLevel => WarningCommand::RaiseLevel { level: s.level.up() },
            WarningStep::MarkOverdue => WarningCommand::MarkOverdue { due_ms: s.due_ms.unwrap_or(i64::MAX) },
        }
    }

    fn head(s: &WarningState) -> Head {
        let open = s.status.open();
        Head {
            status: s.status.as_str(),
            open,
            owner_org: s.unit,
            due_ms: if open && s.status == WarningStatus::Assigned { s.due_ms } else { None },
            overdue: s.overdue && open,
            escalatable: false,
        }
    }

    fn event_kind(e: &WarningEvent) -> &'static str {
        match e {
            WarningEvent::Raised { .. } => "raised",
            WarningEvent::LevelRaised { .. } => "level_raised",
            WarningEvent::Acknowledged { .. } => "acknowledged",
            WarningEvent::Assigned { .. } => "assigned",
            WarningEvent::Resolved { .. } => "resolved",
            WarningEvent::Dismissed { .. } => "dismissed",
            WarningEvent::MarkedOverdue { .. } => "marked_overdue",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_moves_from_new_to_resolved_and_only_the_right_parts_act() {
        let handler = WarningRelation { handler: true, ..Default::default() };
        let unit = WarningRelation { assigned_unit: true, ..Default::default() };
        let detector = WarningRelation { system: Some(System::Detector), ..Default::default() };
        let sweep = WarningRelation { system: Some(System::Sweep), ..Default::default() };
        let s = WarningState::raised(Level::Yellow);
        use WarningStep::*;
        assert_eq!(WarningFlow::available(&s, &handler, 0), vec![Acknowledge, Assign, Resolve, Dismiss]);
        assert!(WarningFlow::available(&s, &unit, 0).is_empty(), "a unit acts once it is assigned");
        assert_eq!(WarningFlow::available(&s, &detector, 0), vec![RaiseLevel]);
        let e = WarningFlow::decide(&s, &handler, &WarningCommand::Assign { unit: 5, due_ms: 100, note: None }, 10)
            .unwrap();
        let a = WarningFlow::apply(&s, &e, 10);
        assert_eq!(WarningFlow::head(&a).due_ms, Some(100));
        assert_eq!(WarningFlow::head(&a).owner_org, Some(5));
        assert_eq!(WarningFlow::available(&a, &unit, 10), vec![Resolve]);
        assert!(WarningFlow::available(&a, &sweep, 100).is_empty());
        assert_eq!(WarningFlow::available(&a, &sweep, 101), vec![MarkOverdue]);
        assert!(
            WarningFlow::decide(&a, &handler, &WarningCommand::Assign { unit: 5, due_ms: 5, note: None }, 10).is_err(),
            "a deadline in the past"
        );
        let e = WarningFlow::decide(&a, &unit, &WarningCommand::Resolve { reason: "已排查处置".into() }, 20).unwrap();
        let r = WarningFlow::apply(&a, &e, 20);
        assert!(!WarningFlow::head(&r).open);
        assert!(WarningFlow::available(&r, &handler, 20).is_empty());
        assert!(WarningFlow::available(&r, &detector, 20).is_empty(), "an ended warning's level stays");
        assert!(
            WarningFlow::decide(&s, &handler, &WarningCommand::Dismiss { reason: " ".into() }, 1).is_err(),
            "a false alarm needs its reason"
        );
        assert!(
            WarningFlow::decide(&s, &detector, &WarningCommand::RaiseLevel { level: Level::Yellow }, 1).is_err(),
            "not above its level"
        );
    }
}
