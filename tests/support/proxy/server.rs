//! The proxy's server: a loopback listener on its own thread and runtime, and the handling
//! of one request — classify it, let the rules decide, then answer with a fault or forward
//! it to upstream and pass the answer back, recording what happened and counting requests
//! in flight and writes that took effect (for stopping or holding the client at the k-th).
//!
//! It does not name operations (`classify.rs`), decide faults (`rules.rs`) or shape error
//! answers (`faults.rs`); the test-facing handle is [`Proxy`](super::Proxy) in `mod.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{oneshot, watch};

use super::classify::{Classified, classify, is_read};
use super::faults::{fault_response, text_response};
use super::rules::Dice;
use super::{Fault, ProxyRules, Recorded};

/// What one proxy shares between its connections and its [`Proxy`](super::Proxy) handle.
pub(super) struct State {
    pub(super) upstream: String,
    /// The fault rules, their PRNG and their counts.
    pub(super) dice: Dice,
    pub(super) log: Mutex<Vec<Recorded>>,
    /// Requests being handled now, and the most there have been at once.
    pub(super) in_flight: AtomicUsize,
    pub(super) max_in_flight: AtomicUsize,
    /// Per service: requests in flight now, and the most at once.
    pub(super) per_service: Mutex<BTreeMap<&'static str, (usize, usize)>>,
    pub(super) writes: Writes,
    /// The bodies of STS answers passed on (they carry the credentials that AssumeRole
    /// issues, which a test then looks for in the client's output).
    pub(super) sts_answers: Mutex<Vec<String>>,
    /// EKS pod identity associations, which moto does not implement (`eks.rs`).
    pub(super) eks: super::eks::Store,
}

/// Counting writes that took effect, and stopping or holding the client at the k-th.
#[derive(Default)]
pub(super) struct Writes {
    /// Writes (not [`is_read`]) that upstream answered with 2xx.
    pub(super) applied: AtomicUsize,
    /// Held while a write is handled, when `serialise` is set.
    pub(super) one_at_a_time: tokio::sync::Mutex<()>,
    pub(super) serialise: AtomicBool,
    /// After `stop` ran: nothing more is forwarded.
    pub(super) cut: AtomicBool,
    pub(super) stop: Mutex<Option<Stop>>,
    pub(super) hold: Mutex<Option<Hold>>,
}

pub(super) type StopFn = Box<dyn FnOnce() + Send>;

pub(super) struct Stop {
    pub(super) after: usize,
    pub(super) then: StopFn,
}

#[derive(Clone)]
pub(super) struct Hold {
    pub(super) after: usize,
    pub(super) open: watch::Receiver<bool>,
    pub(super) held: Arc<AtomicUsize>,
}

impl State {
    pub(super) fn new(upstream: String, rules: ProxyRules) -> State {
        State {
            upstream,
            dice: Dice::new(rules),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            per_service: Mutex::new(BTreeMap::new()),
            writes: Writes::default(),
            sts_answers: Mutex::new(Vec::new()),
            eks: Default::default(),
        }
    }
}

/// Counts one request in flight for as long as it lives.
pub(super) struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    pub(super) fn enter(state: &'a State) -> InFlight<'a> {
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

/// Counts one request of one service in flight for as long as it lives.
struct ServiceInFlight<'a>(&'a State, &'static str);

impl<'a> ServiceInFlight<'a> {
    fn enter(state: &'a State, service: &'static str) -> ServiceInFlight<'a> {
        let mut all = state.per_service.lock().expect("per-service counts");
        let (now, max) = all.entry(service).or_default();
        *now += 1;
        *max = (*max).max(*now);
        ServiceInFlight(state, service)
    }
}

impl Drop for ServiceInFlight<'_> {
    fn drop(&mut self) {
        let mut all = self.0.per_service.lock().expect("per-service counts");
        if let Some((now, _)) = all.get_mut(self.1) {
            *now -= 1;
        }
    }
}

pub(super) fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
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
    let Classified {
        service,
        operation,
        access_key,
        resource,
    } = classify(&parts.method, &parts.uri, &parts.headers, &body);
    let _service_in_flight = ServiceInFlight::enter(&state, service);

    let (delay, fault, rule) = state.dice.decide_rule(service, &operation);
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
            let region = parts
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|a| a.split('/').nth(2))
                .unwrap_or("us-east-1")
                .to_string();
            let served = (service == "eks")
                .then(|| state.eks.serve(&parts.method, &parts.uri, &region, &body))
                .flatten();
            if let Some(local) = served {
                if write && local.status().is_success() {
                    state.writes.applied.fetch_add(1, Ordering::SeqCst);
                }
                record(Some(local.status().as_u16()));
                if fault == Some(Fault::DropResponse) && local.status().is_success() {
                    return Err(DropConnection);
                }
                return Ok(local);
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
                            state.dice.unfire(i);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
