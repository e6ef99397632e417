//! Typed 客户联系 callback events, decoded from the decrypted XML (or from their JSON form).
//!
//! [`Event::from_xml`] reads both envelopes WeCom uses:
//!
//! * a self-built (or 代开发) app's callback: `ToUserName`, `FromUserName`, `CreateTime`, `MsgType`,
//!   `Event`, `ChangeType` → [`Envelope::App`];
//! * a third-party app's 指令回调: `SuiteId`, `AuthCorpId`, `InfoType`, `TimeStamp`, `ChangeType` →
//!   [`Envelope::Suite`] (recognised by the presence of `InfoType`).
//!
//! The pair (`Event` or `InfoType`, `ChangeType`) selects an [`EventKind`] variant through one table
//! (`KINDS`, generated from `spec/events.yaml` with `EventKind` itself, the `event_values` enums and their
//! field decoders); a pair the table does not know becomes [`EventKind::Unrecognized`], which
//! keeps every field, nested and repeated ones included, so a new WeCom event is never an error. Fields a
//! known variant does not name are kept in [`Event::extra`], so nothing in the XML is dropped.
//!
//! Times (`CreateTime`, `TimeStamp`, `ExpireTime`) are decoded as [`UnixTime`], other numbers (`JoinScene`,
//! `MemChangeCnt`, ...) as `u64`; one that does not parse fails with [`CallbackError::InvalidField`] (never a panic). An empty
//! element in an optional numeric field reads as absent, and an empty `MemChangeList` as the empty list
//! (neither is written back to JSON); when such a field repeats, empty occurrences before the first non-empty
//! one are skipped. Otherwise a repeated field's first occurrence is the variant's value and the others stay in
//! [`Event::extra`].
//!
//! Serializing an [`Event`] (serde) gives a flat JSON object with the wire names and values: the envelope
//! fields, the event name under `Event` or `InfoType`, `ChangeType`, the variant's fields, then the extra
//! ones; numeric fields are JSON numbers, `MemChangeList` is `{"Item": [...]}`, a repeated name becomes an
//! array. Deserializing that object (or [`Event::from_json`]) gives the same event back.

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use super::crypto::json_error;
use super::xml::{parse_document, serialize_grouped, write_document, Out};
use super::{CallbackError, Fields, Node};
use crate::time::UnixTime;

/// One decrypted callback: who sent it ([`Envelope`]), what happened ([`EventKind`]), and any fields the
/// typed variant does not name.
///
/// ```
/// use wecom_externalcontact::callback::{Event, EventKind};
///
/// let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
///            <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
///            <Event><![CDATA[change_external_contact]]></Event>\
///            <ChangeType><![CDATA[add_external_contact]]></ChangeType>\
///            <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wo1]]></ExternalUserID>\
///            <WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>";
/// let event = Event::from_xml(xml)?;
/// match event.kind {
///     EventKind::AddExternalContact { user_id, external_user_id, state, welcome_code } => {
///         assert_eq!((user_id.as_str(), external_user_id.as_str()), ("zhangsan", "wo1"));
///         assert_eq!(state, None);
///         assert_eq!(welcome_code.as_deref(), Some("WELCOMECODE"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), wecom_externalcontact::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The envelope fields (receiver, sender, time).
    pub envelope: Envelope,
    /// What happened, with its fields.
    pub kind: EventKind,
    /// Fields present in the XML that neither the envelope nor the typed variant names, in document
    /// order (always empty for [`EventKind::Unrecognized`], which keeps them itself).
    pub extra: Fields,
}

/// The envelope of a callback: the two layouts WeCom uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// A self-built (or 代开发) app's callback, pushed to the app's 接收事件服务器 URL.
    App {
        /// `ToUserName`: the corp id of the receiving corp.
        to_user_name: String,
        /// `FromUserName`: the sender, `sys` for system events.
        from_user_name: String,
        /// `CreateTime`: when the message was created.
        create_time: UnixTime,
        /// `MsgType`: `event` for events.
        msg_type: String,
    },
    /// A third-party app's 指令回调.
    Suite {
        /// `SuiteId`: the third-party app's suite id.
        suite_id: String,
        /// `AuthCorpId`: the authorizing corp's id, when the event concerns one.
        auth_corp_id: Option<String>,
        /// `TimeStamp`: when the event was sent.
        timestamp: UnixTime,
    },
}

