//! Callback crypto: the official WXBizMsgCrypt vectors, round trips, tampering, malformed ciphertexts under
//! valid signatures, and property tests that no input panics.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use wecom_externalcontact::callback::{
    signature, CallbackCrypto, CallbackError, CallbackQuery, Event, EventKind, Fields,
};
use wecom_externalcontact::Error;

// ---------------------------------------------------------------------------------------------------------
// The official vectors.
//
// WeCom's WXBizMsgCrypt samples (C# `Sample.cs`, Java `WXBizMsgCryptTest`, PHP/Python `Sample`) all use
// Token "QDG6eK", CorpID "wx5823bf96d3bd56c7" and EncodingAESKey "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
// with the URL-verification GET
//   msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780
//   &echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D
// and the message POST msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813
// &nonce=1372623149 with the body below. Checked against two copies: the official C# Sample.cs and the test
// suite of DotNetCore.SKIT.FlurlHttpClient.Wechat (TestCase_EventTests / TestCase_ToolsWxMsgCryptorTests),
// which also gives the plaintexts ("1616140317555161061" and the text message below).

const TOKEN: &str = "QDG6eK";
const ENCODING_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP_ID: &str = "wx5823bf96d3bd56c7";

const VERIFY_MSG_SIGNATURE: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
const VERIFY_TIMESTAMP: &str = "1409659589";
const VERIFY_NONCE: &str = "263014780";
const VERIFY_ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const VERIFY_PLAINTEXT: &str = "1616140317555161061";

const MSG_SIGNATURE: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
const MSG_TIMESTAMP: &str = "1409659813";
const MSG_NONCE: &str = "1372623149";
const MSG_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const MSG_PLAINTEXT: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

