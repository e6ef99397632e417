//! Typed 客户联系 callback events, decoded from the decrypted XML (or from their JSON form).
//!
//! [`Event::from_xml`] reads both envelopes WeCom uses:
//!
//! * a self-built (or 代开发) app's callback: `ToUserName`, `FromUserName`, `CreateTime`, `MsgType`,
//!   `Event`, `ChangeType` → [`Envelope::App`];
//! * a third-party app's 指令回调: `SuiteId`, `AuthCorpId`, `InfoType`, `TimeStamp`, `ChangeType` →
//!   [`Envelope::Suite`] (recognised by the presence of `InfoType`).
//!
//! The pair (`Event` or `InfoType`, `ChangeType`) selects an [`EventKind`] variant through one table (the
//! `event_kinds!` invocation below); a pair the table does not know becomes [`EventKind::Unknown`], which
//! keeps every field, nested and repeated ones included, so a new WeCom event is never an error. Fields a
//! known variant does not name are kept in [`Event::extra`], so nothing in the XML is dropped.
//!
//! Numbers (`CreateTime`, `TimeStamp`, `JoinScene`, `MemChangeCnt`, `ExpireTime`, ...) are decoded as
//! `u64`; one that does not parse fails with [`CallbackError::InvalidField`] (never a panic). An empty
//! element in an optional numeric field reads as absent, and an empty `MemChangeList` as the empty list
//! (neither is written back to JSON).
//!
//! Serializing an [`Event`] (serde) gives a flat JSON object with the wire names and values: the envelope
//! fields, the event name under `Event` or `InfoType`, `ChangeType`, the variant's fields, then the extra
//! ones; numeric fields are JSON numbers, `MemChangeList` is `{"Item": [...]}`, a repeated name becomes an
//! array. Deserializing that object (or [`Event::from_json`]) gives the same event back.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use super::crypto::json_error;
use super::xml::{parse_document, serialize_grouped, Out};
use super::{CallbackError, Fields, Node};

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
    /// order (always empty for [`EventKind::Unknown`], which keeps them itself).
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
        /// `CreateTime`: when the message was created (unix seconds).
        create_time: u64,
        /// `MsgType`: `event` for events.
        msg_type: String,
    },
    /// A third-party app's 指令回调.
    Suite {
        /// `SuiteId`: the third-party app's suite id.
        suite_id: String,
        /// `AuthCorpId`: the authorizing corp's id, when the event concerns one.
        auth_corp_id: Option<String>,
        /// `TimeStamp`: when the event was sent (unix seconds).
        timestamp: u64,
    },
}

/// Why a failed customer transfer failed (`FailReason`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransferFailReason {
    /// `customer_refused`: the customer refused the transfer.
    CustomerRefused,
    /// `customer_limit_exceed`: the new owner has reached their customer limit.
    CustomerLimitExceed,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

/// What changed in a customer group (`UpdateDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpdateDetail {
    /// `add_member`: members joined.
    AddMember,
    /// `del_member`: members left or were removed.
    DelMember,
    /// `change_owner`: the owner changed.
    ChangeOwner,
    /// `change_name`: the group was renamed.
    ChangeName,
    /// `change_notice`: the group notice changed.
    ChangeNotice,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

/// Whether a tag event concerns a tag or a tag group (`TagType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagType {
    /// `tag`: a tag.
    Tag,
    /// `tag_group`: a tag group.
    TagGroup,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

/// Implements the wire conversions of a string enum with an `Other` catch-all.
macro_rules! wire_values {
    ($name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        impl $name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(value) => value,
                }
            }

            /// Reads a wire value; a value this crate does not know becomes `Other`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Scalar for $name {
            fn parse(_field: &'static str, text: String) -> Result<Self, CallbackError> {
                Ok($name::from_wire(&text))
            }
            fn out(&self) -> Out<'_> {
                Out::Str(self.as_str())
            }
        }
    };
}

wire_values!(TransferFailReason {
    CustomerRefused = "customer_refused",
    CustomerLimitExceed = "customer_limit_exceed",
});
wire_values!(UpdateDetail {
    AddMember = "add_member",
    DelMember = "del_member",
    ChangeOwner = "change_owner",
    ChangeName = "change_name",
    ChangeNotice = "change_notice",
});
wire_values!(TagType {
    Tag = "tag",
    TagGroup = "tag_group",
});

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
                match reader.take_text(name)? {
                    None => Ok(None),
                    Some(text) if <$ty as Scalar>::blank_is_absent() && text.trim().is_empty() => Ok(None),
                    Some(text) => <$ty as Scalar>::parse(name, text).map(Some),
                }
            }
            fn put<'a>(&'a self, name: &'static str, out: &mut Vec<(&'a str, Out<'a>)>) {
                if let Some(value) = self {
                    out.push((name, Scalar::out(value)));
                }
            }
        }
    )*};
}