// ---------------------------------------------------------------------------------------------------------
// Field decoding

/// The fields of a document, taken one by one by wire name; what is left becomes [`Event::extra`].
struct FieldReader {
    entries: Vec<Option<(String, Node)>>,
}

impl FieldReader {
    fn new(fields: Fields) -> Self {
        FieldReader {
            entries: fields.into_entries().into_iter().map(Some).collect(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.entries.iter().flatten().any(|(n, _)| n == name)
    }

    /// Removes and returns the first field with this name.
    fn take(&mut self, name: &str) -> Option<Node> {
        self.entries
            .iter_mut()
            .find(|slot| matches!(slot, Some((n, _)) if n == name))
            .and_then(Option::take)
            .map(|(_, node)| node)
    }

    /// Removes the fields with this name up to and including the first that is not blank text, and returns
    /// that one. For the types whose blank value is "absent" (optional numbers and times, lists), which
    /// write nothing back: a leading blank occurrence left behind would stand, in the JSON form, where the
    /// typed value is read from, and `from_json(to_json(e))` would not give `e` back.
    fn take_skipping_blank(&mut self, name: &str) -> Option<Node> {
        loop {
            match self.take(name)? {
                Node::Text(text) if text.trim().is_empty() => continue,
                node => return Some(node),
            }
        }
    }

    /// Removes the first field with this name, which must be text.
    fn take_text(&mut self, name: &'static str) -> Result<Option<String>, CallbackError> {
        match self.take(name) {
            None => Ok(None),
            Some(Node::Text(text)) => Ok(Some(text)),
            Some(Node::Element(_)) => Err(CallbackError::InvalidField {
                field: name,
                expected: "text",
            }),
        }
    }

    fn rest(self) -> Fields {
        self.entries.into_iter().flatten().collect()
    }
}

/// A text field's value type.
trait Scalar: Sized {
    /// Reads the value from the field's text.
    fn parse(field: &'static str, text: String) -> Result<Self, CallbackError>;
    /// Whether an empty (or blank) element means "absent" for an optional field of this type.
    fn blank_is_absent() -> bool {
        false
    }
    /// The value's JSON form.
    fn out(&self) -> Out<'_>;
}

impl Scalar for String {
    fn parse(_field: &'static str, text: String) -> Result<Self, CallbackError> {
        Ok(text)
    }
    fn out(&self) -> Out<'_> {
        Out::Str(self)
    }
}

/// Unix seconds (`CreateTime`, `TimeStamp`, `ExpireTime`): an unsigned decimal integer up to `i64::MAX`.
impl Scalar for UnixTime {
    fn parse(field: &'static str, text: String) -> Result<Self, CallbackError> {
        let secs = <u64 as Scalar>::parse(field, text)?;
        i64::try_from(secs)
            .map(UnixTime::from_unix)
            .map_err(|_| CallbackError::InvalidField {
                field,
                expected: "an unsigned integer",
            })
    }
    fn blank_is_absent() -> bool {
        true
    }
    fn out(&self) -> Out<'_> {
        Out::Int(self.as_unix())
    }
}

impl Scalar for u64 {
    fn parse(field: &'static str, text: String) -> Result<Self, CallbackError> {
        text.trim().parse().map_err(|_| CallbackError::InvalidField {
            field,
            expected: "an unsigned integer",
        })
    }
    fn blank_is_absent() -> bool {
        true
    }
    fn out(&self) -> Out<'_> {
        Out::Num(*self)
    }
}

/// Tickets and auth codes: kept in [`crate::secret::Secret`] so `Debug` never shows them.
impl Scalar for crate::secret::Secret {
    fn parse(_field: &'static str, text: String) -> Result<Self, CallbackError> {
        Ok(crate::secret::Secret::new(text))
    }
    fn out(&self) -> Out<'_> {
        Out::Str(self.expose())
    }
}

