//! `dnsrare_core::ingest::frame_parser_twin::FrameParser::parse` on arbitrary frames, read as
//! every link layer in turn: it never panics, every frame is counted once
//! with one to `MAX_STREAM_MESSAGES` outcomes, and every emitted event
//! carries a checked name that decodes (see `dnsrare_fuzz::parse_checked`).

#![no_main]

use dnsrare_fuzz::{LINKS, parse_checked};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    for link in LINKS {
        parse_checked(link, frame, 1_700_000_000_000_000_000);
    }
});
