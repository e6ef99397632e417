//! Callback events: the official samples of each event in both envelopes (in spec/events.yaml beside the
//! event, one generated test each; samples of events without a variant in `tests/fixtures/events/`); typed
//! matches; the JSON form; unknown events; numbers; malformed XML; property tests.

use crate::support;

use proptest::prelude::*;
use serde_json::json;
use std::path::Path;
use wecom_externalcontact::callback::{
    CallbackError, Envelope, Event, EventKind, Fields, Node, TransferFailReason, UpdateDetail,
};
use wecom_externalcontact::Error;

// One test per official sample in spec/events.yaml (`<event>_<envelope>_sample`), each checked by
// `support::check_event_sample`, and a constant holding its XML (`ADD_EXTERNAL_CONTACT_APP_SAMPLE`, ...).
include!(concat!(env!("OUT_DIR"), "/event_tests.rs"));

fn kind(result: Result<Event, Error>) -> CallbackError {
    match result {
        Err(Error::Callback(err)) => err,
        other => panic!("expected a callback error, got {other:?}"),
    }
}

/// The official third-party header: SuiteId ww4asffe99e54c0f4c, AuthCorpId wxf8b4f85f3a794e77.
fn suite(timestamp: i64) -> Envelope {
    Envelope::Suite {
        suite_id: "ww4asffe99e54c0f4c".to_owned(),
        auth_corp_id: Some("wxf8b4f85f3a794e77".to_owned()),
        timestamp: timestamp.into(),
    }
}

fn samples_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

// ---------------------------------------------------------------------------------------------------------
// The samples

/// The official samples of events the crate has no variant for (`tests/fixtures/events/`; the samples of the
/// spec's events are in spec/events.yaml, one generated test each) decode to what their `.json` sibling says,
/// through the same check as the spec's samples.
#[test]
fn samples_of_events_without_a_variant_decode_to_their_expected_json() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no samples in {}", samples_dir().display());
    for name in &names {
        let xml = std::fs::read_to_string(samples_dir().join(name)).unwrap();
        let expect = std::fs::read_to_string(samples_dir().join(name.replace(".xml", ".json")))
            .unwrap_or_else(|e| panic!("{name}: its .json: {e}"));
        let envelope = if name.ends_with(".app.xml") { "app" } else { "suite" };
        support::check_event_sample("Unrecognized", envelope, &xml, Some(&expect));
    }
}

/// The check behind every sample test fails on a sample that decodes to another variant, in the other
/// envelope, or to other values than its `expect`.
#[test]
fn the_sample_check_names_what_differs() {
    let failures = |kind, envelope, expect| {
        support::event_sample_failures(kind, envelope, ADD_EXTERNAL_CONTACT_APP_SAMPLE, expect).join("\n")
    };
    assert_eq!(failures("AddExternalContact", "app", None), "");
    assert!(failures("EditExternalContact", "app", None).contains("decodes to AddExternalContact"));
    assert!(failures("AddExternalContact", "suite", None).contains("the other envelope"));
    let wrong = r#"{ "kind": "AddExternalContact", "event": { "UserID": "lisi" }, "extra": {} }"#;
    assert!(
        failures("AddExternalContact", "app", Some(wrong)).contains("UserID"),
        "{}",
        failures("AddExternalContact", "app", Some(wrong))
    );
}