wire_field_for_scalars!(String, u64, TransferFailReason, UpdateDetail, TagType);

/// A list of `<Item>` elements (`<MemChangeList><Item>a</Item><Item>b</Item></MemChangeList>`); an absent
/// or empty element is the empty list.
impl WireField for Vec<String> {
    fn take(reader: &mut FieldReader, name: &'static str) -> Result<Self, CallbackError> {
        let invalid = CallbackError::InvalidField {
            field: name,
            expected: "a list of <Item> elements",
        };
        match reader.take(name) {
            None => Ok(Vec::new()),
            Some(Node::Text(text)) if text.trim().is_empty() => Ok(Vec::new()),
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

/// Declares [`EventKind`], the table mapping (`Event`/`InfoType`, `ChangeType`) to a variant, and each
/// variant's fields with their wire names. Adding an event is adding one entry here.
macro_rules! event_kinds {
    (
        $(
            $(#[doc = $doc:literal])*
            $variant:ident ($event:literal, $change:literal) {
                $(
                    $(#[doc = $fdoc:literal])*
                    $field:ident : $ty:ty = $wire:literal
                ),* $(,)?
            }
        )*
    ) => {
        /// What a callback reports: one variant per (`Event`/`InfoType`, `ChangeType`) pair this crate
        /// knows, and [`EventKind::Unknown`] for any other.
        ///
        /// Field names follow the wire names (`UserID` → `user_id`); required fields are `String`/`u64`,
        /// fields WeCom may leave out are `Option`s, and `MemChangeList` is a `Vec` with every `<Item>`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum EventKind {
            $(
                $(#[doc = $doc])*
                #[doc = concat!("\n\nWire: `", $event, "` / `", $change, "`.")]
                $variant {
                    $(
                        $(#[doc = $fdoc])*
                        #[doc = concat!("\n\nWire name: `", $wire, "`.")]
                        $field: $ty,
                    )*
                },
            )*
            /// An event this crate has no variant for (or a message without `Event`), with every field
            /// other than the envelope, `Event`/`InfoType` and `ChangeType`, in document order.
            Unknown {
                /// The event name (`Event` or `InfoType`), if present.
                event: Option<String>,
                /// `ChangeType`, if present.
                change_type: Option<String>,
                /// All other fields, nested and repeated ones included.
                fields: Fields,
            },
        }

        // Variants without fields leave the reader unused.
        #[allow(unused_variables)]
        static KINDS: &[KindEntry] = &[
            $(
                KindEntry {
                    event: $event,
                    change_type: $change,
                    decode: |reader: &mut FieldReader| -> Result<EventKind, CallbackError> {
                        Ok(EventKind::$variant {
                            $($field: <$ty as WireField>::take(reader, $wire)?,)*
                        })
                    },
                },
            )*
        ];

        impl EventKind {
            /// The event name (`Event` or `InfoType`) and `ChangeType` of this kind.
            fn wire_names(&self) -> (Option<&str>, Option<&str>) {
                match self {
                    $(EventKind::$variant { .. } => (Some($event), Some($change)),)*
                    EventKind::Unknown { event, change_type, .. } => {
                        (event.as_deref(), change_type.as_deref())
                    }
                }
            }

            /// Appends this kind's fields under their wire names.
            fn put_fields<'a>(&'a self, out: &mut Vec<(&'a str, Out<'a>)>) {
                match self {
                    $(
                        EventKind::$variant { $($field,)* } => {
                            $(WireField::put($field, $wire, out);)*
                        }
                    )*
                    EventKind::Unknown { fields, .. } => {
                        for (name, node) in fields.iter() {
                            out.push((name, Out::Node(node)));
                        }
                    }
                }
            }
        }
    };
}

event_kinds! {
    // ---- change_external_contact (客户变更) -------------------------------------------------------------
    /// 添加企业客户事件: a member added a customer.
    AddExternalContact("change_external_contact", "add_external_contact") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
        /// The `state` of the 联系我 / 获客链接 configuration the customer came through.
        state: Option<String> = "State",
        /// Code for sending a welcome message (absent when one cannot be sent).
        welcome_code: Option<String> = "WelcomeCode",
    }
    /// 编辑企业客户事件: a member edited a customer's remarks or tags.
    EditExternalContact("change_external_contact", "edit_external_contact") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
    }
    /// 外部联系人免验证添加成员事件: a customer added a member who skips verification (not yet confirmed).
    AddHalfExternalContact("change_external_contact", "add_half_external_contact") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
        /// The `state` of the 联系我 configuration the customer came through.
        state: Option<String> = "State",
        /// Code for sending a welcome message.
        welcome_code: Option<String> = "WelcomeCode",
    }
    /// 删除企业客户事件: a member deleted a customer.
    DelExternalContact("change_external_contact", "del_external_contact") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
        /// Why: `DELETE_BY_TRANSFER` when the customer was removed by an 在职继承 transfer.
        source: Option<String> = "Source",
    }
    /// 删除跟进成员事件: a customer deleted a member.
    DelFollowUser("change_external_contact", "del_follow_user") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
    }
    /// 客户接替失败事件: a customer transfer to a new member failed.
    TransferFail("change_external_contact", "transfer_fail") {
        /// The new member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
        /// Why it failed.
        fail_reason: Option<TransferFailReason> = "FailReason",
    }
    /// 客户同意进行聊天内容存档事件: a customer agreed to conversation archiving.
    MsgAuditApproved("change_external_contact", "msg_audit_approved") {
        /// The member's user id.
        user_id: String = "UserID",
        /// The customer's external user id.
        external_user_id: String = "ExternalUserID",
        /// Code for sending a welcome message.
        welcome_code: Option<String> = "WelcomeCode",
    }

