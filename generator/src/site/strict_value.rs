//! Taking a typed value from a `serde_json::Value` no more leniently than serde_yaml takes it
//! from YAML text. serde_json's own value deserializer also builds a struct from a sequence
//! (`retain: []`) and an enum from a one-key mapping; serde_yaml refuses both, and so does
//! [`Strict`]. Everything else is read as serde_json's value deserializer reads it: scalars of
//! the kind asked for (a number is not a string), sequences, mappings, options from null.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// A deserializer of `T` from a borrowed JSON value (see the module documentation).
pub struct Strict<'a>(pub &'a Value);

type Error = serde_json::Error;

impl<'de> de::Deserializer<'de> for Strict<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            Value::Object(map) => visitor.visit_map(Entries {
                entries: map.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Items<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(Strict(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Strict(value)),
            None => Err(de::Error::custom("a mapping value without its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `T` from `value` (see the module documentation).
pub fn from_value<'a, T: serde::Deserialize<'a>>(value: &'a Value) -> Result<T, Error> {
    T::deserialize(Strict(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Outer {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        flag: bool,
        inner: Option<Inner>,
        role: Option<Role>,
        #[serde(default)]
        labels: IndexMap<String, String>,
        #[serde(default)]
        items: Vec<String>,
        raw: Option<Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        daily: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Role {
        Active,
    }

    #[test]
    fn reads_what_serde_json_reads_but_no_struct_from_a_sequence_or_enum_from_a_map() {
        let full = json!({
            "name": "a", "count": 3, "flag": true, "inner": {"daily": 2}, "role": "active",
            "labels": {"k": "v"}, "items": ["x"], "raw": {"a": [1, -2, 1.5, null]}
        });
        let ours: Outer = from_value(&full).unwrap();
        let theirs: Outer = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(ours, theirs);

        let minimal = json!({"name": "a", "count": null, "inner": null});
        assert_eq!(
            from_value::<Outer>(&minimal).unwrap(),
            serde_json::from_value::<Outer>(minimal.clone()).unwrap()
        );

        // serde_json takes these; serde_yaml (and Strict) do not.
        for lenient in [
            json!({"name": "a", "inner": []}),
            json!({"name": "a", "inner": [1]}),
            json!({"name": "a", "role": {"active": null}}),
        ] {
            assert!(
                serde_json::from_value::<Outer>(lenient.clone()).is_ok(),
                "{lenient}"
            );
            assert!(from_value::<Outer>(&lenient).is_err(), "{lenient}");
        }
        // Both refuse these.
        for bad in [
            json!({"name": 1}),
            json!({"name": "a", "count": -1}),
            json!({"name": "a", "count": "1"}),
            json!({"name": "a", "flag": "true"}),
            json!({"name": "a", "labels": {"k": 1}}),
            json!({"name": "a", "unknown": 1}),
            json!({"name": "a", "role": "passive"}),
            json!(["a"]),
        ] {
            assert!(
                serde_json::from_value::<Outer>(bad.clone()).is_err(),
                "{bad}"
            );
            assert!(from_value::<Outer>(&bad).is_err(), "{bad}");
        }
    }
}
