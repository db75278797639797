//! A loopback HTTP proxy between an SDK client (or the `s3ward` binary) and moto that
//! records every request as an AWS operation name and injects faults by rule.
//!
//! ```ignore
//! let proxy = Proxy::start(&moto().endpoint, ProxyRules::seeded(7)
//!     .with(Rule::new(Fault::Throttling).service("s3").probability(0.3)));
//! let c = sdk_at(&proxy.endpoint, None).await; // or s3ward(..).env("AWS_ENDPOINT_URL", ..)
//! ...
//! assert_eq!(proxy.operations()[0].operation, "PutBucketPolicy");
//! ```
//!
//! Requests are forwarded unchanged (method, path, query, headers including `Host`, body).
//! SigV4 signs the `Host` the client saw, the proxy's; moto does not verify signatures, so
//! this works, and a real signature check would only need the proxy to keep `Host` — it does.
//!
//! Faults are deterministic for a given seed and request sequence: each matching rule with
//! a probability below 1 draws one number from a PRNG seeded by [`ProxyRules::seeded`], in
//! rule order, as the request arrives. Concurrent requests arrive in an order the proxy
//! cannot control, so only sequential traffic repeats exactly.
//!
//! The proxy runs on its own thread and runtime, so it serves both async tests and
//! blocking ones (the binary runner). It stops when dropped.
//!
//! It also counts the requests it holds at once ([`Proxy::max_in_flight`]): from the moment
//! a request's head arrives until its response (or dropped connection) is decided. That
//! proves reads ran concurrently, or stayed under a bound, without measuring time.
//!
//! And it counts the writes that took effect (any operation not [`is_read`] that upstream
//! answered with 2xx), which lets a test stop a client at an exact point of its work:
//! [`Proxy::stop_after_writes`] runs a callback (which SIGKILLs the binary, say) right after
//! the k-th write took effect and before the client hears of it, then forwards nothing
//! more; [`Proxy::hold_after_writes`] makes later writes wait until the test opens a
//! [`Gate`]. While either is set, writes pass the proxy one at a time, so "the k-th write"
//! is exact even when the client sends writes concurrently.
//!
//! By concern: [`rules`] says which faults to inject and when, [`classify`] names what a
//! request is, [`faults`] shapes the AWS error answers, [`server`] listens and forwards;
//! this file is the handle a test holds. The proxy never changes a request it forwards and
//! never talks to anything but its one upstream.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

mod classify;
mod eks;
mod faults;
mod rules;
mod server;

pub use classify::is_read;
pub use eks::Association;
pub use rules::{Fault, ProxyRules, Rule};

use server::{Hold, State, Stop, serve};

/// One request that reached the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// `"s3"`, `"iam"`, `"sts"`, or `"unknown"` (from the SigV4 credential scope).
    pub service: &'static str,
    /// The AWS operation name: `GetBucketPolicy`, `PutObject`, `CreateRole`, ...
    pub operation: String,
    /// The status sent to the client; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The fault injected instead of forwarding, if any (latency is not recorded here).
    pub fault: Option<Fault>,
    /// The SigV4 access key id that signed the request (test credentials only), which
    /// tells the account it acted in: ask moto's STS `GetCallerIdentity` with that key.
    pub access_key: Option<String>,
    /// What the request names: the S3 bucket (path-style), or the IAM `RoleName`.
    pub resource: Option<String>,
}

impl Recorded {
    pub fn is_read(&self) -> bool {
        is_read(&self.operation)
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.operation)?;
        match self.status {
            Some(s) => write!(f, " {s}")?,
            None => write!(f, " (dropped)")?,
        }
        if let Some(fault) = self.fault {
            write!(f, " [{fault:?}]")?;
        }
        Ok(())
    }
}

/// A running proxy. Stopped when dropped.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, to use as an endpoint URL.
    pub endpoint: String,
    pub port: u16,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Holds writes back until opened (see [`Proxy::hold_after_writes`]). Dropping it opens it.
pub struct Gate {
    open: watch::Sender<bool>,
    held: Arc<AtomicUsize>,
}

