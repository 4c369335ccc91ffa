//! Client-to-server streams: upload streams bound to hub method parameters.

use super::error::UploadError;
use crate::protocol::RawValue;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// One event of an upload stream, as the read loop forwards it.
#[derive(Debug)]
pub(crate) enum UploadEvent {
    Item(RawValue),
    Error(String),
}

/// The receiving end of one upload stream, before its item type is known.
#[derive(Debug)]
pub(crate) struct UploadSource {
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
