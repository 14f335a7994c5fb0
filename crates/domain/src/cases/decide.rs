//! Who may take which step on a case, and when: the one policy of the case hub. `decide`
//! checks the caller's relation to the case, the command's content and the case's state, in
//! that order, and returns the event that records the step; the list of actions a case page
//! offers is `available`, which asks `decide`.

use super::{CaseState, Event, MAX_RETURNS, Satisfaction, Status};
use crate::work::{Caller, Head, Refusal, System, Workflow};
use crate::{Action, Invalid, Target, TerritoryCode, text};
use serde::Serialize;

/// The steps of the loop, by the names the API and the timeline use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 立案
    File,
    /// 不予立案
    Reject,
    /// 派遣
    Dispatch,
    /// 签收
    Accept,
    /// 退回
    Return,
    /// 处置完成
    Handle,
    /// 申请延期
    RequestExtension,
    /// 审批延期
    DecideExtension,
    /// 核查通过 (and so 结案)
    Verify,
    /// 返工
    Rework,
    /// 挂账
    Park,
    /// 解除挂账
    Unpark,
    /// 升级
    Escalate,
    /// 合并
    Merge,
    /// 重启
    Reopen,
    /// 评价
    Rate,
    /// 吹哨
    Summon,
    /// 报到
    CheckIn,
    /// 联合处置
    AssignJoint,
    Comment,
    /// A photo or document (through the upload endpoint, not the actions list).
    Attach,
    /// 超期: the sweep marks a stage overdue.
    MarkOverdue,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::File => "file",
            Step::Reject => "reject",
            Step::Dispatch => "dispatch",
            Step::Accept => "accept",
            Step::Return => "return",
            Step::Handle => "handle",
            Step::RequestExtension => "request_extension",
            Step::DecideExtension => "decide_extension",
            Step::Verify => "verify",
            Step::Rework => "rework",
            Step::Park => "park",
            Step::Unpark => "unpark",
            Step::Escalate => "escalate",
            Step::Merge => "merge",
            Step::Reopen => "reopen",
            Step::Rate => "rate",
            Step::Summon => "summon",
            Step::CheckIn => "check_in",
            Step::AssignJoint => "assign_joint",
            Step::Comment => "comment",
            Step::Attach => "attach",
            Step::MarkOverdue => "mark_overdue",
        }
    }

    /// Whether a case page offers the step in its actions form (uploads and the sweep's
    /// marks have their own ways in).
    pub fn in_actions_form(self) -> bool {
        !matches!(self, Step::Attach | Step::MarkOverdue)
    }
}

/// A step with its content, resolved by the caller's use case: organisations looked up, due
/// times computed on the calendar (the domain does not read the clock or the database).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    File { category: String, priority: String, due_ms: i64 },
    Reject { reason: String },
    Dispatch { org: i64, assigned: bool, due_ms: i64 },
    Accept { due_ms: i64 },
    Return { reason: String },
    Handle { result: String },
    Verify { note: String },
    Rework { reason: String, due_ms: i64 },
    RequestExtension { until_ms: i64, reason: String },
    DecideExtension { granted: bool, note: String },
    Park { reason: String },
    Unpark { due_ms: i64 },
    Escalate { org: i64, reason: String, due_ms: i64 },
    Merge { into: i64 },
    Comment { text: String },
    Attach { attachment: i64, name: String },
    Reopen { reason: String, due_ms: i64 },
    Summon { orgs: Vec<i64>, due_ms: i64 },
    CheckIn { org: i64 },
    AssignJoint { lead: i64, cooperating: Vec<i64>, due_ms: i64 },
    Rate { satisfaction: Satisfaction, text: String },
    MarkOverdue { stage_due_ms: i64 },
}