impl Gate {
    /// How many writes have been held so far (they stay counted after the gate opens).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// Waits (polling; no timing is asserted) until at least one write is held, or
    /// `timeout` passes; returns whether one is.
    pub async fn wait_held(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.held() == 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Lets every held write (and every later one) through.
    pub fn open(&self) {
        let _ = self.open.send(true);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

impl Proxy {
    /// Starts a proxy on a free loopback port that forwards to `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: ProxyRules) -> Proxy {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind a loopback port for the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(State::new(
            upstream.trim_end_matches('/').to_string(),
            rules,
        ));
        let (shutdown, stop) = oneshot::channel();
        let serving = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("proxy-{port}"))
            .spawn(move || serve(listener, serving, stop))
            .expect("start the proxy thread");
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// Every request so far, in the order their responses were decided.
    pub fn operations(&self) -> Vec<Recorded> {
        self.state.log.lock().expect("proxy log").clone()
    }

    /// The operation names so far (`"s3 PutBucketPolicy"` style is in [`Recorded`]'s Display).
    pub fn operation_names(&self) -> Vec<String> {
        self.operations().into_iter().map(|r| r.operation).collect()
    }

    /// How many requests got an injected error or a dropped connection.
    pub fn faults_injected(&self) -> usize {
        self.operations()
            .iter()
            .filter(|r| r.fault.is_some())
            .count()
    }

    /// The most requests the proxy has held at once (since it started, or since
    /// [`Proxy::clear`]): more than 1 means the client had requests in flight concurrently.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// The most requests of one service (`s3`, `iam`, `sts`, …) the proxy has held at once.
    pub fn max_in_flight_of(&self, service: &str) -> usize {
        let all = self.state.per_service.lock().expect("per-service counts");
        all.get(service).map_or(0, |(_, max)| *max)
    }

    /// Forgets what was recorded so far (after a test's setup, say), and restarts the
    /// [`Proxy::max_in_flight`] count from the requests in flight now.
    pub fn clear(&self) {
        self.state.log.lock().expect("proxy log").clear();
        let now = self.state.in_flight.load(Ordering::SeqCst);
        self.state.max_in_flight.store(now, Ordering::SeqCst);
        for (now, max) in self
            .state
            .per_service
            .lock()
            .expect("per-service counts")
            .values_mut()
        {
            *max = *now;
        }
    }

    /// Writes that took effect so far: requests for an operation that is not [`is_read`]
    /// which upstream answered with 2xx (injected faults never reach upstream and do not
    /// count; a [`Fault::DropResponse`] does, when upstream accepted it). Not reset by
    /// [`Proxy::clear`].
    pub fn writes_applied(&self) -> usize {
        self.state.writes.applied.load(Ordering::SeqCst)
    }

    /// Right after the `k`-th write (counted as by [`Proxy::writes_applied`], from the
    /// start) takes effect upstream, and before its answer goes back, calls `then` — which
    /// typically SIGKILLs the client — and from then on forwards nothing: that answer and
    /// every later request get a dropped connection. So exactly `k` writes happen, as if
    /// the client had died right after the k-th. From this call on, writes pass one at a
    /// time (reads stay concurrent), which makes "the k-th" exact.
    pub fn stop_after_writes(&self, k: usize, then: impl FnOnce() + Send + 'static) {
        assert!(k > 0, "stop after at least one write");
        *self.state.writes.stop.lock().expect("proxy stop") = Some(Stop {
            after: k,
            then: Box::new(then),
        });
        self.state.writes.serialise.store(true, Ordering::SeqCst);
    }

    /// Once `k` writes have taken effect, every later write waits (before it is forwarded)
    /// until the returned [`Gate`] opens. Writes pass one at a time from this call on.
    pub fn hold_after_writes(&self, k: usize) -> Gate {
        let (open, receiver) = watch::channel(false);
        let held = Arc::new(AtomicUsize::new(0));
        *self.state.writes.hold.lock().expect("proxy hold") = Some(Hold {
            after: k,
            open: receiver,
            held: held.clone(),
        });
        self.state.writes.serialise.store(true, Ordering::SeqCst);
        Gate { open, held }
    }

    /// The body of every STS answer passed on so far, in order (not reset by
    /// [`Proxy::clear`]).
    /// The pod identity associations of `cluster` that the proxy serves (see `eks.rs`).
    pub fn pod_identity_associations(&self, cluster: &str) -> Vec<Association> {
        self.state.eks.of(cluster)
    }

    pub fn sts_answers(&self) -> Vec<String> {
        self.state.sts_answers.lock().expect("sts answers").clone()
    }

    /// Whether [`Proxy::stop_after_writes`] has fired.
    pub fn stopped(&self) -> bool {
        self.state.writes.cut.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
