//! The one-pass decoding of WeCom's JSON answers: the typed payload and `errcode`/`errmsg` from the same
//! parse, with no copy of the body. A leaf module (it knows only the error type).

use crate::error::excerpt;
use crate::{Error, Result};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// WeCom's `errcode` and `errmsg`, as seen while decoding an answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) errcode: Option<i64>,
    pub(crate) errmsg: Option<String>,
}

impl Status {
    fn into_error(self, endpoint: &str) -> Option<Error> {
        match self.errcode {
            Some(code) if code != 0 => Some(Error::Api {
                endpoint: endpoint.to_string(),
                errcode: code,
                errmsg: self.errmsg.unwrap_or_default(),
            }),
            _ => None,
        }
    }
}

/// Decodes an answer in one pass: the typed payload `T` and `errcode`/`errmsg` from the same parse, with no
/// copy of the body. A non-zero `errcode` is an [`Error::Api`] even when the payload fields are absent.
/// `show_body` is false where the body may hold a token (its excerpt then stays out of errors).
pub(crate) fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8], show_body: bool) -> Result<T> {
    let mut status = Status::default();
    // UTF-8 is checked once for the whole body (SIMD), so serde_json's text reader skips its check of every
    // string and key. JSON is UTF-8; invalid bytes (never seen from WeCom) become U+FFFD rather than failing
    // a whole page for one bad name.
    let text = match simdutf8::basic::from_utf8(body) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            tracing::debug!(
                endpoint,
                "the answer is not valid UTF-8; invalid bytes replaced by U+FFFD"
            );
            String::from_utf8_lossy(body)
        }
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let typed = T::deserialize(Intercept {
        inner: &mut de,
        status: &mut status,
    })
    .and_then(|t| de.end().map(|()| t));
    match typed {
        Ok(t) => match status.into_error(endpoint) {
            Some(e) => Err(e),
            None => Ok(t),
        },
        Err(e) => {
            // The payload did not fit. An error answer usually lacks it: report the errcode, read on a second
            // pass only when the first stopped before reaching it.
            if status.errcode.is_none() {
                status = status_only(body);
            }
            match status.into_error(endpoint) {
                Some(api) => Err(api),
                None => Err(Error::Decode {
                    endpoint: endpoint.to_string(),
                    message: e.to_string(),
                    excerpt: if show_body { excerpt(body) } else { String::new() },
                }),
            }
        }
    }
}

/// Only `errcode`/`errmsg` (the error path, when the typed pass failed before reaching them).
fn status_only(body: &[u8]) -> Status {
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(default, deserialize_with = "crate::flex::opt_int")]
        errcode: Option<i64>,
        #[serde(default)]
        errmsg: Option<String>,
    }
    serde_json::from_slice::<Header>(body)
        .map(|h| Status {
            errcode: h.errcode,
            errmsg: h.errmsg,
        })
        .unwrap_or_default()
}

/// A deserializer over the top-level JSON object that takes `errcode` and `errmsg` out of the stream and
/// hands every other key to the typed payload.
struct Intercept<'s, D> {
    inner: D,
    status: &'s mut Status,
}

