//! `s3ward check`: are the declared model directories complete, and are their objects owned
//! by the bucket owner?
//!
//! A model directory is complete when every file in `require` is there and not empty, and
//! its weights are: every shard that `model.safetensors.index.json` names (present and not
//! empty), or else a lone non-empty `model.safetensors`. An object owned by another account
//! is unreadable through the bucket policy (bucket policies apply to objects the bucket
//! owner owns), which is the `Permission denied` pods see on some files.
//!
//! This module judges listings; [`read`] makes them. The judging is pure and unit-tested.

pub mod local;
pub mod read;
pub mod safetensors;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The index file that names a sharded model's weight files.
pub const INDEX: &str = "model.safetensors.index.json";
/// A single-file model's weights.
pub const SINGLE: &str = "model.safetensors";

/// One object under a model prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Key relative to the model prefix.
    pub name: String,
    pub size: i64,
    /// Canonical user id, when the listing asked for owners.
    pub owner: Option<String>,
}

/// What is wrong with a model directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    Missing {
        file: String,
    },
    Empty {
        file: String,
    },
    MissingShard {
        file: String,
    },
    EmptyShard {
        file: String,
    },
    BadIndex {
        reason: String,
    },
    NoWeights,
    NoBucket {
        bucket: String,
    },
    /// The file is there but this process cannot read it (`check --local`).
    Unreadable {
        file: String,
        reason: String,
    },
    /// A `*.safetensors` file whose header cannot be used.
    BadHeader {
        file: String,
        reason: String,
    },
    /// A `*.safetensors` file whose size is not what its header says: truncated when
    /// shorter, with bytes after its data when longer.
    WrongSize {
        file: String,
        size: u64,
        expected: u64,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { file } => write!(f, "`{file}` is missing"),
            Problem::Empty { file } => write!(f, "`{file}` is empty (0 bytes)"),
            Problem::MissingShard { file } => {
                write!(f, "shard `{file}` is missing (named by `{INDEX}`)")
            }
            Problem::EmptyShard { file } => write!(f, "shard `{file}` is empty (0 bytes)"),
            Problem::BadIndex { reason } => write!(f, "`{INDEX}` is unusable: {reason}"),
            Problem::NoWeights => {
                write!(f, "no weights: neither `{INDEX}` nor `{SINGLE}` is there")
            }
            Problem::NoBucket { bucket } => write!(f, "bucket `{bucket}` does not exist"),
            Problem::Unreadable { file, reason } => write!(f, "`{file}` is not readable: {reason}"),
            Problem::BadHeader { file, reason } => {
                write!(f, "`{file}` is not a whole safetensors file: {reason}")
            }
            Problem::WrongSize {
                file,
                size,
                expected,
            } if size < expected => write!(
                f,
                "`{file}` is truncated: {size} bytes, its header says {expected} (an upload or copy that stopped early)"
            ),
            Problem::WrongSize {
                file,
                size,
                expected,
            } => write!(
                f,
                "`{file}` is {size} bytes, its header says {expected}: {} bytes follow its data",
                size - expected
            ),
        }
    }
}

/// The verdict on one model directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelReport {
    pub bucket_key: String,
    pub bucket: String,
    pub prefix: String,
    pub files: usize,
    pub bytes: i64,
    /// Weight files found (shards named by the index, or the single file).
    pub weight_files: usize,
    pub problems: Vec<Problem>,
}

impl ModelReport {
    pub fn complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Shard file names from an index document: the values of its `weight_map`.
pub fn shards_of_index(text: &[u8]) -> Result<BTreeSet<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| "it has no `weight_map` object".to_string())?;
    let mut out = BTreeSet::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| format!("`weight_map.{tensor}` is not a file name"))?;
        if file.is_empty() || file.starts_with('/') || file.split('/').any(|c| c == "..") {
            return Err(format!(
                "`weight_map.{tensor}` is not a file name: `{file}`"
            ));
        }
        out.insert(file.to_string());
    }
    if out.is_empty() {
        return Err("its `weight_map` is empty".into());
    }
    Ok(out)
}

