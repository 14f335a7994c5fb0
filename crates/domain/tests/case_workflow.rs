//! Property tests of the case workflow: random sequences of commands by random callers.
//! Whatever is accepted, (1) the state stepped event by event equals the replay of the
//! timeline, (2) what `available` lists is exactly what `decide` accepts, and (3) a case's
//! head never says overdue or due for a case that is no longer open.

use proptest::prelude::*;
use wuzhi_domain::Action;
use wuzhi_domain::cases::{CaseFlow, CaseState, Command, Event, Relation, Satisfaction, Step};
use wuzhi_domain::work::{Refusal, System, Workflow};

fn relation() -> impl Strategy<Value = Relation> {
    let actions = proptest::sample::subsequence(
        vec![Action::FileCase, Action::DispatchCase, Action::VerifyCase, Action::ApproveCase, Action::MergeCase],
        0..=5,
    );
    let system = prop_oneof![
        4 => Just(None),
        1 => Just(Some(System::Sweep)),
        1 => Just(Some(System::Classifier)),
        1 => Just(Some(System::Open311Client)),
    ];
    (any::<bool>(), any::<bool>(), proptest::sample::subsequence(vec![1i64, 2, 3], 0..=3), actions, system).prop_map(
        |(reporter, owner, orgs, may, system)| match system {
            Some(s) => Relation { system: Some(s), ..Relation::default() },
            None => Relation { reporter, owner, orgs, may, system: None },
        },
    )
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => Just("原因".to_owned()), 1 => Just(" ".to_owned())]
}

fn command() -> impl Strategy<Value = Command> {
    let org = 1i64..4;
    let due = 0i64..2000;
    prop_oneof![
        due.clone().prop_map(|due_ms| Command::File { category: "A01".into(), priority: "normal".into(), due_ms }),
        text().prop_map(|reason| Command::Reject { reason }),
        (org.clone(), any::<bool>(), due.clone()).prop_map(|(org, assigned, due_ms)| Command::Dispatch {
            org,
            assigned,
            due_ms
        }),
        due.clone().prop_map(|due_ms| Command::Accept { due_ms }),
        text().prop_map(|reason| Command::Return { reason }),
        text().prop_map(|result| Command::Handle { result }),
        Just(Command::Verify { note: String::new() }),
        (text(), due.clone()).prop_map(|(reason, due_ms)| Command::Rework { reason, due_ms }),
        (due.clone(), text()).prop_map(|(until_ms, reason)| Command::RequestExtension { until_ms, reason }),
        any::<bool>().prop_map(|granted| Command::DecideExtension { granted, note: String::new() }),
        text().prop_map(|reason| Command::Park { reason }),
        due.clone().prop_map(|due_ms| Command::Unpark { due_ms }),
        (org.clone(), text(), due.clone()).prop_map(|(org, reason, due_ms)| Command::Escalate { org, reason, due_ms }),
        Just(Command::Merge { into: 99 }),
        text().prop_map(|text| Command::Comment { text }),
        (text(), due.clone()).prop_map(|(reason, due_ms)| Command::Reopen { reason, due_ms }),
        (proptest::collection::vec(org.clone(), 0..3), due.clone())
            .prop_map(|(orgs, due_ms)| Command::Summon { orgs, due_ms }),
        org.clone().prop_map(|org| Command::CheckIn { org }),
        (org.clone(), proptest::collection::vec(org.clone(), 0..3), due.clone())
            .prop_map(|(lead, cooperating, due_ms)| Command::AssignJoint { lead, cooperating, due_ms }),
        Just(Command::Rate { satisfaction: Satisfaction::Satisfied, text: String::new() }),
        (0i64..2000).prop_map(|stage_due_ms| Command::MarkOverdue { stage_due_ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn accepted_commands_replay_to_the_same_state_and_match_what_is_offered(
        steps in proptest::collection::vec((relation(), command(), 0i64..40), 1..60)
    ) {
        let mut state = CaseState::reported(100);
        let mut timeline: Vec<(Event, i64)> = vec![(Event::Reported { due_ms: 100, suggested: None }, 0)];
        let mut now = 0;
        for (rel, cmd, dt) in steps {
            now += dt;
            let offered = CaseFlow::available(&state, &rel, now);
            // Offered ⇒ some command for that step is accepted (its probe).
            for s in &offered {
                let probe = CaseFlow::probe(*s, &state, &rel, now);
                prop_assert!(state.decide(&rel, &probe, now).is_ok());
            }
            match state.decide(&rel, &cmd, now) {
                Ok(event) => {
                    // Accepted ⇒ offered (the probe of the same step is accepted too).
                    prop_assert!(offered.contains(&cmd.step()), "{:?} accepted but not offered: {:?}", cmd, offered);
                    state = state.apply(&event, now);
                    timeline.push((event, now));
                }
                Err(Refusal::Forbidden { .. }) => {
                    // Refused for the relation ⇒ the step is not offered at all, in any state,
                    // unless it is a check-in for some other unit than the caller's.
                    if !matches!(cmd, Command::CheckIn { .. }) {
                        prop_assert!(!offered.contains(&cmd.step()), "{:?} forbidden but offered", cmd);
                    }
                }
                Err(_) => {}
            }
            let head = CaseFlow::head(&state);
            prop_assert!(head.open || (head.due_ms.is_none() && state.extension_until_ms.is_none()), "{:?}", state);
        }
        let replayed = CaseState::replay(timeline.iter().map(|(e, t)| (e, *t))).unwrap();
        prop_assert_eq!(replayed, state);
        // The stored form round-trips.
        for (e, _) in &timeline {
            let back: Event = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
            prop_assert_eq!(&back, e);
        }
    }
}

#[test]
fn every_step_has_a_probe_of_its_own_kind() {
    let s = CaseState::reported(100);
    for step in CaseFlow::STEPS {
        assert_eq!(CaseFlow::probe(*step, &s, &Relation::default(), 0).step(), *step);
    }
    assert_eq!(CaseFlow::STEPS.len(), 22);
    let _: Step = Step::File;
}
