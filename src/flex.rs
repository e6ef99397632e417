#![allow(dead_code)] // which decoders are used depends on the spec
//! Lenient decoders for fields WeCom sends sometimes as a number and sometimes as a string
//! (`"createtime": "1605171726"` vs `1605171726`). Generated code names them in `deserialize_with`.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// An integer that decodes from a JSON number or a numeric string.
struct FlexInt<T>(T);

impl<'de, T: TryFrom<i128>> Deserialize<'de> for FlexInt<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: TryFrom<i128>> V<T> {
            fn fit<E: de::Error>(v: i128) -> Result<FlexInt<T>, E> {
                T::try_from(v)
                    .map(FlexInt)
                    .map_err(|_| E::custom(format!("integer {v} out of range")))
            }
        }
        impl<T: TryFrom<i128>> Visitor<'_> for V<T> {
            type Value = FlexInt<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Self::fit(v.into())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::fit(v.into())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e18 {
                    Self::fit(v as i128)
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let t = v.trim();
                match t.parse::<i128>() {
                    Ok(n) => Self::fit(n),
                    Err(_) => match t.parse::<f64>() {
                        Ok(f) => self.visit_f64(f),
                        Err(_) => Err(E::custom(format!("{v:?} is not an integer"))),
                    },
                }
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A string that also decodes from a number or a bool (kept as its JSON text).
struct FlexString(String);

impl<'de> Deserialize<'de> for FlexString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(FlexString(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(FlexString(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(FlexString(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A bool that also decodes from `0`/`1` and `"0"`/`"1"`/`"true"`/`"false"`.
struct FlexBool(bool);

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bool, 0 or 1")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(FlexBool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match v {
                    0 => Ok(FlexBool(false)),
                    1 => Ok(FlexBool(true)),
                    _ => Err(E::custom(format!("{v} is not 0 or 1"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v.trim() {
                    "1" | "true" => Ok(FlexBool(true)),
                    "0" | "false" => Ok(FlexBool(false)),
                    _ => Err(E::custom(format!("{v:?} is not a bool"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A float that also decodes from a numeric string.
struct FlexFloat(f64);

impl<'de> Deserialize<'de> for FlexFloat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexFloat;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string holding one")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(FlexFloat(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(FlexFloat(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(FlexFloat(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.trim()
                    .parse()
                    .map(FlexFloat)
                    .map_err(|_| E::custom(format!("{v:?} is not a number")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Decodes an integer from a number or a numeric string.
pub(crate) fn int<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
    FlexInt::<T>::deserialize(d).map(|v| v.0)
}

/// Decodes an optional integer; `null` and `""` are `None`.
pub(crate) fn opt_int<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(raw) => raw.into_deserializer().deserialize_any_int().map(Some),
    }
}

/// Decodes a string from a string, a number or a bool.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    FlexString::deserialize(d).map(|v| v.0)
}

/// Decodes an optional string; `null` is `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<FlexString>::deserialize(d).map(|o| o.map(|v| v.0))
}

/// Decodes a bool from a bool, `0`/`1` or their strings.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    FlexBool::deserialize(d).map(|v| v.0)
}

/// Decodes an optional bool; `null` is `None`.
pub(crate) fn opt_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Option::<FlexBool>::deserialize(d).map(|o| o.map(|v| v.0))
}

/// Decodes a float from a number or a numeric string.
pub(crate) fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    FlexFloat::deserialize(d).map(|v| v.0)
}

/// Decodes an optional float; `null` is `None`.
pub(crate) fn opt_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<FlexFloat>::deserialize(d).map(|o| o.map(|v| v.0))
}

/// A scalar held for a second look (so `""` can mean "absent" for optional integers).
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    I(i64),
    U(u64),
    F(f64),
    Str(String),
}

struct RawDe(Raw);

impl Raw {
    fn into_deserializer(self) -> RawDe {
        RawDe(self)
    }
}

impl RawDe {
    fn deserialize_any_int<T: TryFrom<i128>, E: de::Error>(self) -> Result<T, E> {
        let wide: i128 = match self.0 {
            Raw::I(v) => v.into(),
            Raw::U(v) => v.into(),
            Raw::F(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => v as i128,
            Raw::F(v) => return Err(E::custom(format!("{v} is not an integer"))),
            Raw::Str(s) => s
                .trim()
                .parse::<i128>()
                .map_err(|_| E::custom(format!("{s:?} is not an integer")))?,
        };
        T::try_from(wide).map_err(|_| E::custom(format!("integer {wide} out of range")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(deserialize_with = "super::int")]
        a: u32,
        #[serde(default, deserialize_with = "super::opt_int")]
        b: Option<i64>,
        #[serde(deserialize_with = "super::string")]
        c: String,
        #[serde(default, deserialize_with = "super::opt_boolean")]
        d: Option<bool>,
    }

    #[test]
    fn numbers_and_strings_both_decode() {
        let t: T = serde_json::from_str(r#"{"a":"7","b":8,"c":12,"d":1}"#).unwrap();
        assert_eq!(
            t,
            T {
                a: 7,
                b: Some(8),
                c: "12".into(),
                d: Some(true)
            }
        );
        let t: T = serde_json::from_str(r#"{"a":7,"b":"","c":"x"}"#).unwrap();
        assert_eq!(
            t,
            T {
                a: 7,
                b: None,
                c: "x".into(),
                d: None
            }
        );
        let t: T = serde_json::from_str(r#"{"a":7,"b":null,"c":"x","d":"false"}"#).unwrap();
        assert_eq!(t.d, Some(false));
        assert_eq!(t.b, None);
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        assert!(serde_json::from_str::<T>(r#"{"a":"x","c":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":-1,"c":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":4294967296,"c":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":1.5,"c":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":1,"c":"x","d":2}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":1,"c":[1]}"#).is_err());
    }
}
