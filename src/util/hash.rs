//! A content hash for cache validators (`?hash=` in OpenAPI URLs, discovery `ETag`s).
//!
//! kube-apiserver uses SHA-512 there; a client only compares the values, so FNV-1a (64 bits,
//! a few lines, no crate) does the same job: it changes whenever the document does.

/// FNV-1a of `bytes`, as 16 upper-case hex digits.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        // The FNV-1a test vectors for "" and "a".
        assert_eq!(super::fnv1a_hex(b""), "CBF29CE484222325");
        assert_eq!(super::fnv1a_hex(b"a"), "AF63DC4C8601EC8C");
    }
}
