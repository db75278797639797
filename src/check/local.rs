//! `s3ward check --local DIR`: the model directory a pod sees (a Mountpoint volume, a
//! download) is complete, readable by this process, has no empty file, and every
//! `*.safetensors` file in it is whole. No AWS call, no plan file needed.
//!
//! This is the one part of `check` that does file I/O: it walks the directory, opens each
//! file as the process that will load the model (so a `Permission denied` shows here, not
//! at shard 3 of 4), reads only what it needs (one byte of most files, the header of each
//! safetensors file, the index), and hands the listing to the same [`judge_listing`] that
//! judges S3 listings. Reading whole multi-gigabyte shards would only prove what their
//! size already proves, at the cost of pulling every byte through the mount.
//!
//! Hidden entries (names starting with `.`, such as the `.cache/` a Hugging Face download
//! leaves, with its empty lock files) are not part of the model and are skipped.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::safetensors::{self, Header};
use super::{INDEX, Object, Problem, judge_listing, wholeness};

/// Index files larger than this are not read, as in the S3 check.
const INDEX_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The first read of a safetensors file: enough for the header of most shards, so one
/// read usually suffices.
pub const FIRST_READ: usize = 64 * 1024;

/// The verdict on a local model directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalReport {
    pub dir: String,
    pub files: usize,
    pub bytes: u64,
    pub weight_files: usize,
    /// Safetensors files whose header was read and whose size matches it.
    pub whole_files: usize,
    pub problems: Vec<Problem>,
    /// The user and group this process runs as (from `/proc/self/status`, when there is
    /// one), for the cause of a `Permission denied`.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl LocalReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Some file could not be read for lack of permission.
    pub fn permission_denied(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, Problem::Unreadable { reason, .. } if reason.starts_with("Permission denied")))
    }
}

/// A file found under the directory.
struct Found {
    name: String,
    path: PathBuf,
    size: u64,
}

/// Checks the directory `dir`. Errors (exit 1) only when `dir` itself cannot be listed;
/// everything below it is a problem in the report.
pub fn check(dir: &Path, require: &[String]) -> io::Result<LocalReport> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    walk(dir, "", &mut found, &mut problems, true)?;
    found.sort_by(|a, b| a.name.cmp(&b.name));

    let objects: Vec<Object> = found
        .iter()
        .map(|f| Object {
            name: f.name.clone(),
            size: f.size as i64,
            owner: None,
        })
        .collect();
    let index = found.iter().find(|f| f.name == INDEX).map(|f| {
        if f.size > INDEX_MAX_BYTES {
            Err(format!(
                "it is {} bytes; s3ward reads at most {INDEX_MAX_BYTES}",
                f.size
            ))
        } else {
            std::fs::read(&f.path).map_err(|e| format!("could not read it: {}", reason(&e)))
        }
    });
    let (mut judged, weight_files) = judge_listing(require, &objects, index);
    judged.append(&mut problems);
    let mut problems = judged;

    let mut whole_files = 0;
    for f in &found {
        // An unreadable index is already a `bad_index` problem; say it once.
        if f.name == INDEX
            && problems
                .iter()
                .any(|p| matches!(p, Problem::BadIndex { .. }))
        {
            if let Err(e) = File::open(&f.path) {
                problems.push(Problem::Unreadable {
                    file: f.name.clone(),
                    reason: reason(&e),
                });
            }
            continue;
        }
        if f.size == 0 {
            if !problems.iter().any(|p| names(p, &f.name)) {
                problems.push(Problem::Empty {
                    file: f.name.clone(),
                });
            }
            continue;
        }
        let is_weights = f.name.ends_with(".safetensors");
        let want = if is_weights { FIRST_READ } else { 1 };
        let first = match read_start(&f.path, want) {
            Ok(b) => b,
            Err(e) => {
                problems.push(Problem::Unreadable {
                    file: f.name.clone(),
                    reason: reason(&e),
                });
                continue;
            }
        };
        if !is_weights {
            continue;
        }
        let expected = match safetensors::from_start(&first, f.size) {
            Ok(Header::Size(s)) => Ok(s),
            Ok(Header::Need(n)) => read_header(&f.path, n)
                .map_err(|e| format!("could not read its header: {}", reason(&e)))
                .and_then(|h| safetensors::expected_size(n, &h)),
            Err(e) => Err(e),
        };
        match wholeness(&f.name, f.size, expected) {
            None => whole_files += 1,
            Some(p) => problems.push(p),
        }
    }
    let (uid, gid) = ids();
    Ok(LocalReport {
        dir: dir.display().to_string(),
        files: found.len(),
        bytes: found.iter().map(|f| f.size).sum(),
        weight_files,
        whole_files,
        problems,
        uid,
        gid,
    })
}

