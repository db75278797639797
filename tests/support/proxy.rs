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

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{oneshot, watch};

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

/// Whether an operation only reads: `Get*`, `List*`, `Head*`, `Describe*`, and STS
/// `AssumeRole` (it changes nothing in the account).
pub fn is_read(operation: &str) -> bool {
    ["Get", "List", "Head", "Describe"]
        .iter()
        .any(|p| operation.starts_with(p))
        || matches!(operation, "GetCallerIdentity" | "AssumeRole")
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

struct State {
    upstream: String,
    rules: Vec<Rule>,
    rng: Mutex<fastrand::Rng>,
    log: Mutex<Vec<Recorded>>,
    /// Requests being handled now, and the most there have been at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    writes: Writes,
    /// How many times each rule has fired (for [`Rule::first`]).
    fired: Mutex<Vec<usize>>,
    /// The bodies of STS answers passed on (they carry the credentials that AssumeRole
    /// issues, which a test then looks for in the client's output).
    sts_answers: Mutex<Vec<String>>,
}

/// Counting writes that took effect, and stopping or holding the client at the k-th.
#[derive(Default)]
struct Writes {
    /// Writes (not [`is_read`]) that upstream answered with 2xx.
    applied: AtomicUsize,
    /// Held while a write is handled, when `serialise` is set.
    one_at_a_time: tokio::sync::Mutex<()>,
    serialise: AtomicBool,
    /// After `stop` ran: nothing more is forwarded.
    cut: AtomicBool,
    stop: Mutex<Option<Stop>>,
    hold: Mutex<Option<Hold>>,
}

type StopFn = Box<dyn FnOnce() + Send>;

struct Stop {
    after: usize,
    then: StopFn,
}

#[derive(Clone)]
struct Hold {
    after: usize,
    open: watch::Receiver<bool>,
    held: Arc<AtomicUsize>,
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

impl State {
    fn new(upstream: String, rules: ProxyRules) -> State {
        State {
            upstream,
            fired: Mutex::new(vec![0; rules.rules.len()]),
            rules: rules.rules,
            rng: Mutex::new(fastrand::Rng::with_seed(rules.seed)),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            writes: Writes::default(),
            sts_answers: Mutex::new(Vec::new()),
        }
    }
}

/// Counts one request in flight for as long as it lives.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> InFlight<'a> {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
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

    /// Forgets what was recorded so far (after a test's setup, say), and restarts the
    /// [`Proxy::max_in_flight`] count from the requests in flight now.
    pub fn clear(&self) {
        self.state.log.lock().expect("proxy log").clear();
        let now = self.state.in_flight.load(Ordering::SeqCst);
        self.state.max_in_flight.store(now, Ordering::SeqCst);
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

fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("proxy runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let state = state.clone();
                    let client = client.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            handle(state.clone(), client.clone(), req)
                        });
                        // Errors here are dropped connections, injected or not.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
    });
    // Dropping the runtime cancels the connections still open.
    drop(runtime);
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the test proxy")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    state: Arc<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let _in_flight = InFlight::enter(&state);
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
    let query = parts.uri.query().unwrap_or("");
    let service = service_of(&parts.headers, query);
    let operation = operation_of(service, &parts.method, &parts.uri, &parts.headers, &body);
    let access_key = access_key_of(&parts.headers, query);
    let resource = resource_of(service, &parts.uri, &body);

    let (delay, fault, rule) = state.decide_rule(service, &operation);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let record_as = |status: Option<u16>, fault: Option<Fault>| {
        state.log.lock().expect("proxy log").push(Recorded {
            service,
            operation: operation.clone(),
            status,
            fault,
            access_key: access_key.clone(),
            resource: resource.clone(),
        });
    };
    let record = |status: Option<u16>| record_as(status, fault);
    let response = match fault {
        Some(Fault::DropConnection) => {
            record(None);
            return Err(DropConnection);
        }
        Some(fault) if fault != Fault::DropResponse => fault_response(service, fault),
        None | Some(_) => {
            let write = !is_read(&operation);
            // Writes pass one at a time while a test stops or holds them at the k-th.
            let _one_at_a_time = if write && state.writes.serialise.load(Ordering::SeqCst) {
                Some(state.writes.one_at_a_time.lock().await)
            } else {
                None
            };
            if state.writes.cut.load(Ordering::SeqCst) {
                record(None);
                return Err(DropConnection);
            }
            if write {
                let hold = state.writes.hold.lock().expect("proxy hold").clone();
                if let Some(mut hold) = hold
                    && state.writes.applied.load(Ordering::SeqCst) >= hold.after
                    && !*hold.open.borrow()
                {
                    hold.held.fetch_add(1, Ordering::SeqCst);
                    // A dropped gate (sender gone) counts as open.
                    let _ = hold.open.wait_for(|open| *open).await;
                }
            }
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            parts.uri = format!("{}{path}", state.upstream)
                .parse()
                .expect("upstream URI");
            match client
                .request(Request::from_parts(parts, Full::new(body)))
                .await
            {
                Ok(upstream) => {
                    let (mut parts, body) = upstream.into_parts();
                    let body = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(_) => {
                            record(None);
                            return Err(DropConnection);
                        }
                    };
                    for hop in ["connection", "keep-alive", "transfer-encoding"] {
                        parts.headers.remove(hop);
                    }
                    let status = parts.status;
                    if write && status.is_success() {
                        let n = state.writes.applied.fetch_add(1, Ordering::SeqCst) + 1;
                        let stop = {
                            let mut stop = state.writes.stop.lock().expect("proxy stop");
                            match stop.as_ref() {
                                Some(s) if s.after == n => stop.take(),
                                _ => None,
                            }
                        };
                        if let Some(stop) = stop {
                            state.writes.cut.store(true, Ordering::SeqCst);
                            (stop.then)();
                            record(Some(status.as_u16()));
                            return Err(DropConnection);
                        }
                    }
                    if service == "sts" {
                        state
                            .sts_answers
                            .lock()
                            .expect("sts answers")
                            .push(String::from_utf8_lossy(&body).into_owned());
                    }
                    if fault == Some(Fault::DropResponse) {
                        if status.is_success() {
                            record(Some(status.as_u16()));
                            return Err(DropConnection);
                        }
                        // A refusal changed nothing: no answer worth losing. Pass it on, and
                        // the rule has not fired.
                        if let Some(i) = rule {
                            state.fired.lock().expect("proxy rule counts")[i] -= 1;
                        }
                        record_as(Some(status.as_u16()), None);
                        return Ok(Response::from_parts(parts, Full::new(body)));
                    }
                    Response::from_parts(parts, Full::new(body))
                }
                Err(e) => text_response(StatusCode::BAD_GATEWAY, format!("test proxy: {e}")),
            }
        }
    };
    record(Some(response.status().as_u16()));
    Ok(response)
}

