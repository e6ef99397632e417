//! Every kind of spec mistake is an error that names the file, the endpoint (or type, enum, event), the field
//! and, where it can be found, the line — never a panic.
use wecom_externalcontact_codegen::model::{Class, HttpMethod, ThrottleDef, TokenKind};
use wecom_externalcontact_codegen::{model_from_sources, Source};

fn src(stem: &str, text: &str) -> Source {
    Source {
        file: format!("spec/{stem}.yaml"),
        stem: stem.into(),
        text: text.into(),
    }
}

/// The error text for a spec made of these files (panics if the spec is accepted).
fn errors(files: &[(&str, &str)]) -> String {
    let sources = files.iter().map(|(s, t)| src(s, t)).collect();
    match model_from_sources(sources) {
        Ok(_) => panic!("the spec was accepted"),
        Err(e) => {
            // Every spec mistake, whichever stage finds it, names its file and line.
            for one in &e.0 {
                assert!(one.line.is_some(), "an error without a line: {one}");
            }
            e.to_string()
        }
    }
}

fn endpoint(body: &str) -> String {
    format!(
        "group: g\nendpoints:\n  - path: externalcontact/thing/fetch\n    method: POST\n    name_zh: 东西\n    summary: A thing.\n{body}"
    )
}

#[test]
fn a_valid_spec_is_accepted() {
    let text = endpoint("    request:\n      - { name: id, type: string, required: true }\n    example:\n      request: '{\"id\": \"x\"}'\n");
    let api = model_from_sources(vec![src("g", &text)]).unwrap();
    let ep = &api.groups[0].endpoints[0];
    assert_eq!(ep.fn_name, "thing_fetch");
    assert_eq!(ep.http_method, HttpMethod::Post);
}

#[test]
fn unknown_type_names_file_endpoint_field_and_line() {
    let e = errors(&[(
        "g",
        &endpoint("    response:\n      - { name: items, type: \"[Fooo]\" }\n"),
    )]);
    assert!(
        e.contains("spec/g.yaml:8: endpoint externalcontact/thing/fetch: field response.items: unknown type `Fooo`"),
        "{e}"
    );
}

#[test]
fn yaml_errors_carry_the_line() {
    let e = errors(&[("g", "group: g\nendpoints:\n  - path: [unclosed\n")]);
    assert!(e.contains("spec/g.yaml:"), "{e}");
    let e = errors(&[("g", "group: g\nendpoints:\n  - path: x\n    methd: GET\n")]);
    assert!(
        e.contains("spec/g.yaml:4") && e.contains("unknown field `methd`"),
        "{e}"
    );
}

#[test]
fn missing_path_and_method() {
    let e = errors(&[("g", "group: g\nendpoints:\n  - name_zh: 东西\n    summary: s\n")]);
    assert!(e.contains("spec/g.yaml:3: endpoint <no path>: missing `path`"), "{e}");
    assert!(e.contains("spec/g.yaml:3: endpoint <no path>: missing `method`"), "{e}");
    let e = errors(&[("g", &endpoint("").replace("method: POST", "method: PUT"))]);
    assert!(
        e.contains("spec/g.yaml:4: endpoint externalcontact/thing/fetch: `method`: unknown variant `PUT`, expected `GET` or `POST`"),
        "{e}"
    );
}

#[test]
fn duplicate_names_across_files() {
    let t = "group: {g}\ntypes:\n  Tag:\n    fields:\n      - { name: id, type: string }\n";
    let e = errors(&[("a", &t.replace("{g}", "a")), ("b", &t.replace("{g}", "b"))]);
    assert!(
        e.contains("spec/b.yaml:3: type Tag: type `Tag` is also defined in spec/a.yaml"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint("    request:\n      - { name: id, type: string }\n      - { name: id, type: u32 }\n"),
    )]);
    assert!(e.contains("field request.id: the field appears twice"), "{e}");
    let e = errors(&[(
        "g",
        &endpoint("    request:\n      - { name: userId, type: string }\n      - { name: user_id, type: u32 }\n"),
    )]);
    assert!(
        e.contains("its Rust name `user_id` is also the Rust name of field `userId`"),
        "{e}"
    );
}

#[test]
fn group_must_match_the_file() {
    let e = errors(&[("tags", "group: tag\n")]);
    assert!(
        e.contains("spec/tags.yaml:1: group `tag` must equal the file name `tags`"),
        "{e}"
    );
}

