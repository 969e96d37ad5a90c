//! The keys a `list` bucket holds, and what a listing of them must answer: every S3
//! answer of the scenario is checked against it, so a fast wrong page is an error, not
//! a figure.

use crate::s3::{xml_all, xml_text};
use std::collections::BTreeSet;
use std::ops::Bound;

/// Key `i` of the bulk fill; zero-padded, so the fill is sorted by `i`.
pub fn data_key(i: u64) -> String {
    format!("data/{i:08}.bin")
}

/// The small "directory" the delimiter listing reads: exactly ten entries.
pub fn dir_keys() -> impl Iterator<Item = String> {
    (0..10).map(|i| format!("dir/e{i}"))
}

/// `n` bulk keys (never materialised) and a few others (the directory, list-after-write keys).
pub struct Model {
    pub n: u64,
    pub extra: BTreeSet<String>,
}

/// A ListObjectsV2 page: keys, common prefixes, and whether more follow.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Listing {
    pub keys: Vec<String>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
}

impl Model {
    pub fn new(n: u64) -> Model {
        Model {
            n,
            extra: dir_keys().collect(),
        }
    }

    pub fn objects(&self) -> u64 {
        self.n + self.extra.len() as u64
    }

    /// Every key in order, from `lower` on.
    fn keys_from<'a>(&'a self, lower: Bound<&'a str>) -> impl Iterator<Item = String> + 'a {
        // Binary search over the virtual bulk keys: the first one inside the bound.
        let inside = |k: &str| match lower {
            Bound::Included(b) => k >= b,
            Bound::Excluded(b) => k > b,
            Bound::Unbounded => true,
        };
        let (mut lo, mut hi) = (0, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if inside(&data_key(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let mut data = (lo..self.n).map(data_key).peekable();
        let mut extra = self
            .extra
            .range::<str, _>((lower, Bound::Unbounded))
            .cloned()
            .peekable();
        std::iter::from_fn(move || match (data.peek(), extra.peek()) {
            (Some(d), Some(e)) if e < d => extra.next(),
            (Some(_), _) => data.next(),
            (None, _) => extra.next(),
        })
    }

    /// What ListObjectsV2 must answer, by S3's rules.
    pub fn listing(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: usize,
    ) -> Listing {
        let lower = match start_after {
            Some(s) if s >= prefix => Bound::Excluded(s),
            _ => Bound::Included(prefix),
        };
        let mut out = Listing::default();
        let mut entries = 0;
        for key in self.keys_from(lower) {
            if !key.starts_with(prefix) {
                break;
            }
            let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                let rest = &key[prefix.len()..];
                rest.find(d)
                    .map(|at| key[..prefix.len() + at + d.len()].to_string())
            });
            if let Some(cp) = &rolled {
                if out.prefixes.last() == Some(cp) {
                    continue;
                }
            }
            if entries == max_keys {
                out.truncated = true;
                break;
            }
            entries += 1;
            match rolled {
                Some(cp) => out.prefixes.push(cp),
                None => out.keys.push(key),
            }
        }
        out
    }
}

/// The page an S3 answer carries (keys are plain ASCII here: no entities to decode).
pub fn parse(xml: &str) -> Listing {
    Listing {
        keys: xml_all(xml, "Key").map(str::to_string).collect(),
        prefixes: xml_all(xml, "CommonPrefixes")
            .filter_map(|p| xml_text(p, "Prefix"))
            .map(str::to_string)
            .collect(),
        truncated: xml_text(xml, "IsTruncated") == Some("true"),
    }
}

/// Why `got` is not the `want`ed page, if it is not.
pub fn check(want: &Listing, got: &Listing) -> Result<(), String> {
    if let Some(i) = got.keys.windows(2).position(|w| w[0] >= w[1]) {
        return Err(format!(
            "keys not sorted: {:?} before {:?}",
            got.keys[i],
            got.keys[i + 1]
        ));
    }
    if got.keys.len() != want.keys.len() {
        return Err(format!(
            "{} keys, want {} (first {:?}, want {:?})",
            got.keys.len(),
            want.keys.len(),
            got.keys.first(),
            want.keys.first()
        ));
    }
    if let Some((g, w)) = got.keys.iter().zip(&want.keys).find(|(g, w)| g != w) {
        return Err(format!("key {g:?} where {w:?} was due"));
    }
    if got.prefixes != want.prefixes {
        return Err(format!(
            "common prefixes {:?}, want {:?}",
            got.prefixes, want.prefixes
        ));
    }
    if got.truncated != want.truncated {
        return Err(format!(
            "IsTruncated {}, want {}",
            got.truncated, want.truncated
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The same listing by brute force over every key, materialised.
    fn brute(
        m: &Model,
        prefix: &str,
        delim: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> Listing {
        let mut all: Vec<String> = (0..m.n).map(data_key).chain(m.extra.clone()).collect();
        all.sort();
        let mut out = Listing::default();
        let mut entries = 0;
        for k in all {
            if !k.starts_with(prefix) || after.is_some_and(|a| k.as_str() <= a) {
                continue;
            }
            let cp = delim.and_then(|d| {
                k[prefix.len()..]
                    .find(d)
                    .map(|i| k[..prefix.len() + i + d.len()].to_string())
            });
            if cp.is_some() && out.prefixes.last() == cp.as_ref() {
                continue;
            }
            if entries == max {
                out.truncated = true;
                break;
            }
            entries += 1;
            match cp {
                Some(c) => out.prefixes.push(c),
                None => out.keys.push(k),
            }
        }
        out
    }

    #[test]
    fn listing_matches_brute_force() {
        let mut m = Model::new(57);
        m.extra.insert("law/00000001".into());
        m.extra.insert("a".into());
        m.extra.insert("data/00000010.bin.x".into());
        m.extra.insert("zz/top".into());
        let afters = [
            None,
            Some(""),
            Some("data/00000010.bin"),
            Some("data/00000056.bin"),
            Some("dir/"),
            Some("dir/e5"),
            Some("e"),
            Some("zzz"),
        ];
        for prefix in ["", "data/", "data/0000001", "dir/", "law/", "nothing/"] {
            for delim in [None, Some("/"), Some(".")] {
                for after in afters {
                    for max in [0, 1, 3, 10, 1000] {
                        assert_eq!(
                            m.listing(prefix, delim, after, max),
                            brute(&m, prefix, delim, after, max),
                            "prefix {prefix:?} delim {delim:?} after {after:?} max {max}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn scenario_pages() {
        let m = Model::new(1000);
        let p = m.listing("", None, Some(&data_key(0)), 1000);
        assert_eq!(p.keys.len(), 1000);
        assert_eq!(p.keys[0], data_key(1));
        assert_eq!(p.keys[999], "dir/e0");
        assert!(p.truncated);
        let d = m.listing("dir/", Some("/"), None, 1000);
        assert_eq!(d.keys, dir_keys().collect::<Vec<_>>());
        assert!(!d.truncated);
        let r = m.listing("", Some("/"), None, 1000);
        assert_eq!(r.prefixes, ["data/", "dir/"]);
        assert!(r.keys.is_empty());
    }

    #[test]
    fn parses_and_checks_answers() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated>\
                   <Contents><Key>a</Key><Size>1</Size></Contents>\
                   <Contents><Key>b</Key></Contents>\
                   <CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes></ListBucketResult>";
        let got = parse(xml);
        let want = Listing {
            keys: vec!["a".into(), "b".into()],
            prefixes: vec!["c/".into()],
            truncated: true,
        };
        assert_eq!(got, want);
        assert_eq!(check(&want, &got), Ok(()));
        let unsorted = Listing {
            keys: vec!["b".into(), "a".into()],
            ..want.clone()
        };
        assert!(check(&want, &unsorted).unwrap_err().contains("not sorted"));
        let short = Listing {
            keys: vec!["a".into()],
            ..want.clone()
        };
        assert!(check(&want, &short).unwrap_err().contains("1 keys, want 2"));
        let wrong = Listing {
            keys: vec!["a".into(), "c".into()],
            ..want.clone()
        };
        assert!(check(&want, &wrong).unwrap_err().contains("\"c\""));
        let untruncated = Listing {
            truncated: false,
            ..want.clone()
        };
        assert!(check(&want, &untruncated).is_err());
    }
}
