//! `s3ward permissions`: the policies of [`crate::permissions`] as one JSON object on
//! stdout, each document under the account it is for, ready to attach
//! (`jq '.accounts.storage.policy'`).
//!
//! ```json
//! { "format_version": 1, "plan": "ml-models", "for": "apply",
//!   "accounts": { "storage": { "account_id": "…", "attach_to": "arn:…:role/s3ward", "policy": {…} } },
//!   "ambient": { "attach_to": "the credentials s3ward runs with", "policy": {…} } }
//! ```
//!
//! `attach_to` is the account's `assume_role`, or the words "the credentials s3ward runs
//! with" when the account has none. `ambient` is there only when those credentials need
//! something of their own (`sts:AssumeRole` on the `assume_role` roles, the apply lock).

use serde_json::{Map, Value, json};

use crate::permissions::Policies;

/// Format version of this output (the schema only grows within a version).
pub const FORMAT_VERSION: u32 = 1;

/// What `attach_to` says when the policy is for the credentials s3ward runs with.
pub const AMBIENT: &str = "the credentials s3ward runs with";

/// The policies as pretty JSON, ending with a newline.
pub fn render(p: &Policies) -> String {
    let mut accounts = Map::new();
    for a in &p.accounts {
        accounts.insert(
            a.key.clone(),
            json!({
                "account_id": a.id,
                "attach_to": a.attach_to.as_deref().unwrap_or(AMBIENT),
                "policy": a.document,
            }),
        );
    }
    let mut out = json!({
        "format_version": FORMAT_VERSION,
        "plan": p.plan,
        "for": p.purpose.as_str(),
        "accounts": Value::Object(accounts),
    });
    if let Some(doc) = &p.ambient {
        out["ambient"] = json!({ "attach_to": AMBIENT, "policy": doc });
    }
    let mut text = serde_json::to_string_pretty(&out).expect("JSON values always serialise");
    text.push('\n');
    text
}
