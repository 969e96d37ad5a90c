//! The sorted index of one bucket's live objects, and a listing page read from it as a
//! range scan: O(page + log n) however large the bucket, and a delimiter roll-up skips a
//! whole common prefix with one seek instead of walking its keys.

use std::collections::BTreeMap;
use std::ops::Bound;

use jetgate_protocol::messages::ObjectEntry;

use super::ObjectMeta;

/// One page of a listing over keys in lexicographic (UTF-8 byte) order, with prefix,
/// delimiter roll-up into common prefixes, a start-after key and max-keys.
#[derive(Debug, Default)]
pub struct Page {
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned: where the next page starts after.
    pub last: Option<String>,
}

/// What a listing returns of an object, beside its key.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    size: u64,
    etag: ETag,
    last_modified_ms: i64,
}

/// An ETag held in 24 bytes without a heap allocation when it is what nearly every
/// ETag is, an MD5 in lower-case hex with maybe `-<parts>` (a million of them as
/// strings cost 72 MB more); any other text is kept as it came.
#[derive(Debug, Clone, PartialEq)]
enum ETag {
    Md5 {
        digest: [u8; 16],
        parts: Option<u32>,
    },
    Text(Box<str>),
}

impl ETag {
    fn new(text: &str) -> ETag {
        let (hexed, parts) = match text.split_once('-') {
            Some((h, n)) => match n.parse::<u32>() {
                // Only the canonical spelling: the text must come back byte for byte.
                Ok(p) if p.to_string() == n => (h, Some(p)),
                _ => return ETag::Text(text.into()),
            },
            None => (text, None),
        };
        let mut digest = [0u8; 16];
        let lower = hexed
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hexed.len() == 32 && lower && hex::decode_to_slice(hexed, &mut digest).is_ok() {
            ETag::Md5 { digest, parts }
        } else {
            ETag::Text(text.into())
        }
    }

    fn text(&self) -> String {
        match self {
            ETag::Md5 {
                digest,
                parts: None,
            } => hex::encode(digest),
            ETag::Md5 {
                digest,
                parts: Some(p),
            } => format!("{}-{p}", hex::encode(digest)),
            ETag::Text(t) => t.to_string(),
        }
    }

    /// Heap bytes beyond the entry itself.
    fn heap(&self) -> usize {
        match self {
            ETag::Md5 { .. } => 0,
            ETag::Text(t) => t.len(),
        }
    }
}

/// Bytes one indexed object costs the process beyond its key's and an unusual ETag's
/// text: the B-tree slot (key pointer and entry, 56 bytes, in nodes about two-thirds
/// full), the key's allocation and, mostly, what the allocator keeps of the build's
/// transient allocations between the long-lived ones. Calibrated on the RSS growth
/// `jetgate-loadtest list` measures (247 MiB per million 17-byte keys, docs/listing.md),
/// so that `--listing-index-budget` bounds memory, not a count of payload bytes.
const ENTRY_OVERHEAD: usize = 240;

#[derive(Debug, Default)]
pub struct BucketIndex {
    entries: BTreeMap<Box<str>, Entry>,
    bytes: usize,
}