impl Command {
    pub fn step(&self) -> Step {
        match self {
            Command::File { .. } => Step::File,
            Command::Reject { .. } => Step::Reject,
            Command::Dispatch { .. } => Step::Dispatch,
            Command::Accept { .. } => Step::Accept,
            Command::Return { .. } => Step::Return,
            Command::Handle { .. } => Step::Handle,
            Command::Verify { .. } => Step::Verify,
            Command::Rework { .. } => Step::Rework,
            Command::RequestExtension { .. } => Step::RequestExtension,
            Command::DecideExtension { .. } => Step::DecideExtension,
            Command::Park { .. } => Step::Park,
            Command::Unpark { .. } => Step::Unpark,
            Command::Escalate { .. } => Step::Escalate,
            Command::Merge { .. } => Step::Merge,
            Command::Comment { .. } => Step::Comment,
            Command::Attach { .. } => Step::Attach,
            Command::Reopen { .. } => Step::Reopen,
            Command::Summon { .. } => Step::Summon,
            Command::CheckIn { .. } => Step::CheckIn,
            Command::AssignJoint { .. } => Step::AssignJoint,
            Command::Rate { .. } => Step::Rate,
            Command::MarkOverdue { .. } => Step::MarkOverdue,
        }
    }
}

/// What a grid worker did on the spot.
#[derive(Debug, Clone, PartialEq)]
pub struct FixOnSpot {
    pub category: String,
    pub priority: String,
    /// The worker's own unit, which owns the case.
    pub org: i64,
    pub result: String,
    pub due_ms: i64,
}

/// The case actions a post can give over a territory.
const CASE_ACTIONS: [Action; 6] = [
    Action::FileCase,
    Action::DispatchCase,
    Action::VerifyCase,
    Action::ApproveCase,
    Action::MergeCase,
    Action::FixOnSpot,
];

/// How the caller stands to one case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relation {
    /// The person who reported it.
    pub reporter: bool,
    /// Holds a staff post in the owning unit.
    pub owner: bool,
    /// The units the caller holds staff posts in (a summoned unit checks in for itself).
    pub orgs: Vec<i64>,
    /// Which case actions the caller's posts give over the case's territory.
    pub may: Vec<Action>,
    /// The part of the system taking the step (none for a person).
    pub system: Option<System>,
}

impl Relation {
    /// The relation of `caller` to a case located in `territory`, owned by `owner_org`,
    /// reported by `reporter_id`.
    pub fn of(
        caller: Caller<'_>,
        territory: &TerritoryCode,
        owner_org: Option<i64>,
        reporter_id: Option<i64>,
    ) -> Relation {
        match caller {
            Caller::System(s) => Relation { system: Some(s), ..Relation::default() },
            Caller::Person(a) => Relation {
                reporter: reporter_id == Some(a.person_id),
                owner: owner_org.is_some_and(|o| a.member_of(o)),
                orgs: a.orgs(),
                may: CASE_ACTIONS.into_iter().filter(|x| a.can(*x, &Target::territory(territory)).is_ok()).collect(),
                system: None,
            },
        }
    }

    /// Whether the relation allows the step at all, whatever the case's state: a use case
    /// asks this before it looks anything up, and `decide` asks it first.
    pub fn permits(&self, step: Step) -> bool {
        permitted(step, self)
    }

    fn may(&self, a: Action) -> bool {
        self.may.contains(&a)
    }
    fn is(&self, s: System) -> bool {
        self.system == Some(s)
    }
}

