//! How people install s3ward (docs/install.md): the release workflow, the container image
//! and the example workflows that download the released binary. GitHub is not reachable from
//! the tests, so these check the files themselves: each one parses as YAML, the release
//! builds what the docs promise, the examples download and verify instead of compiling, and
//! the names the release writes are the names the install step reads.

use std::path::PathBuf;

use serde_yaml_ng::Value;

use crate::drift::assert_bash_parses;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// Every `run:` script of a workflow's jobs (or a composite action's steps).
fn run_scripts(doc: &Value) -> Vec<String> {
    let mut steps: Vec<&Value> = Vec::new();
    if let Some(jobs) = doc.get("jobs").and_then(Value::as_mapping) {
        for job in jobs.values() {
            steps.extend(
                job.get("steps")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten(),
            );
        }
    }
    if let Some(runs) = doc.get("runs") {
        steps.extend(
            runs.get("steps")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten(),
        );
    }
    steps
        .into_iter()
        .filter_map(|s| s.get("run").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

const EXAMPLE_WORKFLOWS: [&str; 3] = [
    "examples/github-actions/plan.yml",
    "examples/github-actions/apply.yml",
    "examples/github-actions/drift.yml",
];
const INSTALL_ACTION: &str = "examples/github-actions/install-s3ward/action.yml";

#[test]
fn the_release_builds_linux_and_macos_with_checksums_on_a_tag() {
    let release = yaml(".github/workflows/release.yml");
    let on_tags = &release["on"]["push"]["tags"];
    assert!(
        on_tags.as_sequence().is_some_and(|t| !t.is_empty()),
        "release runs on tags"
    );

    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("a build matrix")
        .iter()
        .map(|entry| {
            entry["target"]
                .as_str()
                .expect("each entry names its target")
        })
        .collect();
    for wanted in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(
            targets.contains(&wanted),
            "release.yml builds {wanted}: {targets:?}"
        );
    }

    for (i, script) in run_scripts(&release).iter().enumerate() {
        assert_bash_parses(&format!("release.yml run step {i}"), script);
    }
    let scripts = run_scripts(&release).join("\n");
    assert!(
        scripts.contains("cargo build --release --locked"),
        "{scripts}"
    );
    assert!(
        scripts.contains("sha256sum") && scripts.contains("SHA256SUMS"),
        "{scripts}"
    );
    assert!(
        release["jobs"]["image"]["steps"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|s| s["with"]["file"].as_str() == Some("examples/kubernetes/Dockerfile")),
        "the image is built from the examples' Dockerfile"
    );
}

#[test]
fn examples_download_the_released_binary_and_verify_it_instead_of_compiling() {
    for path in EXAMPLE_WORKFLOWS {
        let doc = yaml(path);
        for script in run_scripts(&doc) {
            assert!(
                !script.contains("cargo install") && !script.contains("cargo build"),
                "{path} compiles s3ward in a step:\n{script}"
            );
        }
        let uses_install = doc["jobs"]
            .as_mapping()
            .expect("jobs")
            .values()
            .flat_map(|job| job["steps"].as_sequence().into_iter().flatten())
            .any(|s| s["uses"].as_str() == Some("./.github/actions/install-s3ward"));
        assert!(
            uses_install,
            "{path} installs with the install-s3ward action"
        );
        let sha = doc["env"]["S3WARD_SHA256"]
            .as_str()
            .expect("S3WARD_SHA256 pinned");
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}: {sha}"
        );
    }

    let action = yaml(INSTALL_ACTION);
    let script = run_scripts(&action).join("\n");
    assert_bash_parses(INSTALL_ACTION, &script);
    assert!(script.contains("sha256sum --check --strict"), "{script}");
    // What the install step downloads is what the release publishes.
    assert!(
        script.contains(r#"name="s3ward-$VERSION-$TARGET""#),
        "{script}"
    );
    assert!(script.contains("$name.tar.gz"), "{script}");
    let release = run_scripts(&yaml(".github/workflows/release.yml")).join("\n");
    assert!(release.contains(r#"name="s3ward-${GITHUB_REF_NAME}-${{ matrix.target }}""#));
    assert!(release.contains(r#"tar -C dist -czf "dist/$name.tar.gz" "$name""#));
}

#[test]
fn the_image_is_multi_stage_and_runs_as_a_non_root_user() {
    let dockerfile = read("examples/kubernetes/Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(
        stages >= 2,
        "a build stage and a runtime stage: {instructions:?}"
    );
    let last_from = instructions
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap();
    let user = instructions[last_from..]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|id| id != 0),
        "numeric non-root user: {user}"
    );
    assert!(
        instructions
            .iter()
            .any(|l| l.contains("cargo build --release --locked")),
        "the build stage builds the locked release: {instructions:?}"
    );
    let ignore = read(".dockerignore");
    for excluded in ["target", ".venv"] {
        assert!(
            ignore.lines().any(|l| l.trim() == excluded),
            ".dockerignore has {excluded}"
        );
    }
}
