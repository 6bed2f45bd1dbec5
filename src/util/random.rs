//! Random identifiers: object UIDs (RFC 4122 version 4) and `generateName` suffixes.
//!
//! Read from `/dev/urandom` rather than a seeded generator: a UID must not repeat across restarts,
//! and the kernel's pool is the one source that guarantees it without a crate.

use std::fs::File;
use std::io::Read;

/// Fills `buf` from the kernel's random pool.
pub fn fill(buf: &mut [u8]) {
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("/dev/urandom is readable on every Linux system");
}

/// A version-4 UUID such as `3b0e53e4-6d5f-474c-96b7-b59dd370eeca`.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Five characters for `metadata.generateName`, from the same alphabet as apimachinery's
/// `utilrand.String` (no vowels, so no words, and no look-alike digits).
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    fill(&mut b);
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_v4_and_distinct() {
        let (a, b) = (super::uuid(), super::uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
