//! A key task's share for one community or grid (重点工作子任务): a work item of kind
//! `gridwork.task`, owned by the unit of its territory, due at the task's deadline. Its
//! doers fill in the checklist item by item (what was checked, problems found, cases made),
//! then report it done; the unit that sent the task may send it back with a reason; the one
//! sweep reminds before the deadline and marks it overdue after.

use crate::Invalid;
use crate::work::{Head, Refusal, System, Workflow};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Sent down, nothing filled in yet.
    Assigned,
    /// Some items filled in.
    InProgress,
    /// Reported done by its doers.
    Done,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Assigned => "assigned",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Result<TaskStatus, Invalid> {
        match s {
            "assigned" => Ok(TaskStatus::Assigned),
            "in_progress" => Ok(TaskStatus::InProgress),
            "done" => Ok(TaskStatus::Done),
            other => Err(Invalid::new("status", format!("`{other}` is not a key task's status"))),
        }
    }
}

/// One checklist item's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    /// Checked (with any problems it found counted).
    Checked,
    /// Does not apply here (no gas supply in a village, say), with a note why.
    NotApplicable,
}

impl ItemState {
    pub fn parse(s: &str) -> Result<ItemState, Invalid> {
        match s {
            "pending" => Ok(ItemState::Pending),
            "checked" => Ok(ItemState::Checked),
            "not_applicable" => Ok(ItemState::NotApplicable),
            other => Err(Invalid::new("state", format!("`{other}` is not pending, checked or not_applicable"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Checked => "checked",
            ItemState::NotApplicable => "not_applicable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ItemProgress {
    pub state: ItemState,
    /// Problems found while checking this item.
    pub found: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub status: TaskStatus,
    pub items: Vec<ItemProgress>,
    pub due_ms: i64,
    pub overdue: bool,
    pub owner_org: Option<i64>,
    /// When it was reported done (the latest time, after a return).
    pub done_at_ms: Option<i64>,
}

impl TaskState {
    pub fn assigned(items: usize, due_ms: i64, owner_org: Option<i64>) -> TaskState {
        TaskState {
            status: TaskStatus::Assigned,
            items: vec![ItemProgress { state: ItemState::Pending, found: 0, note: String::new() }; items],
            due_ms,
            overdue: false,
            owner_org,
            done_at_ms: None,
        }
    }
    pub fn items_done(&self) -> i64 {
        self.items.iter().filter(|i| i.state != ItemState::Pending).count() as i64
    }
    pub fn found(&self) -> i64 {
        self.items.iter().map(|i| i.found).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStep {
    Progress,
    Complete,
    Return,
    MarkOverdue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCommand {
    /// One item's answer.
    Progress {
        item: usize,
        state: ItemState,
        found: i64,
        note: String,
    },
    /// Report the share done: every item answered.
    Complete,
    /// The sending unit sends it back.
    Return {
        reason: String,
    },
    MarkOverdue {
        due_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskEvent {
    Assigned { due_ms: i64 },
    Progressed { item: usize, state: ItemState, found: i64, note: String },
    Completed,
    Returned { reason: String },
    MarkedOverdue { due_ms: i64 },
}

/// How the caller stands to the share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskRelation {
    /// Holds `do_grid_work` over the share's territory.
    pub doer: bool,
    /// Holds `manage_key_tasks` over the task's own territory (the unit that sent it).
    pub sender: bool,
    pub system: Option<System>,
}

pub struct TaskFlow;

impl Workflow for TaskFlow {
    const KIND: &'static str = "gridwork.task";
    type State = TaskState;
    type Event = TaskEvent;
    type Command = TaskCommand;
    type Relation = TaskRelation;
    type Step = TaskStep;
    const STEPS: &'static [TaskStep] =
        &[TaskStep::Progress, TaskStep::Complete, TaskStep::Return, TaskStep::MarkOverdue];

    fn decide(s: &TaskState, rel: &TaskRelation, c: &TaskCommand, now_ms: i64) -> Result<TaskEvent, Refusal> {
        let not_done = |step: &'static str| {
            if s.status == TaskStatus::Done {
                Err(Refusal::State { step, status: "done", hint: "it was reported done".into() })
            } else {
                Ok(())
            }
        };
        match c {
            TaskCommand::Progress { item, state, found, note } => {
                if !rel.doer {
                    return Err(Refusal::Forbidden { step: "progress" });
                }
                not_done("progress")?;
                if *item >= s.items.len() {
                    return Err(Invalid::new("item", format!("the checklist has {} items", s.items.len())).into());
                }
                if !(0..=100_000).contains(found) {
                    return Err(Invalid::new("found", "must be 0 to 100000").into());
                }
                let note = crate::text::optional("note", note)?;
                if *state == ItemState::NotApplicable && note.is_empty() {
                    return Err(Invalid::new("note", "say why the item does not apply").into());
                }
                if *state == ItemState::Pending && *found > 0 {
                    return Err(Invalid::new("state", "an item with problems found was checked").into());
                }
                Ok(TaskEvent::Progressed { item: *item, state: *state, found: *found, note })
            }
            TaskCommand::Complete => {
                if !rel.doer {
                    return Err(Refusal::Forbidden { step: "complete" });
                }
                not_done("complete")?;
                if let Some(i) = s.items.iter().position(|i| i.state == ItemState::Pending) {
                    return Err(Refusal::State {
                        step: "complete",
                        status: s.status.as_str(),
                        hint: format!("checklist item {} is not answered yet", i + 1),
                    });
                }
                Ok(TaskEvent::Completed)
            }
            TaskCommand::Return { reason } => {
                if !rel.sender {
                    return Err(Refusal::Forbidden { step: "return" });
                }
                if s.status != TaskStatus::Done {
                    return Err(Refusal::State {
                        step: "return",
                        status: s.status.as_str(),
                        hint: "only a share reported done is sent back".into(),
                    });
                }
                Ok(TaskEvent::Returned { reason: crate::text::required("reason", reason)? })
            }
            TaskCommand::MarkOverdue { due_ms } => {
                if rel.system != Some(System::Sweep) {
                    return Err(Refusal::Forbidden { step: "mark_overdue" });
                }
                not_done("mark_overdue")?;
                if s.overdue || now_ms <= s.due_ms || *due_ms != s.due_ms {
                    return Err(Refusal::State {
                        step: "mark_overdue",
                        status: s.status.as_str(),
                        hint: "not overdue".into(),
                    });
                }
                Ok(TaskEvent::MarkedOverdue { due_ms: *due_ms })
            }
        }
    }

    fn apply(s: &TaskState, e: &TaskEvent, at_ms: i64) -> TaskState {
        let mut n = s.clone();
        match e {
            TaskEvent::Assigned { due_ms } => n.due_ms = *due_ms,
            TaskEvent::Progressed { item, state, found, note } => {
                if let Some(i) = n.items.get_mut(*item) {
                    *i = ItemProgress { state: *state, found: *found, note: note.clone() };
                }
                n.status = TaskStatus::InProgress;
            }
            TaskEvent::Completed => {
                n.status = TaskStatus::Done;
                n.done_at_ms = Some(at_ms);
            }
            TaskEvent::Returned { .. } => {
                n.status = TaskStatus::InProgress;
                n.done_at_ms = None;
            }
            TaskEvent::MarkedOverdue { .. } => n.overdue = true,
        }
        n
    }

    fn probe(step: TaskStep, s: &TaskState, _rel: &TaskRelation, _now: i64) -> TaskCommand {
        match step {
            TaskStep::Progress => {
                TaskCommand::Progress { item: 0, state: ItemState::Checked, found: 0, note: String::new() }
            }
            TaskStep::Complete => TaskCommand::Complete,
            TaskStep::Return => TaskCommand::Return { reason: "-".into() },
            TaskStep::MarkOverdue => TaskCommand::MarkOverdue { due_ms: s.due_ms },
        }
    }

    fn head(s: &TaskState) -> Head {
        let open = s.status != TaskStatus::Done;
        Head {
            status: s.status.as_str(),
            open,
            owner_org: s.owner_org,
            due_ms: open.then_some(s.due_ms),
            overdue: s.overdue,
            escalatable: false,
        }
    }

    fn event_kind(e: &TaskEvent) -> &'static str {
        match e {
            TaskEvent::Assigned { .. } => "assigned",
            TaskEvent::Progressed { .. } => "progressed",
            TaskEvent::Completed => "completed",
            TaskEvent::Returned { .. } => "returned",
            TaskEvent::MarkedOverdue { .. } => "marked_overdue",
        }
    }
}

/// Whether a share counts as done on time: reported done, and not after its deadline.
pub fn on_time(s: &TaskState) -> bool {
    s.status == TaskStatus::Done && s.done_at_ms.is_some_and(|d| d <= s.due_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOER: TaskRelation = TaskRelation { doer: true, sender: false, system: None };
    const SENDER: TaskRelation = TaskRelation { doer: false, sender: true, system: None };

    fn run(s: &TaskState, rel: &TaskRelation, c: TaskCommand, now: i64) -> Result<TaskState, Refusal> {
        let e = TaskFlow::decide(s, rel, &c, now)?;
        Ok(TaskFlow::apply(s, &e, now))
    }

    fn check(item: usize, found: i64) -> TaskCommand {
        TaskCommand::Progress { item, state: ItemState::Checked, found, note: String::new() }
    }

    #[test]
    fn a_share_is_done_only_when_every_item_is_answered() {
        let s = TaskState::assigned(2, 1_000, Some(4));
        assert!(matches!(run(&s, &DOER, TaskCommand::Complete, 10), Err(Refusal::State { .. })));
        let s = run(&s, &DOER, check(0, 3), 10).unwrap();
        assert_eq!((s.status, s.found(), s.items_done()), (TaskStatus::InProgress, 3, 1));
        let na = TaskCommand::Progress { item: 1, state: ItemState::NotApplicable, found: 0, note: String::new() };
        assert!(matches!(run(&s, &DOER, na, 10), Err(Refusal::Invalid(i)) if i.field == "note"));
        let s = run(
            &s,
            &DOER,
            TaskCommand::Progress { item: 1, state: ItemState::NotApplicable, found: 0, note: "无燃气".into() },
            10,
        )
        .unwrap();
        let s = run(&s, &DOER, TaskCommand::Complete, 20).unwrap();
        assert!(on_time(&s));
        assert!(!TaskFlow::head(&s).open);
        assert!(matches!(run(&s, &DOER, check(0, 1), 30), Err(Refusal::State { .. })));
    }

    #[test]
    fn only_the_sender_returns_and_only_a_done_share() {
        let s = TaskState::assigned(1, 1_000, None);
        assert!(matches!(run(&s, &SENDER, TaskCommand::Return { reason: "x".into() }, 5), Err(Refusal::State { .. })));
        let s = run(&s, &DOER, check(0, 0), 5).unwrap();
        let s = run(&s, &DOER, TaskCommand::Complete, 5).unwrap();
        assert!(matches!(
            run(&s, &DOER, TaskCommand::Return { reason: "x".into() }, 6),
            Err(Refusal::Forbidden { .. })
        ));
        let back = run(&s, &SENDER, TaskCommand::Return { reason: "证据不全".into() }, 6).unwrap();
        assert_eq!(back.status, TaskStatus::InProgress);
        assert!(TaskFlow::head(&back).open);
        // Done late after a return: not on time.
        let late = run(&back, &DOER, TaskCommand::Complete, 2_000).unwrap();
        assert!(!on_time(&late));
    }

    #[test]
    fn the_sweep_marks_overdue_once_and_after_the_deadline() {
        let sweep = TaskRelation { system: Some(System::Sweep), ..Default::default() };
        let s = TaskState::assigned(1, 1_000, None);
        assert!(run(&s, &sweep, TaskCommand::MarkOverdue { due_ms: 1_000 }, 999).is_err());
        let s = run(&s, &sweep, TaskCommand::MarkOverdue { due_ms: 1_000 }, 1_001).unwrap();
        assert!(s.overdue);
        assert!(run(&s, &sweep, TaskCommand::MarkOverdue { due_ms: 1_000 }, 1_002).is_err());
        assert!(run(&s, &DOER, TaskCommand::MarkOverdue { due_ms: 1_000 }, 1_002).is_err());
    }

    #[test]
    fn what_may_i_do_follows_decide() {
        let s = TaskState::assigned(1, 1_000, None);
        assert_eq!(TaskFlow::available(&s, &DOER, 0), vec![TaskStep::Progress]);
        assert!(TaskFlow::available(&s, &SENDER, 0).is_empty());
        assert!(matches!(run(&s, &DOER, check(5, 0), 0), Err(Refusal::Invalid(i)) if i.field == "item"));
    }
}
