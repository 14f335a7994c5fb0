//! The vault (密钥与加密): seals the fields the classification table marks encrypted with
//! AES-256-GCM under keys that never enter the database, and computes the keyed hashes (blind
//! indexes) through which a sealed value is found without decrypting any row.
//!
//! Keys come from a key file (or the `WUZHI_ARCHIVE_KEYS` environment variable holding the
//! same text), one line each: `index <64 hex>` for the blind-index key and `key <id> <64 hex>`
//! for each sealing key; the highest id seals new values, the older ones still open what they
//! sealed until `wuzhi archives rotate-key` has re-sealed it. A sealed value carries its key
//! id, and the field's name is bound in as associated data, so a value moved to another
//! field (or another table) no longer opens.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// The first byte of every sealed value: the format's version.
const FORMAT: u8 = 1;
const NONCE: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("key file: {0}")]
    File(String),
    #[error("a sealed value names key {0}, which the key file does not hold")]
    UnknownKey(u32),
    #[error("a sealed value does not open (damaged, or sealed for another field)")]
    Damaged,
}

pub struct Vault {
    /// Raw keys by id, kept to write the file back when a key is added.
    raw: BTreeMap<u32, [u8; 32]>,
    ciphers: BTreeMap<u32, Aes256Gcm>,
    index: [u8; 32],
}

/// Never prints a key.
impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault {{ keys: {:?}, current: {} }}", self.raw.keys().collect::<Vec<_>>(), self.current())
    }
}

fn random32() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    k
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

impl Vault {
    fn from_parts(raw: BTreeMap<u32, [u8; 32]>, index: [u8; 32]) -> Vault {
        let ciphers = raw.iter().map(|(id, k)| (*id, Aes256Gcm::new(k.into()))).collect();
        Vault { raw, ciphers, index }
    }

    /// Fresh random keys (key 1): for a new deployment's key file, and for tests.
    pub fn generate() -> Vault {
        Vault::from_parts(BTreeMap::from([(1, random32())]), random32())
    }