impl BucketIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Approximate heap bytes held, for the memory budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Applies one metadata message: a new version of the object, or its deletion.
    pub fn apply(&mut self, meta: &ObjectMeta) {
        if meta.deleted {
            self.remove(&meta.name);
            return;
        }
        let entry = Entry {
            size: meta.size,
            etag: ETag::new(&meta.etag()),
            last_modified_ms: meta.last_modified_ms(),
        };
        let add = meta.name.len() + entry.etag.heap() + ENTRY_OVERHEAD;
        if let Some(old) = self.entries.insert(meta.name.as_str().into(), entry) {
            self.bytes -= meta.name.len() + old.etag.heap() + ENTRY_OVERHEAD;
        }
        self.bytes += add;
    }

    /// Drops a key whose latest metadata cannot be read: it is no longer listed, as
    /// the full scan skips it.
    pub fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= key.len() + old.etag.heap() + ENTRY_OVERHEAD;
        }
    }

    /// One page, as [`crate::listing::paginate`] computes it over a sorted vector
    /// (the unit tests hold the two to the same answers).
    pub fn page(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: usize,
    ) -> Page {
        let mut page = Page::default();
        let delimiter = delimiter.filter(|d| !d.is_empty());
        // Start after the marker, but never before the prefix.
        let start: Bound<&str> = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        // Where the scan resumes after skipping a common prefix.
        let mut seek: Option<String> = None;
        // The common prefix just returned (or passed): keys under it are not items.
        let mut under: Option<String> = None;
        let mut count = 0usize;
        'scan: loop {
            let from = match &seek {
                Some(s) => Bound::Excluded(s.as_str()),
                None => start,
            };
            let mut jump = None;
            for (key, entry) in self.entries.range::<str, _>((from, Bound::Unbounded)) {
                let Some(rest) = key.strip_prefix(prefix) else {
                    break 'scan;
                };
                if under.as_deref().is_some_and(|cp| key.starts_with(cp)) {
                    continue;
                }
                if let Some(end) = delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
                    let cp = &key[..prefix.len() + end];
                    // A marker inside (or equal to) this common prefix: it was returned.
                    if after.is_none_or(|a| cp > a) {
                        if count == max_keys {
                            page.is_truncated = max_keys > 0;
                            break 'scan;
                        }
                        count += 1;
                        page.last = Some(cp.to_string());
                        page.common_prefixes.push(cp.to_string());
                    }
                    // Seek past the keys under the common prefix. U+10FFFF is the
                    // largest character, so only keys continuing with it sort after the
                    // target; `under` walks past those few.
                    jump = Some(format!("{cp}\u{10FFFF}"));
                    under = Some(cp.to_string());
                    break;
                }
                if count == max_keys {
                    page.is_truncated = max_keys > 0;
                    break 'scan;
                }
                count += 1;
                page.last = Some(key.to_string());
                page.contents.push(ObjectEntry {
                    key: key.to_string(),
                    last_modified_ms: entry.last_modified_ms,
                    etag: entry.etag.text(),
                    size: entry.size,
                    owner: None,
                });
            }
            match jump {
                Some(j) => seek = Some(j),
                None => break,
            }
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::paginate;

    fn meta(key: &str, size: u64) -> ObjectMeta {
        let json = format!(
            r#"{{"name":{},"bucket":"b","nuid":"N{size}","size":{size},"chunks":1,"mtime":"2024-01-02T03:04:05Z","digest":"SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="}}"#,
            serde_json::to_string(key).expect("json key")
        );
        ObjectMeta::parse("b", &crate::store::meta_subject("b", key), json.as_bytes())
            .expect("meta")
    }

    type View = (
        Vec<(String, u64, String, i64)>,
        Vec<String>,
        bool,
        Option<String>,
    );

    /// A page as comparable values.
    fn view(p: &Page) -> View {
        (
            p.contents
                .iter()
                .map(|e| (e.key.clone(), e.size, e.etag.clone(), e.last_modified_ms))
                .collect(),
            p.common_prefixes.clone(),
            p.is_truncated,
            p.last.clone(),
        )
    }

    fn sorted(index: &BucketIndex) -> Vec<ObjectEntry> {
        index
            .page("", None, None, usize::MAX)
            .contents
            .into_iter()
            .collect()
    }

    /// Every page of a listing walked to its end, by the index and by the reference.
    fn walk_both(index: &BucketIndex, prefix: &str, delimiter: Option<&str>, max: usize) {
        let all = sorted(index);
        let mut after: Option<String> = None;
        for _ in 0..10_000 {
            let a = index.page(prefix, delimiter, after.as_deref(), max);
            let b = paginate(&all, prefix, delimiter, after.as_deref(), max);
            assert_eq!(
                view(&a),
                view(&b),
                "prefix {prefix:?} delimiter {delimiter:?} after {after:?} max {max}"
            );
            if !a.is_truncated {
                return;
            }
            after = a.last;
        }
        panic!("listing did not end");
    }

    #[test]
    fn pages_match_the_reference_on_random_key_sets() {
        // Keys from a small alphabet so prefixes, delimiters and near-delimiter keys
        // collide often: '/' and the multi-byte '→' as delimiters, 'é' and U+10FFFF as
        // multi-byte characters that sort around them.
        let alphabet = ["a", "b", "/", "→", "é", "\u{10FFFF}", "-", "0"];
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..60 {
            let mut index = BucketIndex::default();
            let n = 1 + next() % 80;
            for i in 0..n {
                let len = 1 + next() % 6;
                let key: String = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                index.apply(&meta(&key, i));
            }
            for prefix in ["", "a", "a/", "→", "b→", "é"] {
                for delimiter in [None, Some("/"), Some("→"), Some("a/")] {
                    for max in [0, 1, 2, 3, 7, 1000] {
                        walk_both(&index, prefix, delimiter, max);
                    }
                }
            }
            // Markers anywhere, including inside common prefixes and before the prefix.
            let all = sorted(&index);
            for marker in ["", "a", "a/", "a/b", "a→", "b", "\u{10FFFF}", "0"] {
                for delimiter in [None, Some("/"), Some("→")] {
                    let a = index.page("a", delimiter, Some(marker), 5);
                    let b = paginate(&all, "a", delimiter, Some(marker), 5);
                    assert_eq!(
                        view(&a),
                        view(&b),
                        "round {round} marker {marker:?} {delimiter:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn etags_come_back_as_they_went_in() {
        for text in [
            "9b2cf535f27731c974343645a3985328",
            "9b2cf535f27731c974343645a3985328-1",
            "9b2cf535f27731c974343645a3985328-10000",
            // Kept as text: upper case, leading zeros, odd lengths, no number, empty.
            "9B2CF535F27731C974343645A3985328",
            "9b2cf535f27731c974343645a3985328-01",
            "9b2cf535f27731c974343645a398532",
            "9b2cf535f27731c974343645a3985328-",
            "9b2cf535f27731c974343645a3985328--1",
            "",
            "not-an-md5",
        ] {
            let tag = ETag::new(text);
            assert_eq!(tag.text(), text);
            let md5 = matches!(tag, ETag::Md5 { .. });
            assert_eq!(tag.heap(), if md5 { 0 } else { text.len() }, "{text}");
        }
        assert!(matches!(
            ETag::new("9b2cf535f27731c974343645a3985328-3"),
            ETag::Md5 { parts: Some(3), .. }
        ));
        assert_eq!(std::mem::size_of::<ETag>(), 24);
    }

    #[test]
    fn deletes_and_overwrites_keep_one_entry_and_the_byte_count() {
        let mut index = BucketIndex::default();
        index.apply(&meta("k", 1));
        let one = index.bytes();
        index.apply(&meta("k", 2));
        assert_eq!(index.len(), 1);
        assert_eq!(index.bytes(), one);
        assert_eq!(sorted(&index)[0].size, 2);
        let mut gone = meta("k", 3);
        gone.deleted = true;
        index.apply(&gone);
        assert!(index.is_empty());
        assert_eq!(index.bytes(), 0);
        // Deleting what is not there changes nothing.
        index.apply(&gone);
        assert_eq!(index.bytes(), 0);
    }

    #[test]
    fn a_common_prefix_of_many_keys_is_one_seek() {
        let mut index = BucketIndex::default();
        for i in 0..10_000 {
            index.apply(&meta(&format!("logs/{i:05}"), i));
        }
        index.apply(&meta("logs\u{10FFFF}x", 1));
        index.apply(&meta("logs/\u{10FFFF}\u{10FFFF}", 1));
        index.apply(&meta("z", 1));
        let p = index.page("", Some("/"), None, 10);
        assert_eq!(p.common_prefixes, ["logs/"]);
        let keys: Vec<&str> = p.contents.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["logs\u{10FFFF}x", "z"]);
        assert!(!p.is_truncated);
    }
}