impl<'de, 's, D: Deserializer<'de>> Deserializer<'de> for Intercept<'s, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, D::Error> {
        self.inner.deserialize_any(InterceptVisitor {
            inner: visitor,
            status: self.status,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, D::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, D::Error> {
        self.inner.deserialize_map(InterceptVisitor {
            inner: visitor,
            status: self.status,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

struct InterceptVisitor<'s, V> {
    inner: V,
    status: &'s mut Status,
}

impl<'de, 's, V: Visitor<'de>> Visitor<'de> for InterceptVisitor<'s, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<V::Value, A::Error> {
        self.inner.visit_map(InterceptMap {
            inner: map,
            status: self.status,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }
}

struct InterceptMap<'s, A> {
    inner: A,
    status: &'s mut Status,
}

/// A key, borrowed from the body when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Key<'de> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

/// Reads `errmsg` as a string, whatever its JSON type (a number or `null` gives no text).
struct ErrmsgSeed;

impl<'de> DeserializeSeed<'de> for ErrmsgSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }
}

impl<'de, 's, A: MapAccess<'de>> MapAccess<'de> for InterceptMap<'s, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> std::result::Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            match key.as_str() {
                "errcode" => {
                    self.status.errcode = self.inner.next_value_seed(FlexCode)?;
                }
                "errmsg" => {
                    self.status.errmsg = self.inner.next_value_seed(ErrmsgSeed)?;
                }
                _ => {
                    return match key {
                        Key::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s)),
                        Key::Owned(s) => seed.deserialize(de::value::StringDeserializer::new(s)),
                    }
                    .map(Some);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> std::result::Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// `errcode` as a number or a numeric string.
struct FlexCode;

impl<'de> DeserializeSeed<'de> for FlexCode {
    type Value = Option<i64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Option<i64>, D::Error> {
        crate::flex::opt_int(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Payload {
        name: String,
        #[serde(default)]
        n: u32,
    }

    #[test]
    fn one_pass_decodes_payload_and_status() {
        let p: Payload = decode("x", br#"{"errcode":0,"errmsg":"ok","name":"a","n":2}"#, true).unwrap();
        assert_eq!(p, Payload { name: "a".into(), n: 2 });
        // errcode after the payload, as a string, and escaped keys
        let p: Payload = decode("x", br#"{"na\u006de":"b","errcode":"0"}"#, true).unwrap();
        assert_eq!(p.name, "b");
    }

    #[test]
    fn error_answers_decode_without_their_payload() {
        let e = decode::<Payload>(
            "x",
            br#"{"errcode":45009,"errmsg":"api freq out of limit, hint: [abc]"}"#,
            true,
        )
        .unwrap_err();
        assert_eq!(e.errcode(), Some(45009));
        assert!(e.to_string().contains("hint: [abc]"), "{e}");
        // a payload of the wrong shape before the errcode
        let e = decode::<Payload>("x", br#"{"name":[],"errcode":-1,"errmsg":"busy"}"#, true).unwrap_err();
        assert_eq!(e.errcode(), Some(-1));
        // a decode failure keeps an excerpt only when allowed
        let e = decode::<Payload>("x", br#"{"errcode":0,"name":5}"#, false).unwrap_err();
        assert!(
            matches!(e, Error::Decode { ref excerpt, .. } if excerpt.is_empty()),
            "{e:?}"
        );
        let e = decode::<Payload>("x", b"not json", true).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        let e = decode::<Payload>("x", br#"{"errcode":0,"name":"a"} trailing"#, true).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        // One bad byte in a name does not fail the answer; it reads as U+FFFD.
        let p: Payload = decode("x", b"{\"errcode\":0,\"name\":\"a\xffb\",\"n\":1}", true).unwrap();
        assert_eq!(
            p,
            Payload {
                name: "a\u{fffd}b".into(),
                n: 1
            }
        );
        // An error answer with a bad byte still reports its errcode.
        let e = decode::<Payload>("x", b"{\"errcode\":40001,\"errmsg\":\"bad \xfe\"}", true).unwrap_err();
        assert_eq!(e.errcode(), Some(40001));
        // Multi-byte text and escapes decode as before.
        let p: Payload = decode("x", "{\"name\":\"客户\\u4e00\\n\"}".as_bytes(), true).unwrap();
        assert_eq!(p.name, "客户一\n");
    }

    #[test]
    fn values_decode_through_the_same_pass() {
        let v: Value = decode("x", br#"{"errcode":0,"errmsg":"ok","a":[1,2]}"#, true).unwrap();
        assert_eq!(v, serde_json::json!({"a":[1,2]}));
    }
}
