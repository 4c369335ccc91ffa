//! Shared by the targets: decoding every undecoded value of a parsed message the way
//! dispatch would, and the runtime the HTTP targets drive the router on.
#![allow(dead_code)] // each target uses part of it

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

/// A current-thread runtime with paused time: every timer (long polls, disconnect
/// timeouts, keep-alive) completes as soon as the runtime would otherwise wait, so an
/// execution takes no wall time.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}
