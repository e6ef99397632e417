//! One type for WeCom's unix-second times: [`UnixTime`], in every response and request field the spec types
//! `unix_time` (`create_time`, `createtime`, `start_time`, ...) and in callback events (`CreateTime`,
//! `TimeStamp`, `ExpireTime`).
//!
//! WeCom users think in Beijing time, so [`UnixTime`]'s `Display` shows the moment in UTC+8
//! (`2018-05-08 19:43:32 +08:00`) without any dependency. With the `jiff` feature it converts to
//! [`jiff`](https://docs.rs/jiff)'s typed values: [`to_timestamp`](UnixTime::to_timestamp),
//! [`to_zoned`](UnixTime::to_zoned) (any time zone) and [`to_beijing`](UnixTime::to_beijing).
//!
//! ```
//! use wecom_externalcontact::UnixTime;
//!
//! let created: UnixTime = serde_json::from_str("1525779812")?;
//! assert_eq!(created, serde_json::from_str::<UnixTime>("\"1525779812\"")?); // WeCom sends both
//! assert_eq!(created.as_unix(), 1525779812);
//! assert_eq!(created.to_string(), "2018-05-08 19:43:32 +08:00");
//! assert_eq!(serde_json::to_string(&created)?, "1525779812");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Beijing time's offset from UTC (China has one time zone, no daylight saving).
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// A moment as WeCom sends it: whole seconds since 1970-01-01 00:00:00 UTC.
///
/// Decodes from a JSON number or a numeric string (WeCom sends both), encodes as a number. `Display` shows
/// Beijing time (`2018-05-08 19:43:32 +08:00`); [`as_unix`](Self::as_unix) gives the number. Converts from
/// and compares with `i64`, so `UnixTime::from(1525779812)` and `time == 1525779812` work, and a request
/// setter taking `impl Into<UnixTime>` takes a plain integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The moment `secs` seconds after the unix epoch.
    pub const fn from_unix(secs: i64) -> UnixTime {
        UnixTime(secs)
    }

    /// Seconds since the unix epoch, as WeCom sends them.
    pub const fn as_unix(self) -> i64 {
        self.0
    }

    /// Now, on the runtime's clock ([`crate::clock::unix_secs`]: virtual in a test with paused time).
    pub fn now() -> UnixTime {
        UnixTime(i64::try_from(crate::clock::unix_secs()).unwrap_or(i64::MAX))
    }

    /// The moment as a [`jiff::Timestamp`]; `None` outside jiff's range (years -9999 to 9999).
    #[cfg(feature = "jiff")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
    pub fn to_timestamp(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_second(self.0).ok()
    }

    /// The moment in time zone `tz` (e.g. `jiff::tz::TimeZone::UTC`, or `TimeZone::get("Asia/Shanghai")` with
    /// jiff's time zone database); `None` outside jiff's range.
    #[cfg(feature = "jiff")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
    pub fn to_zoned(self, tz: jiff::tz::TimeZone) -> Option<jiff::ZonedDateTime> {
        Some(self.to_timestamp()?.to_zoned_datetime(tz))
    }

    /// The moment in Beijing time (the fixed offset UTC+8, needing no time zone database); `None` outside
    /// jiff's range.
    ///
    /// ```
    /// use wecom_externalcontact::UnixTime;
    /// let zoned = UnixTime::from_unix(1525779812).to_beijing().unwrap();
    /// assert_eq!((zoned.year(), zoned.month(), zoned.day(), zoned.hour()), (2018, 5, 8, 19));
    /// assert_eq!(zoned.strftime("%Y年%m月%d日 %H:%M").to_string(), "2018年05月08日 19:43");
    /// ```
    #[cfg(feature = "jiff")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
    pub fn to_beijing(self) -> Option<jiff::ZonedDateTime> {
        self.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
    }
}

impl From<i64> for UnixTime {
    fn from(secs: i64) -> UnixTime {
        UnixTime(secs)
    }
}

