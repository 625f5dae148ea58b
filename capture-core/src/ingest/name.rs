//! Decoding a QNAME from wire form (length-prefixed labels) into the
//! lowercase dotted text every report uses.
//!
//! Letters are lowercased (DNS names compare case-insensitively, RFC 4343).
//! Bytes that would make the text ambiguous or unprintable — `.` and `\`
//! inside a label, spaces, control and non-ASCII bytes — are written as
//! `\DDD` (three decimal digits), as in zone files. The root name is `.`.
//! Any byte sequence either decodes or gives a [`ParseError`]; nothing
//! panics.

use capture_common::{MAX_LABEL_LEN, MAX_NAME_LEN, ParseError};

/// Decodes the wire-form name at the start of `wire` into `out` (cleared
/// first) and returns the number of wire bytes it used, terminating zero
/// included. The checks and their order match the XDP program's.
pub fn decode_into(wire: &[u8], out: &mut String) -> Result<usize, ParseError> {
    with_bytes(out, |out| decode_bytes(wire, out))
}

fn decode_bytes(wire: &[u8], out: &mut Vec<u8>) -> Result<usize, ParseError> {
    out.clear();
    let (end, odd_lengths) = walk_labels(wire)?;
    if end == 0 {
        out.push(b'.');
        return Ok(1);
    }
    let text = &wire[1..end];
    // The common case, in a few passes over the whole name: no label byte
    // needs escaping (the length bytes inside `text` that are not plain
    // account for every byte that is not), so the labels are copied as
    // they are, each length byte after the first becomes a dot, and the
    // whole is lowercased.
    // (`text` is at most 254 bytes, so a byte counts them.)
    let odd = text
        .iter()
        .fold(0u8, |n, &b| n.wrapping_add(u8::from(!plain(b))));
    if usize::from(odd) == odd_lengths {
        out.extend_from_slice(text);
        let mut dot = usize::from(wire[0]);
        while dot < out.len() {
            out[dot] = b'.';
            dot += usize::from(wire[dot + 1]) + 1;
        }
        out.make_ascii_lowercase();
        return Ok(end + 1);
    }
    let mut pos = 0;
    while pos < end {
        let len = usize::from(wire[pos]);
        if pos > 0 {
            out.push(b'.');
        }
        push_label(&wire[pos + 1..pos + 1 + len], out);
        pos += len + 1;
    }
    Ok(end + 1)
}

/// Checks the labels of the wire-form name at the start of `wire` (the
/// XDP program's checks, in its order) and returns where its terminating
/// zero is, and how many length bytes after the first are not
/// [`plain`] bytes.
fn walk_labels(wire: &[u8]) -> Result<(usize, usize), ParseError> {
    let mut pos = 0usize;
    let mut odd_lengths = 0;
    loop {
        let Some(&len) = wire.get(pos) else {
            return Err(if pos == 0 {
                ParseError::Truncated
            } else {
                ParseError::BadLabel
            });
        };
        if len == 0 {
            return Ok((pos, odd_lengths));
        }
        if len & 0xc0 == 0xc0 {
            return Err(ParseError::CompressionPointer);
        }
        if pos > 0 && !plain(len) {
            odd_lengths += 1;
        }
        let len = usize::from(len);
        if len > MAX_LABEL_LEN {
            return Err(ParseError::BadLabel);
        }
        let fits = pos + 1 + len <= wire.len();
        pos += len + 1;
        if pos >= MAX_NAME_LEN {
            return Err(ParseError::NameTooLong);
        }
        // A label that runs past the end is a bad label, as in the XDP
        // program.
        if !fits {
            return Err(ParseError::BadLabel);
        }
    }
}

/// Decodes a whole wire-form name into a new string.
pub fn decode(wire: &[u8]) -> Result<String, ParseError> {
    let mut out = String::with_capacity(wire.len());
    decode_into(wire, &mut out)?;
    Ok(out)
}

/// Renders a name that a log wrote as text — labels joined by `.`, the
/// bytes already unescaped (see [`unescape_hex`]) — the way
/// [`decode_into`] renders the same name from the wire, into `out`
/// (cleared first). A trailing dot is dropped; the empty name and `.` are
/// the root. The wire-form limits apply: an empty label is
/// [`ParseError::BadLabel`], a label over 63 bytes too, a name over 255
/// wire bytes [`ParseError::NameTooLong`]. A `.` inside a label cannot be
/// told from a separator in text, so such names come out with one more
/// label than on the wire.
pub fn render_text_into(text: &[u8], out: &mut String) -> Result<(), ParseError> {
    with_bytes(out, |out| render_text_bytes(text, out))
}

