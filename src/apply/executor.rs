//! Runs the apply graph: every node whose dependencies succeeded starts at once (AWS
//! requests stay bounded by the shared semaphore in `aws`); a failure marks everything that
//! depends on it, directly or not, as not attempted.

use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::graph::{Graph, Node};
use super::writes::{self, Target};
use super::{Failure, Report, Skipped};
use crate::change::{Action, Address, ChangeSet, Resource, Write};
use crate::desired::Desired;
use crate::live::Session;

/// What the executor tells its caller as it goes (for progress lines on stderr).
#[derive(Clone, Debug)]
pub enum Event<'a> {
    Started(&'a str),
    Done(&'a str, std::time::Duration),
    Failed(&'a str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
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
    }
}

fn node_label(cs: &ChangeSet, n: &Node) -> String {
    match n {
        Node::Change(i) => cs.changes[*i].address.to_string(),
        Node::Record(r) => format!("{r} (s3ward:applied tag)"),
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

pub async fn execute(
    session: &Session,
    desired: &Desired,
    cs: &ChangeSet,
    graph: &Graph,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Report {
    let n = graph.nodes.len();
    let labels: Vec<String> = graph.nodes.iter().map(|x| node_label(cs, x)).collect();
    let mut state = vec![State::Waiting; n];
    let mut report = Report::default();
    let new_buckets: Vec<String> = cs
        .changes
        .iter()
        .filter(|c| matches!(c.address, Address::Bucket(_)) && c.action == Action::Create)
        .map(|c| c.address.resource().to_string())
        .collect();

    let run = |i: usize| {
        let labels = &labels;
        let new_buckets = &new_buckets;
        async move {
            let started = Instant::now();
            on_event(Event::Started(&labels[i]));
            let result = match &graph.nodes[i] {
                Node::Change(ci) => {
                    let c = &cs.changes[*ci];
                    let resource = c.address.resource();
                    let (account, region) = target_of(desired, session, &resource);
                    let t = Target {
                        account: &account,
                        region: &region,
                        bucket_is_new: new_buckets.contains(&resource.to_string())
                            && !matches!(c.write, Write::CreateBucket { .. }),
                    };
                    writes::perform(session, &t, &c.write)
                        .await
                        .map_err(|e| (writes::operation(&c.write).to_string(), e, Some(&c.write)))
                }
                Node::Record(resource) => {
                    let digest = &cs.applied[&resource.to_string()].tag_value();
                    let (account, region) = target_of(desired, session, resource);
                    match resource {
                        Resource::Bucket(k) => {
                            let t = Target {
                                account: &account,
                                region: &region,
                                bucket_is_new: new_buckets.contains(&resource.to_string()),
                            };
                            writes::record_bucket(session, &t, &desired.buckets[k].name, digest)
                                .await
                                .map_err(|e| ("PutBucketTagging".to_string(), e, None))
                        }
                        Resource::Role(k) => {
                            writes::record_role(session, &account, &desired.roles[k].name, digest)
                                .await
                                .map_err(|e| ("TagRole".to_string(), e, None))
                        }
                    }
                }
            };
            (i, result, started.elapsed())
        }
    };

    let mut running = FuturesUnordered::new();
    for (i, s) in state.iter_mut().enumerate() {
        if graph.deps[i].is_empty() {
            *s = State::Running;
            running.push(run(i));
        }
    }
    while let Some((i, result, took)) = running.next().await {
        match result {
            Ok(()) => {
                state[i] = State::Done;
                on_event(Event::Done(&labels[i], took));
                if let Node::Change(_) = graph.nodes[i] {
                    report.applied.push(labels[i].clone());
                }
                for &j in graph.dependents(i) {
                    if state[j] == State::Waiting
                        && graph.deps[j].iter().all(|d| state[*d] == State::Done)
                    {
                        state[j] = State::Running;
                        running.push(run(j));
                    }
                }
            }
            Err((operation, e, write)) => {
                state[i] = State::Failed;
                on_event(Event::Failed(&labels[i]));
                let mut message = e.message.clone();
                if e.attempts > 1 {
                    message.push_str(&format!(" (after {} attempts)", e.attempts));
                }
                let principal_problem = e
                    .code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("MalformedPolicy"))
                    && e.message.to_ascii_lowercase().contains("principal");
                if principal_problem {
                    let text = match write {
                        Some(Write::PutBucketPolicy { policy, .. }) => Some(policy.as_str()),
                        Some(Write::UpdateTrust { policy, .. }) => Some(policy.as_str()),
                        Some(Write::CreateRole { trust, .. }) => Some(trust.as_str()),
                        _ => None,
                    };
                    let names = text.map(principals_in).unwrap_or_default();
                    if !names.is_empty() {
                        message.push_str(&format!(
                            "; principals that may not exist (or not yet be usable): {}",
                            names.join(", ")
                        ));
                    }
                }
                report.failed.push(Failure {
                    address: labels[i].clone(),
                    operation: format!("{} {}", e.service_name(), operation),
                    code: e.code.clone(),
                    message,
                });
                // Everything that depends on it, directly or not, is not attempted.
                let mut stack = graph.dependents(i).to_vec();
                while let Some(j) = stack.pop() {
                    if state[j] == State::Waiting {
                        state[j] = State::Skipped;
                        if let Node::Change(_) = graph.nodes[j] {
                            report.not_attempted.push(Skipped {
                                address: labels[j].clone(),
                                waited_for: labels[i].clone(),
                            });
                        }
                        stack.extend_from_slice(graph.dependents(j));
                    }
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::principals_in;

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
