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

fn push_label(label: &[u8], out: &mut String) {
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
