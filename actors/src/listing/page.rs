//! One page of a listing over keys in lexicographic (UTF-8 byte) order, with prefix,
//! delimiter roll-up into common prefixes, a start-after key and max-keys.

use jetgate_protocol::messages::ObjectEntry;

pub use crate::store::Page;

/// `sorted` must be ordered by key. Keys and common prefixes both count toward max_keys.
pub fn paginate(
    sorted: &[ObjectEntry],
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max_keys: usize,
) -> Page {
    let mut page = Page::default();
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let start = match after {
        Some(a) => sorted.partition_point(|e| e.key.as_str() <= a),
        None => sorted.partition_point(|e| e.key.as_str() < prefix),
    };
    let mut count = 0usize;
    for entry in &sorted[start..] {
        let Some(rest) = entry.key.strip_prefix(prefix) else {
            if entry.key.as_str() > prefix {
                break;
            }
            continue;
        };
        let item = match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => {
                let cp = &entry.key[..prefix.len() + end];
                // Keys rolled into a prefix already returned, or at/before the marker.
                if page.common_prefixes.last().map(String::as_str) == Some(cp)
                    || after.is_some_and(|a| cp <= a)
                {
                    continue;
                }
                Item::Prefix(cp.to_string())
            }
            None => Item::Key(entry),
        };
        if count == max_keys {
            page.is_truncated = max_keys > 0;
            break;
        }
        count += 1;
        match item {
            Item::Prefix(cp) => {
                page.last = Some(cp.clone());
                page.common_prefixes.push(cp);
            }
            Item::Key(e) => {
                page.last = Some(e.key.clone());
                page.contents.push(e.clone());
            }
        }
    }
    page
}

enum Item<'a> {
    Prefix(String),
    Key(&'a ObjectEntry),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<ObjectEntry> {
        let mut v: Vec<ObjectEntry> = keys
            .iter()
            .map(|k| ObjectEntry {
                key: k.to_string(),
                last_modified_ms: 0,
                etag: String::new(),
                size: 0,
                owner: None,
            })
            .collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    fn keys(p: &Page) -> Vec<&str> {
        p.contents.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn the_aws_photos_example() {
        let all = entries(&[
            "sample.jpg",
            "photos/2006/January/sample.jpg",
            "photos/2006/February/sample2.jpg",
            "photos/2006/February/sample3.jpg",
            "photos/2006/February/sample4.jpg",
        ]);
        let p = paginate(&all, "", Some("/"), None, 1000);
        assert_eq!(keys(&p), ["sample.jpg"]);
        assert_eq!(p.common_prefixes, ["photos/"]);
        let p = paginate(&all, "photos/2006/", Some("/"), None, 1000);
        assert!(keys(&p).is_empty());
        assert_eq!(
            p.common_prefixes,
            ["photos/2006/February/", "photos/2006/January/"]
        );
        assert!(!p.is_truncated);
    }

    #[test]
    fn pages_through_keys_and_prefixes_without_repeats() {
        let all = entries(&["a/1", "a/2", "b", "c/1", "c/2", "d", "e"]);
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let p = paginate(&all, "", Some("/"), after.as_deref(), 2);
            seen.extend(p.common_prefixes.iter().cloned());
            seen.extend(p.contents.iter().map(|e| e.key.clone()));
            if !p.is_truncated {
                break;
            }
            after = p.last.clone();
        }
        seen.sort();
        assert_eq!(seen, ["a/", "b", "c/", "d", "e"]);
    }

    #[test]
    fn prefix_marker_and_zero_max_keys() {
        let all = entries(&["x/a", "x/b", "x/c", "y"]);
        let p = paginate(&all, "x/", None, Some("x/a"), 1000);
        assert_eq!(keys(&p), ["x/b", "x/c"]);
        let p = paginate(&all, "x/", None, None, 2);
        assert_eq!(keys(&p), ["x/a", "x/b"]);
        assert!(p.is_truncated);
        assert_eq!(p.last.as_deref(), Some("x/b"));
        let p = paginate(&all, "", None, None, 0);
        assert!(p.contents.is_empty() && !p.is_truncated);
        let p = paginate(&all, "zzz", None, None, 10);
        assert!(p.contents.is_empty());
    }

    #[test]
    fn byte_order_for_unicode_and_multi_char_delimiters() {
        let all = entries(&["a", "Z", "é", "ab--c", "ab--d"]);
        let p = paginate(&all, "", Some("--"), None, 10);
        assert_eq!(keys(&p), ["Z", "a", "é"]);
        assert_eq!(p.common_prefixes, ["ab--"]);
    }
}
