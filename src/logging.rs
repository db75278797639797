//! Logging to stderr with `tracing`: `-v` shows each AWS call with its duration and each
//! retry; `-vv` adds debug detail; `RUST_LOG` overrides both.
//!
//! Credentials never reach a log. s3ward itself logs operation and resource names only. The
//! SDK's own logs (which `RUST_LOG=debug` turns on) redact secret keys, session tokens and
//! signatures, but print access key ids; every log line therefore passes through
//! [`redact`], which masks anything shaped like an access key id (`AKIA…`, `ASIA…`).

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::settings::ColorChoice;

pub fn init(verbose: u8, color: ColorChoice) {
    let default = match verbose {
        0 => "s3ward=warn",
        1 => "s3ward=debug",
        _ => "s3ward=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = color.for_stream(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}

/// stderr, through [`redact`].
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = Redacting;
    fn make_writer(&'a self) -> Redacting {
        Redacting
    }
}

struct Redacting;

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter writes each event whole, so a key is never split across calls.
        io::stderr().write_all(&redact(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Masks access key ids: `AKIA` or `ASIA` followed by at least 12 upper-case letters or
/// digits keeps its first four characters; the rest become `*`.
pub fn redact(buf: &[u8]) -> Vec<u8> {
    let mut out = buf.to_vec();
    let mut i = 0;
    while i + 4 <= out.len() {
        let head = &out[i..i + 4];
        if head == b"AKIA" || head == b"ASIA" {
            let tail = out[i + 4..]
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count();
            if tail >= 12 {
                for b in &mut out[i + 4..i + 4 + tail] {
                    *b = b'*';
                }
                i += 4 + tail;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn access_key_ids_are_masked() {
        let line = b"resolved identity: Credentials { access_key_id: \"AKIATESTS3WARD000001\", session: ASIA1234567890ABCDEF }";
        let out = String::from_utf8(redact(line)).unwrap();
        assert!(!out.contains("TESTS3WARD000001"), "{out}");
        assert!(!out.contains("1234567890ABCDEF"), "{out}");
        assert!(out.contains("AKIA****************"), "{out}");
        // Unique ids of roles (AROA…) are not secret and stay; so do short matches.
        let other = b"principal AROA3X42LBCD50JYWQ97C and AKIA-short";
        assert_eq!(redact(other), other.to_vec());
    }
}
