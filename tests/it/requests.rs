//! Building requests the way users write them: integer literals, arrays and `vec!`s of `&str` go straight
//! into setters and constructors (this file failing to compile is the failure).
use wecom_externalcontact::models::*;

#[test]
fn setters_take_literals_arrays_and_vecs_of_str() {
    let members = vec!["zhangsan".to_string(), "lisi".to_string()];
    let r = BatchGetByUserRequest::new(members).limit(100);
    assert_eq!(r.limit, Some(100));
    assert_eq!(r.userid_list, ["zhangsan", "lisi"]);

    // A constructor's list argument takes an array of `&str` too.
    let r = BatchGetByUserRequest::new(["rocky"]).cursor("c1");
    assert_eq!(r.userid_list, vec!["rocky".to_string()]);
    assert_eq!(r.cursor.as_deref(), Some("c1"));

    let r = MarkTagRequest::new("zhangsan", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA")
        .add_tag(["TAG_ID1", "TAG_ID2"])
        .remove_tag(vec!["TAG_ID3"]);
    assert_eq!(r.add_tag, Some(vec!["TAG_ID1".to_string(), "TAG_ID2".to_string()]));
    assert_eq!(r.remove_tag, Some(vec!["TAG_ID3".to_string()]));

    // Lists of objects take anything that converts into the object (here the objects themselves).
    let r = AddCorpTagRequest::new()
        .group_name("VIP")
        .order(1)
        .tag([NewCorpTag::new("gold").order(2), NewCorpTag::new("silver")]);
    let tags = r.tag.as_ref().unwrap();
    assert_eq!((tags[0].name.as_str(), tags[0].order), ("gold", Some(2)));
    assert_eq!((tags[1].name.as_str(), tags[1].order), ("silver", None));
    assert_eq!(r.order, Some(1));

    // An owned `Vec<String>` still works, and so does an iterator.
    let ids: Vec<String> = (1..=3).map(|i| format!("et{i}")).collect();
    let r = GetCorpTagListRequest::new()
        .tag_id(ids.iter().map(String::as_str))
        .group_id(ids.clone());
    assert_eq!(r.tag_id.as_ref().unwrap().len(), 3);
    assert_eq!(r.group_id, Some(ids));
}
