//! `dnsrare_core::ingest::answers::AnswerParser::parse` on arbitrary answer
//! sections: the first two bytes are ANCOUNT, the third the TC bit (bit 0)
//! and the copy's cut flag (bit 1), the rest the bytes after the question
//! of `www.example.com`. It never panics, gives the same answer from a
//! fresh parser and from one reused after other input, and keeps within
//! its bounds.

#![no_main]

use dnsrare_core::ingest::answers::{AnswerBytes, AnswerParser, MAX_ADDRESSES, MAX_CHAIN};
use libfuzzer_sys::fuzz_target;

const QNAME: &[u8] = b"\x03www\x07example\x03com\x00";

fuzz_target!(|data: &[u8]| {
    let [hi, lo, flags, rest @ ..] = data else {
        return;
    };
    let ancount = u16::from_be_bytes([*hi, *lo]);
    let bytes = AnswerBytes {
        bytes: rest,
        cut: flags & 2 != 0,
    };
    let tc = flags & 1 != 0;
    let mut fresh = AnswerParser::new();
    let first = fresh
        .parse(QNAME, "www.example.com", ancount, tc, bytes)
        .cloned();
    let mut reused = AnswerParser::new();
    let _ = reused.parse(
        QNAME,
        "www.example.com",
        ancount,
        tc,
        AnswerBytes {
            bytes: &data[..data.len() / 2],
            cut: true,
        },
    );
    let second = reused
        .parse(QNAME, "www.example.com", ancount, tc, bytes)
        .cloned();
    assert_eq!(first, second, "a reused parser answers like a fresh one");
    let Ok(answers) = first else {
        return;
    };
    assert!(answers.records <= ancount);
    assert!(answers.addresses.len() <= MAX_ADDRESSES);
    assert!(answers.chain.len() <= MAX_CHAIN);
    assert_eq!(answers.ttl.is_some(), answers.records > 0);
    if let Some((lo, hi)) = answers.ttl {
        assert!(lo <= hi);
    }
    if answers.records < ancount {
        assert!(
            answers.truncated,
            "fewer records than announced only when truncated"
        );
    }
    for link in &answers.chain {
        assert!(
            !link.contains(' '),
            "chain links never hold a space: {link:?}"
        );
    }
});
