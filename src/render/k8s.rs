//! `s3ward k8s`'s output: the documents of [`crate::k8s`] as one multi-document YAML
//! stream (`---` between documents), for `kubectl apply -f -`.
//!
//! Serialised with `serde_yaml_ng` from the `k8s-openapi` types, whose field order is
//! fixed: the same plan file gives the same bytes. Plain data in, text out.

use std::io::{self, Write};

use crate::k8s::Document;

/// The YAML stream, with a first comment line naming the plan (no path, no time: the
/// output of one plan file is the same wherever and whenever it runs).
pub fn write_yaml(w: &mut dyn Write, plan_name: &str, docs: &[Document]) -> io::Result<()> {
    writeln!(
        w,
        "# Written by `s3ward k8s` from plan `{plan_name}`: edit the plan file, not this output."
    )?;
    for d in docs {
        writeln!(w, "---")?;
        w.write_all(to_yaml(d).as_bytes())?;
    }
    Ok(())
}

/// One document as YAML.
pub fn to_yaml(d: &Document) -> String {
    let text = match d {
        Document::ServiceAccount(x) => serde_yaml_ng::to_string(x),
        Document::PersistentVolume(x) => serde_yaml_ng::to_string(x),
        Document::PersistentVolumeClaim(x) => serde_yaml_ng::to_string(x),
    };
    text.expect("Kubernetes objects serialise to YAML")
}
