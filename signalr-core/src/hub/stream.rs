//! Server-to-client streams: the results of streaming hub methods.

use super::error::{HubError, StreamClosed};
use crate::connection::OutboundSender;
use crate::protocol::{HubProtocol, OutboundMessage};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Sends the items of a server-to-client stream; made by [`stream_channel`].
#[derive(Debug)]
pub struct StreamSender<T> {
    tx: mpsc::Sender<T>,
}

impl<T> Clone for StreamSender<T> {
    fn clone(&self) -> Self {
        StreamSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> StreamSender<T> {
    /// Sends one item, waiting while the stream's buffer is full.
    pub async fn send(&self, item: T) -> Result<(), StreamClosed> {
        self.tx.send(item).await.map_err(|_| StreamClosed)
    }

    /// Whether the client stopped listening.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The receiving side of [`stream_channel`]: return it from a streaming hub method.
#[derive(Debug)]
pub struct ChannelStream<T> {
    rx: mpsc::Receiver<T>,
}

impl<T> Stream for ChannelStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

/// A channel for a streaming hub method (modelling `ChannelReader<T>`): hand the sender
/// to a task that produces items and return the stream; the stream ends when every sender
/// is dropped, and sends fail once the client cancels.
///
/// ```
/// let (sender, stream) = signalr_core::hub::stream_channel::<u32>(8);
/// tokio_test_block_on(async move {
///     tokio::spawn(async move {
///         for i in 0..3 {
///             if sender.send(i).await.is_err() { break; }
///         }
///     });
///     drop(stream);
/// });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f);
/// # }
/// ```
pub fn stream_channel<T>(capacity: usize) -> (StreamSender<T>, ChannelStream<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (StreamSender { tx }, ChannelStream { rx })
}

/// Writes every item of `stream` as a StreamItem until it ends, errs, or `cancel` fires.
pub(crate) async fn drive_stream<S, T, E>(
    sender: &OutboundSender,
    protocol: HubProtocol,
    invocation_id: &str,
    cancel: &CancellationToken,
    stream: S,
) -> Result<(), HubError>
where
    S: Stream<Item = Result<T, E>>,
    T: Serialize,
    E: Into<HubError>,
{
    let mut stream = pin!(stream);
    loop {
        let item = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(()),
            item = stream.next() => item,
        };
        let item = match item {
            None => return Ok(()),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(item)) => item,
        };
        let bytes = OutboundMessage::StreamItem {
            invocation_id,
            item: &item,
        }
        .encode(protocol)
        .map_err(|e| HubError::internal("SerializationException", e.to_string()))?;
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(()),
            sent = sender.send(bytes) => if sent.is_err() {
                return Ok(());
            },
        }
    }
}