/// Whether the caller's relation allows the step at all (whatever the case's state).
fn permitted(step: Step, r: &Relation) -> bool {
    use Step::*;
    match step {
        File => r.may(Action::FileCase) || r.is(System::Classifier),
        Reject => r.may(Action::FileCase),
        Dispatch => r.may(Action::DispatchCase) || r.is(System::Classifier),
        Accept | Return | Handle | RequestExtension => r.owner,
        Verify | Rework => r.may(Action::VerifyCase) || r.reporter,
        DecideExtension | Park | Unpark => r.may(Action::ApproveCase),
        Escalate => r.owner || r.may(Action::DispatchCase) || r.is(System::Sweep),
        Merge => r.may(Action::MergeCase),
        Reopen => r.reporter || r.may(Action::DispatchCase),
        Rate => r.reporter,
        Summon | AssignJoint => r.may(Action::DispatchCase),
        CheckIn => !r.orgs.is_empty(),
        // Anyone who may read the case (the use case checked that) may comment on it and
        // attach to it; of the system, only an Open311 client posting its update.
        Comment => r.system.is_none() || r.is(System::Open311Client),
        Attach => r.system.is_none(),
        MarkOverdue => r.is(System::Sweep),
    }
}

fn reason(s: &str) -> Result<String, Refusal> {
    Ok(text::required("reason", s)?)
}

impl CaseState {
    /// The one decision: may the caller in relation `rel` take `cmd` now, and which event
    /// records it. The relation is checked first, then the content, then the state.
    pub fn decide(&self, rel: &Relation, cmd: &Command, now_ms: i64) -> Result<Event, Refusal> {
        use Status::*;
        let step = cmd.step();
        if !permitted(step, rel) {
            return Err(Refusal::Forbidden { step: step.as_str() });
        }
        let st = self.status;
        let need = |ok: bool, hint: &str| -> Result<(), Refusal> {
            if ok {
                Ok(())
            } else {
                Err(Refusal::State { step: step.as_str(), status: st.as_str(), hint: hint.to_owned() })
            }
        };
        let event = match cmd {
            Command::File { category, priority, due_ms } => {
                need(st == Reported, "")?;
                Event::Filed { category: category.clone(), priority: priority.clone(), due_ms: *due_ms }
            }
            Command::Reject { reason: r } => {
                let reason = reason(r)?;
                need(st == Reported, "")?;
                Event::Rejected { reason }
            }
            Command::Dispatch { org, assigned, due_ms } => {
                need(matches!(st, Filed | Dispatched), "")?;
                need(
                    self.returns < MAX_RETURNS || *assigned,
                    "returned three times: the command centre must assign an owner",
                )?;
                Event::Dispatched { org: *org, due_ms: *due_ms, assigned: *assigned }
            }
            Command::Accept { due_ms } => {
                need(st == Dispatched, "")?;
                Event::Accepted { due_ms: *due_ms }
            }
            Command::Return { reason: r } => {
                let reason = reason(r)?;
                need(st == Dispatched, "only a case not yet accepted can be returned")?;
                Event::Returned { reason }
            }
            Command::Handle { result } => {
                let result = text::required("result", result)?;
                need(st == Handling, "")?;
                Event::Handled { result }
            }
            Command::Verify { note } => {
                need(st == Handled, "")?;
                Event::Verified { note: text::optional("note", note)? }
            }
            Command::Rework { reason: r, due_ms } => {
                let reason = reason(r)?;
                need(st == Handled, "")?;
                Event::Reworked { reason, due_ms: *due_ms }
            }
            Command::RequestExtension { until_ms, reason: r } => {
                let reason = reason(r)?;
                need(st == Handling, "")?;
                need(self.extension_until_ms.is_none(), "an extension is already pending")?;
                need(self.due_ms.is_none_or(|d| *until_ms > d), "the new due time must be later")?;
                Event::ExtensionRequested { until_ms: *until_ms, reason }
            }
            Command::DecideExtension { granted, note } => {
                need(self.extension_until_ms.is_some(), "no extension is pending")?;
                need(matches!(st, Handling | Handled), "only an extension of a case being handled is decided")?;
                Event::ExtensionDecided { granted: *granted, note: text::optional("note", note)? }
            }
            Command::Park { reason: r } => {
                let reason = reason(r)?;
                need(matches!(st, Handling | Filed), "")?;
                Event::Parked { reason }
            }
            Command::Unpark { due_ms } => {
                need(st == Parked, "")?;
                Event::Unparked { due_ms: *due_ms }
            }
            Command::Escalate { org, reason: r, due_ms } => {
                let reason = reason(r)?;
                need(st.can_escalate(), "")?;
                Event::Escalated { org: *org, reason, due_ms: *due_ms }
            }
            Command::Merge { into } => {
                need(st.is_open(), "")?;
                Event::MergedInto { main: *into }
            }
            Command::Comment { text: t } => Event::Commented { text: text::required("text", t)? },
            Command::Attach { attachment, name } => Event::Attached { attachment: *attachment, name: name.clone() },
            Command::Reopen { reason: r, due_ms } => {
                let reason = reason(r)?;
                need(st == Closed, "")?;
                Event::Reopened { reason, due_ms: *due_ms }
            }
            Command::Summon { orgs, due_ms } => {
                if orgs.is_empty() || orgs.len() > 20 {
                    return Err(Invalid::new("org_ids", "summon 1 to 20 departments").into());
                }
                need(st.is_open() && st != Parked, "")?;
                Event::Summoned { orgs: orgs.clone(), due_ms: *due_ms }
            }
            Command::CheckIn { org } => {
                if !rel.orgs.contains(org) {
                    return Err(Refusal::Forbidden { step: step.as_str() });
                }
                let s = self.summoned.iter().find(|x| x.org == *org);
                need(s.is_some(), "this unit was not summoned")?;
                need(s.is_some_and(|x| x.checked_in_ms.is_none()), "it has already checked in")?;
                Event::CheckedIn { org: *org }
            }
            Command::AssignJoint { lead, cooperating, due_ms } => {
                if cooperating.is_empty() {
                    return Err(Invalid::new("cooperating", "name at least one cooperating unit").into());
                }
                if cooperating.contains(lead) {
                    return Err(Invalid::new("cooperating", "the lead unit cannot also cooperate").into());
                }
                need(matches!(st, Filed | Dispatched), "")?;
                Event::JointAssigned { lead: *lead, cooperating: cooperating.clone(), due_ms: *due_ms }
            }
            Command::Rate { satisfaction, text } => {
                need(st == Closed, "")?;
                need(self.satisfaction.is_none(), "it is already rated")?;
                Event::Rated { satisfaction: *satisfaction, text: crate::text::optional("text", text)? }
            }
            Command::MarkOverdue { stage_due_ms } => {
                // A parked case has no due time, so it is never marked.
                need(CaseFlow::head(self).needs_overdue_mark(now_ms), "not overdue")?;
                need(self.due_ms == Some(*stage_due_ms), "not overdue")?;
                Event::MarkedOverdue { stage_due_ms: *stage_due_ms }
            }
        };
        Ok(event)
    }

