//! A small, lossless model of WeCom's callback XML (`<xml><Name>value</Name>...</xml>`), parsed with
//! quick-xml, and its JSON form.
//!
//! WeCom's callback documents are one root element whose children are fields: either text (plain or
//! CDATA) or elements with child elements of their own (such as `<MemChangeList><Item>..</Item>...`).
//! [`Fields`] keeps every child in document order, repeated names included; attributes, comments and
//! processing instructions carry no data in WeCom's formats and are skipped.

use std::fmt;

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::CallbackError;

/// How deep elements may nest before a document is refused (WeCom's formats use at most 3 levels).
const MAX_DEPTH: usize = 64;

/// The value of one field: text, or child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A text value (`<A>text</A>`, `<A><![CDATA[text]]></A>`; `<A/>` is the empty text). Entities are
    /// resolved and the text is kept exactly, whitespace included.
    Text(String),
    /// An element with child elements, e.g. `<MemChangeList><Item>a</Item><Item>b</Item></MemChangeList>`.
    Element(Fields),
}

impl Node {
    /// The text, if this is a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Node::Text(text) => Some(text),
            Node::Element(_) => None,
        }
    }

    /// The child elements, if this is an element with children.
    pub fn as_element(&self) -> Option<&Fields> {
        match self {
            Node::Text(_) => None,
            Node::Element(fields) => Some(fields),
        }
    }
}

/// The child elements of one XML element, in document order, repeated names kept.
///
/// Serializes to a JSON object keyed by wire name: text becomes a JSON string, an element becomes a nested
/// object, and a name that occurs more than once becomes an array of its values in order. Deserializing
/// accepts that form back (arrays expand to repeated fields; numbers and booleans become text).
///
/// Two `Fields` are equal when they hold the same values under each name, in the same order for each
/// name; how fields of *different* names interleave is not compared, since a JSON object cannot keep it
/// (and WeCom's formats give it no meaning).
///
/// `Debug` shows every field except the values of the ones that carry credentials (`SuiteTicket`,
/// `AuthCode`, `PermanentCode`, in any case, with or without underscores), which read `[redacted]`.
#[derive(Clone, Default)]
pub struct Fields {
    entries: Vec<(String, Node)>,
}

/// Whether a field of this wire name carries a credential (a suite ticket, an authorization code or a
/// permanent code of a third-party suite's 指令回调).
fn is_secret_field(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(folded.as_str(), "suiteticket" | "authcode" | "permanentcode")
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted;
        impl fmt::Debug for Redacted {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
        struct Entries<'a>(&'a [(String, Node)]);
        impl fmt::Debug for Entries<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for (name, node) in self.0 {
                    if is_secret_field(name) {
                        list.entry(&(name, Redacted));
                    } else {
                        list.entry(&(name, node));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("Fields")
            .field("entries", &Entries(&self.entries))
            .finish()
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(name, _)| self.get_all(name).eq(other.get_all(name)))
    }
}

impl Eq for Fields {}

impl Fields {
    /// An empty list of fields.
    pub fn new() -> Self {
        Fields::default()
    }

    /// Parses an XML document and returns the children of its root element.
    ///
    /// Any input, however broken, gives an error rather than a panic: malformed or unbalanced markup,
    /// unknown entities, mixed text and elements, a second root, or nesting deeper than 64 levels are
    /// reported as [`CallbackError::Xml`] with a byte offset and never with document content.
    pub fn from_xml(xml: &str) -> Result<Fields, crate::Error> {
        Ok(parse_document(xml)?)
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: Node) {
        self.entries.push((name.into(), value));
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All fields in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> + '_ {
        self.entries.iter().map(|(name, node)| (name.as_str(), node))
    }

    /// The first field with this wire name.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, node)| node)
    }

    /// Every field with this wire name, in document order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, node)| node)
    }

    /// The text of the first field with this wire name, if it is a text value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Node::as_text)
    }

    pub(crate) fn into_entries(self) -> Vec<(String, Node)> {
        self.entries
    }
}

impl FromIterator<(String, Node)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(iter: I) -> Self {
        Fields {
            entries: iter.into_iter().collect(),
        }
    }
}

/// One open element while parsing.
struct Frame {
    name: String,
    text: String,
    children: Fields,
}

impl Frame {
    fn new(name: String) -> Self {
        Frame {
            name,
            text: String::new(),
            children: Fields::new(),
        }
    }

