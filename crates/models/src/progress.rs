//! JSON message streams: the items of build, pull, push, load and import output
//! ([`JsonMessage`] with its [`ErrorDetail`], [`ProgressDetail`] and [`Aux`]: a built
//! image's [`ImageId`] or a push's [`PushResult`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::{is_false, is_zero};

/// One line of a JSON message stream (moby's `jsonmessage.JSONMessage`), in dockerd's
/// field order; every field is left out when empty. Build output is `stream`, pull and
/// push progress `status`/`id`/`progressDetail`, a failure `errorDetail` plus `error`
/// (the same text, for old clients).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JsonMessage {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stream: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(
        default,
        rename = "progressDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_detail: Option<ProgressDetail>,
    /// The progress bar as text (deprecated in API 1.48, still sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub progress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time: i64,
    #[serde(default, rename = "timeNano", skip_serializing_if = "is_zero")]
    pub time_nano: i64,
    #[serde(
        default,
        rename = "errorDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<ErrorDetail>,
    /// The error's message again (deprecated in API 1.48, still sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<Aux>,
}

impl JsonMessage {
    /// `{"stream": text}`.
    pub fn stream(text: impl Into<String>) -> Self {
        JsonMessage {
            stream: text.into(),
            ..Default::default()
        }
    }

    /// `{"status": text}`.
    pub fn status(text: impl Into<String>) -> Self {
        JsonMessage {
            status: text.into(),
            ..Default::default()
        }
    }

    /// `{"errorDetail": {"message": m}, "error": m}`, as moby's `FormatError` writes it.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        JsonMessage {
            error_detail: Some(ErrorDetail {
                code: 0,
                message: message.clone(),
            }),
            error: message,
            ..Default::default()
        }
    }

    /// The line as a stream carries it: JSON and `\r\n` (moby's stream formatter).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push_str("\r\n");
        s
    }
}

/// `errorDetail` of a [`JsonMessage`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `progressDetail` of a [`JsonMessage`] (bytes, or `units`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub current: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidecounts: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub units: String,
}

/// `aux` of a [`JsonMessage`]: the built image's id, a push's result, or what else a
/// stream carries there (BuildKit's trace), kept as it came.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Aux {
    ImageId(ImageId),
    Push(PushResult),
    Other(Value),
}

/// `aux` of a build's last line (`ImageID` in the API): the image built.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageId {
    #[serde(rename = "ID")]
    pub id: String,
}

/// `aux` of the last line of a push.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PushResult {
    pub tag: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_written_as_moby_writes_them() {
        assert_eq!(
            JsonMessage::error("bad \"tar\"").to_line(),
            concat!(
                r#"{"errorDetail":{"message":"bad \"tar\""},"error":"bad \"tar\""}"#,
                "\r\n"
            )
        );
        assert_eq!(
            serde_json::to_string(&JsonMessage::stream("Loaded image: a:1\n")).expect("ser"),
            r#"{"stream":"Loaded image: a:1\n"}"#
        );
        let aux: JsonMessage =
            serde_json::from_str(r#"{"aux":{"ID":"sha256:ab"}}"#).expect("parse");
        assert_eq!(
            aux.aux,
            Some(Aux::ImageId(ImageId {
                id: "sha256:ab".into()
            }))
        );
        let push: JsonMessage =
            serde_json::from_str(r#"{"aux":{"Tag":"1","Digest":"sha256:cd","Size":5}}"#)
                .expect("parse");
        assert!(matches!(push.aux, Some(Aux::Push(ref p)) if p.size == 5));
        let other: JsonMessage =
            serde_json::from_str(r#"{"id":"moby.buildkit.trace","aux":"AAEC"}"#).expect("parse");
        assert_eq!(other.aux, Some(Aux::Other(Value::from("AAEC"))));
    }
}
