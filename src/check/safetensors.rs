//! Is a `*.safetensors` file whole? The header math, on bytes: no file or network I/O here
//! (`local.rs` reads files, `read.rs` would read S3 ranges).
//!
//! The format: 8 bytes, a little-endian u64 `N`; `N` bytes of JSON (the header: tensor name
//! → `{dtype, shape, data_offsets: [begin, end]}`, plus an optional `__metadata__` of
//! strings); then the tensor data. The data ends at the largest `end`, so a whole file is
//! exactly `8 + N + max(end)` bytes. A truncated upload is shorter; bytes appended after
//! the data make a longer file that loaders refuse too, so both are reported.

/// The length prefix of every safetensors file.
pub const PREFIX_LEN: u64 = 8;
/// The largest header the reference implementation accepts (100 MB); a larger `N` means
/// the first 8 bytes are not a safetensors header at all.
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// The header length `N` from the first 8 bytes, or why they cannot start a safetensors file.
pub fn header_len(prefix: &[u8]) -> Result<u64, String> {
    let bytes: [u8; 8] = prefix
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            format!(
                "it is {} bytes, shorter than the 8-byte header length",
                prefix.len()
            )
        })?;
    let n = u64::from_le_bytes(bytes);
    if n == 0 || n > MAX_HEADER_LEN {
        return Err(format!(
            "its header length is {n} bytes (a safetensors header is 2 to {MAX_HEADER_LEN})"
        ));
    }
    Ok(n)
}

/// The size a whole file has, from its header's JSON (the `N` bytes after the prefix).
pub fn expected_size(header_len: u64, header: &[u8]) -> Result<u64, String> {
    let v: serde_json::Value = serde_json::from_slice(header)
        .map_err(|e| format!("its header is not valid JSON ({e})"))?;
    let tensors = v
        .as_object()
        .ok_or_else(|| "its header is not a JSON object".to_string())?;
    let mut end = 0u64;
    for (name, t) in tensors {
        if name == "__metadata__" {
            continue;
        }
        let offsets = t
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .and_then(|o| match &o[..] {
                [b, e] => Some((b.as_u64()?, e.as_u64()?)),
                _ => None,
            })
            .ok_or_else(|| format!("tensor `{name}` has no `data_offsets` [begin, end]"))?;
        if offsets.0 > offsets.1 {
            return Err(format!(
                "tensor `{name}` ends before it begins ({} > {})",
                offsets.0, offsets.1
            ));
        }
        end = end.max(offsets.1);
    }
    Ok(PREFIX_LEN + header_len + end)
}

/// What the first bytes of a file say, when they may not hold the whole header.
#[derive(Debug, PartialEq, Eq)]
pub enum Header {
    /// The header is in the bytes: a whole file has this size.
    Size(u64),
    /// The header is longer than the bytes given: read `8..8+N` and call [`expected_size`].
    Need(u64),
}

/// Reads the header from the start of a file of `size` bytes (`first` holds its first
/// bytes, as many as were read); the caller reads more when the answer is [`Header::Need`].
pub fn from_start(first: &[u8], size: u64) -> Result<Header, String> {
    let n = header_len(first)?;
    let end = PREFIX_LEN + n;
    if end > size {
        return Err(format!(
            "it is truncated inside its header: {size} bytes, the header alone needs {end}"
        ));
    }
    match first.get(PREFIX_LEN as usize..end as usize) {
        Some(header) => expected_size(n, header).map(Header::Size),
        None => Ok(Header::Need(n)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid safetensors file with one `U8` tensor per entry of `sizes`.
    pub fn file(sizes: &[u64]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        header.insert(
            "__metadata__".into(),
            serde_json::json!({"format": "pt", "data_offsets": [0, 999999]}),
        );
        let mut at = 0;
        for (i, s) in sizes.iter().enumerate() {
            header.insert(
                format!("t{i}"),
                serde_json::json!({"dtype": "U8", "shape": [s], "data_offsets": [at, at + s]}),
            );
            at += s;
        }
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend((0..at).map(|i| i as u8));
        out
    }

    #[test]
    fn a_whole_file_has_the_size_its_header_says() {
        let f = file(&[3, 5]);
        assert_eq!(
            from_start(&f, f.len() as u64),
            Ok(Header::Size(f.len() as u64))
        );
        // `__metadata__` does not count, even when it looks like a tensor.
        let f = file(&[]);
        assert_eq!(
            from_start(&f, f.len() as u64),
            Ok(Header::Size(f.len() as u64))
        );
    }

    #[test]
    fn a_short_read_asks_for_the_header() {
        let f = file(&[3]);
        let n = header_len(&f).unwrap();
        assert_eq!(from_start(&f[..20], f.len() as u64), Ok(Header::Need(n)));
        assert_eq!(expected_size(n, &f[8..8 + n as usize]), Ok(f.len() as u64));
    }

    #[test]
    fn broken_headers_say_why() {
        for (bytes, want) in [
            (vec![1u8, 2, 3], "shorter than the 8-byte"),
            (vec![0u8; 8], "header length is 0"),
            (u64::MAX.to_le_bytes().to_vec(), "header length is"),
            (
                [&4u64.to_le_bytes()[..], b"{no}"].concat(),
                "not valid JSON",
            ),
            (
                [&2u64.to_le_bytes()[..], b"[]"].concat(),
                "not a JSON object",
            ),
            (
                [&9u64.to_le_bytes()[..], br#"{"a":{}} "#].concat(),
                "no `data_offsets`",
            ),
            (
                [
                    &30u64.to_le_bytes()[..],
                    br#"{"a":{"data_offsets":[5,1]}}  "#,
                ]
                .concat(),
                "ends before it begins",
            ),
            (
                [&2000u64.to_le_bytes()[..], b"{}"].concat(),
                "truncated inside its header: 1000 bytes, the header alone needs 2008",
            ),
        ] {
            let got = from_start(&bytes, 1000).unwrap_err();
            assert!(got.contains(want), "{got}");
        }
    }
}