/// So an integer literal (`i32` by default) converts too: `request.start_time(1525779812)`.
impl From<i32> for UnixTime {
    fn from(secs: i32) -> UnixTime {
        UnixTime(secs.into())
    }
}

impl From<u32> for UnixTime {
    fn from(secs: u32) -> UnixTime {
        UnixTime(secs.into())
    }
}

impl From<UnixTime> for i64 {
    fn from(time: UnixTime) -> i64 {
        time.0
    }
}

/// For the number-or-string decoders of `flex` fields.
impl TryFrom<i128> for UnixTime {
    type Error = std::num::TryFromIntError;
    fn try_from(secs: i128) -> Result<UnixTime, Self::Error> {
        i64::try_from(secs).map(UnixTime)
    }
}

impl PartialEq<i64> for UnixTime {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl PartialEq<UnixTime> for i64 {
    fn eq(&self, other: &UnixTime) -> bool {
        *self == other.0
    }
}

impl std::str::FromStr for UnixTime {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<UnixTime, Self::Err> {
        s.trim().parse().map(UnixTime)
    }
}

/// Beijing time, `YYYY-MM-DD hh:mm:ss +08:00` (proleptic Gregorian calendar, any year).
impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = i128::from(self.0) + i128::from(BEIJING_OFFSET_SECS);
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +08:00",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

/// The number and the Beijing time: `UnixTime(1525779812 = 2018-05-08 19:43:32 +08:00)`.
impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({} = {self})", self.0)
    }
}

impl Serialize for UnixTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for UnixTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UnixTime, D::Error> {
        crate::flex::int::<D, i64>(deserializer).map(UnixTime)
    }
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_display_matches_known_dates() {
        for (secs, shown) in [
            (0, "1970-01-01 08:00:00 +08:00"),
            (-28_800, "1970-01-01 00:00:00 +08:00"),
            (-28_801, "1969-12-31 23:59:59 +08:00"),
            (951_753_600, "2000-02-29 00:00:00 +08:00"),
            (1_525_779_812, "2018-05-08 19:43:32 +08:00"),
            (1_709_136_000, "2024-02-29 00:00:00 +08:00"),
            (4_102_415_999, "2099-12-31 23:59:59 +08:00"),
        ] {
            assert_eq!(UnixTime::from_unix(secs).to_string(), shown, "{secs}");
        }
        // The extremes neither panic nor overflow.
        assert!(UnixTime::from_unix(i64::MAX).to_string().ends_with("+08:00"));
        assert!(UnixTime::from_unix(i64::MIN).to_string().ends_with("+08:00"));
    }

    #[test]
    fn decodes_numbers_and_strings_and_refuses_the_rest() {
        let n: UnixTime = serde_json::from_str("1605171726").unwrap();
        let s: UnixTime = serde_json::from_str("\"1605171726\"").unwrap();
        assert_eq!((n, s), (UnixTime(1_605_171_726), UnixTime(1_605_171_726)));
        assert!(serde_json::from_str::<UnixTime>("\"soon\"").is_err());
        assert!(serde_json::from_str::<UnixTime>("1e30").is_err());
        assert_eq!(serde_json::to_string(&n).unwrap(), "1605171726");
        assert_eq!(n, 1_605_171_726_i64);
        assert_eq!(format!("{n:?}"), "UnixTime(1605171726 = 2020-11-12 17:02:06 +08:00)");
    }

    #[cfg(feature = "jiff")]
    #[test]
    fn jiff_agrees_with_the_display() {
        for secs in [0, -28_801, 951_753_600, 1_525_779_812, 4_102_415_999] {
            let t = UnixTime::from_unix(secs);
            let zoned = t.to_beijing().unwrap();
            assert_eq!(zoned.strftime("%Y-%m-%d %H:%M:%S %:z").to_string(), t.to_string());
            assert_eq!(t.to_timestamp().unwrap().as_second(), secs);
        }
        assert!(UnixTime::from_unix(i64::MAX).to_beijing().is_none());
    }
}