/// Judges one directory: `objects` are its listing, `index` the index file's bytes when
/// the listing has one (`Err` when it could not be read).
pub fn judge(
    bucket_key: &str,
    bucket: &str,
    prefix: &str,
    require: &[String],
    objects: &[Object],
    index: Option<Result<Vec<u8>, String>>,
) -> ModelReport {
    let (problems, weight_files) = judge_listing(require, objects, index);
    ModelReport {
        bucket_key: bucket_key.to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        files: objects.len(),
        bytes: objects.iter().map(|o| o.size).sum(),
        weight_files,
        problems,
    }
}

/// Completeness of a listing, wherever it came from (S3 or a local directory): the
/// problems, and how many weight files were found.
pub fn judge_listing(
    require: &[String],
    objects: &[Object],
    index: Option<Result<Vec<u8>, String>>,
) -> (Vec<Problem>, usize) {
    let by_name: BTreeMap<&str, &Object> = objects.iter().map(|o| (o.name.as_str(), o)).collect();
    let mut problems = Vec::new();
    for f in require {
        match by_name.get(f.as_str()) {
            None => problems.push(Problem::Missing { file: f.clone() }),
            Some(o) if o.size == 0 => problems.push(Problem::Empty { file: f.clone() }),
            Some(_) => {}
        }
    }
    let mut weight_files = 0;
    match index {
        Some(Ok(bytes)) => match shards_of_index(&bytes) {
            Ok(shards) => {
                for s in shards {
                    match by_name.get(s.as_str()) {
                        None => problems.push(Problem::MissingShard { file: s }),
                        Some(o) if o.size == 0 => problems.push(Problem::EmptyShard { file: s }),
                        Some(_) => weight_files += 1,
                    }
                }
            }
            Err(reason) => problems.push(Problem::BadIndex { reason }),
        },
        Some(Err(reason)) => problems.push(Problem::BadIndex { reason }),
        None => match by_name.get(SINGLE) {
            Some(o) if o.size > 0 => weight_files = 1,
            Some(_) => problems.push(Problem::Empty {
                file: SINGLE.to_string(),
            }),
            None => problems.push(Problem::NoWeights),
        },
    }
    (problems, weight_files)
}

/// The verdict on one `*.safetensors` file of `size` bytes, given the size its header says
/// a whole file has (or why the header could not be used): `None` when whole.
pub fn wholeness(file: &str, size: u64, expected: Result<u64, String>) -> Option<Problem> {
    match expected {
        Ok(e) if e == size => None,
        Ok(expected) => Some(Problem::WrongSize {
            file: file.to_string(),
            size,
            expected,
        }),
        Err(reason) => Some(Problem::BadHeader {
            file: file.to_string(),
            reason,
        }),
    }
}

/// An object that another account owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignObject {
    pub bucket_key: String,
    pub bucket: String,
    pub key: String,
    pub owner: String,
}

/// What `check --all-objects` found in one whole bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketScan {
    pub bucket_key: String,
    pub bucket: String,
    pub outcome: ScanOutcome,
    /// Objects whose owners were looked at.
    pub scanned: usize,
    pub foreign: Vec<ForeignObject>,
}

/// How far a whole-bucket scan went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Every object of the bucket was looked at.
    Whole,
    /// Stopped at `--max-objects`: the bucket holds at least `at_least` objects.
    Cut { at_least: usize },
    /// Not listed: the bucket enforces ownership, so it owns every object.
    OwnershipEnforced,
    /// Not listed: its ACL names no owner to compare with.
    OwnerUnknown,
    /// Not listed: the bucket does not exist.
    NoBucket,
}

