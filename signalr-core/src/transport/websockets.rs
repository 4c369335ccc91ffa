//! The WebSocket transport: full duplex, text frames for text protocols, binary otherwise.

use crate::connection::HttpConnection;
use crate::connection::{PipeReceiver, PipeSender};
use crate::protocol::TransferFormat;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;

/// Read buffer per WebSocket: small, so idle connections stay cheap.
pub(crate) const READ_BUFFER_SIZE: usize = 4 * 1024;

/// Close code for a normal closure.
const NORMAL_CLOSURE: u16 = 1000;
/// Close code when the server failed.
const INTERNAL_ERROR: u16 = 1011;

/// Pumps bytes between `socket` and the connection until either side ends.
pub(crate) async fn run(
    socket: WebSocket,
    connection: &HttpConnection,
    mut outbound: PipeReceiver,
    close_timeout: Duration,
) {
    let (mut sink, mut stream) = socket.split();
    let inbound = connection.inbound_tx.clone();
    let closed = connection.shared.closed.clone();
    let reason = tokio::select! {
        reason = read_loop(&mut stream, inbound) => reason,
        reason = write_loop(&mut sink, &mut outbound, connection) => reason,
    };
    match reason {
        End::ClientClosed | End::SocketFailed => {
            closed.cancel();
        }
        End::ApplicationDone { code } => {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(""),
            };
            if sink.send(Message::Close(Some(frame))).await.is_ok() {
                // Wait for the client's close frame, then drop the socket either way.
                let _ = tokio::time::timeout(close_timeout, async {
                    while let Some(Ok(message)) = stream.next().await {
                        if matches!(message, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }
}

enum End {
    ClientClosed,
    SocketFailed,
    ApplicationDone { code: u16 },
}

async fn read_loop(stream: &mut SplitStream<WebSocket>, inbound: PipeSender) -> End {
    while let Some(message) = stream.next().await {
        let data = match message {
            Ok(Message::Text(text)) => Bytes::from(text),
            Ok(Message::Binary(data)) => data,
            Ok(Message::Close(_)) => return End::ClientClosed,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket read failed");
                return End::SocketFailed;
            }
        };
        if inbound.send(data).await.is_err() {
            // The application stopped reading: it is ending the connection. Keep the
            // socket open so the write side can flush and close it.
            std::future::pending::<()>().await;
        }
    }
    End::SocketFailed
}

async fn write_loop(
    sink: &mut SplitSink<WebSocket, Message>,
    outbound: &mut PipeReceiver,
    connection: &HttpConnection,
) -> End {
    let closed = connection.shared.closed.clone();
    loop {
        let data = tokio::select! {
            biased;
            data = outbound.recv() => data,
            () = closed.cancelled() => {
                // Flush what the application queued before it closed (its Close message).
                while let Some(data) = outbound.try_recv() {
                    if write(sink, data, connection).await.is_err() {
                        return End::ApplicationDone { code: INTERNAL_ERROR };
                    }
                }
                None
            }
        };
        let Some(data) = data else {
            return End::ApplicationDone {
                code: NORMAL_CLOSURE,
            };
        };
        if write(sink, data, connection).await.is_err() {
            return End::SocketFailed;
        }
    }
}

async fn write(
    sink: &mut SplitSink<WebSocket, Message>,
    data: Bytes,
    connection: &HttpConnection,
) -> Result<(), ()> {
    let message = match connection.shared.transfer_format() {
        TransferFormat::Binary => Message::Binary(data),
        TransferFormat::Text => match Utf8Bytes::try_from(data) {
            Ok(text) => Message::Text(text),
            Err(_) => {
                tracing::error!("the application wrote invalid UTF-8 to a text connection");
                return Err(());
            }
        },
    };
    sink.send(message).await.map_err(|e| {
        tracing::debug!(error = %e, "WebSocket write failed");
    })
}
