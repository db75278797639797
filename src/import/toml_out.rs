//! Writing the imported plan file: the [`Plan`](super::model::Plan) model as commented TOML
//! text.
//!
//! Hand-written rather than serialised: the comments are the point (an imported plan file is
//! read by someone deciding what s3ward will manage from now on), and the layout follows
//! `plans/ml-models.toml`. Every value goes through [`string`], [`key`] or [`policy_block`],
//! which always produce valid TOML, whatever the live values hold; the unit tests parse the
//! output back with the `toml` crate.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::model::{BucketOut, GrantOut, Plan, RoleOut, TrustEntryOut, TrustOut};
use crate::desired::PublicAccessBlock;

/// Comment lines are wrapped at this width.
const WIDTH: usize = 90;

const RULE: &str =
    "# ---------------------------------------------------------------------------------------";

/// A TOML key: bare when it can be (`[A-Za-z0-9_-]+`), else a quoted string.
pub fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { k.to_string() } else { string(k) }
}

/// A TOML basic string with every character escaped that must be.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    push_escaped(&mut out, s, false);
    out.push('"');
    out
}

fn push_escaped(out: &mut String, s: &str, keep_newlines: bool) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A JSON document as a TOML multi-line string: a literal string (`'''`, no escapes, so the
/// JSON reads as JSON) when the text allows it, else a basic string with escapes.
pub fn policy_block(json: &str) -> String {
    let literal_ok = !json.contains("'''")
        && !json.ends_with('\'')
        && json
            .chars()
            .all(|c| c == '\n' || c == '\t' || !((c as u32) < 0x20 || c == '\u{7f}'));
    if literal_ok {
        format!("'''\n{json}\n'''")
    } else {
        let mut out = String::from("\"\"\"\n");
        push_escaped(&mut out, json, true);
        out.push_str("\n\"\"\"");
        out
    }
}

/// `text` as `# ` comment lines of at most [`WIDTH`] characters (words are not split).
pub fn comment(out: &mut String, text: &str) {
    for para in text.split('\n') {
        let mut line = String::from("#");
        for word in para.split(' ') {
            if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
                out.push_str(&line);
                out.push('\n');
                line = String::from("#");
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `code` with a trailing comment at column 38 (as in `plans/ml-models.toml`).
fn line(out: &mut String, code: &str, why: &str) {
    out.push_str(code);
    if !why.is_empty() {
        let pad = 37usize.saturating_sub(code.chars().count()).max(1);
        out.push_str(&" ".repeat(pad));
        out.push_str("# ");
        out.push_str(why);
    }
    out.push('\n');
}

fn inline_table(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), string(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

fn string_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| string(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The whole plan file.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    header(&mut out, plan);
    accounts(&mut out, plan);
    super::kms::write_keys(&mut out, plan, key, string, policy_block);
    for r in &plan.roles {
        role(&mut out, r, &r.account);
    }
    for b in &plan.buckets {
        bucket(&mut out, b, &b.account);
    }
    out
}

fn header(out: &mut String, plan: &Plan) {
    let what = [
        (!plan.buckets.is_empty()).then(|| {
            let names: Vec<&str> = plan.buckets.iter().map(|b| b.name.as_str()).collect();
            format!("buckets {}", names.join(", "))
        }),
        (!plan.roles.is_empty()).then(|| {
            let names: Vec<&str> = plan.roles.iter().map(|r| r.name.as_str()).collect();
            format!("roles {}", names.join(", "))
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    comment(
        out,
        &format!(
            "s3ward plan file written by `s3ward import` from account{} {}: {what}.",
            if plan.accounts.len() == 1 { "" } else { "s" },
            plan.accounts
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    out.push_str("#\n");
    comment(
        out,
        "It describes these resources as they are, so `s3ward plan` with it prints `No changes.` \
         Review it before committing it: every setting written here is managed from now on, and \
         a setting left out is left alone. Bucket policy statements that s3ward's own grants \
         would write are written back as `[[buckets.KEY.grants]]`; every other statement is kept \
         verbatim in `extra_policy_statements`, or left alone in `merge` mode.",
    );
    if !plan.notes.is_empty() {
        out.push_str("#\n");
        comment(out, "Needs attention (also printed by `s3ward import`):");
        for n in &plan.notes {
            comment(out, &format!("  - {n}"));
        }
    }
    out.push_str("#\n");
    out.push_str("#   s3ward validate FILE   # offline checks\n");
    out.push_str("#   s3ward plan FILE       # should print `No changes.`\n");
    out.push('\n');
    out.push_str("version = 1\n\n");
    out.push_str("[settings]\n");
    line(
        out,
        &format!("name = {}", string(&plan.name)),
        "goes into the `s3ward:plan` tag of what s3ward creates",
    );
    if let Some(r) = &plan.region {
        line(
            out,
            &format!("region = {}", string(r)),
            "buckets below are here unless they say `region`",
        );
    }
    out.push('\n');
}

fn accounts(out: &mut String, plan: &Plan) {
    out.push_str(RULE);
    out.push('\n');
    let several = plan.accounts.len() > 1;
    for a in &plan.accounts {
        let what = if several {
            "An account imported resources live in."
        } else {
            "The account the imported resources live in."
        };
        comment(
            out,
            &if a.assume_role.is_some() {
                format!("{what} s3ward assumes `assume_role` there.")
            } else {
                format!(
                    "{what} Without `assume_role`, s3ward must run with credentials of this \
                     account."
                )
            },
        );
        let _ = writeln!(out, "[accounts.{}]", key(&a.key));
        let _ = writeln!(out, "id = {}", string(&a.id));
        if let Some(r) = &a.assume_role {
            let _ = writeln!(out, "assume_role = {}", string(r));
        }
        if let Some(x) = &a.external_id {
            let _ = writeln!(out, "external_id = {}", string(x));
        }
        out.push('\n');
    }
    if !plan.other_accounts.is_empty() {
        comment(
            out,
            "Other accounts, named by `to = \"account.KEY\"` grants below (the key is part of the \
             statement ids s3ward wrote). No resource of this plan file lives there, so s3ward \
             never connects to them.",
        );
        for (k, id) in &plan.other_accounts {
            let _ = writeln!(out, "[accounts.{}]\nid = {}\n", key(k), string(id));
        }
    }
    if !plan.principals.is_empty() {
        comment(
            out,
            "Principals this plan file does not manage, named by `to = \"principal.KEY\"` grants \
             below.",
        );
        for (k, arn) in &plan.principals {
            let _ = writeln!(out, "[principals.{}]\narn = {}\n", key(k), string(arn));
        }
    }
}

/// What a `[roles.KEY]` or `[buckets.KEY]` entry opens with: a rule, a title and the
/// comments, the table header, `account`, and `name` when the key is not the name.
fn entry_head(
    out: &mut String,
    title: &str,
    comments: &[String],
    table: &str,
    entry_key: &str,
    name: &str,
    account_key: &str,
) {
    out.push_str(RULE);
    out.push('\n');
    comment(out, title);
    for c in comments {
        comment(out, c);
    }
    let _ = writeln!(out, "[{table}.{}]", key(entry_key));
    let _ = writeln!(out, "account = {}", string(account_key));
    if name != entry_key {
        let _ = writeln!(out, "name = {}", string(name));
    }
}

fn role(out: &mut String, r: &RoleOut, account_key: &str) {
    let title = format!("Role {}", r.arn);
    entry_head(
        out,
        &title,
        &r.comments,
        "roles",
        &r.key,
        &r.name,
        account_key,
    );
    if let Some(p) = &r.path {
        line(
            out,
            &format!("path = {}", string(p)),
            "IAM cannot move a role to another path",
        );
    }
    if let Some(d) = &r.description {
        let _ = writeln!(out, "description = {}", string(d));
    }
    if let Some(m) = r.max_session_duration {
        line(out, &format!("max_session_duration = {m}"), "seconds");
    }
    if !r.tags.is_empty() {
        comment(
            out,
            "Tags: the keys written here are managed; other keys are left alone.",
        );
        let _ = writeln!(out, "tags = {}", inline_table(&r.tags));
    }
    comment(
        out,
        "Exactly the managed policies attached now. `exclusive` (the default) detaches any \
         policy attached later by hand; `managed_policies_mode = \"additive\"` leaves them.",
    );
    if r.managed.is_empty() {
        out.push_str("managed_policies = []\n");
    } else {
        out.push_str("managed_policies = [\n");
        for arn in &r.managed {
            let _ = writeln!(out, "  {},", string(arn));
        }
        out.push_str("]\n");
    }
    match &r.trust {
        TrustOut::Typed(entries) => {
            comment(
                out,
                "Who may assume the role: each statement of the live trust policy is one entry.",
            );
            out.push_str("trust = [\n");
            for e in entries {
                let _ = writeln!(out, "  {},", trust_entry(e));
            }
            out.push_str("]\n");
        }
        TrustOut::Raw { json, reason } => {
            comment(
                out,
                &format!(
                    "The trust policy as it is, raw: {reason}, which typed `trust` entries do not \
                     write."
                ),
            );
            let _ = writeln!(out, "trust_policy = {}", policy_block(json));
        }
    }
    out.push('\n');
    comment(
        out,
        &format!(
            "Inline policies, as they are. `{}` is not here: s3ward writes it from the grants to \
             this role. Inline policies not declared here are deleted (`inline_policies_mode` \
             is `exclusive` by default).",
            crate::desired::GRANTS_POLICY_NAME
        ),
    );
    let _ = writeln!(out, "[roles.{}.inline_policies]", key(&r.key));
    for (name, json) in &r.inline {
        let _ = writeln!(out, "{} = {}", key(name), policy_block(json));
    }
    out.push('\n');
}

fn trust_entry(e: &TrustEntryOut) -> String {
    let with_x = |base: String, x: &Option<String>| match x {
        Some(x) => format!("{{ {base}, external_id = {} }}", string(x)),
        None => format!("{{ {base} }}"),
    };
    match e {
        TrustEntryOut::Service(s) => format!("{{ service = {} }}", string(s)),
        TrustEntryOut::Account {
            account,
            external_id,
        } => with_x(format!("account = {}", string(account)), external_id),
        TrustEntryOut::Arn { arn, external_id } => {
            with_x(format!("arn = {}", string(arn)), external_id)
        }
        TrustEntryOut::Role { key, external_id } => {
            with_x(format!("role = {}", string(key)), external_id)
        }
        TrustEntryOut::Eks {
            provider,
            namespace,
            service_account,
        } => format!(
            "{{ eks = {{ oidc_provider = {}, namespace = {}, service_account = {} }} }}",
            string(provider),
            string(namespace),
            string(service_account)
        ),
        TrustEntryOut::PodIdentity {
            cluster,
            namespace,
            service_account,
            region,
            account,
        } => format!(
            "{{ pod_identity = {{ cluster = {}, namespace = {}, service_account = {}, region = {}{} }} }}",
            string(cluster),
            string(namespace),
            string(service_account),
            string(region),
            account
                .as_ref()
                .map(|a| format!(", account = {}", string(a)))
                .unwrap_or_default()
        ),
    }
}

fn pab_value(p: &PublicAccessBlock) -> (String, &'static str) {
    if *p == PublicAccessBlock::all(true) {
        ("true".into(), "all four public access block flags on")
    } else if *p == PublicAccessBlock::all(false) {
        (
            "false".into(),
            "all four flags off: public policies are allowed",
        )
    } else {
        (
            format!(
                "{{ block_public_acls = {}, ignore_public_acls = {}, block_public_policy = {}, restrict_public_buckets = {} }}",
                p.block_public_acls,
                p.ignore_public_acls,
                p.block_public_policy,
                p.restrict_public_buckets
            ),
            "",
        )
    }
}

fn bucket(out: &mut String, b: &BucketOut, account_key: &str) {
    let title = format!("Bucket {}", b.name);
    entry_head(
        out,
        &title,
        &b.comments,
        "buckets",
        &b.key,
        &b.name,
        account_key,
    );
    if let Some(r) = &b.region {
        let _ = writeln!(out, "region = {}", string(r));
    }
    match b.ownership {
        Some(o) => {
            let why = match o {
                crate::desired::ObjectOwnership::BucketOwnerEnforced => {
                    "the bucket owns every object; ACLs do not apply"
                }
                _ => "",
            };
            line(
                out,
                &format!("object_ownership = {}", string(o.as_str())),
                why,
            );
        }
        None => line(
            out,
            "# object_ownership: none set",
            "left out: s3ward leaves ownership alone",
        ),
    }
    match &b.public_access_block {
        Some(p) => {
            let (v, why) = pab_value(p);
            line(out, &format!("block_public_access = {v}"), why);
        }
        None => line(
            out,
            "# block_public_access: none set",
            "left out: s3ward leaves it alone",
        ),
    }
    if b.acl_grants.is_empty() {
        line(
            out,
            "# bucket_acl = \"private\"",
            "the default: the ACL grants nothing to others, and stays so",
        );
    } else {
        let grants: Vec<String> = b
            .acl_grants
            .iter()
            .map(|g| format!("{} to {}", g.permission, g.grantee))
            .collect();
        comment(
            out,
            &format!(
                "The bucket ACL grants access to others ({}). `unmanaged` keeps s3ward from \
                 resetting it to private; decide whether that access should stay, then remove \
                 this line to have s3ward remove it.",
                grants.join("; ")
            ),
        );
        out.push_str("bucket_acl = \"unmanaged\"\n");
    }
    super::kms::write_encryption(out, b, string);
    if b.merge {
        comment(
            out,
            "`merge`: s3ward owns only the statements its grants below write (their Sids start \
             with `s3ward` and this plan's name); every other statement of the bucket policy is \
             left as it is, unmanaged.",
        );
        out.push_str("policy_mode = \"merge\"\n");
    } else {
        line(
            out,
            "policy_mode = \"authoritative\"",
            "the whole policy: grants + extra_policy_statements",
        );
    }
    if !b.tags.is_empty() {
        comment(
            out,
            "Tags: the keys written here are managed; other keys are left alone.",
        );
        let _ = writeln!(out, "tags = {}", inline_table(&b.tags));
    }
    if !b.extras.is_empty() {
        out.push('\n');
        for c in &b.extras_comments {
            comment(out, c);
        }
        let _ = writeln!(
            out,
            "extra_policy_statements = {}",
            policy_block(&b.extras_json())
        );
    }
    for g in &b.grants {
        out.push('\n');
        grant(out, &b.key, g);
    }
    out.push('\n');
}

fn grant(out: &mut String, bucket_key: &str, g: &GrantOut) {
    let _ = writeln!(out, "[[buckets.{}.grants]]", key(bucket_key));
    let _ = writeln!(out, "to = {}", string(&g.to));
    let _ = writeln!(out, "access = {}", string(g.access.as_str()));
    if !g.prefixes.is_empty() {
        let _ = writeln!(out, "prefixes = {}", string_list(&g.prefixes));
    }
    if g.public {
        line(out, "public = true", "anyone on the internet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_value(v: &str) -> toml::Value {
        let t: toml::Table = toml::from_str(&format!("x = {v}")).expect("valid TOML");
        t["x"].clone()
    }

    #[test]
    fn strings_survive_any_content() {
        for s in [
            "plain",
            "quote \" and backslash \\",
            "new\nline\ttab\rcr",
            "ctrl \u{1} del \u{7f}",
            "unicode é 模型",
            "'''",
        ] {
            assert_eq!(parse_value(&string(s)).as_str(), Some(s), "{s:?}");
        }
    }

    #[test]
    fn keys_are_bare_or_quoted() {
        assert_eq!(key("ray-cluster_1"), "ray-cluster_1");
        assert_eq!(key("s3:plan"), "\"s3:plan\"");
        let t: toml::Table = toml::from_str(&format!("{} = 1", key("a b.c"))).unwrap();
        assert!(t.contains_key("a b.c"));
    }

    #[test]
    fn policy_blocks_are_literal_when_they_can_be() {
        let json = "{\n  \"Sid\": \"a\\\\b\",\n  \"x\": \"it's\"\n}";
        let block = policy_block(json);
        assert!(block.starts_with("'''\n"), "{block}");
        assert_eq!(
            parse_value(&block).as_str(),
            Some(format!("{json}\n").as_str())
        );
        // `'''` inside the JSON: a basic string with escapes instead.
        let json = "{\n  \"Sid\": \"a'''b \\\"q\\\"\"\n}";
        let block = policy_block(json);
        assert!(block.starts_with("\"\"\"\n"), "{block}");
        assert_eq!(
            parse_value(&block).as_str(),
            Some(format!("{json}\n").as_str())
        );
    }

    #[test]
    fn comments_wrap_and_stay_comments() {
        let mut out = String::new();
        let long = "word ".repeat(60);
        comment(&mut out, &format!("{long}\nsecond paragraph"));
        assert!(
            out.lines()
                .all(|l| l.starts_with('#') && l.len() <= WIDTH + 6)
        );
        assert!(out.lines().count() >= 4);
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert!(t.is_empty());
    }
}
