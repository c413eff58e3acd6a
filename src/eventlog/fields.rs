//! [`Fields`]: the named values of one event (`EventData`, `UserData`), kept sorted by name in a
//! small vector. Names are shared (`Arc<str>`: a template's field names are decoded once per
//! chunk, not once per record), values are owned. Serialised as a JSON object in name order, so
//! the output is the same as a `BTreeMap<String, String>` would give.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The named values of one event, sorted by name, each name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fields(Vec<(Arc<str>, String)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Fields {
        Fields(Vec::with_capacity(n))
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(name))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.position(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Set `name` to `value`; the previous value, if the name was already there.
    pub fn insert(&mut self, name: impl Into<Arc<str>>, value: String) -> Option<String> {
        let name = name.into();
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &String)> + Clone {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = String;

    fn index(&self, name: &str) -> &String {
        self.get(name)
            .unwrap_or_else(|| panic!("no field named {name:?}"))
    }
}

impl<K: Into<Arc<str>>> FromIterator<(K, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, String)>>(iter: I) -> Fields {
        let mut f = Fields::new();
        for (k, v) in iter {
            f.insert(k, v);
        }
        f
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, String)>,
        fn(&'a (Arc<str>, String)) -> (&'a str, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

/// A `Binary` field (hex of UTF-16LE text, as SCM 7036 writes `<service key>/<state>`) as text,
/// trailing NULs removed; empty when the hex holds none.
pub fn utf16le_hex_text(hex: &str) -> String {
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_serialised_like_a_map() {
        let mut f = Fields::new();
        assert_eq!(f.insert("b", "2".into()), None);
        assert_eq!(f.insert("a", "1".into()), None);
        assert_eq!(f.insert("b", "3".into()), Some("2".into()));
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f["b"], "3");
        assert!(f.get("c").is_none() && f.contains_key("a"));
        let map: std::collections::BTreeMap<&str, &str> =
            [("a", "1"), ("b", "3")].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
    }
}
