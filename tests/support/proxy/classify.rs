//! What a request is, as AWS would name it: the service (from the SigV4 credential scope),
//! the operation (`PutBucketPolicy`, `CreateRole`, …), the access key that signed it, and the
//! bucket or role it names.
//!
//! Pure functions of the request's method, URI, headers and body; they never change the
//! request (the proxy forwards it unchanged) and never decide a fault (`rules.rs` does).
//! Only path-style S3 is recognised, which is what the test clients and the binary send.

use http::{HeaderMap, Method};

/// A request, classified.
pub(super) struct Classified {
    /// `"s3"`, `"iam"`, `"sts"`, `"eks"`, or `"unknown"`.
    pub service: &'static str,
    pub operation: String,
    pub access_key: Option<String>,
    pub resource: Option<String>,
}

/// Classifies one request (its body already read).
pub(super) fn classify(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Classified {
    let query = uri.query().unwrap_or("");
    let service = service_of(headers, query);
    Classified {
        service,
        operation: operation_of(service, method, uri, headers, body),
        access_key: access_key_of(headers, query),
        resource: resource_of(service, uri, body),
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
        Some("eks") => "eks",
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
        "eks" => super::eks::operation(method, uri.path())
            .map_or_else(|| format!("{method} {}", uri.path()), str::to_string),
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
pub(super) fn form_pairs(text: &str) -> Vec<(String, String)> {
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
}
