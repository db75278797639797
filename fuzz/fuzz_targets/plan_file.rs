//! Any bytes as a plan file: parsing and resolving must either succeed or return a report
//! whose every error points into the file, and rendering that report must not panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use s3ward::error::Error;
use s3ward::plan_file::{self, Options};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for allow_self_lockout in [false, true] {
        match plan_file::parse(Path::new("fuzz.toml"), text, Options { allow_self_lockout }) {
            Ok(loaded) => {
                // Warnings render too (with and without colour).
                let _ = loaded.warnings.render(false);
                let _ = loaded.warnings.render(true);
            }
            Err(report) => {
                assert!(report.errors() > 0, "a rejected plan file without an error");
                let _ = report.render(false);
                let _ = report.render(true);
                let _ = Error::InvalidPlan(report).to_string();
            }
        }
    }
});
