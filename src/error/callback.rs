//! The error kinds of callback verification, decryption, encryption and parsing: kept in the error layer,
//! below [`crate::callback`], so that [`crate::Error`] can wrap them without `error` importing `callback`.

/// Why a callback could not be verified, decrypted, encrypted or parsed.
///
/// Each kind names one precise failure. No kind ever carries the token, the EncodingAESKey, the AES key or
/// any part of a decrypted message: the only data kept are lengths, positions and the wire names of fields.
/// Wrapped in [`crate::Error::Callback`] by every public function of [`crate::callback`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The EncodingAESKey is not exactly 43 characters of base64 that decode to a 32-byte AES key.
    #[error("the EncodingAESKey must be 43 characters of base64 that decode to 32 bytes")]
    InvalidKey,
    /// `msg_signature` is not the SHA-1 of the sorted token, timestamp, nonce and ciphertext.
    #[error("msg_signature does not match the request")]
    SignatureMismatch,
    /// The ciphertext (`echostr` or `Encrypt`) is not valid standard base64.
    #[error("the ciphertext is not valid base64")]
    Base64,
    /// The decoded ciphertext is empty or not a whole number of 16-byte AES blocks.
    #[error("the ciphertext is {len} bytes long, not a non-zero multiple of 16")]
    CiphertextLength {
        /// Length of the decoded ciphertext in bytes.
        len: usize,
    },
    /// The decrypted data does not end in PKCS#7 padding of 1 to 32 equal bytes.
    #[error("the decrypted data has invalid PKCS#7 padding")]
    Padding,
    /// The unpadded plaintext is shorter than the 16 random bytes plus the 4-byte length field.
    #[error("the decrypted plaintext is {len} bytes long, shorter than the 20-byte header")]
    PlaintextTooShort {
        /// Length of the unpadded plaintext in bytes.
        len: usize,
    },
    /// The 4-byte message length points past the end of the plaintext.
    #[error("the message length field ({declared}) exceeds the {available} bytes available")]
    LengthOutOfBounds {
        /// The length the plaintext declares.
        declared: u32,
        /// The bytes that actually follow the header.
        available: usize,
    },
    /// The receive id at the end of the plaintext is not the one this
    /// [`CallbackCrypto`](crate::callback::CallbackCrypto) was built with (the corp id for self-built apps, the
    /// suite id for third-party apps).
    #[error("the receive id in the message does not match the configured one")]
    ReceiveIdMismatch,
    /// The decrypted message is not valid UTF-8.
    #[error("the decrypted message is not valid UTF-8")]
    Utf8,
    /// The XML could not be parsed; the text names the problem and its byte offset, never the content.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The JSON could not be parsed; the text names the problem and its position, never the content.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A field the format requires is absent (its wire name, e.g. `Encrypt` or `CreateTime`).
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field is present but does not have the expected shape (a number that does not parse, a list that
    /// is not a list of `<Item>` elements, ...).
    #[error("field `{field}` is not {expected}")]
    InvalidField {
        /// The wire name of the field.
        field: &'static str,
        /// What the field should have been.
        expected: &'static str,
    },
    /// A parameter given to an encryption function cannot be represented in the reply (the wire name of
    /// the parameter, e.g. `nonce`).
    #[error("parameter `{0}` contains characters that cannot be written to XML")]
    InvalidParameter(&'static str),
    /// The message to encrypt is longer than the 4-byte length field can describe.
    #[error("the message is {len} bytes long, too long to encrypt")]
    MessageTooLong {
        /// Length of the message in bytes.
        len: usize,
    },
    /// The random number generator failed to produce the 16 random bytes.
    #[error("the random number generator failed")]
    Random,
    /// The signed timestamp is outside the [`ReplayWindow`](crate::callback::ReplayWindow): a replay of a
    /// captured request, or a sender whose clock is far off. Its own kind, so that replays are told apart from
    /// forgeries.
    #[error("the signed timestamp is {offset_secs} s from now, outside the replay window")]
    OutsideReplayWindow {
        /// Seconds from now to the timestamp: negative in the past, positive in the future.
        offset_secs: i64,
    },
    /// A configuration error: the dedupe window is shorter than the replay window's span (past + future), so
    /// a replay arriving after the dedupe store forgot its message but still inside the replay window would
    /// be handled again. Lengthen the dedupe window or shorten the replay window.
    #[error(
        "the dedupe window ({dedupe_secs} s) is shorter than the replay window ({replay_secs} s, past + future): \
         set dedupe_window to at least the replay window"
    )]
    DedupeShorterThanReplayWindow {
        /// The dedupe window, in seconds.
        dedupe_secs: u64,
        /// The replay window's span, in seconds.
        replay_secs: u64,
    },
    /// The callback dedupe store failed (e.g. Redis is unreachable); the text names the kind of failure,
    /// never an address or a password.
    #[error("the dedupe store failed: {0}")]
    Store(String),
    /// The durable callback queue (feature `redis`) failed: Redis is unreachable, a command failed, or a
    /// stored entry is not one the queue wrote; the text names the kind of failure, never an address, a
    /// password or message content.
    #[error("the callback queue failed: {0}")]
    Queue(String),
}
