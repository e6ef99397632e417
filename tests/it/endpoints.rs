//! One pair of tests per catalogued endpoint, generated from the spec (`generated/endpoint_tests.rs`):
//! `<method>_examples_round_trip` and `<method>_on_the_wire`.
use crate::support;

include!(concat!(env!("OUT_DIR"), "/endpoint_tests.rs"));

/// The comparison behind every round-trip assertion names the first differing key path.
#[test]
fn round_trip_failures_name_the_first_differing_key_path() {
    use serde_json::json;
    use support::first_difference;
    let a = json!({"external_contact": {"name": "a", "type": 1}, "follow_user": [{"userid": "u", "tags": [{"tag_id": "et1"}]}]});
    assert_eq!(first_difference(&a, &a), None);
    assert_eq!(
        first_difference(&json!({"n": 1}), &json!({"n": "1"})),
        None,
        "a numeric string equals its number"
    );
    assert_eq!(
        support::first_strict_difference(&json!({"n": 1}), &json!({"n": "1"})).unwrap(),
        r#"n: 1 ≠ "1""#
    );
    let mut b = a.clone();
    b["follow_user"][0]["tags"][0]["tag_id"] = json!("et2");
    assert_eq!(
        first_difference(&a, &b).unwrap(),
        r#"follow_user[0].tags[0].tag_id: "et1" ≠ "et2""#
    );
    let mut c = a.clone();
    c["external_contact"].as_object_mut().unwrap().remove("type");
    assert_eq!(
        first_difference(&a, &c).unwrap(),
        "external_contact.type: only on the left (1)"
    );
    assert_eq!(
        first_difference(&c, &a).unwrap(),
        "external_contact.type: only on the right (1)"
    );
    c["follow_user"] = json!([]);
    assert_eq!(
        first_difference(&a, &c).unwrap(),
        "external_contact.type: only on the left (1)",
        "the first one"
    );
    assert_eq!(
        first_difference(&json!([1, 2]), &json!([1])).unwrap(),
        "(top level): 2 items ≠ 1 items"
    );
}
