//! `dnsrare_core::ingest::name::decode` on arbitrary bytes: it never panics, gives the
//! same answer twice, and a decoded name is lowercase printable ASCII that
//! encodes back to exactly the wire bytes it was decoded from (letters
//! lowercased), whatever follows the terminating zero.

#![no_main]

use capture_common::{MAX_NAME_LEN, ParseError};
use dnsrare_core::ingest::name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|wire: &[u8]| {
    let first = name::decode(wire);
    assert_eq!(first, name::decode(wire), "decoding is deterministic");
    let mut reused = String::from("left over from an earlier name");
    let used = name::decode_into(wire, &mut reused);
    assert_eq!(
        first.as_ref().map_err(|e| *e),
        used.as_ref().map(|_| &reused).map_err(|e| *e)
    );
    assert_eq!(
        first == Err(ParseError::Truncated),
        wire.is_empty(),
        "only an empty input is truncated"
    );
    let (Ok(text), Ok(used)) = (first, used) else {
        return;
    };
    assert!((1..=MAX_NAME_LEN).contains(&used), "used {used}");
    assert!(used <= wire.len());
    assert_eq!(wire[used - 1], 0, "a name ends at its zero byte");
    assert!(!text.is_empty());
    assert!(
        text.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b.is_ascii_uppercase()),
        "unprintable or uppercase byte in {text:?}"
    );
    assert_eq!(
        name::decode(&wire[..used]).as_deref(),
        Ok(text.as_str()),
        "bytes after the name do not matter"
    );
    let lowered: Vec<u8> = wire[..used].to_ascii_lowercase();
    assert_eq!(encode(&text), lowered, "{text:?} does not encode back");
});

/// Encodes decoded text back into wire form: labels split at `.`, each
/// `\DDD` turned back into its byte.
fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    if text != "." {
        for label in text.split('.') {
            let bytes = label.as_bytes();
            let start = out.len();
            out.push(0);
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' {
                    let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).expect("ASCII digits");
                    out.push(digits.parse().expect("an escaped byte is \\DDD"));
                    i += 4;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            out[start] = (out.len() - start - 1) as u8;
        }
    }
    out.push(0);
    out
}