#[test]
fn examples_must_fit_their_fields() {
    let fields = "    request:\n      - { name: id, type: string, required: true }\n      - { name: n, type: u32 }\n";
    let e = errors(&[(
        "g",
        &endpoint(&format!(
            "{fields}    example:\n      request: '{{\"id\": \"x\", \"extra\": 1}}'\n"
        )),
    )]);
    assert!(
        e.contains("field example.request.extra: the example has a key that is not a declared field"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint(&format!("{fields}    example:\n      request: '{{\"n\": 1}}'\n")),
    )]);
    assert!(
        e.contains("field example.request.id: a required field is missing from the example"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint(&format!(
            "{fields}    example:\n      request: '{{\"id\": \"x\", \"n\": -1}}'\n"
        )),
    )]);
    assert!(
        e.contains("field example.request.n: expected u32, found a number"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint(&format!("{fields}    example:\n      request: '{{\"id\": 5}}'\n")),
    )]);
    assert!(
        e.contains("field example.request.id: expected string, found a number"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint(&format!("{fields}    example:\n      request: '{{\"id\": }}'\n")),
    )]);
    assert!(e.contains("field example.request: not valid JSON"), "{e}");
}

#[test]
fn nested_examples_are_checked_too() {
    let body = "    response:\n      - name: list\n        type: \"[object]\"\n        fields:\n          - { name: a, type: bool }\n    example:\n      response: '{\"errcode\": 0, \"errmsg\": \"ok\", \"list\": [{\"a\": true}, {\"a\": 1}]}'\n";
    let e = errors(&[("g", &endpoint(body))]);
    assert!(
        e.contains("field example.response.list[1].a: expected bool, found a number"),
        "{e}"
    );
}

#[test]
fn get_requests_take_scalars_only() {
    let e = errors(&[(
        "g",
        &endpoint("    request:\n      - { name: ids, type: \"[string]\" }\n").replace("method: POST", "method: GET"),
    )]);
    assert!(
        e.contains("field request.ids: GET request fields are query parameters and must be scalars or enums"),
        "{e}"
    );
}

#[test]
fn paging_must_name_real_fields() {
    let body = "    request:\n      - { name: cursor, type: string }\n    response:\n      - { name: next_cursor, type: u32 }\n      - { name: items, type: \"[string]\" }\n    paging: { style: cursor, cursor: cursor, next: next_cursor, items: itemz }\n";
    let e = errors(&[("g", &endpoint(body))]);
    assert!(
        e.contains("field response.next_cursor: paging.next must name a string response field"),
        "{e}"
    );
    assert!(
        e.contains("field response.itemz: paging.items must name a list response field"),
        "{e}"
    );
    let e = errors(&[(
        "g",
        &endpoint("    paging: { style: offset, cursor: offset, items: x }\n"),
    )]);
    assert!(e.contains("offset paging needs `limit`"), "{e}");
}

#[test]
fn enums_are_checked() {
    let t = "group: g\nenums:\n  Kind:\n    repr: int\n    values:\n      - { value: 1, name: a }\n      - { value: 1, name: b }\n      - { value: x, name: c }\n      - { value: 3, name: unrecognized }\n";
    let e = errors(&[("g", t)]);
    assert!(e.contains("enum Kind: field b: value 1 appears twice"), "{e}");
    assert!(e.contains("field c: value String(\"x\") does not fit repr Int"), "{e}");
    assert!(e.contains("field unrecognized: `unrecognized` is reserved"), "{e}");
}

