//! The recording, fault-injecting proxy (`tests/support/proxy.rs`) between SDK clients and
//! moto: what it records, the faults it injects, and that it forwards requests unchanged.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::support::proxy::{Fault, Proxy, ProxyRules, Recorded, Rule};
use crate::support::{moto, ok, sdk, sdk_at, service_error, unique};

fn names(proxy: &Proxy, service: &str) -> Vec<String> {
    proxy
        .operations()
        .into_iter()
        .filter(|r| r.service == service)
        .map(|r| r.operation)
        .collect()
}

#[tokio::test]
async fn records_s3_iam_and_sts_operations() {
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let c = sdk_at(&proxy.endpoint, None).await;
    let b = unique("proxy-rec");
    let role = unique("proxy-rec");

    ok(c.s3.create_bucket().bucket(&b).send().await);
    ok(c.s3.head_bucket().bucket(&b).send().await);
    ok(c.s3.get_bucket_location().bucket(&b).send().await);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"111111111111"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{b}/*"}}]}}"#
    );
    ok(c.s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(policy)
        .send()
        .await);
    ok(c.s3.get_bucket_policy().bucket(&b).send().await);
    ok(c.s3.get_bucket_acl().bucket(&b).send().await);
    let no_block = c.s3.get_public_access_block().bucket(&b).send().await;
    assert_eq!(
        service_error(no_block).code,
        "NoSuchPublicAccessBlockConfiguration"
    );
    ok(c.s3
        .put_object()
        .bucket(&b)
        .key("m/config.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await);
    ok(c.s3
        .get_object_acl()
        .bucket(&b)
        .key("m/config.json")
        .send()
        .await);
    ok(c.s3.list_objects_v2().bucket(&b).prefix("m/").send().await);
    ok(c.s3.delete_bucket_policy().bucket(&b).send().await);
    ok(c.s3.list_buckets().send().await);

    ok(c.sts.get_caller_identity().send().await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    ok(c.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await);
    ok(c.iam.get_role().role_name(&role).send().await);
    ok(c.iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await);

    assert_eq!(
        names(&proxy, "s3"),
        [
            "CreateBucket",
            "HeadBucket",
            "GetBucketLocation",
            "PutBucketPolicy",
            "GetBucketPolicy",
            "GetBucketAcl",
            "GetPublicAccessBlock",
            "PutObject",
            "GetObjectAcl",
            "ListObjectsV2",
            "DeleteBucketPolicy",
            "ListBuckets",
        ]
    );
    assert_eq!(names(&proxy, "sts"), ["GetCallerIdentity"]);
    assert_eq!(
        names(&proxy, "iam"),
        ["CreateRole", "GetRole", "ListAttachedRolePolicies"]
    );

    let ops = proxy.operations();
    let status = |op: &str| ops.iter().find(|r| r.operation == op).unwrap().status;
    assert_eq!(status("GetBucketPolicy"), Some(200));
    assert_eq!(status("GetPublicAccessBlock"), Some(404));
    let writes: Vec<&str> = ops
        .iter()
        .filter(|r| !r.is_read())
        .map(|r| r.operation.as_str())
        .collect();
    assert_eq!(
        writes,
        [
            "CreateBucket",
            "PutBucketPolicy",
            "PutObject",
            "DeleteBucketPolicy",
            "CreateRole"
        ]
    );
    assert_eq!(proxy.faults_injected(), 0);
}

#[tokio::test]
async fn throttling_reaches_the_client_as_the_service_says_it() {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(Rule::new(Fault::Throttling)),
    );
    let c = sdk_at(&proxy.endpoint, None).await;

    let err = service_error(c.s3.list_buckets().send().await);
    assert_eq!((err.code.as_str(), err.status), ("SlowDown", 503));
    let err = service_error(c.s3.get_bucket_policy().bucket("any-bucket").send().await);
    assert_eq!((err.code.as_str(), err.status), ("SlowDown", 503));
    let err = service_error(c.iam.get_role().role_name("any").send().await);
    assert_eq!((err.code.as_str(), err.status), ("Throttling", 400));
    assert_eq!(err.message, "Rate exceeded");
    let err = service_error(c.sts.get_caller_identity().send().await);
    assert_eq!((err.code.as_str(), err.status), ("Throttling", 400));

    assert_eq!(proxy.faults_injected(), 4);
    assert!(
        proxy
            .operations()
            .iter()
            .all(|r| r.fault == Some(Fault::Throttling))
    );
}

#[tokio::test]
async fn faults_are_scoped_by_service_and_operation() {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none()
            .with(
                Rule::new(Fault::Conflict)
                    .service("s3")
                    .operation("PutBucketPolicy"),
            )
            .with(Rule::new(Fault::InternalError).service("iam")),
    );
    let c = sdk_at(&proxy.endpoint, None).await;
    let b = unique("proxy-scope");
    ok(c.s3.create_bucket().bucket(&b).send().await);
    let err = service_error(
        c.s3.put_bucket_policy()
            .bucket(&b)
            .policy("{}")
            .send()
            .await,
    );
    assert_eq!((err.code.as_str(), err.status), ("OperationAborted", 409));
    let err = service_error(c.iam.list_roles().send().await);
    assert_eq!((err.code.as_str(), err.status), ("ServiceFailure", 500));
    ok(c.sts.get_caller_identity().send().await);

    let got: Vec<String> = proxy.operations().iter().map(Recorded::to_string).collect();
    assert_eq!(
        got,
        [
            "s3 CreateBucket 200",
            "s3 PutBucketPolicy 409 [Conflict]",
            "iam ListRoles 500 [InternalError]",
            "sts GetCallerIdentity 200",
        ]
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_dispatch_failure() {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(Rule::new(Fault::DropConnection).operation("ListBuckets")),
    );
    let c = sdk_at(&proxy.endpoint, None).await;
    let err = c.s3.list_buckets().send().await.expect_err("dropped");
    assert!(
        matches!(err, SdkError::DispatchFailure(_)),
        "expected a dispatch failure, got {err:?}"
    );
    // Other operations still pass, on a new connection.
    ok(c.sts.get_caller_identity().send().await);

    let ops = proxy.operations();
    assert_eq!(ops[0].status, None);
    assert_eq!(ops[0].fault, Some(Fault::DropConnection));
    assert_eq!(proxy.faults_injected(), 1);
}

/// The faults of 40 sequential calls through a proxy seeded with `seed`.
async fn fault_sequence(seed: u64) -> Vec<Option<Fault>> {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::seeded(seed)
            .with(Rule::new(Fault::Throttling).service("s3").probability(0.3))
            .with(
                Rule::new(Fault::InternalError)
                    .service("s3")
                    .probability(0.2),
            )
            .with(Rule::new(Fault::Latency(Duration::from_millis(1))).probability(0.5)),
    );
    let c = sdk_at(&proxy.endpoint, None).await;
    for _ in 0..40 {
        let _ = c.s3.list_buckets().send().await;
    }
    proxy.operations().into_iter().map(|r| r.fault).collect()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let first = fault_sequence(42).await;
    assert_eq!(first.len(), 40);
    assert_eq!(first, fault_sequence(42).await);
    // Both kinds and successes occur, so the comparison above can fail.
    for kind in [None, Some(Fault::Throttling), Some(Fault::InternalError)] {
        assert!(first.contains(&kind), "{kind:?} never happened: {first:?}");
    }
    assert_ne!(first, fault_sequence(43).await);
}

#[tokio::test]
async fn latency_delays_but_does_not_fail() {
    let proxy = Proxy::start(
        &moto().endpoint,
        ProxyRules::none().with(Rule::new(Fault::Latency(Duration::from_millis(20)))),
    );
    let c = sdk_at(&proxy.endpoint, None).await;
    ok(c.s3.list_buckets().send().await);
    ok(c.sts.get_caller_identity().send().await);
    assert_eq!(proxy.faults_injected(), 0);
    assert_eq!(
        proxy.operation_names(),
        ["ListBuckets", "GetCallerIdentity"]
    );
}

#[tokio::test]
async fn clients_in_another_account_work_through_the_proxy() {
    let proxy = Proxy::start(&moto().endpoint, ProxyRules::none());
    let c = sdk_at(&proxy.endpoint, Some("222222222222")).await;
    let who = ok(c.sts.get_caller_identity().send().await);
    assert_eq!(who.account(), Some("222222222222"));
    // The AssumeRole that made the credentials went to moto directly.
    assert_eq!(proxy.operation_names(), ["GetCallerIdentity"]);
    // And the account's resources are the ones moto shows to direct clients.
    let b = unique("proxy-other");
    ok(c.s3.create_bucket().bucket(&b).send().await);
    let direct = sdk(Some("222222222222")).await;
    ok(direct.s3.head_bucket().bucket(&b).send().await);
}

/// The upstream sees the request exactly as the client sent it: method, target, every
/// header (including `Host`, which SigV4 signs) and the body.
#[test]
fn forwards_requests_unchanged() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let echo = std::thread::spawn(move || {
        let (mut conn, _) = upstream.accept().unwrap();
        let request = read_request(&mut conn);
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .unwrap();
        request
    });
    let proxy = Proxy::start(
        &format!("http://127.0.0.1:{upstream_port}"),
        ProxyRules::none(),
    );

    let body = "Action=CreateRole&RoleName=r&Version=2010-05-08";
    let sent_headers = [
        format!("host: 127.0.0.1:{}", proxy.port),
        "authorization: AWS4-HMAC-SHA256 Credential=AKIATESTS3WARD000001/20250101/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc123".to_string(),
        "x-amz-date: 20250101T000000Z".to_string(),
        "content-type: application/x-www-form-urlencoded; charset=utf-8".to_string(),
        "x-custom: Mixed Case value".to_string(),
        format!("content-length: {}", body.len()),
    ];
    let mut client = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    write!(
        client,
        "POST /some/path?b=2&a=%2F HTTP/1.1\r\n{}\r\n\r\n{body}",
        sent_headers.join("\r\n")
    )
    .unwrap();
    let mut response = String::new();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).unwrap();
    response.push_str(&String::from_utf8_lossy(&buf[..n]));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let received = echo.join().unwrap();
    let (head, received_body) = received.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("POST /some/path?b=2&a=%2F HTTP/1.1"));
    let received_headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    for header in &sent_headers {
        assert!(
            received_headers.contains(&header.to_ascii_lowercase()),
            "{header} missing upstream: {received_headers:#?}"
        );
    }
    assert_eq!(received_body, body);
    assert_eq!(proxy.operation_names(), ["CreateRole"]);
}

fn read_request(conn: &mut TcpStream) -> String {
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap();
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        assert!(n > 0, "connection closed mid-request: {text}");
    }
}