    /// Parses a key file's text.
    pub fn parse(text: &str) -> Result<Vault, VaultError> {
        let bad = |n: usize, why: &str| VaultError::File(format!("line {n}: {why}"));
        let mut raw = BTreeMap::new();
        let mut index = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["index", k] => index = Some(hex32(k).ok_or_else(|| bad(n, "the index key is not 64 hex digits"))?),
                ["key", id, k] => {
                    let id: u32 =
                        id.parse().ok().filter(|i| *i > 0).ok_or_else(|| bad(n, "a key id is a number from 1"))?;
                    let k = hex32(k).ok_or_else(|| bad(n, "a key is not 64 hex digits"))?;
                    if raw.insert(id, k).is_some() {
                        return Err(bad(n, "the key id is there twice"));
                    }
                }
                _ => return Err(bad(n, "is neither `index <hex>` nor `key <id> <hex>`")),
            }
        }
        let index = index.ok_or_else(|| VaultError::File("no `index` line".into()))?;
        if raw.is_empty() {
            return Err(VaultError::File("no `key` line".into()));
        }
        Ok(Vault::from_parts(raw, index))
    }

    /// The key file's text.
    pub fn to_text(&self) -> String {
        let hex = |k: &[u8; 32]| wuzhi_domain::audit::hex(k);
        let mut s = String::from(
            "# wuzhi archive keys. Keep this file apart from the database and its backups, readable\n# only by the server (mode 0600). Losing it loses every sealed field.\n",
        );
        s.push_str(&format!("index {}\n", hex(&self.index)));
        for (id, k) in &self.raw {
            s.push_str(&format!("key {id} {}\n", hex(k)));
        }
        s
    }

    /// The keys from `WUZHI_ARCHIVE_KEYS` when it is set, else from `path`, which is created
    /// (mode 0600) with fresh keys when it does not exist.
    pub fn load(env: Option<&str>, path: &Path) -> Result<Vault, VaultError> {
        if let Some(text) = env.filter(|t| !t.trim().is_empty()) {
            return Vault::parse(text);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Vault::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let v = Vault::generate();
                v.write(path)?;
                tracing::warn!(path = %path.display(), "created a new archive key file; keep it safe and apart from the database");
                Ok(v)
            }
            Err(e) => Err(VaultError::File(format!("{}: {e}", path.display()))),
        }
    }

    /// Writes the key file (through a temporary file and a rename, so it is never half written).
    pub fn write(&self, path: &Path) -> Result<(), VaultError> {
        let err = |e: std::io::Error| VaultError::File(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o.open(&tmp).map_err(err)?;
            f.write_all(self.to_text().as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// The same keys and a new one, which seals from now on.
    pub fn with_new_key(&self) -> Vault {
        let mut raw = self.raw.clone();
        raw.insert(self.current() + 1, random32());
        Vault::from_parts(raw, self.index)
    }

    /// The id of the key that seals new values.
    pub fn current(&self) -> u32 {
        *self.raw.keys().next_back().expect("a vault has a key")
    }

    /// Seals `plain` for `field` under the current key: format, key id, nonce, ciphertext.
    pub fn seal(&self, field: &str, plain: &[u8]) -> Vec<u8> {
        let id = self.current();
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self.ciphers[&id]
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: field.as_bytes() })
            .expect("AES-GCM seals any length the archives hold");
        let mut out = Vec::with_capacity(1 + 4 + NONCE + ct.len());
        out.push(FORMAT);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn seal_str(&self, field: &str, plain: &str) -> Vec<u8> {
        self.seal(field, plain.as_bytes())
    }

    /// The key id a sealed value names.
    pub fn key_of(sealed: &[u8]) -> Option<u32> {
        (sealed.len() > 5 && sealed[0] == FORMAT)
            .then(|| u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]))
    }

    pub fn open(&self, field: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let id = Vault::key_of(sealed).ok_or(VaultError::Damaged)?;
        let cipher = self.ciphers.get(&id).ok_or(VaultError::UnknownKey(id))?;
        if sealed.len() < 5 + NONCE + 16 {
            return Err(VaultError::Damaged);
        }
        let (nonce, ct) = sealed[5..].split_at(NONCE);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: field.as_bytes() })
            .map_err(|_| VaultError::Damaged)
    }

    pub fn open_str(&self, field: &str, sealed: &[u8]) -> Result<String, VaultError> {
        String::from_utf8(self.open(field, sealed)?).map_err(|_| VaultError::Damaged)
    }

    /// The blind index of `value` for `field`: HMAC-SHA256 under the index key, 128 bits in
    /// hex. Equal values of one field give equal hashes; nothing else can be learnt from it
    /// without the key.
    pub fn blind(&self, field: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index).expect("HMAC takes any key length");
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        wuzhi_domain::audit::hex(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_for_their_field_and_keys_rotate() {
        let v = Vault::generate();
        let sealed = v.seal_str("person.id_number", "11010519491231002X");
        assert_eq!(Vault::key_of(&sealed), Some(1));
        assert_eq!(v.open_str("person.id_number", &sealed).unwrap(), "11010519491231002X");
        assert!(matches!(v.open("person.phone", &sealed), Err(VaultError::Damaged)));
        // Two seals of one value differ (a fresh nonce each); their blind index does not.
        assert_ne!(sealed, v.seal_str("person.id_number", "11010519491231002X"));
        assert_eq!(v.blind("id", "x"), v.blind("id", "x"));
        assert_ne!(v.blind("id", "x"), v.blind("phone", "x"));
        let w = Vault::parse(&v.with_new_key().to_text()).unwrap();
        assert_eq!(w.current(), 2);
        assert_eq!(w.open_str("person.id_number", &sealed).unwrap(), "11010519491231002X");
        assert_eq!(Vault::key_of(&w.seal_str("f", "x")), Some(2));
        assert_eq!(w.blind("id", "x"), v.blind("id", "x"), "the index key stays, so lookups still work");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(v.open("person.id_number", &tampered).is_err());
        assert!(format!("{v:?}").len() < 60, "Debug shows no key");
    }

    #[test]
    fn key_files_name_their_faults() {
        let e = |t: &str| Vault::parse(t).unwrap_err().to_string();
        assert_eq!(e("key 1 abc"), "key file: line 1: a key is not 64 hex digits");
        assert_eq!(e(&format!("index {}", "0".repeat(64))), "key file: no `key` line");
        assert_eq!(e("hello"), "key file: line 1: is neither `index <hex>` nor `key <id> <hex>`");
    }
}