fn msg_body() -> String {
    format!(
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{MSG_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

fn official() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, CORP_ID).expect("the official key is valid")
}

/// The `CallbackError` inside a crate error.
fn kind(result: Result<impl std::fmt::Debug, Error>) -> CallbackError {
    match result {
        Err(Error::Callback(err)) => err,
        other => panic!("expected a callback error, got {other:?}"),
    }
}

#[test]
fn official_url_verification_vector() {
    let plain = official()
        .verify_url(VERIFY_MSG_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR)
        .unwrap();
    assert_eq!(plain, VERIFY_PLAINTEXT);
}

#[test]
fn official_url_verification_from_the_raw_query_string() {
    let query = CallbackQuery::parse(
        "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D",
    )
    .unwrap();
    assert_eq!(query.echostr.as_deref(), Some(VERIFY_ECHOSTR));
    assert_eq!(official().verify_url_query(&query).unwrap(), VERIFY_PLAINTEXT);
}

#[test]
fn official_message_decryption_vector() {
    let plain = official()
        .decrypt_message(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, &msg_body())
        .unwrap();
    assert_eq!(plain, MSG_PLAINTEXT);

    // The decrypted sample is a text message: no Event, so an Unrecognized kind with every field kept.
    let event = Event::from_xml(&plain).unwrap();
    assert_eq!(event.time(), 1409659813);
    assert_eq!(event.corp_id(), Some(CORP_ID));
    match event.kind {
        EventKind::Unrecognized {
            event: None,
            change_type: None,
            fields,
        } => {
            assert_eq!(fields.text("Content"), Some("hello"));
            assert_eq!(fields.text("MsgId"), Some("4561255354251345929"));
            assert_eq!(fields.text("AgentID"), Some("218"));
            assert_eq!(fields.len(), 3);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn official_message_decryption_through_a_query_and_a_pretty_printed_body() {
    let query = CallbackQuery::parse(
        "msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149",
    )
    .unwrap();
    assert_eq!(query.echostr, None);
    // The body as laid out in the sample's comment: indented, CDATA sections.
    let body = format!(
        "<xml>\n\t<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n\t<Encrypt><![CDATA[{MSG_ENCRYPT}]]></Encrypt>\n\t<AgentID><![CDATA[218]]></AgentID>\n</xml>"
    );
    assert_eq!(official().decrypt_message_query(&query, &body).unwrap(), MSG_PLAINTEXT);
    // Plain text instead of CDATA parses the same.
    let plain_body = format!("<xml><ToUserName>wx5823bf96d3bd56c7</ToUserName><Encrypt>{MSG_ENCRYPT}</Encrypt></xml>");
    assert_eq!(
        official().decrypt_message_query(&query, &plain_body).unwrap(),
        MSG_PLAINTEXT
    );
}

#[test]
fn official_signatures_are_reproduced() {
    let crypto = official();
    assert_eq!(
        crypto.signature(VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR),
        VERIFY_MSG_SIGNATURE
    );
    assert_eq!(crypto.signature(MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT), MSG_SIGNATURE);
    assert_eq!(signature(TOKEN, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT), MSG_SIGNATURE);
    crypto
        .verify_signature(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)
        .unwrap();
    // A second published signature vector (SKIT TestWxBizMsgCryptorVerifySignature): token "ovAkP0Tb".
    assert_eq!(
        signature(
            "ovAkP0Tb",
            "1628737717",
            "1811081856",
            "Q/jUxIL3/jRaFeTKesIr1QSq2SOEApDqlzcRrRM6Jlk4EbMBns3plPOR/W3gThOEq+zYI42fNSoIUb3cQwt9zyD1aLU/7D3WNLute7LQ9LSHjZEfVmx5zcIR9zvrUWGjhe1whTPH4e1WR6vbOYs8o/bDRF0vX/NcE4XK7P83Y6CzQiJoKbjVCne84s0zcw5eh+ZUDB55eaDHPSoS7kAC8kB00pfBoDF0jyfc8CUKLW97e72vJGyUWjZ0BvYN+R+tFjMgEzg/EN1imuuFnf40DMAcvB6y+C97TuaWjpgfRdowGWzn10JAFNukRfQqjdA0e2bfczJ7+t9w/t8/XSMADJOt1xbnP+I5cRX/r7ueBGmG/6ejP3myO9yTXHdujGvwrXHuWw+J7qD4VoUVjbm2vQ1qQKbrweKssr6O+3XSbanZ5R3n26EpN/gfgX+r6rcGViqsFop9Ai9xMnfJUubB6Q==",
        ),
        "8128e41a38892d814e4aa67753425da9dc8ec2b3"
    );
}

#[test]
fn official_vectors_with_a_wrong_signature_fail() {
    let crypto = official();
    let mut flipped = VERIFY_MSG_SIGNATURE.to_owned();
    flipped.replace_range(0..1, "6");
    for sig in [flipped.as_str(), "", &VERIFY_MSG_SIGNATURE[..39], MSG_SIGNATURE] {
        assert_eq!(
            kind(crypto.verify_url(sig, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR)),
            CallbackError::SignatureMismatch,
            "signature {sig:?}"
        );
    }
    assert_eq!(
        kind(crypto.decrypt_message(VERIFY_MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, &msg_body())),
        CallbackError::SignatureMismatch
    );
    // The right signature with a wrong token.
    let other_token = CallbackCrypto::new("QDG6eL", ENCODING_AES_KEY, CORP_ID).unwrap();
    assert_eq!(
        kind(other_token.verify_url(VERIFY_MSG_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR)),
        CallbackError::SignatureMismatch
    );
    // Timestamp and nonce of the other request.
    assert_eq!(
        kind(crypto.verify_url(VERIFY_MSG_SIGNATURE, MSG_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR)),
        CallbackError::SignatureMismatch
    );
    assert_eq!(
        kind(crypto.verify_url(VERIFY_MSG_SIGNATURE, VERIFY_TIMESTAMP, MSG_NONCE, VERIFY_ECHOSTR)),
        CallbackError::SignatureMismatch
    );
}

#[test]
fn official_vectors_with_another_receive_id_fail() {
    let crypto = CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, "wx5823bf96d3bd56c8").unwrap();
    assert_eq!(
        kind(crypto.verify_url(VERIFY_MSG_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR)),
        CallbackError::ReceiveIdMismatch
    );
    let crypto = CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, "").unwrap();
    assert_eq!(
        kind(crypto.decrypt_message(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, &msg_body())),
        CallbackError::ReceiveIdMismatch
    );
}

/// URL verifications captured from WeCom's online callback test tool with the official key and receive
/// id and Token "1372623149" (published in wenerme/go-wecom `wwcrypt/crypt_test.go`); each decrypts to
/// "ECHO".
#[test]
fn devtool_url_verification_vectors() {
    let crypto = CallbackCrypto::new("1372623149", ENCODING_AES_KEY, CORP_ID).unwrap();
    let queries = [
        "msg_signature=6a27598fb5b01ee02684379a339fef6de65c83c2&timestamp=1629824456&nonce=bqe3yfbqfc7&echostr=22vyvcBQ1xafTSJuhMGQuFyOAh00m2enIATgo4R6SGHY%2FYhofNmfwCksP3OP0Gxnq%2BcqnJcuvUQtjSbEu60IUA%3D%3D",
        "msg_signature=e225d26d3bb4d06b4656f6b674e2143d4d35e81e&timestamp=1629822102&nonce=oduw1lq7iwp&echostr=teMozE0aNgDd2iKay6VOldGRKQXJbHsFqFc10Y4dYBE%2FMu%2B34X0Vd%2BKP6GoxWXGqYOC9bg4eSNw7d3d6awhm%2BA%3D%3D",
        "msg_signature=c2273fb8ef29b1427a88b76b56036b76128c46d0&timestamp=1629824247&nonce=s8a61euba6m&echostr=fSW%2B704DFd%2BeE1SrOhMQ1kiV%2Bt%2F5V7%2Bcs8QIt6qD9xR44PgSlym1NtMvQYw5S%2BRKhQxdy3RNheLNHJuU%2BHGjHQ%3D%3D",
    ];
    for raw in queries {
        let query = CallbackQuery::parse(raw).unwrap();
        assert_eq!(crypto.verify_url_query(&query).unwrap(), "ECHO", "{raw}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Construction

#[test]
fn encoding_aes_keys_that_are_not_43_base64_characters_are_refused() {
    let bad = [
        "",
        &ENCODING_AES_KEY[..42],
        &format!("{ENCODING_AES_KEY}A"),
        &format!("{ENCODING_AES_KEY}="),
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2*",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B=C",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2Bé", // 43 bytes, not base64
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2 ",
    ];
    for key in bad {
        assert_eq!(
            kind(CallbackCrypto::new(TOKEN, key, CORP_ID)),
            CallbackError::InvalidKey,
            "{key:?}"
        );
    }
    // Keys whose last character carries non-zero trailing bits (like the official one) are accepted.
    assert!(CallbackCrypto::new(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP_ID).is_ok());
    assert!(CallbackCrypto::new(TOKEN, &"A".repeat(43), CORP_ID).is_ok());
}

#[test]
fn debug_shows_the_receive_id_but_not_the_token_or_the_key() {
    let text = format!("{:?}", official());
    assert!(text.contains(CORP_ID), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.contains(ENCODING_AES_KEY), "{text}");
    assert!(!text.contains("key"), "{text}");
    assert_eq!(official().receive_id(), CORP_ID);
}

// ---------------------------------------------------------------------------------------------------------
// Round trips

/// The ciphertext length for a message of `len` bytes: header, message, receive id, then 1..=32 bytes of
/// padding up to a multiple of 32.
fn expected_ciphertext_len(len: usize) -> usize {
    let unpadded = 20 + len + CORP_ID.len();
    (unpadded / 32 + 1) * 32
}

#[test]
fn round_trip_over_boundary_lengths_and_non_ascii() {
    let crypto = official();
    let mut messages: Vec<String> = [0usize, 1, 15, 16, 17, 31, 32, 33, 10_000]
        .iter()
        .map(|&n| "x".repeat(n))
        .collect();
    messages.push("客户联系 🚀 — <xml>&amp;]]></xml>".to_owned());
    messages.push("é".repeat(5000));
    for message in &messages {
        let reply = crypto.seal_reply(message, "1409659813", "nonce-1").unwrap();
        let raw = STANDARD.decode(reply.encrypt()).unwrap();
        assert_eq!(
            raw.len(),
            expected_ciphertext_len(message.len()),
            "len {}",
            message.len()
        );
        assert_eq!(raw.len() % 32, 0);

        let xml = crypto.encrypt_reply(message, "1409659813", "nonce-1").unwrap();
        let fields = Fields::from_xml(&xml).unwrap();
        let decrypted = crypto
            .decrypt_message(
                fields.text("MsgSignature").unwrap(),
                fields.text("TimeStamp").unwrap(),
                fields.text("Nonce").unwrap(),
                &xml,
            )
            .unwrap();
        assert_eq!(&decrypted, message);
        // The plain ciphertext verifies as an echostr too.
        let ct = crypto.encrypt(message).unwrap();
        let sig = crypto.signature("1", "2", &ct);
        assert_eq!(&crypto.verify_url(&sig, "1", "2", &ct).unwrap(), message);
    }
}

#[test]
fn the_reply_xml_has_the_official_layout() {
    let crypto = official();
    let mut rng = StdRng::seed_from_u64(7);
    let reply = crypto
        .seal_reply_with_rng("<xml>reply</xml>", "1409659813", "1372623149", &mut rng)
        .unwrap();
    assert_eq!(reply.timestamp(), "1409659813");
    assert_eq!(reply.nonce(), "1372623149");
    assert_eq!(
        reply.msg_signature(),
        crypto.signature("1409659813", "1372623149", reply.encrypt())
    );
    assert_eq!(
        reply.to_xml(),
        format!(
            "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature><![CDATA[{}]]></MsgSignature><TimeStamp>1409659813</TimeStamp><Nonce><![CDATA[1372623149]]></Nonce></xml>",
            reply.encrypt(),
            reply.msg_signature()
        )
    );
}

#[test]
fn reply_parameters_with_markup_stay_well_formed_and_round_trip() {
    let crypto = official();
    for (timestamp, nonce) in [("1<2&3", "a]]>b"), ("\"'", "]]>]]>"), ("", "")] {
        let xml = crypto.encrypt_reply("payload", timestamp, nonce).unwrap();
        let fields = Fields::from_xml(&xml).unwrap();
        assert_eq!(fields.text("TimeStamp"), Some(timestamp));
        assert_eq!(fields.text("Nonce"), Some(nonce));
        let plain = crypto
            .decrypt_message(fields.text("MsgSignature").unwrap(), timestamp, nonce, &xml)
            .unwrap();
        assert_eq!(plain, "payload");
    }
    for bad in ["a\0b", "line\nbreak", "\u{7f}", "\u{ffff}"] {
        assert_eq!(
            kind(crypto.encrypt_reply("x", "1", bad)),
            CallbackError::InvalidParameter("nonce")
        );
        assert_eq!(
            kind(crypto.encrypt_reply("x", bad, "1")),
            CallbackError::InvalidParameter("timestamp")
        );
    }
}

#[test]
fn the_random_source_is_injectable_and_the_default_one_is_random() {
    let crypto = official();
    let a = crypto.encrypt_with_rng("same", &mut StdRng::seed_from_u64(1)).unwrap();
    let b = crypto.encrypt_with_rng("same", &mut StdRng::seed_from_u64(1)).unwrap();
    let c = crypto.encrypt_with_rng("same", &mut StdRng::seed_from_u64(2)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(crypto.encrypt("same").unwrap(), crypto.encrypt("same").unwrap());
}

// ---------------------------------------------------------------------------------------------------------
// Tampering

struct Signed {
    sig: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
}

fn signed(crypto: &CallbackCrypto, message: &str) -> Signed {
    let reply = crypto
        .seal_reply_with_rng(message, "1700000000", "tamper", &mut StdRng::seed_from_u64(3))
        .unwrap();
    Signed {
        sig: reply.msg_signature().to_owned(),
        timestamp: reply.timestamp().to_owned(),
        nonce: reply.nonce().to_owned(),
        encrypt: reply.encrypt().to_owned(),
    }
}

fn body(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

fn flip_bit(encrypt: &str, byte: usize, bit: u8) -> String {
    let mut raw = STANDARD.decode(encrypt).unwrap();
    raw[byte] ^= 1 << bit;
    STANDARD.encode(raw)
}

#[test]
fn every_tampering_is_refused() {
    let crypto = official();
    let s = signed(&crypto, "<xml><Content>secret-marker</Content></xml>");
    assert_eq!(
        crypto
            .decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(&s.encrypt))
            .unwrap(),
        "<xml><Content>secret-marker</Content></xml>"
    );

    // Signature: each position changed.
    for i in 0..s.sig.len() {
        let mut sig = s.sig.clone().into_bytes();
        sig[i] = if sig[i] == b'0' { b'1' } else { b'0' };
        let sig = String::from_utf8(sig).unwrap();
        assert_eq!(
            kind(crypto.decrypt_message(&sig, &s.timestamp, &s.nonce, &body(&s.encrypt))),
            CallbackError::SignatureMismatch
        );
    }
    // Timestamp and nonce.
    assert_eq!(
        kind(crypto.decrypt_message(&s.sig, "1700000001", &s.nonce, &body(&s.encrypt))),
        CallbackError::SignatureMismatch
    );
    assert_eq!(
        kind(crypto.decrypt_message(&s.sig, &s.timestamp, "tamper2", &body(&s.encrypt))),
        CallbackError::SignatureMismatch
    );
    // A ciphertext bit, in every block.
    let blocks = STANDARD.decode(&s.encrypt).unwrap().len() / 16;
    for block in 0..blocks {
        let tampered = flip_bit(&s.encrypt, block * 16 + 5, 3);
        assert_eq!(
            kind(crypto.decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(&tampered))),
            CallbackError::SignatureMismatch
        );
    }
    // Truncation of the ciphertext string, and of the body.
    let truncated = &s.encrypt[..s.encrypt.len() - 24];
    assert_eq!(
        kind(crypto.decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(truncated))),
        CallbackError::SignatureMismatch
    );
    let full_body = body(&s.encrypt);
    assert!(matches!(
        kind(crypto.decrypt_message(&s.sig, &s.timestamp, &s.nonce, &full_body[..full_body.len() - 10])),
        CallbackError::Xml(_)
    ));
    // Receive id: the same token and key configured for another corp.
    let other = CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, "ww-other-corp").unwrap();
    assert_eq!(
        kind(other.decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(&s.encrypt))),
        CallbackError::ReceiveIdMismatch
    );
    // Another key with the same token: the signature still matches, the decryption cannot.
    let other_key = CallbackCrypto::new(TOKEN, &"A".repeat(43), CORP_ID).unwrap();
    assert!(matches!(
        kind(other_key.decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(&s.encrypt))),
        CallbackError::Padding
            | CallbackError::PlaintextTooShort { .. }
            | CallbackError::LengthOutOfBounds { .. }
            | CallbackError::ReceiveIdMismatch
    ));
}

#[test]
fn tampering_that_keeps_a_valid_signature_is_still_caught() {
    // As if the token leaked: the attacker re-signs, but the plaintext structure is checked.
    let crypto = official();
    let s = signed(&crypto, "hello");
    // Flipping a bit of ciphertext byte 0 flips the same bit of plaintext byte 16: the top byte of the
    // length field, which now points far past the end.
    let tampered = flip_bit(&s.encrypt, 0, 7);
    let sig = crypto.signature(&s.timestamp, &s.nonce, &tampered);
    match kind(crypto.verify_url(&sig, &s.timestamp, &s.nonce, &tampered)) {
        CallbackError::LengthOutOfBounds { declared, available } => {
            assert_eq!(declared, 0x8000_0005);
            assert_eq!(available, 5 + CORP_ID.len());
        }
        other => panic!("unexpected {other:?}"),
    }
    // Dropping the last block leaves plaintext where the padding should be.
    let raw = STANDARD.decode(&s.encrypt).unwrap();
    let shortened = STANDARD.encode(&raw[..raw.len() - 16]);
    let sig = crypto.signature(&s.timestamp, &s.nonce, &shortened);
    assert!(matches!(
        kind(crypto.verify_url(&sig, &s.timestamp, &s.nonce, &shortened)),
        CallbackError::Padding | CallbackError::ReceiveIdMismatch | CallbackError::LengthOutOfBounds { .. }
    ));
}

// ---------------------------------------------------------------------------------------------------------
// Malformed ciphertexts under a valid signature

/// The AES key, derived independently of the crate.
fn aes_key() -> [u8; 32] {
    let decoded = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{ENCODING_AES_KEY}="))
    .unwrap();
    decoded.try_into().unwrap()
}

/// Encrypts raw plaintext bytes (already a multiple of 16) with AES-256-CBC, no padding added.
fn raw_encrypt(plaintext: &[u8]) -> String {
    assert_eq!(plaintext.len() % 16, 0);
    let key = aes_key();
    let ct = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .encrypt_padded_vec_mut::<NoPadding>(plaintext);
    STANDARD.encode(ct)
}

/// random(16) ‖ declared length ‖ message ‖ receive id, padded with `pad` bytes of value `pad_value`.
fn plaintext(declared: u32, message: &[u8], receive_id: &[u8], pad: usize, pad_value: u8) -> Vec<u8> {
    let mut p = vec![0x5a; 16];
    p.extend_from_slice(&declared.to_be_bytes());
    p.extend_from_slice(message);
    p.extend_from_slice(receive_id);
    p.resize(p.len() + pad, pad_value);
    p
}

/// A correctly padded plaintext.
fn well_formed(declared: u32, message: &[u8], receive_id: &[u8]) -> Vec<u8> {
    let len = 20 + message.len() + receive_id.len();
    let pad = 32 - len % 32;
    plaintext(declared, message, receive_id, pad, pad as u8)
}

/// Verifies `encrypt` as an echostr under a valid signature, as GET, as XML POST and as JSON POST, and
/// checks the three agree.
fn under_valid_signature(encrypt: &str) -> Result<String, Error> {
    let crypto = official();
    let sig = crypto.signature("1700000000", "n", encrypt);
    let get = crypto.verify_url(&sig, "1700000000", "n", encrypt);
    let post = crypto.decrypt_message(&sig, "1700000000", "n", &body(encrypt));
    let json = crypto.decrypt_json_message(
        &sig,
        "1700000000",
        "n",
        &serde_json::json!({ "encrypt": encrypt }).to_string(),
    );
    assert_eq!(format!("{get:?}"), format!("{post:?}"));
    assert_eq!(format!("{get:?}"), format!("{json:?}"));
    get
}

#[test]
fn the_independent_plaintext_builder_agrees_with_the_crate() {
    let message = "hello 客户";
    let encrypt = raw_encrypt(&well_formed(
        message.len() as u32,
        message.as_bytes(),
        CORP_ID.as_bytes(),
    ));
    assert_eq!(under_valid_signature(&encrypt).unwrap(), message);
}

#[test]
fn bad_base64_is_refused() {
    for encrypt in ["not base64!!", "abc", "AAAAA===", "AAA=AAAA", "A A=", "AA\u{e9}A"] {
        assert_eq!(
            kind(under_valid_signature(encrypt)),
            CallbackError::Base64,
            "{encrypt:?}"
        );
    }
}

#[test]
fn ciphertexts_that_are_not_whole_blocks_are_refused() {
    for len in [0usize, 1, 15, 17, 31, 33, 100] {
        let encrypt = STANDARD.encode(vec![7u8; len]);
        assert_eq!(
            kind(under_valid_signature(&encrypt)),
            CallbackError::CiphertextLength { len },
            "len {len}"
        );
    }
}

#[test]
fn bad_padding_is_refused() {
    let id = CORP_ID.as_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // 20 + 2 + 18 = 40 bytes of content: 24 bytes of padding are needed.
        ("pad value 0", plaintext(2, b"ok", id, 24, 0)),
        ("pad value 33", plaintext(2, b"ok", id, 24, 33)),
        ("pad value 255", plaintext(2, b"ok", id, 24, 255)),
        ("inconsistent pad bytes", {
            let mut p = plaintext(2, b"ok", id, 24, 24);
            let n = p.len();
            p[n - 3] = 23;
            p
        }),
        ("pad longer than the data", {
            let mut p = vec![32u8; 16];
            p[0] = 1;
            p
        }),
    ];
    for (what, p) in cases {
        assert_eq!(
            kind(under_valid_signature(&raw_encrypt(&p))),
            CallbackError::Padding,
            "{what}"
        );
    }
}