    /// The finished value of this element.
    fn finish(self, position: u64) -> Result<(String, Node), CallbackError> {
        if self.children.is_empty() {
            Ok((self.name, Node::Text(self.text)))
        } else if self.text.trim().is_empty() {
            Ok((self.name, Node::Element(self.children)))
        } else {
            Err(xml_error("text mixed with child elements", position))
        }
    }
}

fn xml_error(what: &str, position: u64) -> CallbackError {
    CallbackError::Xml(format!("{what} (near byte {position})"))
}

/// A description of a quick-xml error that names the kind of problem only: quick-xml's own messages can
/// quote element names and entity text taken from the (secret) document.
fn describe(err: &quick_xml::Error) -> &'static str {
    match err {
        quick_xml::Error::Io(_) => "read error",
        quick_xml::Error::Syntax(_) => "syntax error",
        quick_xml::Error::IllFormed(_) => "ill-formed document",
        quick_xml::Error::InvalidAttr(_) => "invalid attribute",
        quick_xml::Error::Encoding(_) => "invalid encoding",
        quick_xml::Error::Escape(_) => "invalid character or entity reference",
        quick_xml::Error::Namespace(_) => "namespace error",
    }
}

fn utf8(bytes: &[u8], position: u64) -> Result<&str, CallbackError> {
    std::str::from_utf8(bytes).map_err(|_| xml_error("invalid UTF-8", position))
}

/// Parses a document into the children of its root element.
pub(crate) fn parse_document(xml: &str) -> Result<Fields, CallbackError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;

    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Fields> = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_error(describe(&e), reader.error_position()))?;
        match event {
            XmlEvent::Start(start) => {
                if root.is_some() {
                    return Err(xml_error("content after the root element", position));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(xml_error("elements nested too deeply", position));
                }
                let name = utf8(start.name().as_ref(), position)?.to_owned();
                stack.push(Frame::new(name));
            }
            XmlEvent::Empty(start) => {
                if root.is_some() {
                    return Err(xml_error("content after the root element", position));
                }
                let name = utf8(start.name().as_ref(), position)?.to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(name, Node::Text(String::new())),
                    None => root = Some(Fields::new()),
                }
            }
            XmlEvent::End(_) => {
                // quick-xml checks that the end tag matches the open one.
                let frame = stack.pop().ok_or_else(|| xml_error("unmatched end tag", position))?;
                let (name, node) = frame.finish(position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(name, node),
                    None => {
                        root = Some(match node {
                            Node::Element(children) => children,
                            Node::Text(text) if text.trim().is_empty() => Fields::new(),
                            Node::Text(_) => return Err(xml_error("text directly inside the root element", position)),
                        });
                    }
                }
            }
            XmlEvent::Text(text) => {
                let text = text.unescape().map_err(|e| xml_error(describe(&e), position))?;
                match stack.last_mut() {
                    Some(frame) => frame.text.push_str(&text),
                    None => {
                        if !text.trim().is_empty() {
                            return Err(xml_error("text outside the root element", position));
                        }
                    }
                }
            }
            XmlEvent::CData(cdata) => {
                let bytes = cdata.into_inner();
                let text = utf8(&bytes, position)?;
                match stack.last_mut() {
                    Some(frame) => frame.text.push_str(text),
                    None => return Err(xml_error("text outside the root element", position)),
                }
            }
            XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::DocType(_) => {}
            XmlEvent::Eof => {
                if !stack.is_empty() {
                    return Err(xml_error("unclosed element at end of input", position));
                }
                return root.ok_or_else(|| xml_error("no root element", position));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// JSON form

/// A value to serialize under one key.
pub(crate) enum Out<'a> {
    /// A JSON string.
    Str(&'a str),
    /// A JSON number.
    Num(u64),
    /// A JSON number that may be negative (unix seconds).
    Int(i64),
    /// A generic node (string or object).
    Node(&'a Node),
    /// A list of `<Item>` values: always `{"Item": [..]}`.
    Items(&'a [String]),
}

impl Serialize for Out<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Str(text) => serializer.serialize_str(text),
            Out::Num(n) => serializer.serialize_u64(*n),
            Out::Int(n) => serializer.serialize_i64(*n),
            Out::Node(node) => node.serialize(serializer),
            Out::Items(items) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Item", items)?;
                map.end()
            }
        }
    }
}