fn render_text_bytes(text: &[u8], out: &mut Vec<u8>) -> Result<(), ParseError> {
    out.clear();
    let text = match text {
        [] | [b'.'] => {
            out.push(b'.');
            return Ok(());
        }
        [rest @ .., b'.'] => rest,
        all => all,
    };
    // Wire length: one length byte per label plus the terminating zero.
    let mut wire_len = 1usize;
    for label in text.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(ParseError::BadLabel);
        }
        wire_len += label.len() + 1;
        if wire_len > MAX_NAME_LEN {
            return Err(ParseError::NameTooLong);
        }
        if !out.is_empty() {
            out.push(b'.');
        }
        push_label(label, out);
    }
    Ok(())
}

/// Undoes the `\xNN` escapes Zeek (and Suricata) write for bytes that are
/// not printable, and `\\` for a backslash, into `out` (cleared first).
/// Any other backslash is kept as it is.
pub fn unescape_hex(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'\\' {
            match text.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    let hex = text.get(i + 2..i + 4).and_then(|h| {
                        let h = std::str::from_utf8(h).ok()?;
                        u8::from_str_radix(h, 16).ok()
                    });
                    if let Some(v) = hex {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
}

/// Runs `write` on the bytes of `out`, which must leave them ASCII (every
/// writer here does: labels are escaped to printable ASCII). Working on
/// bytes and checking once per name is what keeps decoding cheap.
fn with_bytes<R>(out: &mut String, write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut bytes = std::mem::take(out).into_bytes();
    let result = write(&mut bytes);
    *out = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    result
}

/// Appends one label to `out` as dotted text, like [`push_label`].
pub(crate) fn push_label_text(label: &[u8], out: &mut String) {
    match std::str::from_utf8(label) {
        Ok(text) if all_plain(label) => {
            let start = out.len();
            out.push_str(text);
            out[start..].make_ascii_lowercase();
        }
        _ => with_bytes(out, |out| push_label(label, out)),
    }
}

/// Whether a byte is written as it is (lowercased): printable ASCII other
/// than the dot and the backslash.
const fn plain(b: u8) -> bool {
    // Branch-free, so that the loops over whole names vectorise.
    (b.wrapping_sub(0x21) < 0x5e) & (b != b'.') & (b != b'\\')
}

/// Whether every byte of `bytes` is [`plain`] (one pass with no early
/// exit, so it vectorises).
fn all_plain(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & plain(b))
}

/// Appends one label as dotted text: lowercase, with dots, backslashes and
/// unprintable bytes escaped as `\DDD`.
fn push_label(label: &[u8], out: &mut Vec<u8>) {
    // Nearly every label has nothing to escape: one pass to check, one to
    // copy and lowercase.
    if all_plain(label) {
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        return;
    }
    for &b in label {
        if plain(b) {
            out.push(b.to_ascii_lowercase());
        } else {
            out.extend_from_slice(&[b'\\', b'0' + b / 100, b'0' + (b / 10) % 10, b'0' + b % 10]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_lowercases() {
        assert_eq!(
            decode(b"\x03WWW\x07Example\x03com\x00"),
            Ok("www.example.com".into())
        );
    }

    #[test]
    fn root_name_is_a_dot() {
        assert_eq!(decode(b"\x00"), Ok(".".into()));
    }

    #[test]
    fn escapes_dots_and_odd_bytes() {
        assert_eq!(
            decode(b"\x03a.b\x02\x00\xff\x00"),
            Ok("a\\046b.\\000\\255".into())
        );
    }

    #[test]
    fn reports_each_defect() {
        assert_eq!(decode(b""), Err(ParseError::Truncated));
        assert_eq!(decode(b"\x05abc"), Err(ParseError::BadLabel));
        assert_eq!(decode(b"\x03abc"), Err(ParseError::BadLabel));
        assert_eq!(decode(b"\x40abc"), Err(ParseError::BadLabel));
        assert_eq!(decode(b"\xc0\x0c"), Err(ParseError::CompressionPointer));
        assert_eq!(
            decode(b"\x01a\xc0\x0c"),
            Err(ParseError::CompressionPointer)
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert_eq!(decode(&long), Err(ParseError::NameTooLong));
    }

    #[test]
    fn text_names_render_as_from_the_wire() {
        let mut out = String::new();
        let mut raw = Vec::new();
        unescape_hex(br"WWW.Ex\x00am\x5cple.com.", &mut raw);
        assert_eq!(raw, b"WWW.Ex\x00am\\ple.com.");
        render_text_into(&raw, &mut out).expect("renders");
        let wire = decode(b"\x03WWW\x09Ex\x00am\\ple\x03com\x00").expect("decodes");
        assert_eq!(out, wire);
        assert_eq!(out, "www.ex\\000am\\092ple.com");
        for root in [&b""[..], b"."] {
            render_text_into(root, &mut out).expect("root");
            assert_eq!(out, ".");
        }
        assert_eq!(
            render_text_into(b"a..b", &mut out),
            Err(ParseError::BadLabel)
        );
        assert_eq!(
            render_text_into(&[b'x'; 64], &mut out),
            Err(ParseError::BadLabel)
        );
        let long = [[b'a'; 63].as_slice(); 5].join(&b'.');
        assert_eq!(
            render_text_into(&long, &mut out),
            Err(ParseError::NameTooLong)
        );
    }

    #[test]
    fn unescaping_keeps_what_is_not_an_escape() {
        let mut raw = Vec::new();
        for (text, want) in [
            (&br"a\\b"[..], &b"a\\b"[..]),
            (br"\x4", br"\x4"),
            (br"\xzz", br"\xzz"),
            (br"\q", br"\q"),
            (br"\", br"\"),
            (br"\x41\x42", b"AB"),
        ] {
            unescape_hex(text, &mut raw);
            assert_eq!(raw, want, "{text:?}");
        }
    }

    #[test]
    fn longest_valid_name_decodes() {
        // 3 labels of 63 and one of 62: 64 * 3 + 63 + 1 = 256 is too long;
        // one of 61 gives exactly 255.
        let mut wire = Vec::new();
        for len in [63u8, 63, 63, 61] {
            wire.push(len);
            wire.extend(std::iter::repeat_n(b'x', usize::from(len)));
        }
        wire.push(0);
        assert_eq!(wire.len(), MAX_NAME_LEN);
        assert!(decode(&wire).is_ok());
        wire.insert(1, b'x');
        wire[0] = 64;
        assert_eq!(decode(&wire), Err(ParseError::BadLabel));
    }

    /// The straightforward decoding, label by label and byte by byte,
    /// that the fast path must agree with.
    fn reference(wire: &[u8]) -> Result<(String, usize), ParseError> {
        let (end, _) = walk_labels(wire)?;
        let mut out = String::new();
        let mut pos = 0;
        while pos < end {
            let len = usize::from(wire[pos]);
            if pos > 0 {
                out.push('.');
            }
            for &b in &wire[pos + 1..pos + 1 + len] {
                if plain(b) {
                    out.push(char::from(b.to_ascii_lowercase()));
                } else {
                    out.push_str(&format!("\\{b:03}"));
                }
            }
            pos += len + 1;
        }
        if out.is_empty() {
            out.push('.');
        }
        Ok((out, end + 1))
    }

    #[test]
    fn whole_name_decoding_agrees_with_label_by_label() {
        // Labels of every length class (length bytes below and above 0x21,
        // and 0x2e, a dot), of plain letters, upper case, and odd bytes.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut wire = Vec::new();
            for _ in 0..(next() % 6) {
                let len = [1, 3, 32, 33, 46, 63][(next() % 6) as usize];
                wire.push(len);
                for _ in 0..len {
                    let b = match next() % 10 {
                        0 => (next() % 256) as u8,
                        1 => b'A' + (next() % 26) as u8,
                        2 => [b'.', b'\\', b' ', 0x7f][(next() % 4) as usize],
                        _ => b'a' + (next() % 26) as u8,
                    };
                    wire.push(b);
                }
            }
            wire.push(0);
            let mut out = String::new();
            let got = decode_into(&wire, &mut out).map(|used| (out, used));
            assert_eq!(got, reference(&wire), "{wire:?}");
        }
    }
}
