//! The daemon's request parsing (`dnsrare_core::protocol::parse_request`, as
//! `server.rs` calls it): one JSON line into a `Request`, bounded in length
//! and with values in range. Arbitrary bytes either parse or give an error;
//! an accepted request serialises and parses back to itself.

#![no_main]

use dnsrare_core::protocol::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let Ok(request) = parse_request(line) else {
        return;
    };
    let json = serde_json::to_vec(&request).expect("a request serialises");
    let back = parse_request(&json).expect("our own JSON is accepted");
    assert_eq!(back, request);
});