    // ---- change_external_chat (客户群变更) --------------------------------------------------------------
    /// 客户群创建事件: a customer group was created.
    ExternalChatCreate("change_external_chat", "create") {
        /// The group's chat id.
        chat_id: String = "ChatId",
    }
    /// 客户群变更事件: a customer group changed (members, owner, name or notice).
    ExternalChatUpdate("change_external_chat", "update") {
        /// The group's chat id.
        chat_id: String = "ChatId",
        /// What changed.
        update_detail: UpdateDetail = "UpdateDetail",
        /// How members joined (on `add_member`): 0 invited by a member, 3 scanned the group QR code.
        join_scene: Option<u64> = "JoinScene",
        /// How members left (on `del_member`): 0 left themselves, 1 removed by the owner or an admin.
        quit_scene: Option<u64> = "QuitScene",
        /// How many members joined or left.
        mem_change_cnt: Option<u64> = "MemChangeCnt",
        /// The user ids of the members who joined or left: every `<Item>`, in order.
        mem_change_list: Vec<String> = "MemChangeList",
        /// The member-list version before the change.
        last_mem_ver: Option<String> = "LastMemVer",
        /// The member-list version after the change.
        cur_mem_ver: Option<String> = "CurMemVer",
    }
    /// 客户群解散事件: a customer group was dismissed.
    ExternalChatDismiss("change_external_chat", "dismiss") {
        /// The group's chat id.
        chat_id: String = "ChatId",
    }

    // ---- change_external_tag (企业客户标签变更) ----------------------------------------------------------
    /// 企业客户标签创建事件: a tag or tag group was created.
    ExternalTagCreate("change_external_tag", "create") {
        /// The tag's or tag group's id.
        id: String = "Id",
        /// Whether `id` is a tag or a tag group.
        tag_type: Option<TagType> = "TagType",
        /// The 规则组 id, for strategy tags.
        strategy_id: Option<String> = "StrategyId",
    }
    /// 企业客户标签变更事件: a tag or tag group was changed.
    ExternalTagUpdate("change_external_tag", "update") {
        /// The tag's or tag group's id.
        id: String = "Id",
        /// Whether `id` is a tag or a tag group.
        tag_type: Option<TagType> = "TagType",
        /// The 规则组 id, for strategy tags.
        strategy_id: Option<String> = "StrategyId",
    }
    /// 企业客户标签删除事件: a tag or tag group was deleted.
    ExternalTagDelete("change_external_tag", "delete") {
        /// The tag's or tag group's id.
        id: String = "Id",
        /// Whether `id` is a tag or a tag group.
        tag_type: Option<TagType> = "TagType",
        /// The 规则组 id, for strategy tags.
        strategy_id: Option<String> = "StrategyId",
    }
    /// 企业客户标签重排事件: tags were reordered.
    ExternalTagShuffle("change_external_tag", "shuffle") {
        /// The tag group whose tags were reordered; absent when all groups were.
        id: Option<String> = "Id",
        /// The 规则组 id, for strategy tags.
        strategy_id: Option<String> = "StrategyId",
    }

