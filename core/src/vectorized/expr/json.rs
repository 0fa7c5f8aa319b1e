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
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::with_capacity(4);
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
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
        let start = ws(b, i + 1);
        let stop = skip_value(b, start)?;
        out.push((key, text.get(start..stop)?));
        i = ws(b, stop);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// The items of the array `text`, or None when it is not an array.
pub fn array(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    i = ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let stop = skip_value(b, i)?;
        out.push(text.get(i..stop)?);
        i = ws(b, stop);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Some(out),
            _ => return None,
        }
    }
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

/// Index just past the string starting at `i` (a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Index just past the value starting at `i`.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match b.get(i)? {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
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
