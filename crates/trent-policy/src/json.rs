//! A JSON tree that keeps every object member in document order, duplicates included.
//!
//! `serde_json::Value` silently keeps the last of two equal keys, but IAM rejects a repeated key
//! inside an element. Keeping all members lets the model layer report the duplicate together with
//! the statement and element it sits in. serde_json still does the lexing (and its recursion
//! limit protects us from deeply nested input).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// Numbers keep a decimal string form: every consumer wants a string anyway.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Strings, booleans and numbers as the string IAM compares ("quotes are optional for
    /// numbers and booleans").
    pub(crate) fn as_scalar(&self) -> Option<String> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s.clone()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// The first key that appears twice in an object's member list.
pub(crate) fn first_duplicate(members: &[(String, Json)]) -> Option<&str> {
    members.iter().enumerate().find_map(|(i, (k, _))| {
        members[..i]
            .iter()
            .any(|(earlier, _)| earlier == k)
            .then_some(k.as_str())
    })
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            members.push((k, v));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicate_members_in_order() {
        let v = Json::parse(r#"{"a":1,"b":true,"a":"x"}"#).unwrap();
        let Json::Object(m) = v else { panic!() };
        assert_eq!(m.len(), 3);
        assert_eq!(first_duplicate(&m), Some("a"));
        assert_eq!(m[0].1, Json::Number("1".into()));
        assert_eq!(m[2].1, Json::String("x".into()));
    }

    #[test]
    fn scalars_normalize_to_strings() {
        assert_eq!(Json::Bool(true).as_scalar().as_deref(), Some("true"));
        let v = Json::parse("[10.5, -3, 18446744073709551615]").unwrap();
        let Json::Array(a) = v else { panic!() };
        let s: Vec<_> = a.iter().filter_map(Json::as_scalar).collect();
        assert_eq!(s, ["10.5", "-3", "18446744073709551615"]);
        assert_eq!(Json::Null.as_scalar(), None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(Json::parse(&deep).is_err());
    }
}
