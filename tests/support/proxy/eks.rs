//! EKS pod identity associations, served by the proxy itself: moto does not implement
//! CreatePodIdentityAssociation, DescribePodIdentityAssociation, ListPodIdentityAssociations,
//! UpdatePodIdentityAssociation or DeletePodIdentityAssociation. Written from the EKS API
//! reference (REST-JSON):
//!
//! | operation | request | answer |
//! |---|---|---|
//! | Create | `POST /clusters/{name}/pod-identity-associations` `{namespace, serviceAccount, roleArn, tags?}` | `{"association": {...}}` |
//! | List | `GET /clusters/{name}/pod-identity-associations?namespace=&serviceAccount=&maxResults=&nextToken=` | `{"associations": [summary...], "nextToken"?}` |
//! | Describe | `GET /clusters/{name}/pod-identity-associations/{id}` | `{"association": {...}}` |
//! | Update | `POST /clusters/{name}/pod-identity-associations/{id}` `{roleArn?}` | `{"association": {...}}` |
//! | Delete | `DELETE /clusters/{name}/pod-identity-associations/{id}` | `{"association": {...}}` |
//!
//! Errors as EKS gives them (`x-amzn-ErrorType` and `{"message"}`): `ResourceInUseException`
//! 409 (the service account of that namespace already has one), `ResourceNotFoundException`
//! 404 (no association of that id in that cluster), `InvalidParameterException` 400 (a
//! missing or empty field, a bad `maxResults` or `nextToken`).
//!
//! Every cluster name exists: moto's EKS clusters live in moto, and the store does not ask
//! it; tests use cluster names of their own, so one store keyed by cluster name serves all
//! accounts and regions. The association ARN names region and account from the request's
//! credential scope and `AMBIENT_ACCOUNT`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use super::classify::form_pairs;

/// One association, as DescribePodIdentityAssociation shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub cluster: String,
    pub id: String,
    pub arn: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

impl Association {
    fn full(&self) -> Value {
        json!({
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.arn,
            "associationId": self.id,
            "tags": self.tags,
            "createdAt": 1_700_000_000,
            "modifiedAt": 1_700_000_000,
            "disableSessionTags": false,
        })
    }

    fn summary(&self) -> Value {
        json!({
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "associationArn": self.arn,
            "associationId": self.id,
        })
    }
}

/// Associations by cluster name, then by id.
type Clusters = BTreeMap<String, BTreeMap<String, Association>>;

/// The associations, and a counter for their ids (unique across clusters too).
#[derive(Default)]
pub(super) struct Store {
    inner: Mutex<(u64, Clusters)>,
}

/// `(cluster, association id)` of a pod identity association path.
fn route(path: &str) -> Option<(String, Option<String>)> {
    let rest = path.strip_prefix("/clusters/")?;
    let (cluster, tail) = rest.split_once('/')?;
    let tail = tail.strip_prefix("pod-identity-associations")?;
    let id = match tail.trim_start_matches('/') {
        "" => None,
        id if !id.contains('/') => Some(id.to_string()),
        _ => return None,
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(cluster), id.map(|i| decode(&i))))
}

/// The operation a request is, when it is one of the five.
pub(super) fn operation(method: &Method, path: &str) -> Option<&'static str> {
    let (_, id) = route(path)?;
    Some(match (method.as_str(), id.is_some()) {
        ("POST", false) => "CreatePodIdentityAssociation",
        ("GET", false) => "ListPodIdentityAssociations",
        ("GET", true) => "DescribePodIdentityAssociation",
        ("POST", true) => "UpdatePodIdentityAssociation",
        ("DELETE", true) => "DeletePodIdentityAssociation",
        _ => return None,
    })
}