#[test]
fn the_match_the_brief_promises_reads_well() {
    let ev = Event::from_xml(ADD_EXTERNAL_CONTACT_APP_SAMPLE).unwrap();
    assert_eq!(ev.event_name(), Some("change_external_contact"));
    assert_eq!(ev.change_type(), Some("add_external_contact"));
    assert_eq!(ev.time(), 1403610513);
    assert_eq!(ev.corp_id(), Some("toUser"));
    match ev.kind {
        EventKind::AddExternalContact {
            user_id,
            external_user_id,
            state,
            welcome_code,
        } => {
            assert_eq!(user_id, "zhangsan");
            assert_eq!(external_user_id, "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA");
            assert_eq!(state.as_deref(), Some("teststate"));
            assert_eq!(welcome_code.as_deref(), Some("WELCOMECODE"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let suite_ev = Event::from_xml(ADD_EXTERNAL_CONTACT_SUITE_SAMPLE).unwrap();
    assert_eq!(suite_ev.corp_id(), Some("wxf8b4f85f3a794e77"));
    // The same through the generic field parser.
    let fields = Fields::from_xml(ADD_EXTERNAL_CONTACT_SUITE_SAMPLE).unwrap();
    assert_eq!(fields.text("InfoType"), Some("change_external_contact"));
    assert_eq!(Event::from_fields(fields).unwrap(), suite_ev);
}

/// `FailReason` is typed, and a reason this crate does not know is kept.
#[test]
fn transfer_fail_reasons_are_typed_and_unknown_ones_kept() {
    let app_xml = TRANSFER_FAIL_APP_SAMPLE;
    // The other documented reason, and one this crate does not know.
    let limit = app_xml.replace("customer_refused", "customer_limit_exceed");
    let unknown = app_xml.replace("customer_refused", "some_new_reason");
    for (xml, reason) in [
        (app_xml.to_owned(), TransferFailReason::CustomerRefused),
        (limit, TransferFailReason::CustomerLimitExceed),
        (unknown, TransferFailReason::Unrecognized("some_new_reason".into())),
    ] {
        let parsed = Event::from_xml(&xml).unwrap();
        match &parsed.kind {
            EventKind::TransferFail { fail_reason, .. } => {
                assert_eq!(fail_reason.as_ref(), Some(&reason))
            }
            other => panic!("unexpected {other:?}"),
        }
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(json["FailReason"], json!(reason.as_str()));
    }
}

// ---------------------------------------------------------------------------------------------------------
// change_external_chat

#[test]
fn external_chat_update_keeps_every_member_change_item() {
    // Items in CDATA, many of them, on a del_member update.
    let ids: Vec<String> = (0..7).map(|i| format!("wmOgQhDgAAuXFJGwbve4g4iXknfO{i:04}")).collect();
    let items: String = ids.iter().map(|id| format!("<Item><![CDATA[{id}]]></Item>")).collect();
    let xml = format!(
        "<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[del_member]]></UpdateDetail><QuitScene>1</QuitScene><MemChangeCnt>7</MemChangeCnt><MemChangeList>{items}</MemChangeList><LastMemVer><![CDATA[a]]></LastMemVer><CurMemVer><![CDATA[b]]></CurMemVer></xml>"
    );
    let parsed = Event::from_xml(&xml).unwrap();
    match &parsed.kind {
        EventKind::ExternalChatUpdate {
            update_detail,
            join_scene,
            quit_scene,
            mem_change_cnt,
            mem_change_list,
            ..
        } => {
            assert_eq!(update_detail, &UpdateDetail::DelMember);
            assert_eq!(*join_scene, None);
            assert_eq!(*quit_scene, Some(1));
            assert_eq!(*mem_change_cnt, Some(7));
            assert_eq!(mem_change_list, &ids);
        }
        other => panic!("unexpected {other:?}"),
    }
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(json["MemChangeList"], json!({ "Item": ids }));
    assert_eq!(Event::from_json(&json.to_string()).unwrap(), parsed);

    // A single item is still a list, in Rust and in JSON.
    let one = EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replace("\t\t<Item>Rose</Item>\n", "");
    let parsed = Event::from_xml(&one).unwrap();
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(json["MemChangeList"], json!({ "Item": ["Jack"] }));
    // An empty list element is an empty list.
    let empty = EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replace(
        "<MemChangeList>\n\t\t<Item>Jack</Item>\n\t\t<Item>Rose</Item>\n\t</MemChangeList>",
        "<MemChangeList/>",
    );
    match Event::from_xml(&empty).unwrap().kind {
        EventKind::ExternalChatUpdate { mem_change_list, .. } => assert!(mem_change_list.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_update_detail_value_is_typed() {
    for (wire, typed) in [
        ("add_member", UpdateDetail::AddMember),
        ("del_member", UpdateDetail::DelMember),
        ("change_owner", UpdateDetail::ChangeOwner),
        ("change_name", UpdateDetail::ChangeName),
        ("change_notice", UpdateDetail::ChangeNotice),
        (
            "change_something",
            UpdateDetail::Unrecognized("change_something".into()),
        ),
    ] {
        let xml = EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("add_member", wire);
        let parsed = Event::from_xml(&xml).unwrap();
        match &parsed.kind {
            EventKind::ExternalChatUpdate { update_detail, .. } => {
                assert_eq!(update_detail, &typed)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(typed.as_str(), wire);
        assert_eq!(serde_json::to_value(&parsed).unwrap()["UpdateDetail"], json!(wire));
    }
}

#[test]
fn chat_update_json_uses_wire_names_and_numbers() {
    let parsed = Event::from_xml(EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE).unwrap();
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        json!({
            "SuiteId": "ww4asffe99e54c0f4c",
            "AuthCorpId": "wxf8b4f85f3a794e77",
            "InfoType": "change_external_chat",
            "TimeStamp": 1403610513u64,
            "ChangeType": "update",
            "ChatId": "CHAT_ID",
            "UpdateDetail": "add_member",
            "JoinScene": 1,
            "QuitScene": 0,
            "MemChangeCnt": 10,
            "MemChangeList": { "Item": ["Jack", "Rose"] },
            "LastMemVer": "9c3f97c2ada667dfb5f6d03308d963e1",
            "CurMemVer": "71217227bbd112ecfe3a49c482195cb4"
        })
    );
    let parsed = Event::from_xml(EXTERNAL_CHAT_UPDATE_APP_SAMPLE).unwrap();
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(json["ToUserName"], json!("toUser"));
    assert_eq!(json["FromUserName"], json!("sys"));
    assert_eq!(json["CreateTime"], json!(1403610513u64));
    assert_eq!(json["MsgType"], json!("event"));
    assert_eq!(json["Event"], json!("change_external_chat"));
    assert_eq!(json.as_object().unwrap().len(), 14);
}

// ---------------------------------------------------------------------------------------------------------
// customer_acquisition (获客助手)

fn suite_acquisition(timestamp: u64, change: &str, body: &str) -> String {
    format!(
        "<xml>
	<SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>
	<AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>
	<InfoType><![CDATA[customer_acquisition]]></InfoType>
	<TimeStamp>{timestamp}</TimeStamp>
	<ChangeType><![CDATA[{change}]]></ChangeType>{body}
</xml>"
    )
}

#[test]
fn acquisition_component_events_without_a_variant_are_unknown_but_complete() {
    // 99485 服务商使用量消耗事件: no variant, every field kept.
    let xml = suite_acquisition(
        1689171577,
        "service_balance_consumed",
        "<LinkId><![CDATA[cawcdea7783d7330c6]]></LinkId><OnceKey><![CDATA[ONCE_KEY]]></OnceKey>",
    );
    let parsed = Event::from_xml(&xml).unwrap();
    assert_eq!(parsed.envelope, suite(1689171577));
    match &parsed.kind {
        EventKind::Unrecognized {
            event,
            change_type,
            fields,
        } => {
            assert_eq!(event.as_deref(), Some("customer_acquisition"));
            assert_eq!(change_type.as_deref(), Some("service_balance_consumed"));
            assert_eq!(fields.text("LinkId"), Some("cawcdea7783d7330c6"));
            assert_eq!(fields.text("OnceKey"), Some("ONCE_KEY"));
            assert_eq!(fields.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        Event::from_json(&serde_json::to_string(&parsed).unwrap()).unwrap(),
        parsed
    );
}

// ---------------------------------------------------------------------------------------------------------
// Unknown events, extra fields, the JSON form

#[test]
fn unknown_events_keep_every_field_nested_and_repeated() {
    let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
        <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[some_new_event]]></Event><ChangeType><![CDATA[new_change]]></ChangeType>\
        <Foo>1</Foo><Bar><Item>a</Item><Item><![CDATA[b]]></Item><Baz><Deep>x</Deep></Baz></Bar><Foo>2</Foo>\
        <Empty/></xml>";
    let parsed = Event::from_xml(xml).unwrap();
    assert!(parsed.extra.is_empty());
    let fields = match &parsed.kind {
        EventKind::Unrecognized {
            event,
            change_type,
            fields,
        } => {
            assert_eq!(event.as_deref(), Some("some_new_event"));
            assert_eq!(change_type.as_deref(), Some("new_change"));
            fields
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(fields.len(), 4);
    let foos: Vec<_> = fields.get_all("Foo").map(|n| n.as_text().unwrap()).collect();
    assert_eq!(foos, ["1", "2"]);
    let bar = fields.get("Bar").and_then(Node::as_element).unwrap();
    let items: Vec<_> = bar.get_all("Item").map(|n| n.as_text().unwrap()).collect();
    assert_eq!(items, ["a", "b"]);
    let baz = bar.get("Baz").and_then(Node::as_element).unwrap();
    assert_eq!(baz.text("Deep"), Some("x"));
    assert_eq!(fields.text("Empty"), Some(""));

    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        json,
        json!({
            "ToUserName": "ww1", "FromUserName": "sys", "CreateTime": 1700000000u64, "MsgType": "event",
            "Event": "some_new_event", "ChangeType": "new_change",
            "Foo": ["1", "2"],
            "Bar": { "Item": ["a", "b"], "Baz": { "Deep": "x" } },
            "Empty": ""
        })
    );
    assert_eq!(serde_json::from_value::<Event>(json).unwrap(), parsed);
}

#[test]
fn fields_a_known_event_does_not_name_are_kept_in_extra() {
    let xml = ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace(
        "</xml>",
        "<NewField><![CDATA[new]]></NewField><UserID>second</UserID><AgentID>1000002</AgentID></xml>",
    );
    let parsed = Event::from_xml(&xml).unwrap();
    match &parsed.kind {
        EventKind::AddExternalContact { user_id, .. } => assert_eq!(user_id, "zhangsan"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(parsed.extra.len(), 3);
    assert_eq!(parsed.extra.text("NewField"), Some("new"));
    assert_eq!(parsed.extra.text("UserID"), Some("second"));
    assert_eq!(parsed.extra.text("AgentID"), Some("1000002"));
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(json["UserID"], json!(["zhangsan", "second"]));
    assert_eq!(json["NewField"], json!("new"));
    assert_eq!(Event::from_json(&json.to_string()).unwrap(), parsed);
}

/// A blank occurrence of a field whose blank value is "absent" (an optional number, a list) does not hide a
/// later one: the first occurrence that is not blank is the value, so the JSON form gives the same event back
/// (found by `generated_events_with_a_valid_envelope_decode`: a blank `<ChatSeq>` then an element one decoded,
/// and its JSON did not).
#[test]
fn a_blank_occurrence_before_the_value_is_skipped_and_the_json_round_trip_holds() {
    let xml = suite_acquisition(
        1700000000,
        "message_from_customer",
        "<ChatSeq></ChatSeq><ChatSeq>5</ChatSeq>",
    );
    let parsed = Event::from_xml(&xml).unwrap();
    match &parsed.kind {
        EventKind::AcquisitionMessageFromCustomer { chat_seq, .. } => assert_eq!(*chat_seq, Some(5)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(parsed.extra.is_empty(), "{:?}", parsed.extra);
    assert_eq!(
        Event::from_json(&serde_json::to_string(&parsed).unwrap()).unwrap(),
        parsed
    );

    // The value after the blank one is an element: refused, as a lone element would be.
    let xml = suite_acquisition(
        1700000000,
        "message_from_customer",
        "<ChatSeq></ChatSeq><ChatSeq><ToUserName></ToUserName></ChatSeq>",
    );
    assert_eq!(
        kind(Event::from_xml(&xml)),
        CallbackError::InvalidField {
            field: "ChatSeq",
            expected: "text"
        }
    );

    // Lists likewise: an empty <MemChangeList/> before the real one.
    let xml = EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replacen(
        "<MemChangeList>",
        "<MemChangeList></MemChangeList><MemChangeList>",
        1,
    );
    let parsed = Event::from_xml(&xml).unwrap();
    match &parsed.kind {
        EventKind::ExternalChatUpdate { mem_change_list, .. } => assert!(!mem_change_list.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
    assert!(parsed.extra.is_empty(), "{:?}", parsed.extra);
    assert_eq!(
        Event::from_json(&serde_json::to_string(&parsed).unwrap()).unwrap(),
        parsed
    );
}

#[test]
fn messages_without_event_are_unknown() {
    let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
        <CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>\
        <MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>";
    let parsed = Event::from_xml(xml).unwrap();
    assert_eq!(parsed.event_name(), None);
    assert_eq!(parsed.change_type(), None);
    let json = serde_json::to_value(&parsed).unwrap();
    assert!(json.get("Event").is_none());
    assert_eq!(json["MsgId"], json!("1234567890123456"));
    assert_eq!(json["MsgType"], json!("text"));
}

#[test]
fn hand_written_json_with_numbers_as_strings_decodes() {
    let parsed = Event::from_json(
        r#"{"SuiteId":"ww4asffe99e54c0f4c","InfoType":"change_external_chat","TimeStamp":"1403610513",
            "ChangeType":"update","ChatId":"CHAT_ID","UpdateDetail":"add_member","JoinScene":"1",
            "MemChangeList":{"Item":"Jack"}}"#,
    )
    .unwrap();
    assert_eq!(
        parsed.envelope,
        Envelope::Suite {
            suite_id: "ww4asffe99e54c0f4c".into(),
            auth_corp_id: None,
            timestamp: 1403610513.into(),
        }
    );
    match parsed.kind {
        EventKind::ExternalChatUpdate {
            join_scene,
            mem_change_list,
            quit_scene,
            ..
        } => {
            assert_eq!(join_scene, Some(1));
            assert_eq!(quit_scene, None);
            assert_eq!(mem_change_list, ["Jack"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(kind(Event::from_json("[]")), CallbackError::Json(_)));
    assert!(matches!(
        kind(Event::from_json("{\"a\": [[1]]}")),
        CallbackError::Json(_)
    ));
    assert_eq!(kind(Event::from_json("{}")), CallbackError::MissingField("ToUserName"));
}

// ---------------------------------------------------------------------------------------------------------
// Numbers, missing and misshapen fields

#[test]
fn numbers_survive_and_bad_numbers_are_typed_errors() {
    let with_time = |t: &str| ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("1403610513", t);
    assert_eq!(
        Event::from_xml(&with_time("9223372036854775807")).unwrap().time(),
        i64::MAX
    );
    assert_eq!(Event::from_xml(&with_time(" 42\n")).unwrap().time(), 42);
    let time = Event::from_xml(ADD_EXTERNAL_CONTACT_APP_SAMPLE).unwrap().time();
    assert_eq!(time.to_string(), "2014-06-24 19:48:33 +08:00", "Beijing time");
    for bad in [
        "9223372036854775808",
        "18446744073709551616",
        "-1",
        "abc",
        "",
        "1.5",
        "0x10",
    ] {
        assert_eq!(
            kind(Event::from_xml(&with_time(bad))),
            CallbackError::InvalidField {
                field: "CreateTime",
                expected: "an unsigned integer"
            },
            "{bad:?}"
        );
    }
    let suite_bad = EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("<TimeStamp>1403610513", "<TimeStamp>soon");
    assert_eq!(
        kind(Event::from_xml(&suite_bad)),
        CallbackError::InvalidField {
            field: "TimeStamp",
            expected: "an unsigned integer"
        }
    );
    let join_bad = EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("<JoinScene>1", "<JoinScene>one");
    assert_eq!(
        kind(Event::from_xml(&join_bad)),
        CallbackError::InvalidField {
            field: "JoinScene",
            expected: "an unsigned integer"
        }
    );
    // An empty optional number reads as absent.
    let quit_empty = EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("<QuitScene>0</QuitScene>", "<QuitScene></QuitScene>");
    match Event::from_xml(&quit_empty).unwrap().kind {
        EventKind::ExternalChatUpdate { quit_scene, .. } => assert_eq!(quit_scene, None),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_and_misshapen_fields_are_typed_errors() {
    let cases = [
        (
            ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("<CreateTime>1403610513</CreateTime>", ""),
            CallbackError::MissingField("CreateTime"),
        ),
        (
            ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("<ToUserName><![CDATA[toUser]]></ToUserName>", ""),
            CallbackError::MissingField("ToUserName"),
        ),
        (
            ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("<MsgType><![CDATA[event]]></MsgType>", ""),
            CallbackError::MissingField("MsgType"),
        ),
        (
            ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("<UserID><![CDATA[zhangsan]]></UserID>", ""),
            CallbackError::MissingField("UserID"),
        ),
        (
            ADD_EXTERNAL_CONTACT_SUITE_SAMPLE.replace("<TimeStamp>1403610513</TimeStamp>", ""),
            CallbackError::MissingField("TimeStamp"),
        ),
        (
            ADD_EXTERNAL_CONTACT_SUITE_SAMPLE.replace("<SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>", ""),
            CallbackError::MissingField("SuiteId"),
        ),
        (
            EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("<ChatId><![CDATA[CHAT_ID]]></ChatId>", ""),
            CallbackError::MissingField("ChatId"),
        ),
        (
            ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace("<![CDATA[zhangsan]]>", "<Name>zhangsan</Name>"),
            CallbackError::InvalidField {
                field: "UserID",
                expected: "text",
            },
        ),
        (
            EXTERNAL_CHAT_UPDATE_SUITE_SAMPLE.replace("<MemChangeList>", "<MemChangeList>Jack,Rose<X/>"),
            CallbackError::Xml("text mixed with child elements (near byte 455)".into()),
        ),
        (
            EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replace(
                "<MemChangeList>\n\t\t<Item>Jack</Item>\n\t\t<Item>Rose</Item>\n\t</MemChangeList>",
                "<MemChangeList>Jack,Rose</MemChangeList>",
            ),
            CallbackError::InvalidField {
                field: "MemChangeList",
                expected: "a list of <Item> elements",
            },
        ),
        (
            EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replace("<Item>Rose</Item>", "<Member>Rose</Member>"),
            CallbackError::InvalidField {
                field: "MemChangeList",
                expected: "a list of <Item> elements",
            },
        ),
        (
            EXTERNAL_CHAT_UPDATE_APP_SAMPLE.replace("<Item>Rose</Item>", "<Item><Id>Rose</Id></Item>"),
            CallbackError::InvalidField {
                field: "MemChangeList",
                expected: "a list of <Item> elements",
            },
        ),
    ];
    for (xml, expected) in cases {
        let err = kind(Event::from_xml(&xml));
        match (&err, &expected) {
            (CallbackError::Xml(_), CallbackError::Xml(_)) => {}
            _ => assert_eq!(err, expected, "{xml}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// XML handling

#[test]
fn cdata_plain_text_entities_and_markup_noise_are_handled() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a comment -->\n<xml>\
        <ToUserName>ww&amp;1</ToUserName><FromUserName><![CDATA[<sys>]]></FromUserName>\
        <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event>\
        <ChangeType>edit_external_contact</ChangeType><!-- inside -->\
        <UserID>a&lt;b&#x4e2d;&#25991;</UserID><ExternalUserID>x<![CDATA[]]>y<![CDATA[z]]></ExternalUserID></xml>\n";
    let parsed = Event::from_xml(xml).unwrap();
    assert_eq!(
        parsed,
        Event {
            envelope: Envelope::App {
                to_user_name: "ww&1".into(),
                from_user_name: "<sys>".into(),
                create_time: 1.into(),
                msg_type: "event".into(),
            },
            kind: EventKind::EditExternalContact {
                user_id: "a<b中文".into(),
                external_user_id: "xyz".into(),
            },
            extra: Fields::new(),
        }
    );
    // Whitespace around the event name does not hide a known event.
    let padded = ADD_EXTERNAL_CONTACT_APP_SAMPLE.replace(
        "<Event><![CDATA[change_external_contact]]></Event>",
        "<Event> change_external_contact </Event>",
    );
    assert!(!Event::from_xml(&padded).unwrap().kind.is_unrecognized());
}

#[test]
fn malformed_xml_is_a_typed_error() {
    let deep = format!("<xml>{}{}</xml>", "<a>".repeat(100), "</a>".repeat(100));
    let cases = [
        "",
        "   ",
        "plain text",
        "<xml>",
        "<xml><A>1</B></xml>",
        "</xml>",
        "<xml></xml><xml></xml>",
        "<xml></xml>trailing",
        "<xml>text</xml>",
        "<xml><A>x<B/></A></xml>",
        "<xml><A>&unknown;</A></xml>",
        "<xml><A>&#0;</A></xml>",
        "<xml><A",
        "<xml><![CDATA[x",
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><xml><A>&e;</A></xml>",
        deep.as_str(),
    ];
    for xml in cases {
        assert!(matches!(kind(Event::from_xml(xml)), CallbackError::Xml(_)), "{xml:?}");
        assert!(Fields::from_xml(xml).is_err(), "{xml:?}");
    }
    // 60 levels are fine.
    let ok = format!("<xml>{}{}</xml>", "<a>".repeat(60), "</a>".repeat(60));
    assert_eq!(Fields::from_xml(&ok).unwrap().len(), 1);
    // A document without fields parses to no fields, and then misses its envelope.
    assert!(Fields::from_xml("<xml/>").unwrap().is_empty());
    assert_eq!(
        kind(Event::from_xml("<xml></xml>")),
        CallbackError::MissingField("ToUserName")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Property tests

/// A small XML document made of WeCom-looking names and values.
fn xml_doc() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "ChangeType",
        "InfoType",
        "SuiteId",
        "AuthCorpId",
        "TimeStamp",
        "UserID",
        "ExternalUserID",
        "ChatId",
        "UpdateDetail",
        "JoinScene",
        "MemChangeList",
        "Item",
        "Id",
        "TagType",
        "LinkId",
        "ChatSeq",
        "Foo",
    ]);
    let values = prop::sample::select(vec![
        "",
        " ",
        "1",
        "1403610513",
        "-3",
        "x",
        "event",
        "change_external_chat",
        "update",
        "change_external_contact",
        "add_external_contact",
        "customer_acquisition",
        "message_from_customer",
        "add_member",
        "tag",
        "a&b",
        "中文",
        "]]",
    ]);
    let leaf = (names.clone(), values, any::<bool>()).prop_map(|(name, value, cdata)| {
        if cdata {
            format!("<{name}><![CDATA[{value}]]></{name}>")
        } else {
            format!("<{name}>{}</{name}>", value.replace('&', "&amp;"))
        }
    });
    let node = leaf.prop_recursive(3, 24, 4, move |inner| {
        (names.clone(), prop::collection::vec(inner, 1..4))
            .prop_map(|(name, children)| format!("<{name}>{}</{name}>", children.concat()))
    });
    prop::collection::vec(node, 0..14).prop_map(|children| format!("<xml>{}</xml>", children.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn from_xml_never_panics(xml in ".*") {
        let _ = Event::from_xml(&xml);
        let _ = Fields::from_xml(&xml);
    }

    #[test]
    fn from_xml_never_panics_on_markup_soup(xml in "[<>/a-zA-Z!\\[\\]CDAT&;#x0-9 \"=?-]{0,80}") {
        let _ = Event::from_xml(&xml);
    }

    #[test]
    fn from_json_never_panics(json in ".*") {
        let _ = Event::from_json(&json);
    }

    #[test]
    fn decoded_events_survive_the_json_round_trip(xml in xml_doc()) {
        if let Ok(event) = Event::from_xml(&xml) {
            let json = serde_json::to_string(&event).unwrap();
            prop_assert_eq!(Event::from_json(&json).unwrap(), event);
        }
    }

    #[test]
    fn generated_events_with_a_valid_envelope_decode(
        body in xml_doc(),
        pair in prop::sample::select(vec![
            ("change_external_chat", "update"),
            ("change_external_contact", "add_external_contact"),
            ("customer_acquisition", "message_from_customer"),
            ("brand_new", "thing"),
        ]),
        time in 0..=i64::MAX,
    ) {
        let inner = body.trim_start_matches("<xml>").trim_end_matches("</xml>");
        let xml = format!(
            "<xml><SuiteId>s</SuiteId><InfoType>{}</InfoType><TimeStamp>{time}</TimeStamp><ChangeType>{}</ChangeType>{inner}</xml>",
            pair.0, pair.1
        );
        match Event::from_xml(&xml) {
            Ok(event) => {
                prop_assert_eq!(event.time(), time);
                let json = serde_json::to_string(&event).unwrap();
                prop_assert_eq!(Event::from_json(&json).unwrap(), event);
            }
            Err(Error::Callback(
                CallbackError::MissingField(_) | CallbackError::InvalidField { .. },
            )) => {}
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
