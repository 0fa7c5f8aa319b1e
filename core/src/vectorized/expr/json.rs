//! A borrowed view of JSON text that serde_json has already validated: an object's entries or an array's
//! items as slices of the text, found by one forward scan that skips the values without building them.
//!
//! The compiler reads each node of a serialized expression only as far as its own kind, and the copies of a
//! shared subtree (a moving average in thousands of combinations) are many: skipping a value here is a byte
//! loop over its text, where serde_json's `&RawValue` map parsed it token by token and allocated a map per
//! node. On valid JSON the answers are serde_json's: an object's keys are borrowed, so a key with an escape is
//! refused (as a `HashMap<&str, &RawValue>` fails), a repeated key keeps its last value, and the slices hold
//! no surrounding whitespace. The text MUST be valid JSON (a `&RawValue` or text serde_json parsed): on other
//! text the answers are unspecified (never a panic: every index is checked).

/// An object's `(key, value)` entries in text order.
pub type Entries<'a> = Vec<(&'a str, &'a str)>;

/// The entries of the object `text`, or None when it is not an object or a key holds an escape.
pub fn object(text: &str) -> Option<Entries<'_>> {
    let mut out = Vec::with_capacity(4);
    walk_object(text, |key, start| {
        let stop = skip_value(text.as_bytes(), start)?;
        out.push((key, text.get(start..stop)?));
        Some(stop)
    })?;
    Some(out)
}

/// Walk the entries of the object `text`: `value(key, start)` is called at each value's first byte and
/// answers the index just past it. None when `text` is not an object, a key holds an escape or `value` fails.
pub fn walk_object<'a>(text: &'a str, mut value: impl FnMut(&'a str, usize) -> Option<usize>) -> Option<()> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = skip_string(b, i)?;
        let key = text.get(i + 1..end - 1)?;
        if key.contains('\\') {
            return None;
        }
        i = ws(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, value(key, ws(b, i + 1))?);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Some(()),
            _ => return None,
        }
    }
}

/// Walk the items of the array starting at `text[start]`: `item(start)` is called at each item's first byte
/// and answers the index just past it. The index just past the array, or None when there is no array there
/// or `item` fails.
pub fn walk_array(text: &str, start: usize, mut item: impl FnMut(usize) -> Option<usize>) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(start) != Some(&b'[') {
        return None;
    }
    let mut i = ws(b, start + 1);
    if b.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    loop {
        i = ws(b, item(i)?);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// The items of the array `text`, or None when it is not an array.
pub fn array(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let start = ws(b, 0);
    let mut out = Vec::new();
    let end = walk_array(text, start, |i| {
        let stop = skip_value(b, i)?;
        out.push(text.get(i..stop)?);
        Some(stop)
    })?;
    (ws(b, end) == b.len()).then_some(out)
}

/// Index just past the value that starts at `text[start]`.
pub fn skip(text: &str, start: usize) -> Option<usize> {
    skip_value(text.as_bytes(), start)
}

/// The value of `key` in `entries` (the last one when repeated, as a map keeps it).
pub fn get<'a>(entries: &Entries<'a>, key: &str) -> Option<&'a str> {
    entries.iter().rev().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// The one `(key, value)` of an object with exactly one distinct key.
pub fn single<'a>(entries: &Entries<'a>) -> Option<(&'a str, &'a str)> {
    let &(key, _) = entries.first()?;
    if entries.iter().any(|(k, _)| *k != key) {
        return None;
    }
    entries.last().copied()
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// Bytes that matter inside a string (`"`, `\\`) and between a container's values (those and the brackets).
const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}
const IN_STRING: [bool; 256] = table(b"\"\\");
const IN_CONTAINER: [bool; 256] = table(b"\"{}[]");

/// The first index at or after `i` whose byte is in `table`.
fn next_in(b: &[u8], i: usize, table: &[bool; 256]) -> Option<usize> {
    b.get(i..)?.iter().position(|&c| table[c as usize]).map(|at| i + at)
}

/// Index just past the string starting at `i` (a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i = next_in(b, i, &IN_STRING)?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// Index just past the value starting at `i`.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                i = next_in(b, i, &IN_CONTAINER)?;
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                }
                i += 1;
            }
        }
        _ => {
            // a number, true, false or null: up to the next delimiter
            while !matches!(b.get(i), None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')) {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::*;

    /// serde_json's answers, the reference: a borrowed map / list of raw values.
    fn serde_object(text: &str) -> Option<HashMap<&str, &str>> {
        let map: HashMap<&str, &RawValue> = serde_json::from_str(text).ok()?;
        Some(map.into_iter().map(|(k, v)| (k, v.get())).collect())
    }

    fn serde_array(text: &str) -> Option<Vec<&str>> {
        let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
        Some(items.into_iter().map(RawValue::get).collect())
    }

    fn as_map<'a>(entries: &Entries<'a>) -> HashMap<&'a str, &'a str> {
        entries
            .iter()
            .map(|&(k, v)| (k, get(entries, k).unwrap_or(v)))
            .collect()
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\\ {}\\[\\],:\u{e9}\n]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\]{0,3}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Compact or pretty text of `v`.
    fn text(v: &Value, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(v).unwrap()
        } else {
            serde_json::to_string(v).unwrap()
        }
    }

    proptest! {
        #[test]
        fn entries_and_items_are_serde_jsons(v in value(), pretty in any::<bool>()) {
            let t = text(&v, pretty);
            prop_assert_eq!(object(&t).map(|e| as_map(&e)), serde_object(&t));
            prop_assert_eq!(array(&t), serde_array(&t));
            for inner in array(&t).unwrap_or_default() {
                prop_assert_eq!(object(inner).map(|e| as_map(&e)), serde_object(inner));
                prop_assert_eq!(array(inner), serde_array(inner));
            }
            for (_, inner) in object(&t).unwrap_or_default() {
                prop_assert_eq!(object(inner).map(|e| as_map(&e)), serde_object(inner));
                prop_assert_eq!(array(inner), serde_array(inner));
            }
        }
    }

    #[test]
    fn repeated_keys_keep_the_last_value_and_escaped_keys_are_refused() {
        let t = r#"{"A": 1, "A": [2, {"x": "}"}]}"#;
        let e = object(t).unwrap();
        assert_eq!(single(&e), Some(("A", r#"[2, {"x": "}"}]"#)));
        assert_eq!(as_map(&e), serde_object(t).unwrap());
        assert_eq!(single(&object(r#"{"A":1,"B":2}"#).unwrap()), None);
        assert_eq!(object(r#"{"A\"":1}"#), None);
        assert_eq!(serde_object(r#"{"A\"":1}"#), None);
        assert_eq!(object(" { } "), Some(vec![]));
        assert_eq!(array(" [ 1 , \"a\" ] "), Some(vec!["1", "\"a\""]));
        assert_eq!(object("[1]"), None);
        assert_eq!(array("{}"), None);
    }
}