#[test]
fn length_fields_past_the_end_are_refused() {
    let id = CORP_ID.as_bytes();
    let available = 2 + id.len();
    for declared in [available as u32 + 1, 0x0001_0000, 0x7fff_ffff, u32::MAX] {
        let p = well_formed(declared, b"ok", id);
        assert_eq!(
            kind(under_valid_signature(&raw_encrypt(&p))),
            CallbackError::LengthOutOfBounds { declared, available },
            "declared {declared:#x}"
        );
    }
    // The length may take all remaining bytes: then the receive id is empty and must not match.
    let p = well_formed(available as u32, b"ok", id);
    assert_eq!(
        kind(under_valid_signature(&raw_encrypt(&p))),
        CallbackError::ReceiveIdMismatch
    );
}

#[test]
fn plaintexts_shorter_than_the_header_are_refused() {
    for content_len in [0usize, 1, 16, 19] {
        let pad = 32 - content_len;
        let mut p = vec![0x11u8; content_len];
        p.resize(p.len() + pad, pad as u8);
        assert_eq!(
            kind(under_valid_signature(&raw_encrypt(&p))),
            CallbackError::PlaintextTooShort { len: content_len },
            "content {content_len}"
        );
    }
    // Exactly the header, an empty message and an empty receive id: accepted by a crypto whose receive id is empty.
    let p = well_formed(0, b"", b"");
    let encrypt = raw_encrypt(&p);
    let empty_id = CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, "").unwrap();
    let sig = empty_id.signature("1", "2", &encrypt);
    assert_eq!(empty_id.verify_url(&sig, "1", "2", &encrypt).unwrap(), "");
}

