//! The audit hash chain (审计链): each entry commits to the one before it, so an edited,
//! inserted or deleted entry breaks the chain at a place [`verify`] can name.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub at_ms: i64,
    /// The person who acted; `None` for the system itself (imports at start-up, sweeps).
    pub actor_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Compact JSON with what changed or was read.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash an entry must carry: SHA-256 over every field, each length-prefixed so no two
/// different entries can serialise the same.
pub fn entry_hash(
    seq: i64,
    at_ms: i64,
    actor_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let actor = actor_id.map(|a| a.to_string()).unwrap_or_default();
    for field in [&seq.to_string(), &at_ms.to_string(), &actor, action, object_type, object_id, detail, prev_hash] {
        h.update(field.len().to_string().as_bytes());
        h.update(b":");
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("entry {seq} was edited: its content no longer matches its hash")]
    Edited { seq: i64 },
    #[error("entry {expected} is missing (deleted): the next entry found is {found}")]
    Missing { expected: i64, found: i64 },
    #[error("entry {seq} does not follow its predecessor: an entry was inserted or deleted before it")]
    Relinked { seq: i64 },
    #[error("the chain ends at entry {last} but its head says {head}: entries were {}", if last > head { "inserted after the head" } else { "deleted from the end" })]
    Head { last: i64, head: i64 },
    #[error("the head hash does not match entry {seq}")]
    HeadHash { seq: i64 },
}

/// Checks a chain entry by entry, so a long log can be read in pages.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected: i64,
    prev: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier { expected: 1, prev: GENESIS.to_owned() }
    }
}

impl Verifier {
    /// Checks the next entry in `seq` order.
    pub fn push(&mut self, e: &Entry) -> Result<(), Break> {
        if e.seq != self.expected {
            return Err(Break::Missing { expected: self.expected, found: e.seq });
        }
        let recomputed =
            entry_hash(e.seq, e.at_ms, e.actor_id, &e.action, &e.object_type, &e.object_id, &e.detail, &e.prev_hash);
        if recomputed != e.hash {
            return Err(Break::Edited { seq: e.seq });
        }
        if e.prev_hash != self.prev {
            return Err(Break::Relinked { seq: e.seq });
        }
        self.prev = e.hash.clone();
        self.expected += 1;
        Ok(())
    }

    /// Checks the end of the chain against its head (last seq and hash, `(0, GENESIS)` when
    /// empty). Returns how many entries were checked.
    pub fn finish(self, head: (i64, &str)) -> Result<i64, Break> {
        let last = self.expected - 1;
        if last != head.0 {
            return Err(Break::Head { last, head: head.0 });
        }
        if self.prev != head.1 {
            return Err(Break::HeadHash { seq: last });
        }
        Ok(last)
    }
}

/// Checks a whole chain, in `seq` order, against its head.
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a Entry>, head: (i64, &str)) -> Result<i64, Break> {
    let mut v = Verifier::default();
    for e in entries {
        v.push(e)?;
    }
    v.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=n {
            let detail = format!("{{\"n\":{seq}}}");
            let hash = entry_hash(seq, 1000 + seq, Some(1), "read", "person", "5", &detail, &prev);
            out.push(Entry {
                seq,
                at_ms: 1000 + seq,
                actor_id: Some(1),
                action: "read".into(),
                object_type: "person".into(),
                object_id: "5".into(),
                detail,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        out
    }

    fn head(c: &[Entry]) -> (i64, String) {
        c.last().map(|e| (e.seq, e.hash.clone())).unwrap_or((0, GENESIS.into()))
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let (s, h) = head(&c);
        assert_eq!(verify(&c, (s, &h)), Ok(5));
        assert_eq!(verify(&[], (0, GENESIS)), Ok(0));
    }

    #[test]
    fn edits_deletions_and_insertions_are_named() {
        let c = chain(5);
        let (s, h) = head(&c);

        let mut edited = c.clone();
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(verify(&edited, (s, &h)), Err(Break::Edited { seq: 3 }));

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted, (s, &h)), Err(Break::Missing { expected: 2, found: 3 }));

        let mut tail_cut = c.clone();
        tail_cut.pop();
        assert_eq!(verify(&tail_cut, (s, &h)), Err(Break::Head { last: 4, head: 5 }));

        // An entry forged at position 3 with a self-consistent hash but the wrong predecessor.
        let mut forged = c.clone();
        let e = &mut forged[2];
        e.prev_hash = GENESIS.into();
        e.hash =
            entry_hash(e.seq, e.at_ms, e.actor_id, &e.action, &e.object_type, &e.object_id, &e.detail, &e.prev_hash);
        assert_eq!(verify(&forged, (s, &h)), Err(Break::Relinked { seq: 3 }));
    }
}
