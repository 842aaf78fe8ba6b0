//! Property tests: deny dominance, statement-order independence, Action/NotAction complement,
//! and wildcard matching against an independent reference matcher.

use std::collections::BTreeSet;

use crate::support::*;
use proptest::prelude::*;
use trent_policy::{
    ConditionContext, Effect, Policy, PolicyKind, Principal, PrincipalMatch, RequestContext,
    glob_match,
};

const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"444455556666"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/R"}"#,
    r#"{"AWS":["arn:aws:iam::444455556666:user/u","arn:aws:iam::111122223333:root"]}"#,
];
const ACTIONS: &[&str] = &[
    r#""kms:*""#,
    r#""kms:Decrypt""#,
    r#""kms:Encrypt""#,
    r#""kms:De*""#,
    r#"["kms:?ncrypt","kms:Sign"]"#,
];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"StringEquals":{"k1":"x"}}"#,
    r#","Condition":{"StringEquals":{"k1":["x","y"]}}"#,
    r#","Condition":{"StringNotEquals":{"k2":"x"}}"#,
    r#","Condition":{"Null":{"k1":"true"}}"#,
    r#","Condition":{"ForAnyValue:StringLike":{"k3":"a*"},"BoolIfExists":{"k4":"true"}}"#,
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    principal: usize,
    action: usize,
    condition: usize,
}

impl Stmt {
    fn json(&self, sid: usize) -> String {
        format!(
            r#"{{"Sid":"S{sid}","Effect":"{}","Principal":{},"Action":{},"Resource":"*"{}}}"#,
            if self.deny { "Deny" } else { "Allow" },
            PRINCIPALS[self.principal],
            ACTIONS[self.action],
            CONDITIONS[self.condition],
        )
    }
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        0..PRINCIPALS.len(),
        0..ACTIONS.len(),
        0..CONDITIONS.len(),
    )
        .prop_map(|(deny, principal, action, condition)| Stmt {
            deny,
            principal,
            action,
            condition,
        })
}

fn policy_of(stmts: &[(usize, Stmt)]) -> Policy {
    let body: Vec<String> = stmts.iter().map(|(sid, s)| s.json(*sid)).collect();
    key(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        body.join(",")
    ))
}

fn req() -> impl Strategy<Value = RequestContext<'static>> {
    let principals = prop_oneof![
        Just(session_of("R", "111122223333")),
        Just(session_of("R2", "111122223333")),
        Just(Principal::user("arn:aws:iam::444455556666:user/u")),
        Just(Principal::root("111122223333")),
        Just(Principal::service("logs.amazonaws.com")),
    ];
    let actions = prop_oneof![
        Just("kms:Decrypt"),
        Just("kms:Encrypt"),
        Just("KMS:sign"),
        Just("kms:DescribeKey")
    ];
    let value = proptest::option::of(prop_oneof![Just("x"), Just("y"), Just("z")]);
    let multi = proptest::option::of(proptest::collection::vec(
        prop_oneof![Just("ab"), Just("b")],
        0..3,
    ));
    let flag = proptest::option::of(any::<bool>());
    (principals, actions, value.clone(), value, multi, flag).prop_map(|(p, a, k1, k2, k3, k4)| {
        let mut ctx = ConditionContext::new();
        if let Some(v) = k1 {
            ctx.insert("k1", v);
        }
        if let Some(v) = k2 {
            ctx.insert("K2", v);
        }
        if let Some(v) = k3 {
            ctx.insert("k3", v.into_iter().map(str::to_owned).collect::<Vec<_>>());
        }
        if let Some(v) = k4 {
            ctx.insert("k4", v);
        }
        request(p, a, KEY_ARN, ctx)
    })
}

