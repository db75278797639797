//! Which faults the proxy injects: [`Fault`], a [`Rule`] that says when, [`ProxyRules`] (the
//! rules of one proxy and their seed), and the [`Dice`] that applies them to each request.
//!
//! Pure decisions: nothing here touches a socket or builds a response (the answers are in
//! `faults.rs`, the forwarding in `server.rs`). A rule matches on the service and operation
//! that `classify.rs` found, never on raw HTTP.

use std::sync::Mutex;
use std::time::Duration;

/// One fault the proxy can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// S3: 503 `SlowDown`; IAM/STS: 400 `Throttling`.
    Throttling,
    /// S3: 500 `InternalError`; IAM: 500 `ServiceFailure`; STS: 500 `InternalFailure`.
    InternalError,
    /// S3: 409 `OperationAborted`; IAM/STS: 409 `ConcurrentModification`.
    Conflict,
    /// S3: 403 `AccessDenied`; IAM/STS: 403 `AccessDenied`. Unlike the others, a client
    /// must not retry it: it is how a test makes one write fail for good.
    AccessDenied,
    /// The connection is closed without a response (after the request was read).
    DropConnection,
    /// The request is forwarded and takes effect upstream, then the connection is closed
    /// without passing the answer on: the client cannot tell whether its write happened
    /// (a response lost in the network). Recorded with the upstream status. Only a 2xx
    /// answer is lost; an error answer (nothing happened) is passed on, recorded without a
    /// fault, and does not count towards [`Rule::first`].
    DropResponse,
    /// The request is held this long, then handled as usual (not an error; not counted
    /// by [`Proxy::faults_injected`]).
    Latency(Duration),
}

/// When to inject a fault: every request, or those of one service and/or operation, with
/// a probability.
#[derive(Clone, Debug)]
pub struct Rule {
    service: Option<&'static str>,
    operation: Option<String>,
    probability: f64,
    fault: Fault,
    /// Fires on at most this many requests (`None`: no limit).
    limit: Option<usize>,
}

impl Rule {
    /// `fault` on every request (probability 1) until narrowed.
    pub fn new(fault: Fault) -> Rule {
        Rule {
            service: None,
            operation: None,
            probability: 1.0,
            fault,
            limit: None,
        }
    }

    /// Fires on at most the first `n` requests it would fire on: `.first(1)` loses one
    /// answer, and the retry goes through.
    pub fn first(mut self, n: usize) -> Rule {
        self.limit = Some(n);
        self
    }

    /// Only requests to `service`: `"s3"`, `"iam"` or `"sts"`.
    pub fn service(mut self, service: &'static str) -> Rule {
        self.service = Some(service);
        self
    }

    /// Only requests for `operation`, as recorded (`"PutBucketPolicy"`, `"CreateRole"`).
    pub fn operation(mut self, operation: &str) -> Rule {
        self.operation = Some(operation.to_string());
        self
    }

    /// Fires with this probability (0..=1) on each matching request.
    pub fn probability(mut self, probability: f64) -> Rule {
        assert!(
            (0.0..=1.0).contains(&probability),
            "probability {probability} is not in 0..=1"
        );
        self.probability = probability;
        self
    }

    fn matches(&self, service: &str, operation: &str) -> bool {
        self.service.is_none_or(|s| s == service)
            && self.operation.as_deref().is_none_or(|o| o == operation)
    }
}

/// The fault rules of one proxy and the seed of their PRNG. The first matching rule that
/// fires decides the fault; every matching latency rule adds its delay.
#[derive(Clone, Debug, Default)]
pub struct ProxyRules {
    seed: u64,
    rules: Vec<Rule>,
}

impl ProxyRules {
    /// No faults: a recording proxy.
    pub fn none() -> ProxyRules {
        ProxyRules::default()
    }

    pub fn seeded(seed: u64) -> ProxyRules {
        ProxyRules {
            seed,
            rules: Vec::new(),
        }
    }

    pub fn with(mut self, rule: Rule) -> ProxyRules {
        self.rules.push(rule);
        self
    }
}

/// The rules of one proxy while it runs: their PRNG and how often each has fired.
pub(super) struct Dice {
    rules: Vec<Rule>,
    rng: Mutex<fastrand::Rng>,
    /// How many times each rule has fired (for [`Rule::first`]).
    fired: Mutex<Vec<usize>>,
}

impl Dice {
    pub(super) fn new(rules: ProxyRules) -> Dice {
        Dice {
            fired: Mutex::new(vec![0; rules.rules.len()]),
            rules: rules.rules,
            rng: Mutex::new(fastrand::Rng::with_seed(rules.seed)),
        }
    }

    /// The added delay and the fault (if any) for one request.
    pub(super) fn decide(&self, service: &str, operation: &str) -> (Duration, Option<Fault>) {
        let (delay, fault, _) = self.decide_rule(service, operation);
        (delay, fault)
    }

    /// [`Dice::decide`], and the index of the rule that decided the fault.
    pub(super) fn decide_rule(
        &self,
        service: &str,
        operation: &str,
    ) -> (Duration, Option<Fault>, Option<usize>) {
        let mut rule_index = None;
        let mut rng = self.rng.lock().expect("proxy rng");
        let mut delay = Duration::ZERO;
        let mut fault = None;
        let mut fired = self.fired.lock().expect("proxy rule counts");
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.matches(service, operation) {
                continue;
            }
            let fires = rule.probability >= 1.0 || rng.f64() < rule.probability;
            let fires = fires && rule.limit.is_none_or(|n| fired[i] < n);
            match rule.fault {
                Fault::Latency(d) if fires => delay += d,
                f if fires && fault.is_none() => {
                    fault = Some(f);
                    rule_index = Some(i);
                }
                _ => continue,
            }
            // Only a rule that took effect counts towards its limit.
            fired[i] += 1;
        }
        (delay, fault, rule_index)
    }

    /// Takes back one firing of rule `i` (a [`Fault::DropResponse`] whose answer was a
    /// refusal: nothing was lost, so the rule has not fired).
    pub(super) fn unfire(&self, i: usize) {
        self.fired.lock().expect("proxy rule counts")[i] -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions() {
        let rules = || {
            ProxyRules::seeded(9)
                .with(Rule::new(Fault::Throttling).service("s3").probability(0.5))
                .with(Rule::new(Fault::Latency(Duration::from_millis(1))).probability(0.5))
        };
        let decide = |rules: ProxyRules| {
            let dice = Dice::new(rules);
            (0..64)
                .map(|i| dice.decide(if i % 3 == 0 { "iam" } else { "s3" }, "X"))
                .collect::<Vec<_>>()
        };
        let a = decide(rules());
        assert_eq!(a, decide(rules()));
        assert!(a.iter().any(|(_, f)| f.is_some()) && a.iter().any(|(_, f)| f.is_none()));
        assert_ne!(
            a,
            decide(ProxyRules {
                seed: 10,
                ..rules()
            })
        );
    }
}
