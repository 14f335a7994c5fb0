//! The work-item kernel (工作事项): what every item that moves through states shares — a case,
//! a patrol task, a mediation, a proposal. A workflow is a pure `decide` (may this caller take
//! this step now, and which event records it) and a pure `apply` (the event's effect on the
//! state); "what may I do now" is derived by asking `decide`, never written a second time.
//! Every item has the same [`Head`] (kind, territory, owner, status, due, overdue, version), so
//! one store append, one step function and one deadline sweep serve every kind.

use crate::{Actor, Invalid};
use serde::Serialize;

/// A part of wuzhi that acts on its own, recorded as no person on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// The deadline sweep (超期督办): marks overdue stages, escalates.
    Sweep,
    /// Automatic filing and dispatch by the classifier (智能派单).
    Classifier,
    /// A sensor that proved its key.
    Device,
    /// An integrating system through Open311 that proved its API key.
    Open311Client,
    /// The command line, run by whoever holds the server's files.
    CommandLine,
    /// The risk early-warning detectors (风险预警): raise warnings and their levels.
    Detector,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Sweep => "sweep",
            System::Classifier => "classifier",
            System::Device => "device",
            System::Open311Client => "open311_client",
            System::CommandLine => "command_line",
            System::Detector => "detector",
        }
    }
}

/// Who takes a step: a person with their posts, or a named part of the system.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Person(&'a Actor),
    System(System),
}

impl Caller<'_> {
    /// The person to record on the timeline (none for the system).
    pub fn person_id(&self) -> Option<i64> {
        match self {
            Caller::Person(a) => Some(a.person_id),
            Caller::System(_) => None,
        }
    }
    /// The person, when a person is calling.
    pub fn person(&self) -> Option<&Actor> {
        match self {
            Caller::Person(a) => Some(a),
            Caller::System(_) => None,
        }
    }
    pub fn system(&self) -> Option<System> {
        match self {
            Caller::Person(_) => None,
            Caller::System(s) => Some(*s),
        }
    }
}

/// Why a step is refused: the caller may not take it, the item's state does not allow it, or
/// the command's content is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not allowed to {step}")]
    Forbidden { step: &'static str },
    #[error("`{step}` does not fit an item that is {status}{}", if hint.is_empty() { String::new() } else { format!(": {hint}") })]
    State { step: &'static str, status: &'static str, hint: String },
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// The part of an item's state that every kind has, kept in one table for every kind: the
/// sweep, the map's overdue layer and the evaluation read it without knowing the kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub status: &'static str,
    pub open: bool,
    pub owner_org: Option<i64>,
    /// When the current stage is due (none when nothing is due: closed, parked).
    pub due_ms: Option<i64>,
    pub overdue: bool,
    /// Whether the current stage may be escalated (督办升级) once it is overdue long enough.
    pub escalatable: bool,
}

impl Head {
    /// Whether the deadline sweep must look at the item at `now`: open, with a stage due
    /// before `now` and not yet marked.
    pub fn needs_overdue_mark(&self, now_ms: i64) -> bool {
        self.open && !self.overdue && self.due_ms.is_some_and(|d| now_ms > d)
    }
}

/// One kind of work item. Implementations are pure: no clock, no I/O.
pub trait Workflow {
    /// The kind's name: the first part of its outbox topics (`case` → `case.dispatched`), and
    /// its key in the heads table. A module with several kinds names them `module.kind`.
    const KIND: &'static str;
    type State: Clone;
    type Event: Clone + Serialize;
    type Command;
    /// How the caller stands to the item (its reporter, a member of its owner unit, which
    /// actions their posts give over its territory, or which part of the system it is).
    type Relation;
    /// The names of the steps a caller may ask for, each a command.
    type Step: Copy + Eq + 'static;

    /// Every step, in the order "what may I do now" lists them.
    const STEPS: &'static [Self::Step];

    /// Whether `caller` may take `command` on an item in `state` at `now`, and the event that
    /// records it.
    fn decide(
        state: &Self::State,
        rel: &Self::Relation,
        command: &Self::Command,
        now_ms: i64,
    ) -> Result<Self::Event, Refusal>;

    /// The event's effect. Never refuses: an event on the timeline happened.
    fn apply(state: &Self::State, event: &Self::Event, at_ms: i64) -> Self::State;

    /// A command for `step` with placeholder content that `decide` accepts whenever the step
    /// itself is allowed: used only to ask `decide` what the caller may do now.
    fn probe(step: Self::Step, state: &Self::State, rel: &Self::Relation, now_ms: i64) -> Self::Command;

    fn head(state: &Self::State) -> Head;

    /// The event's name on the timeline (and the last part of its topic).
    fn event_kind(event: &Self::Event) -> &'static str;

    /// The steps the caller may take now: those `decide` accepts.
    fn available(state: &Self::State, rel: &Self::Relation, now_ms: i64) -> Vec<Self::Step> {
        Self::STEPS
            .iter()
            .copied()
            .filter(|s| Self::decide(state, rel, &Self::probe(*s, state, rel, now_ms), now_ms).is_ok())
            .collect()
    }
}