/// Writes `(key, value)` pairs as WeCom's XML document `<xml>...</xml>`: text in CDATA, numbers bare,
/// elements nested, `Items` as `<Item>` children.
pub(crate) fn write_document(pairs: &[(&str, Out<'_>)]) -> String {
    let mut xml = String::from("<xml>");
    for (name, value) in pairs {
        write_field(&mut xml, name, value);
    }
    xml.push_str("</xml>");
    xml
}

fn write_field(xml: &mut String, name: &str, value: &Out<'_>) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    match value {
        Out::Str(text) => push_cdata(xml, text),
        Out::Num(n) => xml.push_str(&n.to_string()),
        Out::Int(n) => xml.push_str(&n.to_string()),
        Out::Node(Node::Text(text)) => push_cdata(xml, text),
        Out::Node(Node::Element(children)) => {
            for (child, node) in children.iter() {
                write_field(xml, child, &Out::Node(node));
            }
        }
        Out::Items(items) => {
            for item in items.iter() {
                write_field(xml, "Item", &Out::Str(item));
            }
        }
    }
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// Appends text in CDATA, splitting any `]]>` so the section cannot be closed early.
pub(crate) fn push_cdata(xml: &mut String, text: &str) {
    xml.push_str("<![CDATA[");
    xml.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
    xml.push_str("]]>");
}

/// Serializes `(key, value)` pairs as one JSON object, turning repeated keys into arrays.
pub(crate) fn serialize_grouped<S: Serializer>(pairs: &[(&str, Out<'_>)], serializer: S) -> Result<S::Ok, S::Error> {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in pairs {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    let mut map = serializer.serialize_map(Some(keys.len()))?;
    for key in keys {
        let values: Vec<&Out<'_>> = pairs.iter().filter(|(k, _)| *k == key).map(|(_, v)| v).collect();
        match values.as_slice() {
            [single] => map.serialize_entry(key, *single)?,
            many => map.serialize_entry(key, &Many(many))?,
        }
    }
    map.end()
}

struct Many<'a, 'b>(&'a [&'a Out<'b>]);

impl Serialize for Many<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            seq.serialize_element(*value)?;
        }
        seq.end()
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Text(text) => serializer.serialize_str(text),
            Node::Element(fields) => fields.serialize(serializer),
        }
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(&str, Out<'_>)> = self
            .entries
            .iter()
            .map(|(name, node)| (name.as_str(), Out::Node(node)))
            .collect();
        serialize_grouped(&pairs, serializer)
    }
}

/// Any JSON value, as far as the wire model cares.
enum Incoming {
    Null,
    Scalar(String),
    Object(Fields),
    Array(Vec<Incoming>),
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IncomingVisitor)
    }
}

struct IncomingVisitor;

impl<'de> Visitor<'de> for IncomingVisitor {
    type Value = Incoming;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean, object or array")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Incoming, E> {
        Ok(Incoming::Scalar(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Incoming, E> {
        Ok(Incoming::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Incoming, E> {
        Ok(Incoming::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Incoming, D::Error> {
        Incoming::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Incoming, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Incoming>()? {
            items.push(item);
        }
        Ok(Incoming::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Incoming, A::Error> {
        let mut fields = Fields::new();
        while let Some((key, value)) = map.next_entry::<String, Incoming>()? {
            push_incoming(&mut fields, key, value).map_err(de::Error::custom)?;
        }
        Ok(Incoming::Object(fields))
    }
}

fn push_incoming(fields: &mut Fields, key: String, value: Incoming) -> Result<(), &'static str> {
    match value {
        Incoming::Null => {}
        Incoming::Scalar(text) => fields.push(key, Node::Text(text)),
        Incoming::Object(children) => fields.push(key, Node::Element(children)),
        Incoming::Array(items) => {
            for item in items {
                match item {
                    Incoming::Null => {}
                    Incoming::Scalar(text) => fields.push(key.clone(), Node::Text(text)),
                    Incoming::Object(children) => fields.push(key.clone(), Node::Element(children)),
                    Incoming::Array(_) => return Err("nested arrays have no XML form"),
                }
            }
        }
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Incoming::deserialize(deserializer)? {
            Incoming::Object(fields) => Ok(fields),
            _ => Err(de::Error::custom("expected a JSON object of fields")),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Incoming::deserialize(deserializer)? {
            Incoming::Null => Ok(Node::Text(String::new())),
            Incoming::Scalar(text) => Ok(Node::Text(text)),
            Incoming::Object(fields) => Ok(Node::Element(fields)),
            Incoming::Array(_) => Err(de::Error::custom("a single node cannot be an array")),
        }
    }
}
