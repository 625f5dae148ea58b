//! The daemon's request parsing (`server.rs`, `answer`): one JSON line
//! into `dnsrare::protocol::Request` with serde_json. Arbitrary bytes
//! either parse or give an error; an accepted request serialises and
//! parses back to itself.

#![no_main]

use dnsrare::protocol::{MAX_REQUEST_BYTES, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    // The daemon refuses longer lines before parsing.
    if line.len() > MAX_REQUEST_BYTES {
        return;
    }
    let Ok(request) = serde_json::from_slice::<Request>(line) else {
        return;
    };
    let json = serde_json::to_vec(&request).expect("a request serialises");
    let back: Request = serde_json::from_slice(&json).expect("our own JSON parses");
    assert_eq!(back, request);
});