#[test]
fn messages_that_are_not_utf8_are_refused() {
    let p = well_formed(3, &[0xff, 0xfe, 0x80], CORP_ID.as_bytes());
    assert_eq!(kind(under_valid_signature(&raw_encrypt(&p))), CallbackError::Utf8);
}

// ---------------------------------------------------------------------------------------------------------
// Bodies and queries

#[test]
fn message_bodies_without_a_usable_encrypt_are_refused() {
    let crypto = official();
    let cases = [
        ("", "xml"),
        ("not xml", "xml"),
        ("<xml><ToUserName>x</ToUserName></xml>", "missing"),
        ("<xml><Encrypt><A>b</A></Encrypt></xml>", "missing"),
        ("<xml><Encrypt>abc</Encrypt>", "xml"),
        ("<xml><Encrypt>abc</Encrypt></xml><xml/>", "xml"),
    ];
    for (body, expected) in cases {
        let err = kind(crypto.decrypt_message("sig", "1", "2", body));
        match expected {
            "xml" => assert!(matches!(err, CallbackError::Xml(_)), "{body:?}: {err:?}"),
            _ => assert_eq!(err, CallbackError::MissingField("Encrypt"), "{body:?}"),
        }
    }
}

#[test]
fn json_bodies() {
    let crypto = official();
    let s = signed(&crypto, "{\"msgtype\":\"text\"}");
    for key in ["encrypt", "Encrypt"] {
        let json = serde_json::json!({ key: s.encrypt, "ToUserName": CORP_ID }).to_string();
        assert_eq!(
            crypto
                .decrypt_json_message(&s.sig, &s.timestamp, &s.nonce, &json)
                .unwrap(),
            "{\"msgtype\":\"text\"}"
        );
    }
    assert_eq!(
        kind(crypto.decrypt_json_message(&s.sig, &s.timestamp, &s.nonce, "{}")),
        CallbackError::MissingField("encrypt")
    );
    assert_eq!(
        kind(crypto.decrypt_json_message(&s.sig, &s.timestamp, &s.nonce, "{\"encrypt\": 5}")),
        CallbackError::InvalidField {
            field: "encrypt",
            expected: "a string"
        }
    );
    assert_eq!(
        kind(crypto.decrypt_json_message(&s.sig, &s.timestamp, &s.nonce, "[1]")),
        CallbackError::InvalidField {
            field: "body",
            expected: "a JSON object"
        }
    );
    match kind(crypto.decrypt_json_message(&s.sig, &s.timestamp, &s.nonce, "{\"encrypt\": \"secret-marker")) {
        CallbackError::Json(message) => assert!(!message.contains("secret-marker"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        kind(crypto.decrypt_json_message(
            "0000",
            &s.timestamp,
            &s.nonce,
            &format!("{{\"encrypt\":\"{}\"}}", s.encrypt)
        )),
        CallbackError::SignatureMismatch
    );
}

#[test]
fn callback_queries() {
    assert_eq!(
        kind(CallbackQuery::parse("timestamp=1&nonce=2")),
        CallbackError::MissingField("msg_signature")
    );
    assert_eq!(
        kind(CallbackQuery::parse("msg_signature=a&nonce=2")),
        CallbackError::MissingField("timestamp")
    );
    assert_eq!(
        kind(CallbackQuery::parse("msg_signature=a&timestamp=1")),
        CallbackError::MissingField("nonce")
    );
    let q = CallbackQuery::parse("msg_signature=a&timestamp=1&nonce=2&nonce=3&other=x").unwrap();
    assert_eq!(q.nonce, "2");
    assert_eq!(
        kind(official().verify_url_query(&q)),
        CallbackError::MissingField("echostr")
    );

    // Deserializable by serde-based extractors.
    let q: CallbackQuery =
        serde_json::from_value(serde_json::json!({"msg_signature": "s", "timestamp": "1", "nonce": "n"})).unwrap();
    assert_eq!(q.echostr, None);
    let q: CallbackQuery = serde_json::from_value(serde_json::json!({
        "msg_signature": VERIFY_MSG_SIGNATURE, "timestamp": VERIFY_TIMESTAMP, "nonce": VERIFY_NONCE,
        "echostr": VERIFY_ECHOSTR
    }))
    .unwrap();
    assert_eq!(official().verify_url_query(&q).unwrap(), VERIFY_PLAINTEXT);
}

#[test]
fn error_messages_never_contain_the_token_the_key_or_the_plaintext() {
    let token = "tok-SECRET-123";
    let crypto = CallbackCrypto::new(token, ENCODING_AES_KEY, "corp-a").unwrap();
    let other = CallbackCrypto::new(token, ENCODING_AES_KEY, "corp-b").unwrap();
    let s = signed(&crypto, "<xml><Secret>plain-SECRET-456</Secret></xml>");
    let errors = vec![
        other
            .decrypt_message(&s.sig, &s.timestamp, &s.nonce, &body(&s.encrypt))
            .unwrap_err(),
        crypto
            .decrypt_message("x", &s.timestamp, &s.nonce, &body(&s.encrypt))
            .unwrap_err(),
        CallbackCrypto::new(token, "tooshort", "c").unwrap_err(),
        Event::from_xml("<xml><plain-SECRET-456></xml>").unwrap_err(),
        Event::from_xml("<xml><A>plain-SECRET-456</B></xml>").unwrap_err(),
        Event::from_xml("<xml><A>&plain-SECRET-456;</A></xml>").unwrap_err(),
        Event::from_json("{\"plain-SECRET-456\": ").unwrap_err(),
    ];
    for err in errors {
        for text in [format!("{err}"), format!("{err:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!text.contains(ENCODING_AES_KEY), "{text}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Property tests: nothing panics

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn new_never_panics(token in ".*", key in ".*", receive_id in ".*") {
        let _ = CallbackCrypto::new(&token, &key, &receive_id);
    }

    #[test]
    fn keys_of_43_base64_characters_are_accepted(key in "[A-Za-z0-9+/]{43}") {
        prop_assert!(CallbackCrypto::new("t", &key, "r").is_ok());
    }

    #[test]
    fn entry_points_never_panic_on_arbitrary_strings(
        sig in ".*", timestamp in ".*", nonce in ".*", payload in ".*",
    ) {
        let crypto = official();
        prop_assert!(crypto.verify_url(&sig, &timestamp, &nonce, &payload).is_err());
        prop_assert!(crypto.decrypt_message(&sig, &timestamp, &nonce, &payload).is_err());
        prop_assert!(crypto.decrypt_json_message(&sig, &timestamp, &nonce, &payload).is_err());
        let _ = crypto.encrypt_reply(&payload, &timestamp, &nonce);
        let _ = Event::from_xml(&payload);
        let _ = Event::from_json(&payload);
        let _ = CallbackQuery::parse(&payload);
    }

    #[test]
    fn xml_bodies_with_arbitrary_encrypt_never_panic(encrypt in ".*", sig in "[0-9a-f]{40}") {
        let crypto = official();
        let xml = format!("<xml><Encrypt><![CDATA[{}]]></Encrypt></xml>", encrypt.replace("]]>", ""));
        prop_assert!(crypto.decrypt_message(&sig, "1", "2", &xml).is_err());
    }

    #[test]
    fn arbitrary_ciphertexts_under_a_valid_signature_fail_cleanly(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            (1usize..12).prop_flat_map(|blocks| proptest::collection::vec(any::<u8>(), blocks * 16)),
        ],
        timestamp in "[0-9]{0,12}",
        nonce in "[a-zA-Z0-9]{0,16}",
    ) {
        let crypto = official();
        let encrypt = STANDARD.encode(&bytes);
        let sig = crypto.signature(&timestamp, &nonce, &encrypt);
        let err = kind(crypto.verify_url(&sig, &timestamp, &nonce, &encrypt));
        prop_assert!(
            matches!(
                err,
                CallbackError::CiphertextLength { .. }
                    | CallbackError::Padding
                    | CallbackError::PlaintextTooShort { .. }
                    | CallbackError::LengthOutOfBounds { .. }
                    | CallbackError::ReceiveIdMismatch
                    | CallbackError::Utf8
            ),
            "{:?}", err
        );
    }

    #[test]
    fn arbitrary_base64_text_under_a_valid_signature_never_panics(encrypt in "[A-Za-z0-9+/=]{0,120}") {
        let crypto = official();
        let sig = crypto.signature("1", "2", &encrypt);
        prop_assert!(crypto.verify_url(&sig, "1", "2", &encrypt).is_err());
    }

    #[test]
    fn arbitrary_messages_round_trip(message in ".*", timestamp in "[0-9]{1,10}", nonce in "[a-zA-Z0-9]{1,16}") {
        let crypto = official();
        let xml = crypto.encrypt_reply(&message, &timestamp, &nonce).unwrap();
        let fields = Fields::from_xml(&xml).unwrap();
        let sig = fields.text("MsgSignature").unwrap();
        prop_assert_eq!(crypto.decrypt_message(sig, &timestamp, &nonce, &xml).unwrap(), message);
    }
}
