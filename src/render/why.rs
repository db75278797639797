//! `s3ward why`: the decision, each side with the statements that decided it (and, for the
//! plan file's documents, the line that produced each), the request values it depends on,
//! and what s3ward does not evaluate. Text, or JSON (`format_version: 1`, SPEC's shape; the
//! schema only grows).

use std::io::{self, Write};

use serde::Serialize;

use super::style::{BOLD, paint, ticked};
use crate::access::{Decision, SideReport, Verdict};

/// What was asked, as shown back.
#[derive(Clone, Debug)]
pub struct Asked<'a> {
    /// As the user named it (`role.inference`).
    pub principal: &'a str,
    /// The ARN it stands for.
    pub principal_arn: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    /// Whether the documents are the live ones (`--live`) or the plan file's.
    pub live: bool,
}

pub fn write_text(
    w: &mut dyn Write,
    asked: &Asked<'_>,
    v: &Verdict,
    color: bool,
) -> io::Result<()> {
    let verb = match v.decision {
        Decision::Allowed => "may",
        Decision::Denied => "may not",
        Decision::Depends => "might",
    };
    paint(w, color, BOLD, v.decision.as_str())?;
    writeln!(
        w,
        ": {} ({}) {verb} {} on {}",
        asked.principal, asked.principal_arn, asked.action, asked.resource
    )?;
    writeln!(
        w,
        "  from the {} documents",
        if asked.live { "live" } else { "plan file's" }
    )?;
    writeln!(w)?;
    for s in &v.sides {
        side(w, s)?;
    }
    writeln!(w)?;
    writeln!(w, "rule: {}", v.rule)?;
    if !v.missing_context.is_empty() {
        writeln!(w)?;
        let keys: Vec<String> = v.missing_context.iter().map(ticked).collect();
        writeln!(w, "depends on: {}", keys.join(", "))?;
        writeln!(
            w,
            "  supply a value with --context {}=VALUE",
            v.missing_context[0]
        )?;
    }
    if !v.not_evaluated.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "not evaluated (they can only take access away): {}",
            v.not_evaluated.join(", ")
        )?;
    }
    Ok(())
}

fn side(w: &mut dyn Write, s: &SideReport) -> io::Result<()> {
    write!(w, "  {:<20} {}", s.side.as_str(), s.decision.as_str())?;
    match &s.note {
        Some(n) => writeln!(w, ": {n}")?,
        None => writeln!(w)?,
    }
    for st in &s.statements {
        write!(
            w,
            "    {} {} in the {}",
            st.effect.as_str(),
            st.sid.as_deref().map_or("(no Sid)".to_string(), ticked),
            st.policy
        )?;
        match &st.source {
            Some(at) => writeln!(w, ", from {at}")?,
            None => writeln!(w)?,
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Json<'a> {
    format_version: u32,
    decision: &'static str,
    principal: &'a str,
    principal_arn: &'a str,
    action: &'a str,
    resource: &'a str,
    documents: &'static str,
    sides: Vec<JsonSide<'a>>,
    rule: &'a str,
    missing_context: &'a [String],
    not_evaluated: &'a [String],
}

#[derive(Serialize)]
struct JsonSide<'a> {
    side: &'static str,
    decision: &'static str,
    statements: Vec<JsonStatement<'a>>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonStatement<'a> {
    sid: Option<&'a str>,
    effect: &'static str,
    policy: &'a str,
    source: Option<&'a str>,
}

pub fn write_json(w: &mut dyn Write, asked: &Asked<'_>, v: &Verdict) -> io::Result<()> {
    let doc = Json {
        format_version: 1,
        decision: v.decision.as_str(),
        principal: asked.principal,
        principal_arn: asked.principal_arn,
        action: asked.action,
        resource: asked.resource,
        documents: if asked.live { "live" } else { "plan_file" },
        sides: v
            .sides
            .iter()
            .map(|s| JsonSide {
                side: s.side.as_str(),
                decision: s.decision.as_str(),
                statements: s
                    .statements
                    .iter()
                    .map(|st| JsonStatement {
                        sid: st.sid.as_deref(),
                        effect: st.effect.as_str(),
                        policy: &st.policy,
                        source: st.source.as_deref(),
                    })
                    .collect(),
                note: s.note.as_deref(),
            })
            .collect(),
        rule: &v.rule,
        missing_context: &v.missing_context,
        not_evaluated: &v.not_evaluated,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    writeln!(w)
}