/// Objects whose owner is not `bucket_owner`.
pub fn foreign_owned(
    bucket_key: &str,
    bucket: &str,
    prefix: &str,
    bucket_owner: &str,
    objects: &[Object],
) -> Vec<ForeignObject> {
    objects
        .iter()
        .filter_map(|o| {
            let owner = o.owner.as_deref()?;
            (owner != bucket_owner).then(|| ForeignObject {
                bucket_key: bucket_key.to_string(),
                bucket: bucket.to_string(),
                key: format!("{prefix}{}", o.name),
                owner: owner.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, size: i64) -> Object {
        Object {
            name: name.into(),
            size,
            owner: None,
        }
    }

    fn index(shards: &[&str]) -> Vec<u8> {
        let map: serde_json::Map<String, serde_json::Value> = shards
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("layer.{i}.weight"), serde_json::json!(s)))
            .collect();
        serde_json::to_vec(&serde_json::json!({"metadata": {"total_size": 1}, "weight_map": map}))
            .unwrap()
    }

    const SHARDS: [&str; 2] = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];

    fn run(objects: &[Object], idx: Option<Result<Vec<u8>, String>>) -> Vec<Problem> {
        judge("m", "b", "p/", &["config.json".into()], objects, idx).problems
    }

    #[test]
    fn complete_sharded_and_single_file_models() {
        let objects = [
            obj("config.json", 10),
            obj(INDEX, 100),
            obj(SHARDS[0], 5),
            obj(SHARDS[1], 5),
        ];
        let r = judge(
            "m",
            "b",
            "p/",
            &["config.json".into()],
            &objects,
            Some(Ok(index(&SHARDS))),
        );
        assert!(r.complete(), "{:?}", r.problems);
        assert_eq!(r.weight_files, 2);
        assert_eq!(r.bytes, 120);
        assert!(run(&[obj("config.json", 1), obj(SINGLE, 9)], None).is_empty());
    }

    #[test]
    fn missing_and_empty_files_are_problems() {
        let objects = [obj(INDEX, 100), obj(SHARDS[0], 0)];
        assert_eq!(
            run(&objects, Some(Ok(index(&SHARDS)))),
            vec![
                Problem::Missing {
                    file: "config.json".into()
                },
                Problem::EmptyShard {
                    file: SHARDS[0].into()
                },
                Problem::MissingShard {
                    file: SHARDS[1].into()
                },
            ]
        );
        assert_eq!(
            run(&[obj("config.json", 0)], None),
            vec![
                Problem::Empty {
                    file: "config.json".into()
                },
                Problem::NoWeights,
            ]
        );
        assert_eq!(
            run(&[obj("config.json", 3), obj(SINGLE, 0)], None),
            vec![Problem::Empty {
                file: SINGLE.into()
            }]
        );
    }

    #[test]
    fn a_corrupt_index_is_a_problem_not_a_crash() {
        for (bytes, want) in [
            (b"{not json".to_vec(), "not valid JSON"),
            (b"{}".to_vec(), "no `weight_map`"),
            (br#"{"weight_map":{}}"#.to_vec(), "empty"),
            (br#"{"weight_map":{"a":3}}"#.to_vec(), "not a file name"),
            (
                br#"{"weight_map":{"a":"../x"}}"#.to_vec(),
                "not a file name",
            ),
        ] {
            let p = run(&[obj("config.json", 1), obj(INDEX, 1)], Some(Ok(bytes)));
            assert!(
                matches!(&p[..], [Problem::BadIndex { reason }] if reason.contains(want)),
                "{p:?}"
            );
        }
        let p = run(&[obj("config.json", 1)], Some(Err("AccessDenied".into())));
        assert_eq!(
            p,
            vec![Problem::BadIndex {
                reason: "AccessDenied".into()
            }]
        );
    }

    #[test]
    fn shard_names_may_contain_dots() {
        let shards = shards_of_index(
            br#"{"weight_map":{"a":"model..v2.safetensors","b":"sub/x.safetensors"}}"#,
        )
        .unwrap();
        assert_eq!(shards.len(), 2);
    }

    #[test]
    fn foreign_owners_are_found() {
        let mut a = obj("config.json", 1);
        a.owner = Some("owner".into());
        let mut b = obj("model.safetensors", 1);
        b.owner = Some("someone-else".into());
        let f = foreign_owned("m", "bkt", "p/", "owner", &[a, b]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].key, "p/model.safetensors");
    }
}
