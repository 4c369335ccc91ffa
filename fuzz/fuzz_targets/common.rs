//! What every hub-parser target does with a parsed message: decode every undecoded
//! value the way dispatch would, into the types hub methods take.

use signalr_core::protocol::{ByteArray, HubMessage, RawValue, Timestamp};

/// Decodes `value` into every kind of parameter a hub method may declare.
pub fn decode_all(value: &RawValue) {
    let _ = value.decode::<serde_json::Value>();
    let _ = value.decode::<String>();
    let _ = value.decode::<i64>();
    let _ = value.decode::<f64>();
    let _ = value.decode::<Vec<Option<u32>>>();
    let _ = value.decode::<ByteArray>();
    let _ = value.decode::<Timestamp>();
    let _ = value.decode::<rmpv::Value>();
}

/// Decodes every value a message carries.
pub fn decode_message(message: &HubMessage) {
    match message {
        HubMessage::Invocation(invocation) | HubMessage::StreamInvocation(invocation) => {
            invocation.arguments.iter().for_each(decode_all);
        }
        HubMessage::StreamItem(item) => decode_all(&item.item),
        HubMessage::Completion(completion) => {
            if let signalr_core::protocol::CompletionOutcome::Result(value) = &completion.outcome {
                decode_all(value);
            }
        }
        _ => {}
    }
}
