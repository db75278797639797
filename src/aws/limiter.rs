//! How many requests each AWS service gets in flight, adapted to what it accepts.
//!
//! One bound for every service made IAM, whose request quota is far below S3's control
//! plane, share S3's limit, and made S3 wait behind IAM. Each service has its own limit:
//! it starts at the service's [`start`] value (never above `--parallelism`), a throttling
//! answer (`Throttling`, `SlowDown` and the other throttling codes, or HTTP 429) halves it,
//! and every other answer grows it by `1 / limit`, so one more request is in flight after a
//! round of answers, up to `--parallelism` — additive increase, multiplicative decrease, as
//! TCP does.
//!
//! A burst of throttling answers to the requests of one round halves the limit once, not
//! once per answer: a decrease applies only to requests sent after the previous one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The limit a service starts with, before `--parallelism` caps it. S3's control plane
/// takes hundreds of requests per second per bucket prefix; IAM, STS and EKS throttle at a
/// few dozen per account, so they start low and grow while AWS answers.
pub fn start(service: &str) -> usize {
    match service {
        "s3" | "kms" => usize::MAX,
        "iam" => 8,
        _ => 4,
    }
}

/// What a call's answer says about the service's load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (with or without an error that is not about load).
    Answered,
    /// Throttled: slow down.
    Throttled,
}

/// The limits of every service of one run.
#[derive(Debug)]
pub struct Limits {
    ceiling: usize,
    services: Mutex<BTreeMap<&'static str, Arc<Service>>>,
}

#[derive(Debug)]
struct Service {
    name: &'static str,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    /// Requests allowed in flight; fractional so that increases are additive per round.
    limit: f64,
    ceiling: f64,
    in_flight: usize,
    /// Requests sent so far; a decrease records the count at that moment.
    sent: u64,
    /// Requests sent before this count were in flight at the last decrease.
    decreased_at: u64,
}

/// One request's place in its service's limit; give it back with [`Permit::finish`].
#[derive(Debug)]
pub struct Permit {
    service: Arc<Service>,
    /// The send count when this request went out.
    sent_as: u64,
}

impl Limits {
    pub fn new(ceiling: usize) -> Limits {
        Limits {
            ceiling: ceiling.max(1),
            services: Mutex::new(BTreeMap::new()),
        }
    }

    fn service(&self, name: &'static str) -> Arc<Service> {
        let mut services = self.services.lock().expect("limits lock");
        services
            .entry(name)
            .or_insert_with(|| {
                let ceiling = self.ceiling as f64;
                Arc::new(Service {
                    name,
                    state: Mutex::new(State {
                        limit: (start(name).min(self.ceiling)) as f64,
                        ceiling,
                        in_flight: 0,
                        sent: 0,
                        decreased_at: 0,
                    }),
                    freed: Notify::new(),
                })
            })
            .clone()
    }

    /// Waits until `service` may have one more request in flight.
    pub async fn acquire(&self, service: &'static str) -> Permit {
        let service = self.service(service);
        loop {
            // Registered before the check, so a place freed between the check and the
            // wait still wakes this request.
            let freed = service.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            {
                let mut st = service.state.lock().expect("limit lock");
                if (st.in_flight as f64) < st.limit.floor().max(1.0) {
                    st.in_flight += 1;
                    st.sent += 1;
                    let sent_as = st.sent;
                    return Permit {
                        service: service.clone(),
                        sent_as,
                    };
                }
            }
            freed.await;
        }
    }

    /// The current limit of `service`.
    #[cfg(test)]
    pub fn limit(&self, service: &'static str) -> usize {
        let service = self.service(service);
        let st = service.state.lock().expect("limit lock");
        st.limit.floor() as usize
    }
}

impl Permit {
    /// Frees the place and adjusts the limit by what the answer said.
    pub fn finish(self, outcome: Outcome) {
        let mut st = self.service.state.lock().expect("limit lock");
        match outcome {
            Outcome::Throttled if self.sent_as > st.decreased_at => {
                st.limit = (st.limit / 2.0).max(1.0);
                st.decreased_at = st.sent;
                tracing::info!(
                    target: "s3ward::retry",
                    "{} is throttling: at most {} requests in flight to it for now",
                    self.service.name,
                    st.limit.floor()
                );
            }
            Outcome::Throttled => {}
            Outcome::Answered => st.limit = (st.limit + 1.0 / st.limit).min(st.ceiling),
        }
        // Dropping `self` frees the place.
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut st = self.service.state.lock().expect("limit lock");
        st.in_flight -= 1;
        let room = st.limit.floor().max(1.0) as usize;
        let waking = room.saturating_sub(st.in_flight);
        drop(st);
        // Usually one place freed; after an increase, one more.
        for _ in 0..waking.min(2) {
            self.service.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_service_starts_at_its_start_value_capped_by_parallelism() {
        let limits = Limits::new(16);
        assert_eq!(limits.limit("s3"), 16);
        assert_eq!(limits.limit("iam"), 8);
        assert_eq!(limits.limit("sts"), 4);
        assert_eq!(Limits::new(2).limit("iam"), 2);
    }

    #[tokio::test]
    async fn throttling_halves_the_limit_once_per_round_and_successes_grow_it_back() {
        let limits = Limits::new(16);
        // A full round of 16 requests, all throttled: one halving, not sixteen.
        let mut round = Vec::new();
        for _ in 0..16 {
            round.push(limits.acquire("s3").await);
        }
        for p in round {
            p.finish(Outcome::Throttled);
        }
        assert_eq!(limits.limit("s3"), 8);
        // A request sent after the decrease that is throttled again halves again.
        limits.acquire("s3").await.finish(Outcome::Throttled);
        assert_eq!(limits.limit("s3"), 4);
        // About a round of successes adds one (each adds 1/limit of the moment: 4 + 1/4 +
        // 1/4.25 + … reaches 5 at the fifth).
        for _ in 0..4 {
            limits.acquire("s3").await.finish(Outcome::Answered);
        }
        assert_eq!(limits.limit("s3"), 4);
        limits.acquire("s3").await.finish(Outcome::Answered);
        assert_eq!(limits.limit("s3"), 5);
        // It never exceeds --parallelism and never falls below one.
        for _ in 0..1000 {
            limits.acquire("s3").await.finish(Outcome::Answered);
        }
        assert_eq!(limits.limit("s3"), 16);
        for _ in 0..10 {
            limits.acquire("s3").await.finish(Outcome::Throttled);
        }
        assert_eq!(limits.limit("s3"), 1);
    }

    #[tokio::test]
    async fn services_do_not_wait_for_each_other() {
        let limits = Limits::new(1);
        let _iam = limits.acquire("iam").await;
        // IAM's only place is taken; S3 still gets one at once.
        let s3 = tokio::time::timeout(std::time::Duration::from_secs(5), limits.acquire("s3"));
        assert!(s3.await.is_ok());
    }

    #[tokio::test]
    async fn in_flight_never_exceeds_the_limit_and_a_freed_place_wakes_a_waiter() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limits = Arc::new(Limits::new(3));
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (limits, now, peak) = (limits.clone(), now.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let p = limits.acquire("s3").await;
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
                now.fetch_sub(1, Ordering::SeqCst);
                p.finish(Outcome::Answered);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(
            peak.load(Ordering::SeqCst) >= 2,
            "requests did run side by side"
        );
    }
}