    // ---- customer_acquisition (获客助手) ---------------------------------------------------------------
    /// 企业使用量即将耗尽事件: fewer than 20 uses of the acquisition quota remain.
    AcquisitionBalanceLow("customer_acquisition", "balance_low") {}
    /// 使用量已经耗尽事件: the acquisition quota is used up.
    AcquisitionBalanceExhausted("customer_acquisition", "balance_exhausted") {}
    /// 使用量增加事件: the acquisition quota went from zero to non-zero.
    AcquisitionBalanceIncreased("customer_acquisition", "balance_increased") {}
    /// 获客链接不可用事件: an acquisition link became unusable.
    AcquisitionLinkUnavailable("customer_acquisition", "link_unavailable") {
        /// The link's id.
        link_id: String = "LinkId",
    }
    /// 删除获客链接事件: an acquisition link was deleted in the admin console.
    AcquisitionDeleteLink("customer_acquisition", "delete_link") {
        /// The link's id.
        link_id: String = "LinkId",
    }
    /// 获客使用量即将过期事件: part of the quota expires soon (sent 14, 7, 3, 2 and 1 days before).
    AcquisitionQuotaExpireSoon("customer_acquisition", "quota_expire_soon") {
        /// When the quota expires (unix seconds).
        expire_time: Option<u64> = "ExpireTime",
        /// How many uses expire then.
        expire_quota_num: Option<u64> = "ExpireQuotaNum",
    }
    /// 微信客户打开获客链接事件: a WeChat user opened a member's profile through a link.
    AcquisitionOpenProfile("customer_acquisition", "open_profile") {
        /// The link's id.
        link_id: String = "LinkId",
        /// The link's `customer_channel` value.
        state: Option<String> = "State",
    }
    /// 通过获客链接发起好友请求事件: a WeChat user sent a friend request through a link.
    AcquisitionFriendRequest("customer_acquisition", "friend_request") {
        /// The link's id.
        link_id: String = "LinkId",
        /// The link's `customer_channel` value.
        state: Option<String> = "State",
    }
    /// 成员首次收消息事件: a member received a customer's first message after an add through a link.
    AcquisitionCustomerStartChat("customer_acquisition", "customer_start_chat") {
        /// The member's user id.
        user_id: Option<String> = "UserID",
        /// The customer's external user id.
        external_user_id: Option<String> = "ExternalUserID",
        /// The link's id.
        link_id: Option<String> = "LinkId",
        /// The link's `customer_channel` value.
        state: Option<String> = "State",
    }
    /// 成员多次收消息事件: a member received more messages from such a customer.
    AcquisitionMessageFromCustomer("customer_acquisition", "message_from_customer") {
        /// The member's user id (no longer sent since 2024-12-19).
        user_id: Option<String> = "UserID",
        /// The customer's external user id (no longer sent since 2024-12-19).
        external_user_id: Option<String> = "ExternalUserID",
        /// The link's id.
        link_id: Option<String> = "LinkId",
        /// Which message this is (no longer sent since 2024-12-19).
        chat_seq: Option<u64> = "ChatSeq",
        /// Key for querying the received-message data (valid about 30 minutes).
        chat_key: Option<String> = "ChatKey",
    }
}

impl EventKind {
    /// Every (`Event`/`InfoType`, `ChangeType`) pair that has a typed variant.
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

    /// Whether this is [`EventKind::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, EventKind::Unknown { .. })
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

    fn decode(fields: Fields) -> Result<Event, CallbackError> {
        let mut reader = FieldReader::new(fields);
        let (envelope, event) = if reader.has("InfoType") {
            let suite_id = <String as WireField>::take(&mut reader, "SuiteId")?;
            let auth_corp_id = <Option<String> as WireField>::take(&mut reader, "AuthCorpId")?;
            let info_type = <Option<String> as WireField>::take(&mut reader, "InfoType")?;
            let timestamp = <u64 as WireField>::take(&mut reader, "TimeStamp")?;
            let envelope = Envelope::Suite {
                suite_id,
                auth_corp_id,
                timestamp,
            };
            (envelope, info_type)
        } else {
            let to_user_name = <String as WireField>::take(&mut reader, "ToUserName")?;
            let from_user_name = <String as WireField>::take(&mut reader, "FromUserName")?;
            let create_time = <u64 as WireField>::take(&mut reader, "CreateTime")?;
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

        let entry = match (&event, &change_type) {
            (Some(event), Some(change_type)) => KINDS
                .iter()
                .find(|entry| entry.event == event.trim() && entry.change_type == change_type.trim()),
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
                kind: EventKind::Unknown {
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

    /// When the event was sent (unix seconds): `CreateTime` or `TimeStamp`.
    pub fn time(&self) -> u64 {
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
                out.push(("CreateTime", Out::Num(*create_time)));
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
                out.push(("TimeStamp", Out::Num(*timestamp)));
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