/// Whether `p` already speaks of `file`.
fn names(p: &Problem, file: &str) -> bool {
    match p {
        Problem::Missing { file: f }
        | Problem::Empty { file: f }
        | Problem::MissingShard { file: f }
        | Problem::EmptyShard { file: f }
        | Problem::Unreadable { file: f, .. }
        | Problem::BadHeader { file: f, .. }
        | Problem::WrongSize { file: f, .. } => f == file,
        _ => false,
    }
}

fn walk(
    dir: &Path,
    rel: &str,
    found: &mut Vec<Found>,
    problems: &mut Vec<Problem>,
    top: bool,
) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if top => return Err(e),
        Err(e) => {
            problems.push(Problem::Unreadable {
                file: format!("{rel}/"),
                reason: reason(&e),
            });
            return Ok(());
        }
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel_name = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        // Follows symbolic links: a model directory of links (the Hugging Face cache's
        // snapshots) is judged by what the links point at.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, &rel_name, found, problems, false)?,
            Ok(m) => found.push(Found {
                name: rel_name,
                path,
                size: m.len(),
            }),
            Err(e) => problems.push(Problem::Unreadable {
                file: rel_name,
                reason: reason(&e),
            }),
        }
    }
    Ok(())
}

/// Up to `n` bytes from the start of a file.
fn read_start(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    File::open(path)?.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The `n` header bytes after the 8-byte length.
fn read_header(path: &Path, n: u64) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    io::copy(&mut (&mut f).take(safetensors::PREFIX_LEN), &mut io::sink())?;
    let mut buf = Vec::new();
    f.take(n).read_to_end(&mut buf)?;
    Ok(buf)
}

/// An I/O error as a reason: the OS's words, without Rust's `(os error N)` suffix.
fn reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// The real uid and gid of this process, from `/proc/self/status` (Linux; `None` elsewhere).
fn ids() -> (Option<u32>, Option<u32>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    (field("Uid:"), field("Gid:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::safetensors::tests::file;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn index(shards: &[&str]) -> Vec<u8> {
        let map: serde_json::Map<_, _> = shards
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("t{i}"), serde_json::json!(s)))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "weight_map": map })).unwrap()
    }

    /// A complete two-shard model directory.
    fn model() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "config.json", b"{}");
        write(
            d.path(),
            INDEX,
            &index(&["a.safetensors", "sub/b.safetensors"]),
        );
        write(d.path(), "a.safetensors", &file(&[4, 4]));
        write(d.path(), "sub/b.safetensors", &file(&[100_000]));
        write(d.path(), ".cache/huggingface/x.lock", b"");
        d
    }

    fn run(d: &tempfile::TempDir) -> LocalReport {
        check(d.path(), &["config.json".into()]).unwrap()
    }

    #[test]
    fn a_complete_directory_passes() {
        let r = run(&model());
        assert_eq!(r.problems, vec![]);
        assert_eq!((r.files, r.weight_files, r.whole_files), (4, 2, 2));
    }

    #[test]
    fn missing_empty_and_truncated_files_are_problems() {
        let d = model();
        std::fs::remove_file(d.path().join("sub/b.safetensors")).unwrap();
        write(d.path(), "tokenizer.json", b"");
        let whole = file(&[4, 4]);
        write(d.path(), "a.safetensors", &whole[..whole.len() - 3]);
        write(d.path(), "extra.safetensors", b"junk");
        assert_eq!(
            run(&d).problems,
            vec![
                Problem::MissingShard {
                    file: "sub/b.safetensors".into()
                },
                Problem::WrongSize {
                    file: "a.safetensors".into(),
                    size: whole.len() as u64 - 3,
                    expected: whole.len() as u64
                },
                Problem::BadHeader {
                    file: "extra.safetensors".into(),
                    reason: "it is 4 bytes, shorter than the 8-byte header length".into()
                },
                Problem::Empty {
                    file: "tokenizer.json".into()
                },
            ]
        );
    }

    /// A header longer than the first read takes a second read, and still counts.
    #[test]
    fn a_long_header_is_read_in_full() {
        let d = model();
        let big = file(&[1; 3000]);
        assert!(big.len() > FIRST_READ);
        write(d.path(), "a.safetensors", &big);
        assert_eq!(run(&d).whole_files, 2);
        write(d.path(), "a.safetensors", &big[..big.len() - 1]);
        assert!(matches!(&run(&d).problems[..], [Problem::WrongSize { .. }]));
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(check(&d.path().join("nope"), &[]).is_err());
    }
}