    /// 就地解决: a patrol finding fixed on the spot by a grid worker of its grid, recorded as the
    /// loop's usual steps (filed, dispatched to the worker's own unit, accepted, handled and
    /// verified). Only posts that fix things in their own grid may.
    pub fn fix_on_spot(&self, rel: &Relation, fix: &FixOnSpot) -> Result<Vec<Event>, Refusal> {
        if !rel.may(Action::FixOnSpot) {
            return Err(Refusal::Forbidden { step: "fix on the spot" });
        }
        let result = text::required("fixed_on_spot", &fix.result)?;
        if self.status != Status::Reported {
            return Err(Refusal::State {
                step: "fix on the spot",
                status: self.status.as_str(),
                hint: "only a new finding".into(),
            });
        }
        Ok(vec![
            Event::Filed { category: fix.category.clone(), priority: fix.priority.clone(), due_ms: fix.due_ms },
            Event::Dispatched { org: fix.org, due_ms: fix.due_ms, assigned: true },
            Event::Accepted { due_ms: fix.due_ms },
            Event::Handled { result },
            Event::Verified { note: "就地解决".into() },
        ])
    }

    /// The steps of the actions form the caller may take now.
    pub fn available(&self, rel: &Relation, now_ms: i64) -> Vec<Step> {
        CaseFlow::available(self, rel, now_ms).into_iter().filter(|s| s.in_actions_form()).collect()
    }
}

