//! Any bytes as a live policy document (what AWS might return): parsing must not panic, and
//! a document that parses must survive s3ward's round trip — written back as JSON it parses
//! again to an equivalent document — and compare equal to itself by meaning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3ward::policy::{self, PolicyDocument};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PolicyDocument::parse_statements(text);
    let _ = policy::document::decode_iam_text(text);
    let Ok(doc) = PolicyDocument::parse(text) else {
        return;
    };
    let json = doc.to_json();
    let again = PolicyDocument::parse(&json)
        .unwrap_or_else(|e| panic!("s3ward's own JSON does not parse: {e}\n{json}"));
    assert!(
        policy::equivalent(&doc, &again),
        "round trip changed the meaning:\n{text}\n{json}"
    );
    assert!(policy::equivalent(&doc, &doc));
    let _ = policy::pretty(&doc);
    let _ = doc.to_pretty();
    assert!(
        policy::diff::diff(Some(&doc), Some(&doc)).is_empty(),
        "a document differs from itself"
    );
    let _ = policy::diff::diff(None, Some(&doc));
    let _ = policy::diff::diff(Some(&doc), None);
    let _ = policy::lint::deleted_identities(&doc);
    let _ = policy::lint::iam_size(&doc);
    for st in &doc.statements {
        let _ = policy::lint::is_public_statement(st);
        let _ = policy::canonical::pretty_statement(st);
    }
});
