//! `dnsrare_core::engine::snapshot::decode` on arbitrary file contents: it
//! never panics; a file that decodes is loaded and used as the daemon would
//! after a restart (`dnsrare_fuzz::use_snapshot`). Random bytes rarely pass
//! the checksum: `snapshot_payload` fixes the header to go deeper.

#![no_main]

use dnsrare_fuzz::load_snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|file: &[u8]| {
    load_snapshot(file);
});
