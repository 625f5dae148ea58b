//! Storage that grows in fixed chunks: records addressed by `u32` index and
//! a byte arena of length-prefixed strings. Growing never copies what is
//! stored (no reallocation spikes on a vector of a million entries), the
//! slack is at most one chunk, and the budget can be checked before each
//! chunk is allocated.

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{SeqAccess, Visitor},
    ser::SerializeSeq,
};

/// Records per chunk: 2^10.
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// A vector of records in chunks of 1024.
#[derive(Clone, Debug)]
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// Records held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the next push allocates a chunk.
    pub fn is_full(&self) -> bool {
        self.len == self.chunks.len() * CHUNK
    }

    /// Bytes one more chunk takes.
    pub fn chunk_bytes() -> usize {
        CHUNK * size_of::<T>()
    }

    /// Appends `value` and returns its index.
    pub fn push(&mut self, value: T) -> u32 {
        if self.is_full() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let index = self.len;
        self.chunks[index >> CHUNK_BITS].push(value);
        self.len += 1;
        index as u32
    }

    /// The record at `index` (which must be below [`Chunked::len`]).
    pub fn get(&self, index: u32) -> &T {
        let i = index as usize;
        &self.chunks[i >> CHUNK_BITS][i & MASK]
    }

    /// The record at `index`, mutably.
    pub fn get_mut(&mut self, index: u32) -> &mut T {
        let i = index as usize;
        &mut self.chunks[i >> CHUNK_BITS][i & MASK]
    }

    /// Every record in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Bytes allocated.
    pub fn bytes(&self) -> usize {
        self.chunks.len() * Self::chunk_bytes() + self.chunks.capacity() * size_of::<Vec<T>>()
    }
}

impl<T: Serialize> Serialize for Chunked<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len))?;
        for v in self.iter() {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Chunked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Elements<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Elements<T> {
            type Value = Chunked<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of records")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Chunked::default();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Elements(std::marker::PhantomData))
    }
}

/// Bytes per arena chunk.
const ARENA_CHUNK: usize = 64 * 1024;

/// Length-prefixed strings (2-byte length) in 64 KiB chunks; a string
/// never straddles two chunks, so it is one slice. Addressed by `u32`
/// offsets: 64 Ki chunks, 4 GiB in all.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Arena {
    chunks: Vec<Vec<u8>>,
}

impl Arena {
    /// Whether storing `len` more bytes allocates a chunk.
    pub fn needs_chunk(&self, len: usize) -> bool {
        self.chunks
            .last()
            .is_none_or(|c| c.len() + 2 + len > ARENA_CHUNK)
    }

    /// Bytes one more chunk takes.
    pub fn chunk_bytes() -> usize {
        ARENA_CHUNK
    }

    /// Stores `bytes` (at most 65535 of them; longer is cut) and returns
    /// its offset.
    pub fn store(&mut self, bytes: &[u8]) -> u32 {
        let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
        if self.needs_chunk(bytes.len()) {
            self.chunks
                .push(Vec::with_capacity(ARENA_CHUNK.max(bytes.len() + 2)));
        }
        let chunk_index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_index];
        let offset = chunk_index * ARENA_CHUNK + chunk.len();
        chunk.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        chunk.extend_from_slice(bytes);
        offset as u32
    }

    /// The string stored at `offset` (one returned by [`Arena::store`]).
    pub fn get(&self, offset: u32) -> &[u8] {
        self.checked_get(offset).unwrap_or_default()
    }

    /// The string at `offset`, or `None` if no string can start there
    /// (offsets read from a snapshot are checked with this).
    pub fn checked_get(&self, offset: u32) -> Option<&[u8]> {
        let offset = offset as usize;
        let chunk = self.chunks.get(offset / ARENA_CHUNK)?;
        let at = offset % ARENA_CHUNK;
        let len = usize::from(u16::from_le_bytes([*chunk.get(at)?, *chunk.get(at + 1)?]));
        chunk.get(at + 2..at + 2 + len)
    }

    /// Bytes allocated.
    pub fn bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * size_of::<Vec<u8>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_indexes_across_chunks_and_round_trips() {
        let mut c = Chunked::default();
        for i in 0..3000u32 {
            assert_eq!(c.push(i * 2), i);
        }
        assert_eq!(*c.get(2999), 5998);
        *c.get_mut(1024) = 7;
        assert_eq!(*c.get(1024), 7);
        assert_eq!(c.iter().count(), 3000);
        assert!(c.bytes() >= 3 * Chunked::<u32>::chunk_bytes());
        let bytes = postcard::to_allocvec(&c).expect("encode");
        let back: Chunked<u32> = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(
            back.iter().copied().collect::<Vec<_>>(),
            c.iter().copied().collect::<Vec<_>>()
        );
    }

    #[test]
    fn arena_keeps_strings_whole() {
        let mut a = Arena::default();
        let mut offsets = Vec::new();
        for i in 0..20_000 {
            offsets.push(a.store(format!("name{i}.example.com").as_bytes()));
        }
        for (i, o) in offsets.iter().enumerate() {
            assert_eq!(a.get(*o), format!("name{i}.example.com").as_bytes());
        }
        let long = vec![b'x'; 70_000];
        let o = a.store(&long);
        assert_eq!(a.get(o).len(), usize::from(u16::MAX));
    }
}
