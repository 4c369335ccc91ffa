//! `POST {path}/negotiate`: creates a connection and lists the transports.

use super::connections::{Connections, Refused};
use super::query::query_param;
use crate::connection::HttpConnectionOptions;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// The highest negotiate version this server speaks.
const MAX_NEGOTIATE_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NegotiateResponse<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    use_stateful_reconnect: bool,
    negotiate_version: u32,
    connection_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_token: Option<&'a str>,
    available_transports: Vec<AvailableTransport>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailableTransport {
    transport: &'static str,
    transfer_formats: Vec<&'static str>,
}

#[derive(Serialize)]
struct NegotiateError {
    error: String,
}

fn json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn error(text: String) -> Response {
    json(serde_json::to_vec(&NegotiateError { error: text }).unwrap_or_default())
}

/// `503` with the reason a new connection was refused: the endpoint already has
/// `maximum_unclaimed_connections` negotiated connections waiting for their transport, or
/// the application is stopping.
pub(crate) fn refusal(refused: Refused) -> Response {
    let body = match refused {
        Refused::TooManyUnclaimed => {
            "Too many connections are waiting for their transport; try again later."
        }
        Refused::ShuttingDown => "The server is shutting down; try again later.",
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain")],
        body,
    )
        .into_response()
}

/// Answers a negotiate request.
pub(crate) fn negotiate(
    connections: &Arc<Connections>,
    options: &HttpConnectionOptions,
    query: Option<&str>,
) -> Response {
    let version = match query_param(query, "negotiateVersion") {
        None => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(v) => v,
            Err(_) => return error("The client requested a non-integer protocol version.".into()),
        },
    };
    if version < i64::from(options.minimum_protocol_version) {
        return error(format!(
            "The client requested version '{version}', but the server does not support this version."
        ));
    }
    let version = version.clamp(0, i64::from(MAX_NEGOTIATE_VERSION)) as u32;
    // Granted only when the endpoint allows it and the client asks (the JS client refuses
    // a server that offers it unasked).
    let stateful_reconnect = options.allow_stateful_reconnects
        && query_param(query, "useStatefulReconnect").is_some_and(|v| v == "true");
    let connection = match connections.create(version, options, stateful_reconnect) {
        Ok(connection) => connection,
        Err(refused) => return refusal(refused),
    };
    let response = NegotiateResponse {
        use_stateful_reconnect: stateful_reconnect,
        negotiate_version: version,
        connection_id: &connection.shared.connection_id,
        connection_token: (version >= 1).then_some(&*connection.token),
        available_transports: options
            .transports
            .iter()
            .map(|t| AvailableTransport {
                transport: t.name(),
                transfer_formats: t.transfer_formats().iter().map(|f| f.name()).collect(),
            })
            .collect(),
    };
    match serde_json::to_vec(&response) {
        Ok(body) => json(body),
        Err(e) => {
            connections.remove(&connection.token);
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}
