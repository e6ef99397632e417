//! WeCom's callback encryption scheme (the one of the official `WXBizMsgCrypt` samples).
//!
//! * signature: lowercase hex SHA-1 of the lexicographically sorted concatenation of the token, the
//!   timestamp, the nonce and the base64 ciphertext;
//! * cipher: AES-256-CBC with key = base64-decode(EncodingAESKey + "=") and IV = the first 16 key bytes;
//! * plaintext: 16 random bytes ‖ 4-byte big-endian message length ‖ message ‖ receive id, PKCS#7-padded
//!   to a multiple of 32 bytes (pad value 1..=32).

use std::fmt;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use rand::{CryptoRng, RngCore};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::xml::{parse_document, push_cdata};
use super::{CallbackError, CallbackQuery};
use crate::Error;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// Standard base64 with canonical padding that tolerates non-zero trailing bits: WeCom's EncodingAESKeys
/// are 43 random characters whose last one usually has them (the official key `...B2C` does).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Length of an EncodingAESKey in characters.
const ENCODING_AES_KEY_LEN: usize = 43;
/// The random prefix of a plaintext.
const RANDOM_LEN: usize = 16;
/// The random prefix plus the 4-byte length.
const HEADER_LEN: usize = RANDOM_LEN + 4;
/// PKCS#7 block size of the scheme (not the AES block size).
const PAD_BLOCK: usize = 32;
/// AES block size.
const AES_BLOCK: usize = 16;

/// Computes a callback signature: the lowercase hex SHA-1 of `token`, `timestamp`, `nonce` and `encrypt`
/// sorted lexicographically and concatenated.
///
/// `encrypt` is the base64 ciphertext exactly as received (`echostr` or the `Encrypt` element).
pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Verifies, decrypts and encrypts WeCom callbacks for one receiver.
///
/// Build one per callback URL with the Token and EncodingAESKey configured in the WeCom admin console and
/// the receive id: the corp id (`ww...`) for a self-built app's callbacks, the suite id for a third-party
/// app's 指令回调. It is cheap to clone and safe to share between threads.
///
/// Every method takes untrusted input and never panics: whatever is wrong comes back as
/// [`crate::Error::Callback`] with a precise [`CallbackError`]. The signature is always checked (in
/// constant time) before anything is decrypted. `Debug` shows the receive id only, never the token or key.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    key: [u8; 32],
    iv: [u8; 16],
    receive_id: String,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

