//! Runs the apply graph: every node whose dependencies succeeded (and whose order-only
//! predecessors have finished) starts at once; AWS requests stay bounded by the shared
//! semaphore in `aws`. A failure marks everything that needs it, directly or not, as not
//! attempted. A node that never became ready (a cycle the graph could not break) is listed
//! as not attempted too: the report never says "complete" for work that was not done.
//!
//! The writes themselves are behind [`Writer`], so these rules are unit-tested without AWS;
//! [`execute`] runs them with the real writes of [`super::writes`].
//!
//! It reports in types ([`Step`], [`Report`]), not words: it does not order (the graph
//! does), does not send requests itself (the writer does), and does not word the report
//! (the caller renders it).

use std::borrow::Cow;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::graph::{Graph, INERT_TRUST, Node};
use super::writes::{self, Target};
use super::{Failure, Report, Skipped, Step, WaitedFor};
use crate::aws::AwsError;
use crate::change::{Action, Address, Change, ChangeSet, Resource, Write};
use crate::desired::Desired;
use crate::live::Session;

/// What the executor tells its caller as it goes (for progress lines on stderr), about a
/// step: a change, or a record (the caller may leave bookkeeping out).
#[derive(Clone, Debug)]
pub enum Event<'a> {
    Started(&'a Step),
    Done(&'a Step, std::time::Duration),
    Failed(&'a Step),
}

impl Event<'_> {
    /// The step this event is about.
    pub fn step(&self) -> &Step {
        match self {
            Event::Started(s) | Event::Done(s, _) | Event::Failed(s) => s,
        }
    }
}

/// One unit of work handed to a [`Writer`].
#[derive(Debug)]
pub enum Job<'a> {
    /// Send `write` for `change` (the change's own write, or the inert-trust creation or the
    /// real trust of a role on a trust cycle).
    Write {
        change: &'a Change,
        write: Cow<'a, Write>,
    },
    /// Write the `s3ward:applied` record of a resource.
    Record {
        resource: &'a Resource,
        digest: String,
    },
}

/// Why a job failed: the AWS operation and the error.
pub type JobError = (String, AwsError);