fn applying_sids(p: &Policy, r: &RequestContext) -> BTreeSet<String> {
    p.evaluate(r)
        .applying()
        .filter_map(|s| s.sid.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    /// explicit_deny is Some exactly when some Deny statement applies, and adding an
    /// unconditional matching Deny anywhere always produces one.
    #[test]
    fn explicit_deny_dominates(stmts in proptest::collection::vec(stmt(), 0..8), r in req(), at in any::<prop::sample::Index>()) {
        let numbered: Vec<(usize, Stmt)> = stmts.into_iter().enumerate().collect();
        let eval = policy_of(&numbered).evaluate(&r);
        let deny_applies = eval.statements.iter().any(|s| s.applies && s.effect == Effect::Deny);
        prop_assert_eq!(eval.explicit_deny().is_some(), deny_applies);
        if let Some(d) = eval.explicit_deny() {
            prop_assert_eq!(d.effect, Effect::Deny);
            prop_assert!(d.applies);
        }

        let mut with_deny = numbered.clone();
        let blanket = Stmt { deny: true, principal: 0, action: 0, condition: 0 };
        with_deny.insert(at.index(with_deny.len() + 1), (99, blanket));
        let eval = policy_of(&with_deny).evaluate(&r);
        let deny = eval.explicit_deny();
        prop_assert!(deny.is_some());
        prop_assert_eq!(deny.and_then(|d| d.sid.clone()), eval.statements.iter().find(|s| s.applies && s.effect == Effect::Deny).and_then(|s| s.sid.clone()));
    }

    /// The allocation-free summary agrees with the full evaluation.
    /// A policy that does not read the condition context (no Condition, no policy variable)
    /// decides exactly the same with an empty one: what lets the authorizer skip building it.
    #[test]
    fn a_policy_without_conditions_ignores_the_context(stmts in proptest::collection::vec(stmt(), 0..8), r in req()) {
        let numbered: Vec<(usize, Stmt)> = stmts.iter().cloned().enumerate().collect();
        let p = policy_of(&numbered);
        prop_assert_eq!(p.reads_context(), stmts.iter().any(|s| s.condition != 0));
        if !p.reads_context() {
            let bare = RequestContext::new(r.principal.clone().into_owned(), r.action.to_string(), r.resource.to_string());
            prop_assert_eq!(p.evaluate(&r), p.evaluate(&bare));
        }
    }

    #[test]
    fn summary_agrees_with_evaluation(stmts in proptest::collection::vec(stmt(), 0..8), r in req()) {
        let numbered: Vec<(usize, Stmt)> = stmts.into_iter().enumerate().collect();
        let p = policy_of(&numbered);
        let full = p.evaluate(&r);
        let summary = p.summarize(&r);
        prop_assert_eq!(summary.explicit_deny, full.explicit_deny().map(|s| s.index));
        for m in [PrincipalMatch::Direct, PrincipalMatch::AccountLevel] {
            prop_assert_eq!(summary.allow_with(m), full.allow_with(m).map(|s| s.index));
        }
        prop_assert_eq!(summary.any_allow(), full.any_allow().map(|s| s.index));
    }

    /// Reordering statements never changes which statements apply.
    #[test]
    fn order_does_not_matter(stmts in proptest::collection::vec(stmt(), 1..8), r in req(), seed in any::<u64>()) {
        let numbered: Vec<(usize, Stmt)> = stmts.into_iter().enumerate().collect();
        let mut shuffled = numbered.clone();
        // Deterministic Fisher-Yates from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let a = policy_of(&numbered);
        let b = policy_of(&shuffled);
        prop_assert_eq!(applying_sids(&a, &r), applying_sids(&b, &r));
        let (ea, eb) = (a.evaluate(&r), b.evaluate(&r));
        prop_assert_eq!(ea.explicit_deny().is_some(), eb.explicit_deny().is_some());
        prop_assert_eq!(ea.any_allow().is_some(), eb.any_allow().is_some());
    }

    /// With principal, resource and conditions matching, Action X applies iff NotAction X does not.
    #[test]
    fn action_not_action_complement(pattern in "[ab*?]{1,6}", name in "[abAB]{0,6}", service in "(svc|SVC|other)") {
        let pattern = format!("svc:{pattern}");
        let action = format!("{service}:{name}");
        let doc = |element: &str| format!(r#"{{"Statement":{{"Effect":"Allow","{element}":"{pattern}","Resource":"*"}}}}"#);
        let with = Policy::parse(&doc("Action"), PolicyKind::IdentityPolicy).unwrap();
        let without = Policy::parse(&doc("NotAction"), PolicyKind::IdentityPolicy).unwrap();
        let r = request(Principal::user("arn:aws:iam::111122223333:user/u"), &action, "*", ConditionContext::new());
        let a = with.evaluate(&r).statements[0].applies;
        let n = without.evaluate(&r).statements[0].applies;
        prop_assert_ne!(a, n);
        prop_assert_eq!(a, reference_glob(&pattern.to_lowercase(), &action.to_lowercase()));
    }

    /// The compiled matcher agrees with a naive recursive one, case-sensitively and not.
    #[test]
    fn glob_agrees_with_reference(pattern in "[aAb*?é]{0,10}", text in "[aAbé]{0,12}") {
        prop_assert_eq!(glob_match(&pattern, &text, false), reference_glob(&pattern, &text));
        prop_assert_eq!(glob_match(&pattern, &text, true), reference_glob(&pattern.to_lowercase(), &text.to_lowercase()));
    }

    /// Matching never panics on arbitrary input.
    #[test]
    fn glob_total(pattern in ".{0,12}", text in ".{0,12}") {
        let _ = glob_match(&pattern, &text, true);
        let _ = glob_match(&pattern, &text, false);
    }
}

/// The textbook definition, written independently of the library's algorithm.
fn reference_glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[test]
fn a_policy_variable_in_a_resource_reads_the_context() {
    let with_variable = key(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:username}"}]}"#,
    );
    assert!(with_variable.reads_context());
    let plain = key(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"}]}"#,
    );
    assert!(!plain.reads_context());
}

#[test]
fn reference_glob_sanity() {
    assert!(reference_glob("a*b?", "aXXbY"));
    assert!(!reference_glob("a*b?", "aXXb"));
    assert!(reference_glob("", ""));
    assert!(!reference_glob("?", ""));
}
