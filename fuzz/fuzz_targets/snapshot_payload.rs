//! Structure-aware snapshot loading: the input is a snapshot's payload
//! (postcard-encoded `Snapshot`; seeds are real ones); the target wraps it
//! in a header whose length and CRC-32 are right, so every mutation
//! reaches the postcard decoder and, when it decodes, the rebuilding of
//! each shard (`ShardState::from_data`) and its use: a snapshot with a good
//! checksum but inconsistent contents (indices out of range, broken links)
//! must not make the daemon panic or hang.

#![no_main]

use dnsrare_core::engine::snapshot::SnapshotError;
use dnsrare_fuzz::{SNAPSHOT_PATH, snapshot_file, use_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let file = snapshot_file(payload);
    match dnsrare_core::engine::snapshot::decode(std::path::Path::new(SNAPSHOT_PATH), &file) {
        Ok(snapshot) => use_snapshot(snapshot),
        // Refused cleanly: the payload does not decode, or decodes into
        // something that does not hold together.
        Err(SnapshotError::Decode { .. } | SnapshotError::Inconsistent { .. }) => {}
        Err(e) => panic!("a well-formed header is refused: {e}"),
    }
});