/// The case hub's workflow, for the kernel.
pub struct CaseFlow;

impl Workflow for CaseFlow {
    const KIND: &'static str = "case";
    type State = CaseState;
    type Event = Event;
    type Command = Command;
    type Relation = Relation;
    type Step = Step;
    const STEPS: &'static [Step] = &[
        Step::File,
        Step::Reject,
        Step::Dispatch,
        Step::Accept,
        Step::Return,
        Step::Handle,
        Step::RequestExtension,
        Step::DecideExtension,
        Step::Verify,
        Step::Rework,
        Step::Park,
        Step::Unpark,
        Step::Escalate,
        Step::Merge,
        Step::Reopen,
        Step::Rate,
        Step::Summon,
        Step::CheckIn,
        Step::AssignJoint,
        Step::Comment,
        Step::Attach,
        Step::MarkOverdue,
    ];

    fn decide(state: &CaseState, rel: &Relation, command: &Command, now_ms: i64) -> Result<Event, Refusal> {
        state.decide(rel, command, now_ms)
    }

    fn apply(state: &CaseState, event: &Event, at_ms: i64) -> CaseState {
        state.apply(event, at_ms)
    }

    fn probe(step: Step, s: &CaseState, rel: &Relation, now_ms: i64) -> Command {
        let r = || "-".to_owned();
        let due_ms = now_ms + 1;
        match step {
            Step::File => Command::File { category: String::new(), priority: "normal".into(), due_ms },
            Step::Reject => Command::Reject { reason: r() },
            Step::Dispatch => Command::Dispatch { org: 0, assigned: s.returns >= MAX_RETURNS, due_ms },
            Step::Accept => Command::Accept { due_ms },
            Step::Return => Command::Return { reason: r() },
            Step::Handle => Command::Handle { result: r() },
            Step::Verify => Command::Verify { note: String::new() },
            Step::Rework => Command::Rework { reason: r(), due_ms },
            Step::RequestExtension => {
                Command::RequestExtension { until_ms: s.due_ms.map_or(due_ms, |d| d + 1), reason: r() }
            }
            Step::DecideExtension => Command::DecideExtension { granted: true, note: String::new() },
            Step::Park => Command::Park { reason: r() },
            Step::Unpark => Command::Unpark { due_ms },
            Step::Escalate => Command::Escalate { org: 0, reason: r(), due_ms },
            Step::Merge => Command::Merge { into: 0 },
            Step::Comment => Command::Comment { text: r() },
            Step::Attach => Command::Attach { attachment: 0, name: r() },
            Step::Reopen => Command::Reopen { reason: r(), due_ms },
            Step::Rate => Command::Rate { satisfaction: Satisfaction::Satisfied, text: String::new() },
            Step::Summon => Command::Summon { orgs: vec![0], due_ms },
            Step::CheckIn => {
                let mine = s.summoned.iter().find(|x| x.checked_in_ms.is_none() && rel.orgs.contains(&x.org));
                Command::CheckIn { org: mine.map_or(-1, |x| x.org) }
            }
            Step::AssignJoint => Command::AssignJoint { lead: 0, cooperating: vec![1], due_ms },
            Step::MarkOverdue => Command::MarkOverdue { stage_due_ms: s.due_ms.unwrap_or(i64::MIN) },
        }
    }

    fn head(s: &CaseState) -> Head {
        Head {
            status: s.status.as_str(),
            open: s.status.is_open(),
            owner_org: s.owner_org,
            due_ms: s.due_ms,
            overdue: s.overdue,
            escalatable: s.status.can_escalate(),
        }
    }

    fn event_kind(e: &Event) -> &'static str {
        e.kind()
    }
}