impl CallbackCrypto {
    /// Builds the crypto for one receiver.
    ///
    /// Fails with [`CallbackError::InvalidKey`] unless `encoding_aes_key` is exactly 43 characters of
    /// standard base64 that decode (with the implied trailing `=`) to 32 bytes.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<CallbackCrypto, Error> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN {
            return Err(CallbackError::InvalidKey.into());
        }
        let mut padded = String::with_capacity(ENCODING_AES_KEY_LEN + 1);
        padded.push_str(encoding_aes_key);
        padded.push('=');
        let decoded = BASE64
            .decode(padded.as_bytes())
            .map_err(|_| CallbackError::InvalidKey)?;
        let key: [u8; 32] = decoded.as_slice().try_into().map_err(|_| CallbackError::InvalidKey)?;
        let iv: [u8; 16] = *key.first_chunk::<16>().ok_or(CallbackError::InvalidKey)?;
        Ok(CallbackCrypto {
            token: token.to_owned(),
            key,
            iv,
            receive_id: receive_id.to_owned(),
        })
    }

    /// The receive id this crypto checks decrypted messages against and appends to encrypted ones.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// The signature WeCom computes for this timestamp, nonce and base64 ciphertext (see [`signature`]).
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        signature(&self.token, timestamp, nonce, encrypt)
    }

    /// Checks `msg_signature` against the signature of `timestamp`, `nonce` and `encrypt`, in constant
    /// time. Fails with [`CallbackError::SignatureMismatch`].
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), Error> {
        Ok(self.check_signature(msg_signature, timestamp, nonce, encrypt)?)
    }

    fn check_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CallbackError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        if bool::from(expected.as_bytes().ct_eq(msg_signature.as_bytes())) {
            Ok(())
        } else {
            Err(CallbackError::SignatureMismatch)
        }
    }

    /// Answers the URL-verification GET WeCom sends when the callback URL is saved: verifies the signature
    /// over `echostr`, decrypts it and returns the plaintext to send back as the response body.
    ///
    /// The arguments are the query parameters `msg_signature`, `timestamp`, `nonce` and `echostr`,
    /// already URL-decoded.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, Error> {
        self.check_signature(msg_signature, timestamp, nonce, echostr)?;
        Ok(self.decrypt_ciphertext(echostr)?)
    }

    /// Verifies and decrypts a callback POST whose body is WeCom's XML envelope
    /// (`<xml><ToUserName/><Encrypt/><AgentID/></xml>`), returning the decrypted XML; parse it with
    /// [`super::Event::from_xml`].
    pub fn decrypt_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, Error> {
        let envelope = parse_document(body)?;
        let encrypt = envelope
            .text("Encrypt")
            .ok_or(CallbackError::MissingField("Encrypt"))?
            .trim();
        self.check_signature(msg_signature, timestamp, nonce, encrypt)?;
        Ok(self.decrypt_ciphertext(encrypt)?)
    }

    /// Like [`decrypt_message`](Self::decrypt_message) for callbacks whose body is JSON
    /// (`{"encrypt": "..."}`, as WeCom sends to JSON-mode receivers); `Encrypt` is accepted as the key too.
    /// Returns the decrypted plaintext as sent (JSON for these receivers).
    pub fn decrypt_json_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, Error> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(json_error)?;
        let object = value.as_object().ok_or(CallbackError::InvalidField {
            field: "body",
            expected: "a JSON object",
        })?;
        let (field, encrypt) = match (object.get("encrypt"), object.get("Encrypt")) {
            (Some(value), _) => ("encrypt", value),
            (None, Some(value)) => ("Encrypt", value),
            (None, None) => return Err(CallbackError::MissingField("encrypt").into()),
        };
        let encrypt = encrypt.as_str().ok_or(CallbackError::InvalidField {
            field,
            expected: "a string",
        })?;
        let encrypt = encrypt.trim();
        self.check_signature(msg_signature, timestamp, nonce, encrypt)?;
        Ok(self.decrypt_ciphertext(encrypt)?)
    }

    /// [`verify_url`](Self::verify_url) with the parameters taken from a parsed query string; fails with
    /// [`CallbackError::MissingField`]`("echostr")` when the query has none.
    pub fn verify_url_query(&self, query: &CallbackQuery) -> Result<String, Error> {
        let echostr = query.echostr.as_deref().ok_or(CallbackError::MissingField("echostr"))?;
        self.verify_url(&query.msg_signature, &query.timestamp, &query.nonce, echostr)
    }

    /// [`decrypt_message`](Self::decrypt_message) with the parameters taken from a parsed query string.
    pub fn decrypt_message_query(&self, query: &CallbackQuery, body: &str) -> Result<String, Error> {
        self.decrypt_message(&query.msg_signature, &query.timestamp, &query.nonce, body)
    }

    /// Decrypts a base64 ciphertext whose signature has already been checked.
    fn decrypt_ciphertext(&self, encrypt: &str) -> Result<String, CallbackError> {
        let ciphertext = BASE64.decode(encrypt.as_bytes()).map_err(|_| CallbackError::Base64)?;
        if ciphertext.is_empty() || ciphertext.len() % AES_BLOCK != 0 {
            return Err(CallbackError::CiphertextLength { len: ciphertext.len() });
        }
        let decrypted = Aes256CbcDec::new_from_slices(&self.key, &self.iv)
            .map_err(|_| CallbackError::InvalidKey)?
            .decrypt_padded_vec_mut::<NoPadding>(&ciphertext)
            .map_err(|_| CallbackError::CiphertextLength { len: ciphertext.len() })?;
        let plaintext = strip_padding(&decrypted)?;
        let (header, rest) = plaintext
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(CallbackError::PlaintextTooShort { len: plaintext.len() })?;
        let (_random, length) = header.split_at(RANDOM_LEN);
        let length: [u8; 4] = length
            .try_into()
            .map_err(|_| CallbackError::PlaintextTooShort { len: plaintext.len() })?;
        let declared = u32::from_be_bytes(length);
        let out_of_bounds = CallbackError::LengthOutOfBounds {
            declared,
            available: rest.len(),
        };
        let message_len = usize::try_from(declared).map_err(|_| out_of_bounds.clone())?;
        if message_len > rest.len() {
            return Err(out_of_bounds);
        }
        let (message, receive_id) = rest.split_at(message_len);
        if receive_id != self.receive_id.as_bytes() {
            return Err(CallbackError::ReceiveIdMismatch);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CallbackError::Utf8)
    }

    /// Encrypts `plaintext` for WeCom and returns the base64 ciphertext, with 16 random bytes from the
    /// operating system's CSPRNG.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, Error> {
        self.encrypt_with_rng(plaintext, &mut rand::rngs::OsRng)
    }

    /// [`encrypt`](Self::encrypt) with the 16 random bytes drawn from `rng` (a seeded generator makes the
    /// output reproducible in tests; production code should use [`encrypt`](Self::encrypt)).
    pub fn encrypt_with_rng<R: RngCore + CryptoRng>(&self, plaintext: &str, rng: &mut R) -> Result<String, Error> {
        let message = plaintext.as_bytes();
        let declared =
            u32::try_from(message.len()).map_err(|_| CallbackError::MessageTooLong { len: message.len() })?;
        let mut random = [0u8; RANDOM_LEN];
        rng.try_fill_bytes(&mut random).map_err(|_| CallbackError::Random)?;

        let unpadded = HEADER_LEN
            .checked_add(message.len())
            .and_then(|n| n.checked_add(self.receive_id.len()))
            .ok_or(CallbackError::MessageTooLong { len: message.len() })?;
        let pad = PAD_BLOCK - unpadded % PAD_BLOCK; // 1..=32
        let total = unpadded
            .checked_add(pad)
            .ok_or(CallbackError::MessageTooLong { len: message.len() })?;
        let mut buffer = Vec::with_capacity(total);
        buffer.extend_from_slice(&random);
        buffer.extend_from_slice(&declared.to_be_bytes());
        buffer.extend_from_slice(message);
        buffer.extend_from_slice(self.receive_id.as_bytes());
        let pad_byte = u8::try_from(pad).map_err(|_| CallbackError::Padding)?;
        buffer.resize(total, pad_byte);

        let ciphertext = Aes256CbcEnc::new_from_slices(&self.key, &self.iv)
            .map_err(|_| CallbackError::InvalidKey)?
            .encrypt_padded_vec_mut::<NoPadding>(&buffer);
        Ok(BASE64.encode(ciphertext))
    }

    /// Encrypts a passive reply and returns the XML to send as the response body:
    /// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
    ///
    /// `timestamp` and `nonce` are written into the reply (usually the ones of the request); they must not
    /// contain control characters ([`CallbackError::InvalidParameter`]).
    pub fn encrypt_reply(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<String, Error> {
        Ok(self.seal_reply(plaintext, timestamp, nonce)?.to_xml())
    }

    /// Encrypts a passive reply and returns its parts; [`EncryptedReply::to_xml`] renders the same XML as
    /// [`encrypt_reply`](Self::encrypt_reply).
    pub fn seal_reply(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<EncryptedReply, Error> {
        self.seal_reply_with_rng(plaintext, timestamp, nonce, &mut rand::rngs::OsRng)
    }

    /// [`seal_reply`](Self::seal_reply) with the random bytes drawn from `rng`.
    pub fn seal_reply_with_rng<R: RngCore + CryptoRng>(
        &self,
        plaintext: &str,
        timestamp: &str,
        nonce: &str,
        rng: &mut R,
    ) -> Result<EncryptedReply, Error> {
        check_xml_parameter(timestamp, "timestamp")?;
        check_xml_parameter(nonce, "nonce")?;
        let encrypt = self.encrypt_with_rng(plaintext, rng)?;
        let msg_signature = self.signature(timestamp, nonce, &encrypt);
        Ok(EncryptedReply {
            encrypt,
            msg_signature,
            timestamp: timestamp.to_owned(),
            nonce: nonce.to_owned(),
        })
    }
}

/// An encrypted passive reply: the ciphertext, its signature and the timestamp and nonce it was signed
/// with. Built by [`CallbackCrypto::seal_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedReply {
    encrypt: String,
    msg_signature: String,
    timestamp: String,
    nonce: String,
}

