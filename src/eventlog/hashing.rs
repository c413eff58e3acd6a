//! Hash while reading: the SHA-256 of a whole EVTX file computed from the bytes the reader reads
//! anyway, so that each file is read once (the inventory does not hash EVTX inputs up front).
//!
//! [`HashingReader`] wraps the byte source and hashes bytes in file order as they pass: a read
//! that starts at or before the hashed prefix extends it; a read further on (the reader seeks
//! forward, e.g. to peek at chunk headers) is not hashed yet. [`HashingReader::finish`] hashes
//! whatever the reader never reached or skipped (the rest of a file whose reading stopped early:
//! time limit, error, a wrapped log read from its middle) by reading it once more, at disk speed.

use std::io::{self, Read, Seek, SeekFrom};

use crate::capture::lower_hex;
use sha2::{Digest, Sha256};

/// A `Read + Seek` wrapper that hashes the bytes it passes on, in file order.
pub(crate) struct HashingReader<R> {
    inner: R,
    /// The position of `inner`, as far as this wrapper knows it (`None` after a failed seek).
    pos: Option<u64>,
    /// Bytes `0..hashed` have been fed to `hasher`.
    hashed: u64,
    /// `None`: a plain pass-through (the input was hashed already).
    hasher: Option<Sha256>,
}

impl<R: Read + Seek> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            pos: Some(0),
            hashed: 0,
            hasher: Some(Sha256::new()),
        }
    }

    /// A wrapper that hashes nothing ([`Self::finish`] returns `None`).
    pub fn pass_through(inner: R) -> Self {
        HashingReader {
            hasher: None,
            ..HashingReader::new(inner)
        }
    }

    /// Hash the bytes not hashed yet (from the end of the hashed prefix to the end of the file)
    /// and return the file's SHA-256 in lower-case hex. `None` when the file cannot be read to
    /// its end.
    pub fn finish(mut self) -> Option<String> {
        let mut hasher = self.hasher.take()?;
        self.inner.seek(SeekFrom::Start(self.hashed)).ok()?;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match self.inner.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => hasher.update(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(lower_hex(&hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.pos = None;
                return Err(e);
            }
        };
        let Some(hasher) = &mut self.hasher else {
            return Ok(n);
        };
        if let Some(pos) = self.pos {
            let end = pos + n as u64;
            if pos <= self.hashed && end > self.hashed {
                // `hashed - pos < n`, so the index is in range.
                let from = (self.hashed - pos) as usize;
                hasher.update(&buf[from..n]);
                self.hashed = end;
            }
            self.pos = Some(end);
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for HashingReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self.inner.seek(to) {
            Ok(p) => {
                self.pos = Some(p);
                Ok(p)
            }
            Err(e) => {
                self.pos = None;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sha(bytes: &[u8]) -> String {
        lower_hex(&Sha256::digest(bytes))
    }

    #[test]
    fn out_of_order_reads_and_forward_seeks_hash_the_file_in_order() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = HashingReader::new(Cursor::new(&data[..]));
        let mut b = [0u8; 1000];
        // A peek far ahead, a read from the start, a re-read, a jump forward.
        r.seek(SeekFrom::Start(200_000)).unwrap();
        r.read_exact(&mut b).unwrap();
        r.seek(SeekFrom::Start(0)).unwrap();
        r.read_exact(&mut b).unwrap();
        r.seek(SeekFrom::Start(500)).unwrap();
        r.read_exact(&mut b).unwrap();
        r.seek(SeekFrom::Start(100_000)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(r.hashed, 1500);
        assert_eq!(r.finish().as_deref(), Some(sha(&data).as_str()));
    }

    #[test]
    fn pass_through_hashes_nothing() {
        let mut r = HashingReader::pass_through(Cursor::new(vec![1u8; 100]));
        let mut b = [0u8; 100];
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [1u8; 100]);
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn an_empty_source_has_the_empty_hash() {
        let r = HashingReader::new(Cursor::new(Vec::new()));
        assert_eq!(
            r.finish().as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }
}