fn answer(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("a status"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

fn error(status: u16, code: &str, message: String) -> Response<Full<Bytes>> {
    let mut r = answer(status, json!({ "message": message }));
    r.headers_mut()
        .insert("x-amzn-ErrorType", code.parse().expect("a header value"));
    r
}

/// A fault as EKS answers it (REST-JSON): `ThrottlingException` 429, `ServerException` 500,
/// `ResourceInUseException` 409 for a conflict, `AccessDeniedException` 403.
pub(super) fn fault_response(fault: super::Fault) -> Response<Full<Bytes>> {
    use super::Fault::*;
    let (status, code, message) = match fault {
        Throttling => (429, "ThrottlingException", "Rate exceeded"),
        InternalError => (500, "ServerException", "An internal error occurred"),
        Conflict => (409, "ResourceInUseException", "The resource is in use"),
        AccessDenied => (
            403,
            "AccessDeniedException",
            "denied by the s3ward test proxy",
        ),
        DropConnection | DropResponse | Latency(_) => unreachable!("not an error response"),
    };
    error(status, code, message.to_string())
}

fn invalid(message: &str) -> Response<Full<Bytes>> {
    error(400, "InvalidParameterException", message.to_string())
}

impl Store {
    /// Every association of `cluster`.
    pub(super) fn of(&self, cluster: &str) -> Vec<Association> {
        let inner = self.inner.lock().expect("eks store");
        inner
            .1
            .get(cluster)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Answers a request for one of the five operations (`None`: not one of them).
    pub(super) fn serve(
        &self,
        method: &Method,
        uri: &http::Uri,
        region: &str,
        body: &[u8],
    ) -> Option<Response<Full<Bytes>>> {
        let op = operation(method, uri.path())?;
        let (cluster, id) = route(uri.path())?;
        let body: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return Some(invalid(&format!("the request body is not JSON: {e}"))),
            }
        };
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let mut guard = self.inner.lock().expect("eks store");
        let (counter, clusters) = &mut *guard;
        let associations = clusters.entry(cluster.clone()).or_default();
        let not_found = |id: &str| {
            error(
                404,
                "ResourceNotFoundException",
                format!("No pod identity association found for id {id} in cluster {cluster}"),
            )
        };
        Some(match op {
            "CreatePodIdentityAssociation" => {
                let (Some(ns), Some(sa), Some(role)) = (
                    field("namespace"),
                    field("serviceAccount"),
                    field("roleArn"),
                ) else {
                    return Some(invalid(
                        "namespace, serviceAccount and roleArn are required",
                    ));
                };
                if ns.is_empty() || sa.is_empty() || role.is_empty() {
                    return Some(invalid(
                        "namespace, serviceAccount and roleArn must not be empty",
                    ));
                }
                if associations
                    .values()
                    .any(|a| a.namespace == ns && a.service_account == sa)
                {
                    return Some(error(
                        409,
                        "ResourceInUseException",
                        "Association already exists: namespace and service account already have a pod identity association".into(),
                    ));
                }
                *counter += 1;
                let id = format!("a-{:017x}", *counter);
                let a = Association {
                    cluster: cluster.clone(),
                    arn: format!(
                        "arn:aws:eks:{region}:{}:podidentityassociation/{cluster}/{id}",
                        crate::support::AMBIENT_ACCOUNT
                    ),
                    id: id.clone(),
                    namespace: ns,
                    service_account: sa,
                    role_arn: role,
                    tags: body
                        .get("tags")
                        .and_then(Value::as_object)
                        .map(|t| {
                            t.iter()
                                .map(|(k, v)| {
                                    (k.clone(), v.as_str().unwrap_or_default().to_string())
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let out = answer(200, json!({ "association": a.full() }));
                associations.insert(id, a);
                out
            }
            "ListPodIdentityAssociations" => {
                let q = form_pairs(uri.query().unwrap_or(""));
                let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let max = match param("maxResults").map(|m| m.parse::<usize>()) {
                    None => 100,
                    Some(Ok(m)) if (1..=100).contains(&m) => m,
                    Some(_) => return Some(invalid("maxResults must be between 1 and 100")),
                };
                let start = match param("nextToken").map(|t| t.parse::<usize>()) {
                    None => 0,
                    Some(Ok(t)) => t,
                    Some(Err(_)) => return Some(invalid("the nextToken is not valid")),
                };
                let matching: Vec<&Association> = associations
                    .values()
                    .filter(|a| param("namespace").is_none_or(|n| a.namespace == n))
                    .filter(|a| param("serviceAccount").is_none_or(|s| a.service_account == s))
                    .collect();
                let page: Vec<Value> = matching
                    .iter()
                    .skip(start)
                    .take(max)
                    .map(|a| a.summary())
                    .collect();
                let mut out = json!({ "associations": page });
                if start + max < matching.len() {
                    out["nextToken"] = json!((start + max).to_string());
                }
                answer(200, out)
            }
            _ => {
                let id = id.expect("an id route");
                let Some(a) = associations.get_mut(&id) else {
                    return Some(not_found(&id));
                };
                match op {
                    "UpdatePodIdentityAssociation" => {
                        if let Some(role) = field("roleArn") {
                            if role.is_empty() {
                                return Some(invalid("roleArn must not be empty"));
                            }
                            a.role_arn = role;
                        }
                        answer(200, json!({ "association": a.full() }))
                    }
                    "DeletePodIdentityAssociation" => {
                        let out = answer(200, json!({ "association": a.full() }));
                        associations.remove(&id);
                        out
                    }
                    _ => answer(200, json!({ "association": a.full() })),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(store: &Store, method: Method, uri: &str, body: Value) -> (u16, Value) {
        let uri: http::Uri = uri.parse().unwrap();
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let r = store
            .serve(&method, &uri, "us-east-1", &body)
            .expect("an EKS route");
        let status = r.status().as_u16();
        let bytes = futures::executor::block_on(http_body_util::BodyExt::collect(r.into_body()))
            .unwrap()
            .to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn names_the_five_operations_and_nothing_else() {
        let p = "/clusters/c/pod-identity-associations";
        assert_eq!(
            operation(&Method::POST, p),
            Some("CreatePodIdentityAssociation")
        );
        assert_eq!(
            operation(&Method::GET, p),
            Some("ListPodIdentityAssociations")
        );
        let one = format!("{p}/a-1");
        assert_eq!(
            operation(&Method::GET, &one),
            Some("DescribePodIdentityAssociation")
        );
        assert_eq!(
            operation(&Method::POST, &one),
            Some("UpdatePodIdentityAssociation")
        );
        assert_eq!(
            operation(&Method::DELETE, &one),
            Some("DeletePodIdentityAssociation")
        );
        assert_eq!(operation(&Method::GET, "/clusters/c"), None);
        assert_eq!(operation(&Method::DELETE, p), None);
    }

    #[test]
    fn one_per_service_account_listed_in_pages_and_found_by_id() {
        let store = Store::default();
        let path = "/clusters/c/pod-identity-associations";
        for sa in ["a", "b", "c"] {
            let body = json!({"namespace": "ml", "serviceAccount": sa, "roleArn": "arn:r"});
            assert_eq!(call(&store, Method::POST, path, body).0, 200);
        }
        let again = json!({"namespace": "ml", "serviceAccount": "a", "roleArn": "arn:r"});
        assert_eq!(call(&store, Method::POST, path, again).0, 409);
        let missing = json!({"namespace": "ml", "roleArn": "arn:r"});
        assert_eq!(call(&store, Method::POST, path, missing).0, 400);

        let (_, first) = call(
            &store,
            Method::GET,
            &format!("{path}?maxResults=2"),
            Value::Null,
        );
        assert_eq!(first["associations"].as_array().unwrap().len(), 2);
        let token = first["nextToken"].as_str().unwrap().to_string();
        let next = format!("{path}?maxResults=2&nextToken={token}");
        let (_, second) = call(&store, Method::GET, &next, Value::Null);
        assert_eq!(second["associations"].as_array().unwrap().len(), 1);
        assert!(second.get("nextToken").is_none());

        let filtered = format!("{path}?namespace=ml&serviceAccount=b");
        let (_, one) = call(&store, Method::GET, &filtered, Value::Null);
        let id = one["associations"][0]["associationId"]
            .as_str()
            .unwrap()
            .to_string();
        let update = json!({"roleArn": "arn:other"});
        let (status, updated) = call(&store, Method::POST, &format!("{path}/{id}"), update);
        assert_eq!(
            (status, updated["association"]["roleArn"].as_str()),
            (200, Some("arn:other"))
        );
        assert_eq!(
            call(&store, Method::DELETE, &format!("{path}/{id}"), Value::Null).0,
            200
        );
        let (status, gone) = call(&store, Method::GET, &format!("{path}/{id}"), Value::Null);
        assert_eq!(status, 404, "{gone}");
    }
}