/// A type a variant field can have: how it is taken from the document and written back.
trait WireField: Sized {
    fn take(reader: &mut FieldReader, name: &'static str) -> Result<Self, CallbackError>;
    fn put<'a>(&'a self, name: &'static str, out: &mut Vec<(&'a str, Out<'a>)>);
}

/// Required text fields.
macro_rules! wire_field_for_scalars {
    ($($ty:ty),*) => {$(
        impl WireField for $ty {
            fn take(reader: &mut FieldReader, name: &'static str) -> Result<Self, CallbackError> {
                let text = reader.take_text(name)?.ok_or(CallbackError::MissingField(name))?;
                <$ty as Scalar>::parse(name, text)
            }
            fn put<'a>(&'a self, name: &'static str, out: &mut Vec<(&'a str, Out<'a>)>) {
                out.push((name, Scalar::out(self)));
            }
        }

        impl WireField for Option<$ty> {
            fn take(reader: &mut FieldReader, name: &'static str) -> Result<Self, CallbackError> {
                if <$ty as Scalar>::blank_is_absent() {
                    return match reader.take_skipping_blank(name) {
                        None => Ok(None),
                        Some(Node::Text(text)) => <$ty as Scalar>::parse(name, text).map(Some),
                        Some(Node::Element(_)) => Err(CallbackError::InvalidField {
                            field: name,
                            expected: "text",
                        }),
                    };
                }
                reader.take_text(name)?.map(|text| <$ty as Scalar>::parse(name, text)).transpose()
            }
            fn put<'a>(&'a self, name: &'static str, out: &mut Vec<(&'a str, Out<'a>)>) {
                if let Some(value) = self {
                    out.push((name, Scalar::out(value)));
                }
            }
        }
    )*};
}

wire_field_for_scalars!(String, u64, UnixTime, crate::secret::Secret);

/// Event fields of the generated `event_values` enums (string codes with an `Unrecognized` catch-all); the
/// generated `callback_events.rs` lists them.
macro_rules! string_codes {
    ($($name:ident),* $(,)?) => {
        $(
            impl Scalar for $name {
                fn parse(_field: &'static str, text: String) -> Result<Self, CallbackError> {
                    Ok($name::from_code(&text))
                }
                fn out(&self) -> Out<'_> {
                    Out::Str(self.as_str())
                }
            }
        )*
        wire_field_for_scalars!($($name),*);
    };
}

