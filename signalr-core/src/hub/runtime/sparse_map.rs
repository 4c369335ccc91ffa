//! A map by stream id that most connections never fill: it takes one pointer until its
//! first entry (a `HashMap` takes 48 bytes, and every idle connection's session holds two).

use std::collections::HashMap;

/// A `HashMap<String, V>` allocated on its first insert. (The box is the point: the map
/// itself is 48 bytes even when empty.)
#[allow(clippy::box_collection)]
pub(super) struct SparseMap<V>(Option<Box<HashMap<String, V>>>);

impl<V> Default for SparseMap<V> {
    fn default() -> Self {
        SparseMap(None)
    }
}

impl<V> SparseMap<V> {
    pub(super) fn get(&self, key: &str) -> Option<&V> {
        self.0.as_ref()?.get(key)
    }

    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(super) fn insert(&mut self, key: String, value: V) -> Option<V> {
        self.0.get_or_insert_with(Box::default).insert(key, value)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<V> {
        self.0.as_mut()?.remove(key)
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |map| map.len())
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().flat_map(|map| map.values())
    }
}

#[cfg(test)]
mod tests {
    use super::SparseMap;

    #[test]
    fn allocates_at_the_first_insert_and_behaves_as_a_map() {
        let mut map = SparseMap::default();
        assert!(map.0.is_none());
        assert_eq!(map.len(), 0);
        assert_eq!(map.remove("a"), None);
        assert_eq!(map.insert("a".to_owned(), 1), None);
        assert_eq!(map.insert("b".to_owned(), 2), None);
        assert_eq!(map.insert("a".to_owned(), 3), Some(1));
        assert!(map.contains_key("a"));
        assert_eq!(map.get("b"), Some(&2));
        let mut values: Vec<_> = map.values().copied().collect();
        values.sort_unstable();
        assert_eq!(values, [2, 3]);
        assert_eq!(map.remove("a"), Some(3));
        assert_eq!(map.len(), 1);
        assert!(!map.contains_key("a"));
    }
}