impl State {
    /// The added delay and the fault (if any) for one request.
    fn decide(&self, service: &str, operation: &str) -> (Duration, Option<Fault>) {
        let (delay, fault, _) = self.decide_rule(service, operation);
        (delay, fault)
    }

    /// [`State::decide`], and the index of the rule that decided the fault.
    fn decide_rule(
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
}

// --- Recognising operations -----------------------------------------------------------

/// The SigV4 credential scope (`AKID/DATE/REGION/SERVICE/aws4_request`), from the
/// Authorization header or, for presigned URLs, the query.
fn credential_scope(headers: &HeaderMap, query: &str) -> Option<String> {
    let from_auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(|s| s.split([',', ' ']).next().unwrap_or_default().to_string());
    let from_query = || {
        form_pairs(query)
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v)
    };
    from_auth.or_else(from_query)
}

/// The access key id of the credential scope.
fn access_key_of(headers: &HeaderMap, query: &str) -> Option<String> {
    credential_scope(headers, query)
        .and_then(|scope| scope.split('/').next().map(str::to_string))
        .filter(|k| !k.is_empty())
}

/// The bucket of a path-style S3 request, or the `RoleName` of an IAM request.
fn resource_of(service: &str, uri: &http::Uri, body: &[u8]) -> Option<String> {
    match service {
        "s3" => uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        "iam" => {
            let mut pairs = form_pairs(uri.query().unwrap_or(""));
            pairs.extend(form_pairs(&String::from_utf8_lossy(body)));
            pairs
                .into_iter()
                .find(|(k, _)| k == "RoleName")
                .map(|(_, v)| v)
        }
        _ => None,
    }
}

/// The service from the SigV4 credential scope.
fn service_of(headers: &HeaderMap, query: &str) -> &'static str {
    let scope = credential_scope(headers, query).unwrap_or_default();
    match scope.split('/').nth(3) {
        Some("s3") => "s3",
        Some("iam") => "iam",
        Some("sts") => "sts",
        _ => "unknown",
    }
}

