//! Streams in both directions: server-to-client results of streaming methods, and
//! client-to-server upload streams bound to hub method parameters.

use super::error::HubError;
use crate::connection::OutboundSender;
use crate::protocol::{DecodeError, HubProtocol, OutboundMessage, RawValue};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One event of an upload stream, as the read loop forwards it.
#[derive(Debug)]
pub(crate) enum UploadEvent {
    Item(RawValue),
    Error(String),
}

/// The receiving end of one upload stream, before its item type is known.
#[derive(Debug)]
pub struct UploadSource {
    rx: mpsc::Receiver<UploadEvent>,
}

/// Creates the two ends of an upload stream holding up to `capacity` items
/// (`StreamBufferCapacity`): when full, the connection stops reading (backpressure).
pub(crate) fn upload_channel(capacity: usize) -> (mpsc::Sender<UploadEvent>, UploadSource) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (tx, UploadSource { rx })
}

/// A stream the client uploads, bound to a hub method parameter (modelling
/// `IAsyncEnumerable<T>`/`ChannelReader<T>` parameters).
///
/// Items arrive in the order the client sent them; the stream ends when the client
/// completes it. Use it with [`StreamExt`](futures_util::StreamExt):
///
/// ```text
/// async fn sum(&self, mut numbers: UploadStream<i64>) -> Result<i64, HubError> {
///     let mut total = 0;
///     while let Some(n) = numbers.next().await {
///         total += n?;
///     }
///     Ok(total)
/// }
/// ```
#[derive(Debug)]
pub struct UploadStream<T> {
    source: UploadSource,
    ended: bool,
    item: PhantomData<fn() -> T>,
}

/// An upload stream failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The client completed the stream with an error.
    #[error("the client ended the stream with an error: {0}")]
    Client(String),
    /// An item could not be decoded into the parameter's item type.
    #[error("Failed to bind Stream message. {0}")]
    Decode(#[from] DecodeError),
}

impl<T> UploadStream<T> {
    pub(crate) fn new(source: UploadSource) -> Self {
        UploadStream {
            source,
            ended: false,
            item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for UploadStream<T> {
    type Item = Result<T, UploadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.source.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(UploadEvent::Item(raw))) => match raw.decode() {
                Ok(item) => Poll::Ready(Some(Ok(item))),
                Err(e) => {
                    self.ended = true;
                    Poll::Ready(Some(Err(UploadError::Decode(e))))
                }
            },
            Poll::Ready(Some(UploadEvent::Error(text))) => {
                self.ended = true;
                Poll::Ready(Some(Err(UploadError::Client(text))))
            }
        }
    }
}

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

/// The client stopped listening to a stream (it cancelled or disconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client is no longer listening to this stream")]
pub struct StreamClosed;

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
