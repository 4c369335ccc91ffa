//! A JSON record's fields, however they were read (by the scanner or by serde), and the
//! hub message they make.

use super::malformed;
use crate::protocol::inbound::{
    CloseMessage, CompletionMessage, CompletionOutcome, HubMessage, InvocationMessage,
    StreamItemMessage,
};
use crate::protocol::{ProtocolError, RawValue};
use bytestring::ByteString;
use std::collections::BTreeMap;

/// The deepest nesting accepted, counting the record's own object: System.Text.Json's
/// default `MaxDepth`, which .NET's JSON hub protocol reads with.
pub(super) const MAX_DEPTH: usize = 64;

/// A record's fields, however they were read: which are required depends on `type`.
#[derive(Default)]
pub(super) struct Fields {
    pub(super) kind: Option<i64>,
    pub(super) invocation_id: Option<ByteString>,
    pub(super) target: Option<ByteString>,
    pub(super) arguments: Option<Vec<RawValue>>,
    pub(super) stream_ids: Option<Vec<String>>,
    pub(super) headers: Option<BTreeMap<String, String>>,
    pub(super) item: Option<RawValue>,
    pub(super) result: Option<RawValue>,
    pub(super) error: Option<String>,
    pub(super) allow_reconnect: Option<bool>,
    pub(super) sequence_id: Option<u64>,
}

/// The message `fields` make, with the required ones checked.
pub(super) fn message(fields: Fields) -> Result<Option<HubMessage>, ProtocolError> {
    // The usual record first, in a few instructions: an Invocation with nothing else.
    // Everything else (and every error) takes the general path below.
    if let Fields {
        kind: Some(1),
        invocation_id,
        target: Some(target),
        arguments: Some(arguments),
        stream_ids,
        headers: None,
        item: None,
        result: None,
        error: None,
        allow_reconnect: None,
        sequence_id: None,
    } = fields
    {
        return Ok(Some(HubMessage::Invocation(InvocationMessage {
            invocation_id: invocation_id.filter(|id| !id.is_empty()),
            target,
            arguments,
            stream_ids: stream_ids.unwrap_or_default(),
            headers: BTreeMap::new(),
        })));
    }
    general(fields)
}

/// [`message`] for every other record.
fn general(fields: Fields) -> Result<Option<HubMessage>, ProtocolError> {
    let Fields {
        kind,
        invocation_id,
        target,
        arguments,
        stream_ids,
        headers,
        item,
        result,
        error,
        allow_reconnect,
        sequence_id,
    } = fields;
    let kind = kind.ok_or_else(|| malformed("Missing required property 'type'.".into()))?;
    let invocation_id = invocation_id.filter(|id| !id.is_empty());
    let required = |id: Option<ByteString>| {
        id.ok_or_else(|| malformed("Missing required property 'invocationId'.".into()))
    };
    let message = match kind {
        1 | 4 => {
            let target =
                target.ok_or_else(|| malformed("Missing required property 'target'.".into()))?;
            let arguments = arguments
                .ok_or_else(|| malformed("Missing required property 'arguments'.".into()))?;
            let invocation = InvocationMessage {
                invocation_id: if kind == 4 {
                    Some(required(invocation_id)?)
                } else {
                    invocation_id
                },
                target,
                arguments,
                stream_ids: stream_ids.unwrap_or_default(),
                headers: headers.unwrap_or_default(),
            };
            if kind == 1 {
                HubMessage::Invocation(invocation)
            } else {
                HubMessage::StreamInvocation(invocation)
            }
        }
        2 => HubMessage::StreamItem(StreamItemMessage {
            invocation_id: required(invocation_id)?.to_string(),
            item: item.ok_or_else(|| malformed("Missing required property 'item'.".into()))?,
        }),
        3 => {
            let error = error.filter(|e| !e.is_empty());
            let outcome = match (result, error) {
                (Some(_), Some(_)) => {
                    return Err(malformed(
                        "The 'error' and 'result' properties are mutually exclusive.".into(),
                    ))
                }
                (Some(result), None) => CompletionOutcome::Result(result),
                (None, Some(error)) => CompletionOutcome::Error(error),
                (None, None) => CompletionOutcome::Void,
            };
            HubMessage::Completion(CompletionMessage {
                invocation_id: required(invocation_id)?.to_string(),
                outcome,
            })
        }
        5 => HubMessage::CancelInvocation {
            invocation_id: required(invocation_id)?.to_string(),
        },
        6 => HubMessage::Ping,
        7 => HubMessage::Close(CloseMessage {
            error,
            allow_reconnect: allow_reconnect.unwrap_or(false),
        }),
        8 | 9 => {
            let sequence_id = sequence_id
                .ok_or_else(|| malformed("Missing required property 'sequenceId'.".into()))?;
            HubMessage::sequence_record(kind, sequence_id)
        }
        _ => return Ok(None),
    };
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn scanned(record: &str) -> Fields {
        let mut fields = Fields::default();
        let record = Bytes::from(record.to_owned());
        assert!(
            super::super::scanner::scan(&record, &mut fields),
            "{record:?}"
        );
        fields
    }

    #[test]
    fn the_invocation_fast_path_makes_what_the_general_path_makes() {
        for record in [
            r#"{"type":1,"target":"Echo","arguments":["x"]}"#,
            r#"{"type":1,"invocationId":"","target":"Echo","arguments":[]}"#,
            r#"{"type":1,"invocationId":"7","target":"","arguments":[null]}"#,
            r#"{"type":1,"invocationId":"7","target":"Up","arguments":[1,{"a":2}],"streamIds":["1","2"]}"#,
            r#"{"type":1,"invocationId":null,"target":"Echo","arguments":[],"streamIds":[]}"#,
        ] {
            let fast = message(scanned(record));
            assert!(
                matches!(fast, Ok(Some(HubMessage::Invocation(_)))),
                "{record}"
            );
            assert_eq!(fast, general(scanned(record)), "{record}");
        }
    }

    #[test]
    fn records_with_other_fields_take_the_general_path_and_its_errors() {
        // A result beside an Invocation is ignored, as the general path (and .NET) does.
        let record = r#"{"type":1,"target":"Echo","arguments":[],"result":1}"#;
        assert_eq!(message(scanned(record)), general(scanned(record)));
        let missing = message(scanned(r#"{"type":1,"target":"Echo"}"#));
        assert!(
            matches!(&missing, Err(e) if e.to_string().contains("'arguments'")),
            "{missing:?}"
        );
    }
}
