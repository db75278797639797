//! The answers the proxy gives instead of forwarding: AWS-shaped error responses (S3's XML
//! `<Error>`, IAM's and STS's `<ErrorResponse>`) with the codes, statuses and messages the
//! real services use, so the SDK parses them as it would parse AWS's.
//!
//! Only the wire shape lives here; when to answer with a fault is `rules.rs`'s decision.
//! Dropped connections and latency are not responses, and never reach this module.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::Fault;

pub(super) fn fault_response(service: &str, fault: Fault) -> Response<Full<Bytes>> {
    if service == "eks" {
        return super::eks::fault_response(fault);
    }
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

pub(super) fn text_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(text)))
        .expect("valid response")
}