impl EncryptedReply {
    /// The base64 ciphertext (`Encrypt`).
    pub fn encrypt(&self) -> &str {
        &self.encrypt
    }

    /// The signature (`MsgSignature`).
    pub fn msg_signature(&self) -> &str {
        &self.msg_signature
    }

    /// The timestamp (`TimeStamp`).
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }

    /// The nonce (`Nonce`).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The reply XML, in the layout of the official samples.
    pub fn to_xml(&self) -> String {
        format!(
            "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
            cdata(&self.encrypt),
            cdata(&self.msg_signature),
            quick_xml::escape::escape(self.timestamp.as_str()),
            cdata(&self.nonce),
        )
    }
}

/// Wraps text in CDATA, splitting any `]]>` so the section cannot be closed early.
pub(crate) fn cdata(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 12);
    push_cdata(&mut out, text);
    out
}

/// Refuses characters that XML cannot carry or that parsers rewrite (control characters, U+FFFE, U+FFFF).
fn check_xml_parameter(value: &str, name: &'static str) -> Result<(), CallbackError> {
    if value
        .chars()
        .any(|c| c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
    {
        Err(CallbackError::InvalidParameter(name))
    } else {
        Ok(())
    }
}

/// Removes strict PKCS#7 padding for 32-byte blocks: the last byte n must be 1..=32 and the last n bytes
/// must all equal n.
fn strip_padding(data: &[u8]) -> Result<&[u8], CallbackError> {
    let (&pad, _) = data.split_last().ok_or(CallbackError::Padding)?;
    let pad_len = usize::from(pad);
    if pad_len == 0 || pad_len > PAD_BLOCK || pad_len > data.len() {
        return Err(CallbackError::Padding);
    }
    let (content, padding) = data.split_at(data.len() - pad_len);
    if padding.iter().all(|&b| b == pad) {
        Ok(content)
    } else {
        Err(CallbackError::Padding)
    }
}

/// A JSON syntax error described by its category and position only (serde_json's messages can quote
/// content).
pub(crate) fn json_error(err: serde_json::Error) -> CallbackError {
    CallbackError::Json(format!(
        "{:?} error at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    ))
}
