//! `s3ward validate`: offline, every problem at once, exit 0/1.

use crate::support::{PlanDir, s3ward};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn example_plans_validate_without_credentials_or_network() {
    // No credentials at all, and an endpoint nothing listens on: validate must not care.
    let run = s3ward(&[
        "validate",
        "plans/ml-models.toml",
        "plans/single-account.toml",
        "examples/iam/ml-models-roles.toml",
    ])
    .current_dir(ROOT)
    .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .run();
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("plans/ml-models.toml: valid"), "{run}");
    assert!(
        run.stdout
            .contains("examples/iam/ml-models-roles.toml: valid"),
        "{run}"
    );
    assert!(
        run.stdout.contains("plans/single-account.toml: valid"),
        "{run}"
    );
    assert_eq!(run.stderr, "", "{run}");
}

#[test]
fn three_mistakes_are_reported_together() {
    let dir = PlanDir::new();
    dir.write(
        "bad.toml",
        r#"version = 1
[accounts.storage]
id = "11111111111"
[buckets.weights]
account = "storage"
name = "acme-weights"
colour = "blue"
[[buckets.weights.grants]]
to = "role.nobody"
access = "readd"
"#,
    );
    let run = dir.s3ward(&["validate", "bad.toml"]).run();
    assert_eq!(run.code, 1, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
}

#[test]
fn invalid_toml_names_line_and_column() {
    let dir = PlanDir::new();
    dir.write("broken.toml", "version = 1\n[accounts.a]\nid = \"1\n");
    let run = dir.s3ward(&["validate", "broken.toml"]).run();
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("broken.toml:3:"), "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = PlanDir::new();
    let run = dir.s3ward(&["validate", "nope.toml"]).run();
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .starts_with("error: could not read plan file `nope.toml`"),
        "{run}"
    );
    assert!(run.stderr.contains("caused by: No such file"), "{run}");
}

#[test]
fn an_expectation_the_plan_file_breaks_fails_at_its_line_with_the_deciding_statement() {
    let dir = PlanDir::new();
    let text = std::fs::read_to_string(format!("{ROOT}/plans/ml-models.toml")).unwrap();
    // The vendor's grant widened from `list` to `read`: the expectation that it reads
    // nothing catches it, naming the grant's statement and line.
    let widened = text.replacen(
        "to = \"principal.eval-vendor\"\naccess = \"list\"",
        "to = \"principal.eval-vendor\"\naccess = \"read\"",
        1,
    );
    assert_ne!(
        widened, text,
        "the vendor's grant is where this test expects it"
    );
    dir.write("ml-models.toml", &widened);
    let run = dir.s3ward(&["validate", "ml-models.toml"]).run();
    assert_eq!(run.code, 1, "{run}");
    insta::assert_snapshot!(run.snapshot_text());
}
