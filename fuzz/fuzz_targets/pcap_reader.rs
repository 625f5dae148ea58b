//! `dnsrare_core::ingest::pcap::read_frames` on arbitrary file contents (pcap and
//! pcapng): it returns, Ok or an error, without panicking or hanging;
//! every frame it delivers is bytes of the file right after its record
//! header, at increasing offsets; its totals match what it delivered; and
//! the frames go through the packet parser's checks as `dnsrare pcap` would.

#![no_main]

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use dnsrare_core::ingest::pcap::{self, FileTotals, PcapError};
use dnsrare_fuzz::parse_checked;
use libfuzzer_sys::fuzz_target;

/// Record header sizes before a frame's bytes: classic pcap record, its
/// "modified" (Kuznetzov, magic 0xa1b2cd34) variant, pcapng simple packet
/// block, pcapng enhanced packet block.
const RECORD_HEADERS: [usize; 4] = [16, 24, 12, 28];

/// One scratch file per fuzzing process, in a directory removed at exit;
/// in memory (`/dev/shm`) where there is one: writing it to a disk makes
/// every execution several times slower.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a temporary directory");
        let path = dir.path().join("input.pcap");
        (dir, path)
    })
    .1
}

fuzz_target!(|file: &[u8]| {
    let path = scratch();
    std::fs::write(path, file).expect("writing the scratch file");
    let mut totals = FileTotals::default();
    let mut delivered = 0u64;
    let mut last_offset: Option<u64> = None;
    let result = pcap::read_frames(path, &mut totals, |frame| {
        delivered += 1;
        assert!(
            last_offset.is_none_or(|last| frame.offset > last),
            "offset {} after {last_offset:?}",
            frame.offset
        );
        last_offset = Some(frame.offset);
        let start = usize::try_from(frame.offset).expect("offset fits");
        assert!(start < file.len(), "offset {start} past the end");
        let len = frame.data.len();
        assert!(
            RECORD_HEADERS
                .iter()
                .any(|h| file.get(start + h..start + h + len) == Some(frame.data)),
            "frame at {start} ({len} bytes) is not the bytes after its record header"
        );
        parse_checked(frame.link, frame.data, frame.time_ns);
    });
    assert_eq!(totals.frames, delivered);
    assert!(totals.bytes <= file.len() as u64);
    match result {
        Ok(()) => {}
        Err(PcapError::Truncated { offset, .. } | PcapError::Corrupt { offset, .. }) => {
            assert!(
                offset <= file.len() as u64,
                "error offset {offset} past the end"
            );
        }
        Err(PcapError::NotACapture { .. }) => assert_eq!(delivered, 0),
        Err(e @ PcapError::Io { .. }) => panic!("reading a plain file failed: {e}"),
    }
});