fn operation_of(
    service: &str,
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let query = uri.query().unwrap_or("");
    match service {
        "s3" => s3_operation(method, uri.path(), query, headers),
        _ => {
            let mut pairs = form_pairs(query);
            pairs.extend(form_pairs(&String::from_utf8_lossy(body)));
            pairs
                .into_iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v)
                .unwrap_or_else(|| format!("{method} {}", uri.path()))
        }
    }
}

/// `(subresource, GET, PUT, DELETE)` names of bucket subresources.
const BUCKET_SUBRESOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "policy",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
    ),
    ("policyStatus", "GetBucketPolicyStatus", "", ""),
    ("acl", "GetBucketAcl", "PutBucketAcl", ""),
    (
        "ownershipControls",
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
    ),
    (
        "publicAccessBlock",
        "GetPublicAccessBlock",
        "PutPublicAccessBlock",
        "DeletePublicAccessBlock",
    ),
    (
        "tagging",
        "GetBucketTagging",
        "PutBucketTagging",
        "DeleteBucketTagging",
    ),
    ("location", "GetBucketLocation", "", ""),
    (
        "versioning",
        "GetBucketVersioning",
        "PutBucketVersioning",
        "",
    ),
    (
        "encryption",
        "GetBucketEncryption",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
    ),
    ("cors", "GetBucketCors", "PutBucketCors", "DeleteBucketCors"),
    (
        "lifecycle",
        "GetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
    ),
    ("logging", "GetBucketLogging", "PutBucketLogging", ""),
    (
        "notification",
        "GetBucketNotificationConfiguration",
        "PutBucketNotificationConfiguration",
        "",
    ),
    (
        "replication",
        "GetBucketReplication",
        "PutBucketReplication",
        "DeleteBucketReplication",
    ),
    (
        "website",
        "GetBucketWebsite",
        "PutBucketWebsite",
        "DeleteBucketWebsite",
    ),
    (
        "object-lock",
        "GetObjectLockConfiguration",
        "PutObjectLockConfiguration",
        "",
    ),
    (
        "accelerate",
        "GetBucketAccelerateConfiguration",
        "PutBucketAccelerateConfiguration",
        "",
    ),
    (
        "requestPayment",
        "GetBucketRequestPayment",
        "PutBucketRequestPayment",
        "",
    ),
    ("versions", "ListObjectVersions", "", ""),
    ("uploads", "ListMultipartUploads", "", ""),
];

/// `(subresource, GET, PUT, DELETE)` names of object subresources.
const OBJECT_SUBRESOURCES: &[(&str, &str, &str, &str)] = &[
    ("acl", "GetObjectAcl", "PutObjectAcl", ""),
    (
        "tagging",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
    ),
    ("attributes", "GetObjectAttributes", "", ""),
    ("retention", "GetObjectRetention", "PutObjectRetention", ""),
    ("legal-hold", "GetObjectLegalHold", "PutObjectLegalHold", ""),
    ("torrent", "GetObjectTorrent", "", ""),
];