/// Carries out jobs. The executor decides what runs when; the writer only writes.
pub trait Writer {
    fn perform(&self, job: &Job<'_>) -> impl Future<Output = Result<(), JobError>>;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

impl State {
    fn finished(self) -> bool {
        matches!(self, State::Done | State::Failed | State::Skipped)
    }
}

/// Where a resource lives: (account key, region).
fn target_of(desired: &Desired, session: &Session, r: &Resource) -> (String, String) {
    match r {
        Resource::Bucket(k) => {
            let b = &desired.buckets[k];
            (b.account.clone(), session.bucket_region(b))
        }
        Resource::Role(k) => (
            desired.roles[k].account.clone(),
            session.aws.default_region(),
        ),
        Resource::Key(k) => (
            desired.keys[k].account.clone(),
            desired.keys[k].region.clone(),
        ),
    }
}

fn node_step(cs: &ChangeSet, n: &Node) -> Step {
    match n {
        Node::Change(i) => Step::Change(cs.changes[*i].address.clone()),
        Node::Trust(i) => Step::Change(Address::RoleTrust(role_key(&cs.changes[*i]))),
        Node::Record(r) => Step::Record(r.clone()),
    }
}

fn role_key(c: &Change) -> String {
    match c.address.resource() {
        Resource::Role(k) | Resource::Bucket(k) | Resource::Key(k) => k,
    }
}

/// The job a node stands for.
fn job<'a>(cs: &'a ChangeSet, graph: &Graph, node: &'a Node) -> Job<'a> {
    match node {
        Node::Change(i) => {
            let change = &cs.changes[*i];
            let write = match &change.write {
                Write::CreateRole {
                    name,
                    path,
                    description,
                    max_session_duration,
                    tags,
                    ..
                } if graph.creates_with_inert_trust(*i) => Cow::Owned(Write::CreateRole {
                    name: name.clone(),
                    path: path.clone(),
                    description: description.clone(),
                    max_session_duration: *max_session_duration,
                    trust: INERT_TRUST.to_string(),
                    tags: tags.clone(),
                }),
                w => Cow::Borrowed(w),
            };
            Job::Write { change, write }
        }
        Node::Trust(i) => {
            let change = &cs.changes[*i];
            let write = match &change.write {
                Write::CreateRole { name, trust, .. } => Write::UpdateTrust {
                    role: name.clone(),
                    policy: trust.clone(),
                },
                other => other.clone(),
            };
            Job::Write {
                change,
                write: Cow::Owned(write),
            }
        }
        Node::Record(resource) => Job::Record {
            resource,
            digest: cs.applied[resource].tag_value(),
        },
    }
}

/// IAM role and user ARNs in a policy text: the principals that may not exist yet.
fn principals_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split('"')
        .filter(|s| s.starts_with("arn:aws") && (s.contains(":role/") || s.contains(":user/")))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The report line for a failed job.
///
/// When AWS refuses a principal, the message names those of the document that `plan` could
/// not verify (`verified`: read and found, so not suspects); roles created in this run stay
/// named, as IAM may not know them yet.
fn failure(
    step: &Step,
    job: &Job<'_>,
    operation: String,
    e: &AwsError,
    verified: &std::collections::BTreeSet<String>,
) -> Failure {
    let mut message = e.message.clone();
    if e.attempts > 1 {
        message.push_str(&format!(" (after {} attempts)", e.attempts));
    }
    let principal_problem = e
        .code
        .as_deref()
        .is_some_and(|c| c.starts_with("MalformedPolicy"))
        && e.message.to_ascii_lowercase().contains("principal");
    if principal_problem && let Job::Write { write, .. } = job {
        let text = match write.as_ref() {
            Write::PutBucketPolicy { policy, .. } => Some(policy.as_str()),
            Write::UpdateTrust { policy, .. } => Some(policy.as_str()),
            Write::CreateRole { trust, .. } => Some(trust.as_str()),
            _ => None,
        };
        let mut names = text.map(principals_in).unwrap_or_default();
        names.retain(|n| !verified.contains(n));
        if !names.is_empty() {
            message.push_str(&format!(
                "; principals that may not exist (or not yet be usable): {}",
                names.join(", ")
            ));
        }
    }
    Failure {
        address: step.clone(),
        operation: format!("{} {}", e.service_name(), operation),
        code: e.code.clone(),
        message,
    }
}

/// The real writes, against AWS.
struct AwsWriter<'a> {
    session: &'a Session,
    desired: &'a Desired,
    /// Buckets created in this run: `NoSuchBucket` may answer for a moment.
    new_buckets: Vec<Resource>,
}

impl Writer for AwsWriter<'_> {
    async fn perform(&self, job: &Job<'_>) -> Result<(), JobError> {
        let (session, desired) = (self.session, self.desired);
        match job {
            Job::Write { change, write } => {
                let resource = change.address.resource();
                let (account, region) = target_of(desired, session, &resource);
                let t = Target {
                    account: &account,
                    region: &region,
                    bucket_is_new: self.new_buckets.contains(&resource)
                        && !matches!(write.as_ref(), Write::CreateBucket { .. }),
                };
                writes::perform(session, &t, write)
                    .await
                    .map_err(|e| (writes::operation(write).to_string(), e))
            }
            Job::Record { resource, digest } => {
                let (account, region) = target_of(desired, session, resource);
                match resource {
                    Resource::Bucket(k) => {
                        let t = Target {
                            account: &account,
                            region: &region,
                            bucket_is_new: self.new_buckets.contains(resource),
                        };
                        writes::record_bucket(session, &t, &desired.buckets[k].name, digest)
                            .await
                            .map_err(|e| ("PutBucketTagging".to_string(), e))
                    }
                    Resource::Role(k) => {
                        writes::record_role(session, &account, &desired.roles[k].name, digest)
                            .await
                            .map_err(|e| ("TagRole".to_string(), e))
                    }
                    Resource::Key(k) => {
                        let t = Target {
                            account: &account,
                            region: &region,
                            bucket_is_new: false,
                        };
                        writes::record_key(session, &t, &desired.keys[k].arn, digest)
                            .await
                            .map_err(|e| ("TagResource".to_string(), e))
                    }
                }
            }
        }
    }
}

