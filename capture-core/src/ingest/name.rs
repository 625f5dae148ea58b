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
    out.clear();
    let mut pos = 0usize;
    loop {
        let Some(&len) = wire.get(pos) else {
            return Err(if pos == 0 {
                ParseError::Truncated
            } else {
                ParseError::BadLabel
            });
        };
        if len == 0 {
            if out.is_empty() {
                out.push('.');
            }
            return Ok(pos + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Err(ParseError::CompressionPointer);
        }
        let len = usize::from(len);
        if len > MAX_LABEL_LEN {
            return Err(ParseError::BadLabel);
        }
        let label = wire.get(pos + 1..pos + 1 + len);
        pos += len + 1;
        if pos >= MAX_NAME_LEN {
            return Err(ParseError::NameTooLong);
        }
        // A label that runs past the end is reported when the next length
        // byte is missing, as in the XDP program.
        let Some(label) = label else {
            return Err(ParseError::BadLabel);
        };
        if !out.is_empty() {
            out.push('.');
        }
        push_label(label, out);
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
    out.clear();
    let text = match text {
        [] | [b'.'] => {
            out.push('.');
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
            out.push('.');
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

/// Appends one label as dotted text: lowercase, with dots, backslashes and
/// unprintable bytes escaped as `\DDD`.
pub(crate) fn push_label(label: &[u8], out: &mut String) {
    for &b in label {
        match b {
            b'A'..=b'Z' => out.push(char::from(b.to_ascii_lowercase())),
            b'.' | b'\\' => escape(b, out),
            0x21..=0x7e => out.push(char::from(b)),
            _ => escape(b, out),
        }
    }
}

fn escape(b: u8, out: &mut String) {
    out.push('\\');
    out.push(char::from(b'0' + b / 100));
    out.push(char::from(b'0' + (b / 10) % 10));
    out.push(char::from(b'0' + b % 10));
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
}
