//! Everything a hub and a client trait may declare compiles without warnings.
#![deny(warnings)]

use serde::{Deserialize, Serialize};
use signalr::prelude::*;

#[derive(Serialize, Deserialize, Clone)]
pub struct Package {
    pub id: u64,
    pub section: String,
}

/// Client methods.
#[signalr::hub_client]
pub trait Warehouse {
    /// No arguments.
    async fn ping(&self);
    /// One argument.
    async fn package_arrived(&self, package: Package);
    /// A renamed method.
    #[method(name = "tempAlert")]
    async fn temperature_alert(&self, section: String, celsius: f32);
    /// Ten arguments.
    #[allow(clippy::too_many_arguments)]
    async fn ten(&self, a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64, i: String, j: bool);
}

/// Hub methods.
#[signalr::hub]
pub trait Notifications {
    /// With context, returning Result.
    async fn join(&self, cx: &Ctx, section: String) -> Result<(), HubError>;
    /// Without context, returning a value.
    async fn echo(&self, text: String) -> String;
    /// Returning nothing.
    async fn acknowledge(&self, package_id: u64);
    /// Returning unit explicitly, renamed.
    #[method(name = "ack2")]
    async fn acknowledge_again(&self, _package_id: u64) -> ();
    /// Returning a Result with a std error.
    async fn parse(&self, text: String) -> Result<i32, HubError>;
    /// Ten arguments.
    #[allow(clippy::too_many_arguments)]
    async fn ten(&self, a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64, i: String, j: bool) -> Vec<String>;
}

struct Hub;

impl Notifications for Hub {
    async fn join(&self, cx: &Ctx, section: String) -> Result<(), HubError> {
        cx.clients().others().temperature_alert(section, 4.0).await?;
        cx.clients().caller().ping().await?;
        Ok(())
    }
    async fn echo(&self, text: String) -> String {
        text
    }
    async fn acknowledge(&self, _package_id: u64) {}
    async fn acknowledge_again(&self, _package_id: u64) {}
    async fn parse(&self, text: String) -> Result<i32, HubError> {
        Ok(text.parse::<i32>()?)
    }
    async fn ten(&self, a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64, i: String, j: bool) -> Vec<String> {
        vec![a.to_string(), b.to_string(), c.to_string(), d.to_string(), e.to_string(), f.to_string(), g.to_string(), h.to_string(), i, j.to_string()]
    }
}

fn main() {
    let server = Hub.into_server().enable_detailed_errors(true);
    let context = server.context();
    let _router: axum::Router = axum::Router::new().route_hub("/hub", server);
    let _send = async move {
        context
            .clients()
            .all()
            .package_arrived(Package { id: 1, section: "a".into() })
            .await
    };
}