/// Applies `cs` against AWS in the order of `graph`.
pub async fn execute(
    session: &Session,
    desired: &Desired,
    cs: &ChangeSet,
    graph: &Graph,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Report {
    let new_buckets: Vec<Resource> = cs
        .changes
        .iter()
        .filter(|c| matches!(c.address, Address::Bucket(_)) && c.action == Action::Create)
        .map(|c| c.address.resource())
        .collect();
    let writer = AwsWriter {
        session,
        desired,
        new_buckets,
    };
    run(&writer, cs, graph, on_event).await
}

/// Runs every node of `graph` with `writer`, as far as the rules allow, and reports.
pub async fn run<W: Writer>(
    writer: &W,
    cs: &ChangeSet,
    graph: &Graph,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Report {
    let n = graph.nodes.len();
    let steps: Vec<Step> = graph.nodes.iter().map(|x| node_step(cs, x)).collect();
    let jobs: Vec<Job<'_>> = graph.nodes.iter().map(|x| job(cs, graph, x)).collect();
    let mut state = vec![State::Waiting; n];
    let mut report = Report::default();
    // Records are bookkeeping: the report lists changes (and records only when they fail).
    let change_at = |i: usize| match &steps[i] {
        Step::Change(a) => Some(a.clone()),
        Step::Record(_) => None,
    };

    let start = |i: usize| {
        let (steps, jobs) = (&steps, &jobs);
        async move {
            let started = Instant::now();
            on_event(Event::Started(&steps[i]));
            let result = writer.perform(&jobs[i]).await;
            (i, result, started.elapsed())
        }
    };
    let ready = |state: &[State], j: usize| {
        state[j] == State::Waiting
            && graph.deps[j].iter().all(|d| state[*d] == State::Done)
            && graph.after[j].iter().all(|d| state[*d].finished())
    };

    let mut running = FuturesUnordered::new();
    for i in 0..n {
        if ready(&state, i) {
            state[i] = State::Running;
            running.push(start(i));
        }
    }
    while let Some((i, result, took)) = running.next().await {
        // The nodes whose state changed: their dependents may now be ready.
        let mut settled = vec![i];
        match result {
            Ok(()) => {
                state[i] = State::Done;
                on_event(Event::Done(&steps[i], took));
                report.applied.extend(change_at(i));
            }
            Err((operation, e)) => {
                state[i] = State::Failed;
                on_event(Event::Failed(&steps[i]));
                report.failed.push(failure(
                    &steps[i],
                    &jobs[i],
                    operation,
                    &e,
                    &cs.verified_principals,
                ));
                // Everything that needs it, directly or not, is not attempted.
                let mut stack: Vec<usize> = needs(graph, i);
                while let Some(j) = stack.pop() {
                    if state[j] == State::Waiting {
                        state[j] = State::Skipped;
                        settled.push(j);
                        if let Some(address) = change_at(j) {
                            report.not_attempted.push(Skipped {
                                address,
                                waited_for: WaitedFor::Failed(steps[i].clone()),
                            });
                        }
                        stack.extend(needs(graph, j));
                    }
                }
            }
        }
        for s in settled {
            for &j in graph.dependents(s) {
                if ready(&state, j) {
                    state[j] = State::Running;
                    running.push(start(j));
                }
            }
        }
    }
    // Nothing runs, and something never started: it waited on a cycle. Never a success.
    for i in 0..n {
        if state[i] != State::Waiting {
            continue;
        }
        if let Some(address) = change_at(i) {
            let on: Vec<Step> = graph.deps[i]
                .iter()
                .chain(&graph.after[i])
                .filter(|d| state[**d] == State::Waiting)
                .map(|d| steps[*d].clone())
                .collect();
            report.not_attempted.push(Skipped {
                address,
                waited_for: WaitedFor::Cycle(on),
            });
        }
    }
    report
}

/// The nodes that run only if `i` succeeds.
fn needs(graph: &Graph, i: usize) -> Vec<usize> {
    graph
        .dependents(i)
        .iter()
        .copied()
        .filter(|&j| graph.deps[j].contains(&i))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use super::*;
    use crate::apply::graph;

    /// A writer that records what it was asked to do and fails the labels it is told to.
    #[derive(Default)]
    struct Fake {
        fail: BTreeSet<String>,
        attempts: u32,
        log: Mutex<Vec<String>>,
    }

    fn describe(job: &Job<'_>) -> String {
        match job {
            Job::Write { change, write } => match write.as_ref() {
                Write::CreateRole { trust, .. } if trust == INERT_TRUST => {
                    format!("{} (inert trust)", change.address)
                }
                Write::UpdateTrust { role, .. } if change.action == Action::Create => {
                    format!("role.{role}.trust")
                }
                _ => change.address.to_string(),
            },
            Job::Record { resource, .. } => format!("{resource} record"),
        }
    }

    impl Writer for Fake {
        async fn perform(&self, job: &Job<'_>) -> Result<(), JobError> {
            let what = describe(job);
            self.log.lock().unwrap().push(what.clone());
            tokio::task::yield_now().await;
            if self.fail.contains(&what) {
                return Err((
                    "PutBucketPolicy".into(),
                    AwsError {
                        service: "s3",
                        operation: "PutBucketPolicy",
                        code: Some("AccessDenied".into()),
                        message: "denied".into(),
                        status: Some(403),
                        attempts: self.attempts.max(1),
                        no_response: false,
                    },
                ));
            }
            Ok(())
        }
    }

    use crate::apply::graph::tests::{c as change, new_role};

    fn bucket_change(addr: &str, write: Write) -> Change {
        change(addr, Action::Update, write)
    }

    /// Each item as the report prints it.
    fn texts<T: std::fmt::Display>(items: &[T]) -> Vec<String> {
        items.iter().map(T::to_string).collect()
    }

    /// The changes not attempted, each as the report's line.
    fn skipped(report: &Report) -> Vec<String> {
        report
            .not_attempted
            .iter()
            .map(|s| format!("{} (waited for {})", s.address, s.waited_for))
            .collect()
    }

    async fn run_fake(fake: &Fake, cs: &ChangeSet) -> Report {
        let g = graph::build(cs);
        run(fake, cs, &g, &|_| {}).await
    }

    #[tokio::test]
    async fn roles_that_trust_each_other_are_created_inert_then_given_their_trust() {
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["b"]));
        cs.changes.push(new_role("b", &["a"]));
        cs.applied
            .insert(Resource::Role("a".into()), Default::default());
        let fake = Fake::default();
        let report = run_fake(&fake, &cs).await;
        assert!(report.ok(), "{report:?}");
        let mut applied = texts(&report.applied);
        applied.sort();
        assert_eq!(
            applied,
            ["role.a", "role.a.trust", "role.b", "role.b.trust"]
        );
        let log = fake.log.lock().unwrap().clone();
        let at = |what: &str| log.iter().position(|l| l == what).expect(what);
        // Both exist (with a trust that lets no one in) before either gets its real trust.
        for create in ["role.a (inert trust)", "role.b (inert trust)"] {
            assert!(at(create) < at("role.a.trust") && at(create) < at("role.b.trust"));
        }
        assert!(at("role.a.trust") < at("role.a record"));
        assert_eq!(log.len(), 5, "{log:?}");
    }

    #[tokio::test]
    async fn a_role_that_trusts_itself_is_created_inert_first() {
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["a"]));
        let fake = Fake::default();
        let report = run_fake(&fake, &cs).await;
        assert!(report.ok(), "{report:?}");
        assert_eq!(
            *fake.log.lock().unwrap(),
            ["role.a (inert trust)", "role.a.trust"]
        );
    }

    #[tokio::test]
    async fn a_cycle_is_never_success() {
        let mut cs = ChangeSet::default();
        cs.changes.push(new_role("a", &["x"]));
        cs.changes.push(new_role("b", &["x"]));
        cs.changes.push(new_role("c", &["x"]));
        // a and b wait for each other; c is free.
        let g = Graph::from_edges(
            vec![Node::Change(0), Node::Change(1), Node::Change(2)],
            vec![vec![1], vec![0], vec![]],
            vec![vec![], vec![], vec![]],
        );
        let fake = Fake::default();
        let report = run(&fake, &cs, &g, &|_| {}).await;
        assert!(!report.ok());
        assert_eq!(texts(&report.applied), ["role.c"]);
        assert_eq!(
            skipped(&report),
            [
                "role.a (waited for a dependency cycle (role.b))",
                "role.b (waited for a dependency cycle (role.a))"
            ]
        );
    }

    fn bucket_writes() -> Vec<Change> {
        let b = || "m".to_string();
        vec![
            bucket_change(
                "bucket.m.policy",
                Write::PutBucketPolicy {
                    bucket: b(),
                    policy: "{}".into(),
                    merge: None,
                },
            ),
            bucket_change("bucket.m.acl", Write::ResetBucketAcl { bucket: b() }),
            bucket_change(
                "bucket.m.ownership",
                Write::PutBucketOwnership {
                    bucket: b(),
                    ownership: crate::desired::ObjectOwnership::BucketOwnerEnforced,
                },
            ),
            bucket_change(
                "bucket.m.public_access_block",
                Write::PutPublicAccessBlock {
                    bucket: b(),
                    config: crate::desired::PublicAccessBlock::all(true),
                },
            ),
            bucket_change(
                "bucket.other.policy",
                Write::PutBucketPolicy {
                    bucket: "other".into(),
                    policy: "{}".into(),
                    merge: None,
                },
            ),
        ]
    }

    #[tokio::test]
    async fn a_failure_stops_only_what_needs_it_and_the_block_still_tightens() {
        let mut cs = ChangeSet {
            changes: bucket_writes(),
            ..Default::default()
        };
        cs.applied
            .insert(Resource::Bucket("m".into()), Default::default());
        let fake = Fake {
            fail: BTreeSet::from(["bucket.m.policy".to_string()]),
            attempts: 4,
            ..Default::default()
        };
        let report = run_fake(&fake, &cs).await;
        assert!(!report.ok());
        let mut applied = texts(&report.applied);
        applied.sort();
        assert_eq!(
            applied,
            ["bucket.m.public_access_block", "bucket.other.policy"]
        );
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].address.to_string(), "bucket.m.policy");
        assert_eq!(report.failed[0].operation, "S3 PutBucketPolicy");
        assert!(
            report.failed[0].message.ends_with("(after 4 attempts)"),
            "{}",
            report.failed[0].message
        );
        assert_eq!(
            skipped(&report),
            [
                "bucket.m.acl (waited for bucket.m.policy)",
                "bucket.m.ownership (waited for bucket.m.policy)"
            ]
        );
        // The record of a bucket with a failed change is not written.
        assert!(
            !fake
                .log
                .lock()
                .unwrap()
                .contains(&"bucket.m record".to_string())
        );
    }

    #[tokio::test]
    async fn the_block_waits_for_the_policy_to_finish() {
        let cs = ChangeSet {
            changes: bucket_writes(),
            ..Default::default()
        };
        let fake = Fake::default();
        let report = run_fake(&fake, &cs).await;
        assert!(report.ok());
        let log = fake.log.lock().unwrap().clone();
        let at = |a: &str| log.iter().position(|l| l == a).unwrap();
        assert!(at("bucket.m.policy") < at("bucket.m.acl"));
        assert!(at("bucket.m.acl") < at("bucket.m.ownership"));
        assert!(at("bucket.m.ownership") < at("bucket.m.public_access_block"));
    }

    #[test]
    fn a_refused_principal_names_only_those_plan_could_not_verify() {
        let policy = r#"{"Statement":[{"Principal":{"AWS":["arn:aws:iam::2:role/ray","arn:aws:iam::3:role/partner"]}}]}"#;
        let write = Write::PutBucketPolicy {
            bucket: "b".into(),
            policy: policy.into(),
            merge: None,
        };
        let change = Change::new(
            Address::BucketPolicy("m".into()),
            Action::Create,
            write.clone(),
        );
        let job = Job::Write {
            change: &change,
            write: Cow::Owned(write),
        };
        let e = AwsError {
            service: "s3",
            operation: "PutBucketPolicy",
            code: Some("MalformedPolicy".into()),
            message: "Invalid principal in policy".into(),
            status: Some(400),
            attempts: 1,
            no_response: false,
        };
        let verified = std::collections::BTreeSet::from(["arn:aws:iam::2:role/ray".to_string()]);
        let step = Step::Change(change.address.clone());
        let f = failure(&step, &job, "PutBucketPolicy".into(), &e, &verified);
        assert_eq!(
            f.message,
            "Invalid principal in policy; principals that may not exist (or not yet be usable): arn:aws:iam::3:role/partner"
        );
        // Every one verified: nothing to suspect, so no list.
        let all = std::collections::BTreeSet::from([
            "arn:aws:iam::2:role/ray".to_string(),
            "arn:aws:iam::3:role/partner".to_string(),
        ]);
        let f = failure(&step, &job, "PutBucketPolicy".into(), &e, &all);
        assert_eq!(f.message, "Invalid principal in policy");
    }

    #[test]
    fn principals_are_found_in_policy_text() {
        let t = r#"{"Statement":[{"Principal":{"AWS":["arn:aws:iam::2:role/ray","arn:aws:iam::3:root"]}},{"Principal":{"AWS":"arn:aws:iam::2:user/u"}}]}"#;
        assert_eq!(
            principals_in(t),
            vec![
                "arn:aws:iam::2:role/ray".to_string(),
                "arn:aws:iam::2:user/u".to_string()
            ]
        );
    }
}
