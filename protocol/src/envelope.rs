//! Message framing: a JSON header of the typed message, then raw body bytes.
//!
//! `u32 big-endian JSON length | JSON | body`. Keeping the body out of the JSON means small
//! objects ride inline in the request or reply without base64.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message shorter than its length prefix")]
    Truncated,
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

/// A decoded message: the typed part and the inline body bytes.
#[derive(Debug)]
pub struct Envelope<T> {
    pub msg: T,
    pub body: Bytes,
}

pub fn encode<T: Serialize>(msg: &T, body: &[u8]) -> Result<Bytes, EnvelopeError> {
    let json = serde_json::to_vec(msg)?;
    let mut out = BytesMut::with_capacity(4 + json.len() + body.len());
    out.put_u32(json.len() as u32);
    out.put_slice(&json);
    out.put_slice(body);
    Ok(out.freeze())
}

pub fn decode<T: DeserializeOwned>(payload: &Bytes) -> Result<Envelope<T>, EnvelopeError> {
    if payload.len() < 4 {
        return Err(EnvelopeError::Truncated);
    }
    let len = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) as usize;
    let end = 4usize.checked_add(len).ok_or(EnvelopeError::Truncated)?;
    if payload.len() < end {
        return Err(EnvelopeError::Truncated);
    }
    let msg = serde_json::from_slice(&payload[4..end])?;
    Ok(Envelope {
        msg,
        body: payload.slice(end..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_body() {
        let b = encode(&vec!["a".to_string()], b"\x00body").expect("encode");
        let e: Envelope<Vec<String>> = decode(&b).expect("decode");
        assert_eq!(e.msg, vec!["a"]);
        assert_eq!(&e.body[..], b"\x00body");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<Vec<String>>(&Bytes::from_static(b"\xff\xff\xff\xff{}")).is_err());
        assert!(decode::<Vec<String>>(&Bytes::from_static(b"ab")).is_err());
        assert!(decode::<Vec<String>>(&Bytes::from_static(b"\x00\x00\x00\x02{]")).is_err());
    }
}