#[test]
fn generated_name_collisions_are_reported() {
    let body = "    request:\n      - name: conclusions\n        type: object\n        fields: [ { name: a, type: string } ]\n    response:\n      - name: conclusions\n        type: object\n        fields: [ { name: b, type: string } ]\n";
    let e = errors(&[("g", &endpoint(body))]);
    assert!(
        e.contains("spec/g.yaml:12: endpoint externalcontact/thing/fetch: field response.conclusions: the generated type name `ThingFetchConclusions` is already used by spec/g.yaml:8: endpoint externalcontact/thing/fetch: field request.conclusions"),
        "{e}"
    );
    assert!(e.contains("set `type_name`"), "{e}");
    let two = format!(
        "{}  - path: thing/fetch\n    method: GET\n    name_zh: x\n    summary: y\n",
        endpoint("")
    );
    let e = errors(&[("g", &two)]);
    assert!(
        e.contains("spec/g.yaml:7: endpoint thing/fetch: method name `thing_fetch` is also the name of externalcontact/thing/fetch; set `name:`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:7: endpoint thing/fetch: the generated type name `ThingFetchRequest` is already used by spec/g.yaml:3: endpoint externalcontact/thing/fetch"),
        "{e}"
    );
    // The method name is decided once, in lowering, and the model carries it (with its stream's name).
    let renamed = two.replacen("    method: GET\n", "    method: GET\n    name: thing_fetch_get\n", 1);
    let api = model_from_sources(vec![src("g", &renamed)]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = api.groups[0].endpoints.iter().map(|e| e.fn_name.as_str()).collect();
    assert_eq!(names, ["thing_fetch", "thing_fetch_get"]);
}

#[test]
fn events_are_checked() {
    let t = "group: events\ngated: false\nevents:\n  - name: Added\n    event: change_external_contact\n    change_type: add\n    fields:\n      - { name: UserID, type: strin }\n      - { name: Items, type: \"[string]\", required: true }\n  - name: Added2\n    event: change_external_contact\n    change_type: add\n";
    let e = errors(&[("events", t)]);
    assert!(
        e.contains("spec/events.yaml:8: event Added: field UserID: unknown event field type `strin`"),
        "{e}"
    );
    assert!(
        e.contains("spec/events.yaml:9: event Added: field Items: a list is never `required`"),
        "{e}"
    );
    assert!(
        e.contains("event Added2: (change_external_contact, add) is already the event Added"),
        "{e}"
    );
}

/// An event field's type is parsed once, when the spec is read: a type that is neither a built-in nor a name
/// is reported there, at its line, and a name no `event_values` defines by the whole-spec check.
#[test]
fn event_field_types_are_parsed_at_load() {
    let t = "group: events\ngated: false\nevent_values:\n  Reason:\n    repr: string\n    values: [ { value: a, name: a } ]\nevents:\n  - name: Added\n    event: change_external_contact\n    change_type: add\n    fields:\n      - name: Ids\n        type: \"[u64]\"\n      - { name: Why, type: Reason }\n      - { name: How, type: Reasons }\n";
    let e = errors(&[("events", t)]);
    assert!(
        e.contains("spec/events.yaml:13: event Added: field Ids: unknown event field type `[u64]` (string, secret, u64, i64, unix_time, [string], or an event_values name)"),
        "{e}"
    );
    assert!(
        e.contains("spec/events.yaml:15: event Added: field How: unknown event field type `Reasons`"),
        "{e}"
    );
    assert!(!e.contains("field Why"), "a defined event_values name is a type: {e}");
}

/// An event's official samples sit beside it: one per envelope it comes in, each well-formed XML in its
/// envelope naming the event and carrying its required fields, reported at the sample's line.
#[test]
fn event_samples_are_checked_at_their_line() {
    let event = |samples: &str| {
        format!(
            "group: events\ngated: false\nevents:\n  - name: Added\n    event: change_external_contact\n    change_type: add\n    fields:\n      - {{ name: UserID, type: string, required: true }}\n    samples:\n{samples}"
        )
    };
    let app = "      - envelope: app\n        xml: <xml><ToUserName>c</ToUserName><FromUserName>s</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add</ChangeType><UserID>u</UserID></xml>\n";
    let suite = "      - envelope: suite\n        xml: <xml><SuiteId>s</SuiteId><InfoType>change_external_contact</InfoType><TimeStamp>1</TimeStamp><ChangeType>add</ChangeType><UserID>u</UserID></xml>\n        expect: '{ \"kind\": \"Added\", \"event\": {}, \"extra\": {} }'\n";
    model_from_sources(vec![src("events", &event(&format!("{app}{suite}")))]).expect("both envelopes: accepted");

    let e = errors(&[("events", &event(app))]);
    assert!(
        e.contains("spec/events.yaml:9: event Added: add an official `suite` sample under `samples:`"),
        "{e}"
    );
    let e = errors(&[(
        "events",
        &event(&format!("{}{suite}", app.replace("<UserID>u</UserID>", ""))),
    )]);
    assert!(
        e.contains("spec/events.yaml:11: event Added: field samples: the sample lacks <UserID>"),
        "{e}"
    );
    let e = errors(&[("events", &event(&format!("{}{suite}", app.replace("</MsgType>", ""))))]);
    assert!(
        e.contains("spec/events.yaml:11:") && e.contains("not well-formed XML"),
        "{e}"
    );
    let e = errors(&[("events", &event(&format!("{app}{}", suite.replace(">add<", ">added<"))))]);
    assert!(
        e.contains("spec/events.yaml:13: event Added: field samples: the sample's <ChangeType> must be `add`"),
        "{e}"
    );
    let e = errors(&[("events", &event(&format!("{app}{}", suite.replace("Added", "Edited"))))]);
    assert!(
        e.contains("spec/events.yaml:14:") && e.contains("\"kind\": \"Added\""),
        "{e}"
    );
    let e = errors(&[(
        "events",
        &event(&format!("{app}{app}{}", suite.replace("suite", "webhook"))),
    )]);
    assert!(
        e.contains("a second sample of this envelope: give one a distinct `variant`"),
        "{e}"
    );
    assert!(e.contains("envelope `webhook`: write `app` or `suite`"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "-",
        "group: [",
        "group: g\nendpoints: 5",
        "group: g\ntypes:\n  A:\n    fields:\n      - { name: x, type: \"[[\" }",
        "\u{0}\u{1}",
        "group: g\nendpoints:\n  - path: a\n    method: GET\n    request: [ {name: a, type: object} ]",
        "group: g\nendpoints:\n  - 5\n  - [1]\n  - path: {a: b}\n    request: 3\n    response: [ 1, [2], {name: [x]} ]",
        "group: g\nendpoints:\n  -\n  - ~\n  - path: p\n    paging: 4\n    example: [1]",
        "group: g\ntypes: [1, 2]\nenums:\n  E: 3\n  F:\n    repr: int\n    values: {a: 1}",
        "group: g\nevents:\n  - name: X\n    fields: [ { name: A, type: [1] } ]\nevent_values: 9",
        "group: g\n? [complex, key]\n: 1\n1: 2",
        "group: g\nendpoints:\n  - path: externalcontact/x\n    method: GET\n    name_zh: x\n    summary: y\n    paging: { style: offset, cursor: q, items: r, chunk: { field: [], max: -1 } }",
        "group: g\nendpoints:\n\t- path: a",
        "&a [*a]",
        "group: g\nendpoints: [ {path: x, method: GET, name_zh: a, summary: b, request: [ {name: a, type: [string]} ] } ]",
    ] {
        let e = model_from_sources(vec![src("g", text)]).expect_err(text);
        assert!(!e.0.is_empty(), "{text:?}: no error");
        for err in &e.0 {
            assert!(err.file == "spec/g.yaml", "{err}");
        }
    }
}

/// The case: three mistakes in one endpoint of a real group file are three errors at three lines.
#[test]
fn three_mistakes_in_one_endpoint_are_three_errors_at_their_lines() {
    let text = "\
group: g
endpoints:
  - path: externalcontact/a/fetch
    method: POST
    name_zh: 甲
    summary: A.
    request:
      - { name: userid, type: string }
  - path: externalcontact/b/fetch
    method: PUTT
    name_zh: 乙
    summary: B.
    colour: blue
    request:
      - { name: cursor, type: string }
      - { name: userid, type: strng }
";
    let e = errors(&[("g", text)]);
    assert!(e.starts_with("3 error(s)"), "{e}");
    let at = |line: &str| e.find(&format!("spec/g.yaml:{line}:")).unwrap_or(usize::MAX);
    assert!(at("10") < at("13") && at("13") < at("16"), "listed in line order: {e}");
    assert!(
        e.contains("spec/g.yaml:10: endpoint externalcontact/b/fetch: `method`: unknown variant `PUTT`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:13: endpoint externalcontact/b/fetch: unknown field `colour`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:16: endpoint externalcontact/b/fetch: field request.userid: unknown type `strng`"),
        "{e}"
    );
}

/// A field name that repeats across endpoints is reported in its own endpoint, and a named type that does
/// not exist is found by `validate` even when `load` reported other mistakes in the same endpoint.
#[test]
fn field_errors_point_into_their_own_endpoint() {
    let text = "\
group: g
types:
  Thing:
    fields:
      - { name: limit, type: u32 }
      - { name: userid, type: Nope }
endpoints:
  - path: externalcontact/a/fetch
    method: POST
    name_zh: 甲
    summary: A.
    request:
      - { name: userid, type: string }
      - { name: limit, type: u32 }
  - path: externalcontact/b/fetch
    method: PUTT
    name_zh: 乙
    summary: B.
    request:
      - { name: limit, type: u32 }
      - name: userid
        type: CorpTg
";
    let e = errors(&[("g", text)]);
    assert!(
        e.contains("spec/g.yaml:6: type Thing: field userid: unknown type `Nope`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:16: endpoint externalcontact/b/fetch: `method`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:22: endpoint externalcontact/b/fetch: field request.userid: unknown type `CorpTg`"),
        "{e}"
    );
}

/// Bad values of closed sets (method, token, paging style, enum repr) are reported with the values allowed,
/// each at its own line, in one run; so are unknown keys at every level.
#[test]
fn closed_sets_and_unknown_keys_at_every_level() {
    let body = "    token: sute\n    request:\n      - { name: cursor, type: string, requird: true }\n    response:\n      - { name: next_cursor, type: string }\n      - { name: items, type: \"[string]\" }\n    paging: { style: page, cursor: cursor, next: next_cursor, items: items }\n";
    let mut text = endpoint(body);
    text.push_str("enums:\n  Kind:\n    repr: integer\n    values:\n      - { value: 1, name: a, dok: x }\n");
    let e = errors(&[("g", &text)]);
    assert!(e.contains("spec/g.yaml:7: endpoint externalcontact/thing/fetch: `token`: unknown variant `sute`, expected one of `access`, `suite`, `provider`, `none`"), "{e}");
    assert!(
        e.contains(
            "spec/g.yaml:9: endpoint externalcontact/thing/fetch: field request.cursor: unknown field `requird`"
        ),
        "{e}"
    );
    assert!(e.contains("spec/g.yaml:13: endpoint externalcontact/thing/fetch: `style`: unknown variant `page`, expected `cursor` or `offset`"), "{e}");
    assert!(
        e.contains("spec/g.yaml:16: enum Kind: `repr`: unknown variant `integer`"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:18: enum Kind: field a: unknown field `dok`"),
        "{e}"
    );
}

/// Mistakes of several files and kinds come back together from one run.
#[test]
fn every_file_is_checked_in_one_run() {
    let e = errors(&[
        (
            "a",
            "group: a\ntypes:\n  T:\n    fields:\n      - { name: x, type: Missing }\n",
        ),
        ("b", "group: b\nendpoints: 7\n"),
        ("c", "group: [\n"),
        ("d", "group: d\nunknown_top: 1\n"),
    ]);
    assert!(e.starts_with("4 error(s)"), "{e}");
    assert!(
        e.contains("spec/a.yaml:5: type T: field x: unknown type `Missing`"),
        "{e}"
    );
    assert!(
        e.contains("spec/b.yaml:2: `endpoints` is a list, found a number"),
        "{e}"
    );
    assert!(e.contains("spec/c.yaml:"), "{e}");
    assert!(e.contains("spec/d.yaml:2: unknown field `unknown_top`"), "{e}");
}

/// The feature check reads `Cargo.toml` with a TOML parser: multi-line arrays, comments and other tables do
/// not confuse it; a group needs its own feature and a place in `full`.
#[test]
fn every_gated_group_needs_a_feature_listed_in_full() {
    let group = |g: &str| src(g, &format!("group: {g}\n"));
    let api = model_from_sources(vec![
        group("a"),
        group("b"),
        group("c"),
        src("d", "group: d\ngated: false\n"),
    ])
    .unwrap();
    let cargo_toml = "[package]\nname = \"x\"\n\n[features]\nfull = [\n  \"a\", # the a group\n  \"c\",\n]\na = []\nb = [] # not in full\n\n[dependencies]\nc = \"1\"\n";
    let missing = wecom_externalcontact_codegen::missing_features(&api, cargo_toml).unwrap();
    assert_eq!(missing, ["b", "c"]);
    assert!(wecom_externalcontact_codegen::missing_features(&api, "[features\n").is_err());
}

#[test]
fn idempotent_writes_and_bad_limits_are_errors() {
    let text = "group: g\nendpoints:\n  - path: externalcontact/thing/add\n    method: POST\n    idempotent: true\n    max_concurrency: 0\n    name_zh: 东西\n    summary: A thing.\n";
    let e = errors(&[("g", text)]);
    assert!(
        e.contains("spec/g.yaml:5: endpoint externalcontact/thing/add: `idempotent: true` on a write"),
        "{e}"
    );
    assert!(e.contains("`max_concurrency` must be at least 1"), "{e}");
    let per =
        endpoint("    one_at_a_time_per: external_userid\n    request:\n      - { name: userid, type: string }\n");
    let e = errors(&[("g", &per)]);
    assert!(
        e.contains("spec/g.yaml:7: endpoint externalcontact/thing/fetch: `one_at_a_time_per: external_userid` must name a scalar field of the request"),
        "{e}"
    );
    let ok = endpoint("    idempotent: true\n    max_concurrency: 5\n");
    let api = model_from_sources(vec![src("g", &ok)]).unwrap();
    let ep = &api.groups[0].endpoints[0];
    assert!(ep.idempotent);
    assert_eq!(ep.max_concurrency, Some(5));
}

/// A read (by its name) says whether it may be retried, at the endpoint's line; `idempotent: false` is the
/// explicit answer for a read that cannot be repeated.
#[test]
fn a_read_without_idempotent_is_an_error_at_its_line() {
    let text = "group: g\nendpoints:\n  - path: externalcontact/thing/add\n    method: POST\n    name_zh: 加\n    summary: A write.\n  - path: externalcontact/probe/get_score\n    method: POST\n    name_zh: 分\n    summary: A read.\n  - path: externalcontact/thing_list\n    method: GET\n    name_zh: 列\n    summary: A list.\n    idempotent: true\n";
    let e = errors(&[("g", text)]);
    assert!(e.starts_with("1 error(s)"), "only the unmarked read: {e}");
    assert!(
        e.contains(
            "spec/g.yaml:7: endpoint externalcontact/probe/get_score: `get_score` names a read: add `idempotent: true`"
        ),
        "{e}"
    );
    for read in ["get", "list_x", "check_y", "x_list", "transfer_result", "gettoken"] {
        let e = errors(&[("g", &format!("group: g\nendpoints:\n  - path: externalcontact/{read}\n    method: POST\n    name_zh: 读\n    summary: R.\n"))]);
        assert!(e.contains("names a read"), "{read}: {e}");
    }
    let consumes = text.replace(
        "    summary: A read.\n",
        "    summary: A read.\n    idempotent: false\n",
    );
    model_from_sources(vec![src("g", &consumes)]).expect("`idempotent: false` is an explicit answer");
}

#[test]
fn errcodes_are_unique_and_carry_both_meanings() {
    let text = "group: errcodes\ngated: false\nerrcodes:\n  - { code: -1, name: busy, zh: 系统繁忙, en: busy, retryable: true }\n  - { code: 45009, name: c45009, zh: 接口调用超过限制, en: \"\" }\n  - { code: -1, name: busy, zh: 又一个, en: again }\n";
    let e = errors(&[("errcodes", text)]);
    assert!(e.contains("errcode -1: listed twice"), "{e}");
    assert!(e.contains("spec/errcodes.yaml:5: errcode 45009: needs both"), "{e}");
    let good = "group: errcodes\ngated: false\nerrcodes:\n  - { code: 45009, name: c45009, zh: 接口调用超过限制, en: limit }\n  - { code: -1, name: busy, zh: 系统繁忙, en: busy, retryable: true }\n";
    let api = model_from_sources(vec![src("errcodes", good)]).unwrap();
    assert_eq!(api.errcodes.iter().map(|e| e.code).collect::<Vec<_>>(), vec![-1, 45009]);
    assert_eq!(api.errcodes[0].class, Class::Retryable);
    assert_eq!(api.errcodes[1].class, Class::Fatal);
}

#[test]
fn an_errcode_has_a_unique_snake_case_name_that_becomes_its_variant() {
    let text = "group: errcodes\ngated: false\nerrcodes:\n  - { code: -1, name: SystemBusy, zh: 系统繁忙, en: busy }\n  - { code: 6000, name: conflict, zh: 数据版本冲突, en: conflict }\n  - { code: 6001, name: conflict, zh: 又一个, en: again }\n  - { code: 6002, name: unrecognized, zh: 又一个, en: again }\n  - { code: 6003, zh: 无名, en: nameless }\n";
    let e = errors(&[("errcodes", text)]);
    assert!(
        e.contains("spec/errcodes.yaml:4: errcode -1: `name: SystemBusy` must be snake_case"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:6: errcode 6001: `name: conflict` is also errcode 6000's"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:7: errcode 6002: `name: unrecognized` is the catch-all"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:8:") && e.contains("missing field `name`"),
        "{e}"
    );
    let good = "group: errcodes\ngated: false\nerrcodes:\n  - { code: 84061, name: not_contacts, zh: 不是好友关系, en: not contacts }\n";
    let api = model_from_sources(vec![src("errcodes", good)]).unwrap();
    assert_eq!(api.errcodes[0].variant, "NotContacts");
}

#[test]
fn an_errcode_has_one_class_key_and_names_a_token_kind() {
    let text = "group: errcodes\ngated: false\nerrcodes:\n  - { code: 45009, name: c45009, zh: 接口调用超过限制, en: limit, retryable: true, throttled: frequency }\n  - { code: 40014, name: c40014, zh: 不合法的access_token, en: invalid, token: none }\n  - { code: 45033, name: c45033, zh: 接口并发调用超过限制, en: busy, throttled: sometimes }\n  - { code: 42001, name: c42001, zh: access_token已过期, en: expired, token: acces }\n";
    let e = errors(&[("errcodes", text)]);
    assert!(
        e.contains("spec/errcodes.yaml:4: errcode 45009: `retryable: true` and `throttled` each give the code a class: keep one"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:5: errcode 40014: `token: none` names no token: write the kind the code refuses (access, suite or provider)"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:6:")
            && e.contains("unknown variant `sometimes`, expected `frequency` or `concurrency`"),
        "{e}"
    );
    assert!(
        e.contains("spec/errcodes.yaml:7:") && e.contains("unknown variant `acces`"),
        "{e}"
    );
    let good = "group: errcodes\ngated: false\nerrcodes:\n  - { code: 45009, name: c45009, zh: 接口调用超过限制, en: limit, throttled: frequency }\n  - { code: 45033, name: c45033, zh: 接口并发调用超过限制, en: busy, throttled: concurrency }\n  - { code: 42009, name: c42009, zh: suite_access_token已过期, en: expired, token: suite }\n  - { code: 40001, name: c40001, zh: 不合法的secret参数, en: secret }\n";
    let api = model_from_sources(vec![src("errcodes", good)]).unwrap();
    let classes: Vec<_> = api.errcodes.iter().map(|e| (e.code, e.class)).collect();
    assert_eq!(
        classes,
        vec![
            (40001, Class::Fatal),
            (42009, Class::TokenInvalid(TokenKind::Suite)),
            (45009, Class::Throttled(ThrottleDef::Frequency)),
            (45033, Class::Throttled(ThrottleDef::Concurrency)),
        ]
    );
}

#[test]
fn request_rules_name_optional_request_fields_at_their_line() {
    let text = "group: g\nendpoints:\n  - path: externalcontact/thing/add\n    method: POST\n    name_zh: 加\n    summary: A write.\n    rules:\n      - { at_least_one_of: [a, b] }\n      - { at_least_one_of: [a, nope, id] }\n      - { at_least_one_of: [] }\n      - { at_least_one: [a] }\n    request:\n      - { name: id, type: string, required: true }\n      - { name: a, type: string }\n      - { name: b, type: \"[string]\" }\n";
    let e = errors(&[("g", text)]);
    assert!(
        e.contains("spec/g.yaml:9: endpoint externalcontact/thing/add: `at_least_one_of` names `nope`, which is not a request field; use one of: id, a, b"),
        "{e}"
    );
    assert!(
        e.contains(
            "spec/g.yaml:9: endpoint externalcontact/thing/add: `at_least_one_of` names `id`, which is required"
        ),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:10: endpoint externalcontact/thing/add: `at_least_one_of` names no field"),
        "{e}"
    );
    assert!(
        e.contains("spec/g.yaml:11:") && e.contains("at_least_one"),
        "an unknown rule key: {e}"
    );
    assert!(!e.contains("spec/g.yaml:8:"), "the first rule is fine: {e}");
    let good = text.replace(
        "      - { at_least_one_of: [a, nope, id] }\n      - { at_least_one_of: [] }\n      - { at_least_one: [a] }\n",
        "",
    );
    let api = model_from_sources(vec![src("g", &good)]).unwrap();
    assert_eq!(
        api.groups[0].endpoints[0].at_least_one_of,
        vec![vec!["a".to_string(), "b".to_string()]]
    );
}

#[test]
fn paging_partial_names_response_fields_at_its_line() {
    let text = "group: g\nendpoints:\n  - path: externalcontact/thing_list\n    method: POST\n    name_zh: 列\n    summary: A list.\n    idempotent: true\n    request:\n      - { name: cursor, type: string }\n    response:\n      - { name: next_cursor, type: string }\n      - { name: items, type: \"[string]\" }\n      - { name: fail_info, type: json }\n    paging:\n      style: cursor\n      cursor: cursor\n      next: next_cursor\n      items: items\n      partial: [fail_info, nope]\n";
    let e = errors(&[("g", text)]);
    assert!(
        e.contains("spec/g.yaml:19: endpoint externalcontact/thing_list: paging.partial names `nope`, which is not a response field; use one of: next_cursor, items, fail_info"),
        "{e}"
    );
    assert!(e.starts_with("1 error(s)"), "{e}");
    let api = model_from_sources(vec![src("g", &text.replace(", nope]", "]"))]).unwrap();
    assert_eq!(
        api.groups[0].endpoints[0].paging.as_ref().unwrap().partial,
        ["fail_info"]
    );
}

#[test]
fn limits_are_stated_once_whole_and_overrides_only_stricter() {
    let limits = "group: limits\ngated: false\nlimits:\n  per_corp: { per_minute: 10, per_hour: 100 }\n  per_ip: { per_minute: 20, per_hour: 200 }\n  per_provider_ip: { per_minute: 40, per_hour: 400 }\n";
    let stricter = endpoint("    rate_limit: { per_minute: 5, per_hour: 50 }\n");
    let api = model_from_sources(vec![src("limits", limits), src("g", &stricter)]).unwrap();
    let ep = &api.groups.iter().find(|g| g.name == "g").unwrap().endpoints[0];
    assert_eq!(ep.rate_limit.map(|b| (b.per_minute, b.per_hour)), Some((5, 50)));
    assert!(ep.rate_limit_own);
    let plain = endpoint("");
    let api = model_from_sources(vec![src("limits", limits), src("g", &plain)]).unwrap();
    let ep = &api.groups.iter().find(|g| g.name == "g").unwrap().endpoints[0];
    assert_eq!(
        ep.rate_limit.map(|b| (b.per_minute, b.per_hour)),
        Some((10, 100)),
        "the default"
    );
    assert!(!ep.rate_limit_own);

    let looser = endpoint("    rate_limit: { per_minute: 50, per_hour: 50 }\n");
    let e = errors(&[("limits", limits), ("g", &looser)]);
    assert!(
        e.contains("spec/g.yaml:7: endpoint externalcontact/thing/fetch: `rate_limit` (50/min, 50/h) must be stricter"),
        "{e}"
    );
    let e = errors(&[("g", &stricter)]);
    assert!(e.contains("`rate_limit` needs the spec's `limits` block"), "{e}");

    let bad = "group: limits\ngated: false\nlimits:\n  per_corp: { per_minute: 0, per_hour: 100 }\n  per_ip: { per_minute: 20, per_hour: 2 }\n  per_provder_ip: { per_minute: 40, per_hour: 400 }\n";
    let e = errors(&[("limits", bad)]);
    assert!(
        e.contains("spec/limits.yaml:4: limits: `per_corp`: `per_minute` must be at least 1"),
        "{e}"
    );
    assert!(
        e.contains("spec/limits.yaml:5: limits: `per_ip`: `per_hour: 2` is less than `per_minute: 20`"),
        "{e}"
    );
    assert!(
        e.contains("spec/limits.yaml:6") && e.contains("unknown field `per_provder_ip`"),
        "{e}"
    );
    assert!(e.contains("missing `per_provider_ip"), "{e}");
    let twice = limits.replace("group: limits", "group: again");
    let e = errors(&[("limits", limits), ("again", &twice)]);
    assert!(
        e.contains("spec/again.yaml:3: limits: `limits` is set in spec/limits.yaml already"),
        "{e}"
    );
}

#[test]
fn unix_second_fields_must_be_typed_unix_time() {
    let body = "    response:\n      - { name: create_time, type: i64, doc: 创建时间 }\n      - { name: expire_date, type: i64, doc: 过期时间戳 }\n      - { name: created_at, type: u64, doc: \"created (unix seconds)\" }\n      - { name: avg_reply_time, type: u32, doc: 平均回复时长 }\n      - { name: count, type: i64, doc: 数量 }\n";
    let e = errors(&[("g", &endpoint(body))]);
    for (line, name) in [(8, "create_time"), (9, "expire_date"), (10, "created_at")] {
        assert!(
            e.contains(&format!(
                "spec/g.yaml:{line}: endpoint externalcontact/thing/fetch: field response.{name}: `{name}` holds unix seconds: write `type: unix_time`"
            )),
            "{e}"
        );
    }
    assert!(!e.contains("avg_reply_time") && !e.contains("response.count"), "{e}");
    let good = body
        .replace("type: i64, doc: 创建", "type: unix_time, doc: 创建")
        .replace("type: i64, doc: 过期", "type: unix_time, doc: 过期")
        .replace("type: u64, doc: \"created", "type: unix_time, doc: \"created");
    let example = "    example:\n      response: '{\"errcode\": 0, \"errmsg\": \"ok\", \"create_time\": 1525779812}'\n";
    model_from_sources(vec![src("g", &endpoint(&format!("{good}{example}")))]).expect("unix_time fields are accepted");
}