/// A list of `<Item>` elements (`<MemChangeList><Item>a</Item><Item>b</Item></MemChangeList>`); an absent
/// or empty element is the empty list.
impl WireField for Vec<String> {
    fn take(reader: &mut FieldReader, name: &'static str) -> Result<Self, CallbackError> {
        let invalid = CallbackError::InvalidField {
            field: name,
            expected: "a list of <Item> elements",
        };
        match reader.take_skipping_blank(name) {
            None => Ok(Vec::new()),
            Some(Node::Text(_)) => Err(invalid),
            Some(Node::Element(children)) => children
                .into_entries()
                .into_iter()
                .map(|(child, node)| match node {
                    Node::Text(text) if child == "Item" => Ok(text),
                    _ => Err(invalid.clone()),
                })
                .collect(),
        }
    }
    fn put<'a>(&'a self, name: &'static str, out: &mut Vec<(&'a str, Out<'a>)>) {
        if !self.is_empty() {
            out.push((name, Out::Items(self)));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The event table

type Decoder = fn(&mut FieldReader) -> Result<EventKind, CallbackError>;

/// One row of the table: the wire pair and the decoder of its variant.
struct KindEntry {
    event: &'static str,
    change_type: &'static str,
    decode: Decoder,
}

// The event kinds, their decoders and their writers, generated from `spec/events.yaml`.
include!(concat!(env!("OUT_DIR"), "/callback_events.rs"));

impl EventKind {
    /// Every (`Event`/`InfoType`, `ChangeType`) pair that has a typed variant; the `ChangeType` is `""` for
    /// events that have none (the suite's `suite_ticket`, `create_auth`, `change_auth`, ...).
    pub fn known() -> impl Iterator<Item = (&'static str, &'static str)> {
        KINDS.iter().map(|entry| (entry.event, entry.change_type))
    }

    /// The event name (`Event` or `InfoType`) on the wire, e.g. `change_external_contact`.
    pub fn event_name(&self) -> Option<&str> {
        self.wire_names().0
    }

    /// `ChangeType` on the wire, e.g. `add_external_contact`.
    pub fn change_type(&self) -> Option<&str> {
        self.wire_names().1
    }

    /// Whether this is [`EventKind::Unrecognized`].
    pub fn is_unrecognized(&self) -> bool {
        matches!(self, EventKind::Unrecognized { .. })
    }
}

impl Event {
    /// Decodes a decrypted callback XML document (as returned by
    /// [`super::CallbackCrypto::decrypt_message`]).
    ///
    /// Fails with [`CallbackError::Xml`] for malformed XML, [`CallbackError::MissingField`] when an envelope
    /// field or a required field of a known event is absent, and [`CallbackError::InvalidField`] when a
    /// number does not parse or a list is not a list; an unknown event is never an error.
    pub fn from_xml(xml: &str) -> Result<Event, crate::Error> {
        Ok(Event::decode(parse_document(xml)?)?)
    }

    /// Decodes the JSON form produced by serializing an [`Event`] (the same rules as
    /// [`from_xml`](Self::from_xml); JSON numbers are read as their decimal text).
    pub fn from_json(json: &str) -> Result<Event, crate::Error> {
        let fields: Fields = serde_json::from_str(json).map_err(json_error)?;
        Ok(Event::decode(fields)?)
    }

    /// Decodes already-parsed fields (the children of the root element, e.g. from
    /// [`Fields::from_xml`]), with the same rules as [`from_xml`](Self::from_xml).
    pub fn from_fields(fields: Fields) -> Result<Event, crate::Error> {
        Ok(Event::decode(fields)?)
    }

    /// A self-built app's event as WeCom sends it to `corp_id`'s callback URL: `FromUserName` `sys`,
    /// `MsgType` `event`, `CreateTime` now on the runtime's clock ([`crate::clock::unix_secs`], so a
    /// paused test's callback is inside the receiver's replay window), no extra fields.
    ///
    /// With [`CallbackCrypto::sign_event`](super::CallbackCrypto::sign_event) it builds the request a test
    /// posts to a callback router; see there for an example.
    pub fn app(corp_id: impl Into<String>, kind: EventKind) -> Event {
        Event {
            envelope: Envelope::App {
                to_user_name: corp_id.into(),
                from_user_name: "sys".to_owned(),
                create_time: UnixTime::now(),
                msg_type: "event".to_owned(),
            },
            kind,
            extra: Fields::new(),
        }
    }

    /// A third-party suite's 指令回调 as WeCom sends it: `SuiteId`, `AuthCorpId` (when the event concerns
    /// an authorized corp), `TimeStamp` now on the runtime's clock, no extra fields.
    pub fn suite(suite_id: impl Into<String>, auth_corp_id: Option<String>, kind: EventKind) -> Event {
        Event {
            envelope: Envelope::Suite {
                suite_id: suite_id.into(),
                auth_corp_id,
                timestamp: UnixTime::now(),
            },
            kind,
            extra: Fields::new(),
        }
    }

    /// Writes the event back as WeCom's XML (`<xml>...</xml>`): the envelope fields, the event name and
    /// `ChangeType`, the variant's fields, then [`extra`](Self::extra), text in CDATA and numbers bare.
    /// [`Event::from_xml`] reads it back to an equal event.
    ///
    /// ```
    /// use wecom_externalcontact::callback::{Event, EventKind};
    ///
    /// let event = Event::app("ww1", EventKind::DelExternalContact {
    ///     user_id: "zhangsan".into(),
    ///     external_user_id: "wo1".into(),
    ///     source: None,
    /// });
    /// let xml = event.to_xml();
    /// assert!(xml.contains("<ChangeType><![CDATA[del_external_contact]]></ChangeType>"));
    /// assert_eq!(Event::from_xml(&xml)?, event);
    /// # Ok::<(), wecom_externalcontact::Error>(())
    /// ```
    pub fn to_xml(&self) -> String {
        write_document(&self.wire_pairs())
    }

    fn decode(fields: Fields) -> Result<Event, CallbackError> {
        let mut reader = FieldReader::new(fields);
        let (envelope, event) = if reader.has("InfoType") {
            let suite_id = <String as WireField>::take(&mut reader, "SuiteId")?;
            let auth_corp_id = <Option<String> as WireField>::take(&mut reader, "AuthCorpId")?;
            let info_type = <Option<String> as WireField>::take(&mut reader, "InfoType")?;
            let timestamp = <UnixTime as WireField>::take(&mut reader, "TimeStamp")?;
            let envelope = Envelope::Suite {
                suite_id,
                auth_corp_id,
                timestamp,
            };
            (envelope, info_type)
        } else {
            let to_user_name = <String as WireField>::take(&mut reader, "ToUserName")?;
            let from_user_name = <String as WireField>::take(&mut reader, "FromUserName")?;
            let create_time = <UnixTime as WireField>::take(&mut reader, "CreateTime")?;
            let msg_type = <String as WireField>::take(&mut reader, "MsgType")?;
            let event = <Option<String> as WireField>::take(&mut reader, "Event")?;
            let envelope = Envelope::App {
                to_user_name,
                from_user_name,
                create_time,
                msg_type,
            };
            (envelope, event)
        };
        let change_type = <Option<String> as WireField>::take(&mut reader, "ChangeType")?;

        // Events without a `ChangeType` (the suite's `suite_ticket`, `create_auth`, ...) have "" in the table.
        let entry = match (&event, &change_type) {
            (Some(event), change_type) => {
                let change_type = change_type.as_deref().map_or("", str::trim);
                KINDS
                    .iter()
                    .find(|entry| entry.event == event.trim() && entry.change_type == change_type)
            }
            _ => None,
        };
        match entry {
            Some(entry) => {
                let kind = (entry.decode)(&mut reader)?;
                Ok(Event {
                    envelope,
                    kind,
                    extra: reader.rest(),
                })
            }
            None => Ok(Event {
                envelope,
                kind: EventKind::Unrecognized {
                    event,
                    change_type,
                    fields: reader.rest(),
                },
                extra: Fields::new(),
            }),
        }
    }

    /// The event name (`Event` or `InfoType`), e.g. `change_external_chat`.
    pub fn event_name(&self) -> Option<&str> {
        self.kind.event_name()
    }

    /// `ChangeType`, e.g. `update`.
    pub fn change_type(&self) -> Option<&str> {
        self.kind.change_type()
    }

    /// When the event was sent: `CreateTime` or `TimeStamp` (`.as_unix()` for the number; its `Display`
    /// is Beijing time).
    pub fn time(&self) -> UnixTime {
        match &self.envelope {
            Envelope::App { create_time, .. } => *create_time,
            Envelope::Suite { timestamp, .. } => *timestamp,
        }
    }

    /// The corp the event concerns: `ToUserName` of an app callback, `AuthCorpId` of a suite callback.
    pub fn corp_id(&self) -> Option<&str> {
        match &self.envelope {
            Envelope::App { to_user_name, .. } => Some(to_user_name),
            Envelope::Suite { auth_corp_id, .. } => auth_corp_id.as_deref(),
        }
    }

    /// All fields under their wire names, in wire order.
    fn wire_pairs(&self) -> Vec<(&str, Out<'_>)> {
        let mut out: Vec<(&str, Out<'_>)> = Vec::new();
        let (event, change_type) = self.kind.wire_names();
        match &self.envelope {
            Envelope::App {
                to_user_name,
                from_user_name,
                create_time,
                msg_type,
            } => {
                out.push(("ToUserName", Out::Str(to_user_name)));
                out.push(("FromUserName", Out::Str(from_user_name)));
                out.push(("CreateTime", Out::Int(create_time.as_unix())));
                out.push(("MsgType", Out::Str(msg_type)));
                if let Some(event) = event {
                    out.push(("Event", Out::Str(event)));
                }
            }
            Envelope::Suite {
                suite_id,
                auth_corp_id,
                timestamp,
            } => {
                out.push(("SuiteId", Out::Str(suite_id)));
                if let Some(auth_corp_id) = auth_corp_id {
                    out.push(("AuthCorpId", Out::Str(auth_corp_id)));
                }
                if let Some(event) = event {
                    out.push(("InfoType", Out::Str(event)));
                }
                out.push(("TimeStamp", Out::Int(timestamp.as_unix())));
            }
        }
        if let Some(change_type) = change_type {
            out.push(("ChangeType", Out::Str(change_type)));
        }
        self.kind.put_fields(&mut out);
        for (name, node) in self.extra.iter() {
            out.push((name, Out::Node(node)));
        }
        out
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_grouped(&self.wire_pairs(), serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = Fields::deserialize(deserializer)?;
        Event::decode(fields).map_err(de::Error::custom)
    }
}
