//! A person's request about what the archives hold on them (PIPL arts. 45–47): a correction
//! (更正) or a deletion (删除), handled by the staff of the person's community under a
//! deadline — a work item like any other, so the one sweep marks it overdue and the heads
//! count it.

use crate::Invalid;
use crate::work::{Head, Refusal, System, Workflow};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 更正: a field is wrong; the person says what it should be.
    Correction,
    /// 删除: the person asks that their record be erased (anonymised).
    Deletion,
}

impl RequestKind {
    pub fn parse(s: &str) -> Result<RequestKind, Invalid> {
        match s.trim() {
            "correction" => Ok(RequestKind::Correction),
            "deletion" => Ok(RequestKind::Deletion),
            other => Err(Invalid::new("kind", format!("`{other}` is not correction or deletion"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Correction => "correction",
            RequestKind::Deletion => "deletion",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Open,
    /// Done: corrected, or erased.
    Done,
    /// Refused with a reason the person is told (a legal duty to keep the data, say).
    Refused,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Done => "done",
            RequestStatus::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestState {
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub due_ms: i64,
    pub overdue: bool,
    pub owner_org: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStep {
    Answer,
    Refuse,
    MarkOverdue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestCommand {
    /// The request is done: `answer` says what was corrected or that the record was erased.
    Answer {
        answer: String,
    },
    Refuse {
        reason: String,
    },
    MarkOverdue {
        due_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestEvent {
    Submitted { kind: RequestKind, due_ms: i64 },
    Answered { answer: String },
    Refused { reason: String },
    MarkedOverdue { due_ms: i64 },
}

/// How the caller stands to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRelation {
    /// Holds `handle_data_requests` over the person's territory.
    pub handler: bool,
    pub system: Option<System>,
}

pub struct RequestFlow;

impl Workflow for RequestFlow {
    const KIND: &'static str = "archives.request";
    type State = RequestState;
    type Event = RequestEvent;
    type Command = RequestCommand;
    type Relation = RequestRelation;
    type Step = RequestStep;
    const STEPS: &'static [RequestStep] = &[RequestStep::Answer, RequestStep::Refuse, RequestStep::MarkOverdue];

    fn decide(
        s: &RequestState,
        rel: &RequestRelation,
        c: &RequestCommand,
        now_ms: i64,
    ) -> Result<RequestEvent, Refusal> {
        let open = |step: &'static str| {
            if s.status == RequestStatus::Open {
                Ok(())
            } else {
                Err(Refusal::State { step, status: s.status.as_str(), hint: "it was already answered".into() })
            }
        };
        match c {
            RequestCommand::Answer { answer } => {
                if !rel.handler {
                    return Err(Refusal::Forbidden { step: "answer" });
                }
                open("answer")?;
                Ok(RequestEvent::Answered { answer: crate::text::required("answer", answer)? })
            }
            RequestCommand::Refuse { reason } => {
                if !rel.handler {
                    return Err(Refusal::Forbidden { step: "refuse" });
                }
                open("refuse")?;
                Ok(RequestEvent::Refused { reason: crate::text::required("reason", reason)? })
            }
            RequestCommand::MarkOverdue { due_ms } => {
                if rel.system != Some(System::Sweep) {
                    return Err(Refusal::Forbidden { step: "mark_overdue" });
                }
                open("mark_overdue")?;
                if s.overdue || now_ms <= s.due_ms || *due_ms != s.due_ms {
                    return Err(Refusal::State { step: "mark_overdue", status: "open", hint: "not overdue".into() });
                }
                Ok(RequestEvent::MarkedOverdue { due_ms: *due_ms })
            }
        }
    }

    fn apply(s: &RequestState, e: &RequestEvent, _at_ms: i64) -> RequestState {
        let mut n = s.clone();
        match e {
            RequestEvent::Submitted { kind, due_ms } => {
                n.kind = *kind;
                n.due_ms = *due_ms;
                n.status = RequestStatus::Open;
            }
            RequestEvent::Answered { .. } => n.status = RequestStatus::Done,
            RequestEvent::Refused { .. } => n.status = RequestStatus::Refused,
            RequestEvent::MarkedOverdue { .. } => n.overdue = true,
        }
        n
    }

    fn probe(step: RequestStep, s: &RequestState, _rel: &RequestRelation, _now_ms: i64) -> RequestCommand {
        match step {
            RequestStep::Answer => RequestCommand::Answer { answer: "-".into() },
            RequestStep::Refuse => RequestCommand::Refuse { reason: "-".into() },
            RequestStep::MarkOverdue => RequestCommand::MarkOverdue { due_ms: s.due_ms },
        }
    }

    fn head(s: &RequestState) -> Head {
        let open = s.status == RequestStatus::Open;
        Head {
            status: s.status.as_str(),
            open,
            owner_org: s.owner_org,
            due_ms: open.then_some(s.due_ms),
            overdue: s.overdue,
            escalatable: false,
        }
    }

    fn event_kind(e: &RequestEvent) -> &'static str {
        match e {
            RequestEvent::Submitted { .. } => "submitted",
            RequestEvent::Answered { .. } => "answered",
            RequestEvent::Refused { .. } => "refused",
            RequestEvent::MarkedOverdue { .. } => "marked_overdue",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> RequestState {
        RequestState {
            kind: RequestKind::Deletion,
            status: RequestStatus::Open,
            due_ms: 1_000,
            overdue: false,
            owner_org: Some(3),
        }
    }

    #[test]
    fn only_a_handler_answers_once_and_only_the_sweep_marks() {
        let handler = RequestRelation { handler: true, system: None };
        let nobody = RequestRelation { handler: false, system: None };
        let sweep = RequestRelation { handler: false, system: Some(System::Sweep) };
        let s = open();
        assert_eq!(RequestFlow::available(&s, &handler, 0), vec![RequestStep::Answer, RequestStep::Refuse]);
        assert!(RequestFlow::available(&s, &nobody, 0).is_empty());
        assert_eq!(RequestFlow::available(&s, &sweep, 1_001), vec![RequestStep::MarkOverdue]);
        assert!(RequestFlow::available(&s, &sweep, 1_000).is_empty());
        let e = RequestFlow::decide(&s, &handler, &RequestCommand::Answer { answer: "已删除".into() }, 5).unwrap();
        let done = RequestFlow::apply(&s, &e, 5);
        assert_eq!(RequestFlow::head(&done).status, "done");
        assert!(!RequestFlow::head(&done).open && RequestFlow::head(&done).due_ms.is_none());
        assert!(RequestFlow::available(&done, &handler, 5).is_empty());
        assert!(RequestFlow::decide(&s, &handler, &RequestCommand::Refuse { reason: " ".into() }, 5).is_err());
    }
}