/// The S3 operation of a path-style request.
fn s3_operation(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> String {
    let keys: Vec<String> = form_pairs(query)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k != "x-id")
        .collect();
    let has = |k: &str| keys.iter().any(|q| q == k);
    let (bucket, key) = match path.trim_start_matches('/').split_once('/') {
        Some((b, k)) => (b, k),
        None => (path.trim_start_matches('/'), ""),
    };
    let copy = headers.contains_key("x-amz-copy-source");
    let method = method.as_str();
    let from_table = |table: &[(&str, &'static str, &'static str, &'static str)]| {
        table
            .iter()
            .find(|(sub, ..)| has(sub))
            .map(|&(_, get, put, delete)| match method {
                "GET" => get,
                "PUT" => put,
                "DELETE" => delete,
                _ => "",
            })
    };
    let name: &str = if bucket.is_empty() {
        if method == "GET" { "ListBuckets" } else { "" }
    } else if key.is_empty() {
        match (method, from_table(BUCKET_SUBRESOURCES)) {
            (_, Some(name)) => name,
            ("POST", None) if has("delete") => "DeleteObjects",
            ("GET", None) if has("list-type") => "ListObjectsV2",
            ("GET", None) => "ListObjects",
            ("PUT", None) => "CreateBucket",
            ("HEAD", None) => "HeadBucket",
            ("DELETE", None) => "DeleteBucket",
            _ => "",
        }
    } else {
        match (method, from_table(OBJECT_SUBRESOURCES)) {
            (_, Some(name)) => name,
            ("GET", None) if has("uploadId") => "ListParts",
            ("GET", None) => "GetObject",
            ("HEAD", None) => "HeadObject",
            ("PUT", None) if has("uploadId") && copy => "UploadPartCopy",
            ("PUT", None) if has("uploadId") => "UploadPart",
            ("PUT", None) if copy => "CopyObject",
            ("PUT", None) => "PutObject",
            ("DELETE", None) if has("uploadId") => "AbortMultipartUpload",
            ("DELETE", None) => "DeleteObject",
            ("POST", None) if has("uploads") => "CreateMultipartUpload",
            ("POST", None) if has("uploadId") => "CompleteMultipartUpload",
            ("POST", None) if has("restore") => "RestoreObject",
            ("POST", None) if has("select") => "SelectObjectContent",
            _ => "",
        }
    };
    if name.is_empty() {
        format!("Unknown({method} {path}?{query})")
    } else {
        name.to_string()
    }
}

/// `a=1&b=%2F` → `[("a","1"), ("b","/")]` (form encoding: `+` is a space).
fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

// --- Fault responses ------------------------------------------------------------------

fn fault_response(service: &str, fault: Fault) -> Response<Full<Bytes>> {
    let request_id = format!("{:016X}", fastrand::u64(..));
    let (status, code, message) = match (service, fault) {
        ("s3" | "unknown", Fault::Throttling) => {
            (503, "SlowDown", "Please reduce your request rate.")
        }
        ("s3" | "unknown", Fault::InternalError) => (
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        ("s3" | "unknown", Fault::Conflict) => (
            409,
            "OperationAborted",
            "A conflicting conditional operation is currently in progress against this \
             resource. Please try again.",
        ),
        (_, Fault::Throttling) => (400, "Throttling", "Rate exceeded"),
        ("iam", Fault::InternalError) => (
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (_, Fault::InternalError) => (
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (_, Fault::Conflict) => (
            409,
            "ConcurrentModification",
            "The request was rejected because multiple requests to change this object were \
             submitted simultaneously. Wait a few minutes and submit your request again.",
        ),
        ("s3" | "unknown", Fault::AccessDenied) => (403, "AccessDenied", "Access Denied"),
        (_, Fault::AccessDenied) => (
            403,
            "AccessDenied",
            "User is not authorized to perform this operation (denied by the s3ward test proxy)",
        ),
        (_, Fault::DropConnection | Fault::DropResponse | Fault::Latency(_)) => {
            unreachable!("not an error response")
        }
    };
    let status = StatusCode::from_u16(status).expect("valid status");
    let (content_type, id_header, body) = if matches!(service, "s3" | "unknown") {
        (
            "application/xml",
            "x-amz-request-id",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{message}</Message><RequestId>{request_id}</RequestId>\
                 <HostId>s3ward-test-proxy</HostId></Error>"
            ),
        )
    } else {
        let namespace = if service == "sts" {
            "https://sts.amazonaws.com/doc/2011-06-15/"
        } else {
            "https://iam.amazonaws.com/doc/2010-05-08/"
        };
        let kind = if status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        (
            "text/xml",
            "x-amzn-RequestId",
            format!(
                "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type>\
                 <Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        )
    };
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(id_header, request_id)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

fn text_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(text)))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(method: Method, target: &str) -> String {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        s3_operation(&method, path, query, &HeaderMap::new())
    }

    #[test]
    fn names_s3_operations_from_method_path_and_query() {
        assert_eq!(s3(Method::GET, "/"), "ListBuckets");
        assert_eq!(s3(Method::GET, "/b?policy"), "GetBucketPolicy");
        assert_eq!(s3(Method::PUT, "/b?policy"), "PutBucketPolicy");
        assert_eq!(s3(Method::DELETE, "/b?policy"), "DeleteBucketPolicy");
        assert_eq!(s3(Method::PUT, "/b?acl"), "PutBucketAcl");
        assert_eq!(s3(Method::GET, "/b?acl"), "GetBucketAcl");
        assert_eq!(
            s3(Method::GET, "/b?ownershipControls"),
            "GetBucketOwnershipControls"
        );
        assert_eq!(
            s3(Method::DELETE, "/b?publicAccessBlock"),
            "DeletePublicAccessBlock"
        );
        assert_eq!(s3(Method::GET, "/b?tagging"), "GetBucketTagging");
        assert_eq!(s3(Method::GET, "/b?location"), "GetBucketLocation");
        assert_eq!(s3(Method::PUT, "/b?versioning"), "PutBucketVersioning");
        assert_eq!(s3(Method::HEAD, "/b"), "HeadBucket");
        assert_eq!(s3(Method::PUT, "/b"), "CreateBucket");
        assert_eq!(s3(Method::PUT, "/b?x-id=CreateBucket"), "CreateBucket");
        assert_eq!(s3(Method::DELETE, "/b"), "DeleteBucket");
        assert_eq!(
            s3(Method::GET, "/b?list-type=2&prefix=a%2F"),
            "ListObjectsV2"
        );
        assert_eq!(s3(Method::GET, "/b"), "ListObjects");
        assert_eq!(s3(Method::GET, "/b?versions"), "ListObjectVersions");
        assert_eq!(s3(Method::POST, "/b?delete"), "DeleteObjects");
        assert_eq!(
            s3(Method::GET, "/b/k/with/slashes?x-id=GetObject"),
            "GetObject"
        );
        assert_eq!(s3(Method::PUT, "/b/k?x-id=PutObject"), "PutObject");
        assert_eq!(s3(Method::HEAD, "/b/k"), "HeadObject");
        assert_eq!(s3(Method::DELETE, "/b/k"), "DeleteObject");
        assert_eq!(s3(Method::GET, "/b/k?acl"), "GetObjectAcl");
        assert_eq!(s3(Method::PUT, "/b/k?acl"), "PutObjectAcl");
        assert_eq!(s3(Method::POST, "/b/k?uploads"), "CreateMultipartUpload");
        assert_eq!(
            s3(Method::PUT, "/b/k?partNumber=1&uploadId=u"),
            "UploadPart"
        );
        assert_eq!(
            s3(Method::POST, "/b/k?uploadId=u"),
            "CompleteMultipartUpload"
        );
        assert_eq!(s3(Method::PATCH, "/b?policy"), "Unknown(PATCH /b?policy)");
    }

    #[test]
    fn reads_are_gets_lists_heads_and_identity_calls() {
        for op in [
            "GetBucketPolicy",
            "ListObjectsV2",
            "HeadBucket",
            "GetCallerIdentity",
            "AssumeRole",
            "DescribeThing",
        ] {
            assert!(is_read(op), "{op}");
        }
        for op in [
            "PutBucketPolicy",
            "CreateRole",
            "DeleteObject",
            "AttachRolePolicy",
            "UpdateAssumeRolePolicy",
        ] {
            assert!(!is_read(op), "{op}");
        }
    }

    #[test]
    fn names_the_access_key_and_the_bucket_or_role() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(access_key_of(&headers, ""), Some("ASIAEXAMPLE".into()));
        assert_eq!(service_of(&headers, ""), "iam");
        assert_eq!(access_key_of(&HeaderMap::new(), ""), None);
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert_eq!(
            resource_of(
                "iam",
                &uri("/"),
                b"Action=GetRole&RoleName=r%2Dx&Version=2010-05-08"
            ),
            Some("r-x".into())
        );
        assert_eq!(
            resource_of("s3", &uri("/bkt/k/j?acl"), b""),
            Some("bkt".into())
        );
        assert_eq!(resource_of("s3", &uri("/"), b""), None);
        assert_eq!(resource_of("sts", &uri("/"), b"Action=AssumeRole"), None);
    }

    #[test]
    fn counts_requests_in_flight() {
        let state = State::new(String::new(), ProxyRules::none());
        {
            let _a = InFlight::enter(&state);
            let _b = InFlight::enter(&state);
        }
        let _c = InFlight::enter(&state);
        assert_eq!(state.in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(state.max_in_flight.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn same_seed_same_decisions() {
        let rules = || {
            ProxyRules::seeded(9)
                .with(Rule::new(Fault::Throttling).service("s3").probability(0.5))
                .with(Rule::new(Fault::Latency(Duration::from_millis(1))).probability(0.5))
        };
        let decide = |rules: ProxyRules| {
            let state = State::new(String::new(), rules);
            (0..64)
                .map(|i| state.decide(if i % 3 == 0 { "iam" } else { "s3" }, "X"))
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
