//! The notification hub: what employees' devices may call, and what the server calls on
//! them.

use crate::auth::is_supervisor;
use crate::dispatch::{groups_of, Dispatch};
use crate::model::{
    Acknowledgement, Draft, Employee, Kind, Notice, Notification, Section, TaskOffer, TaskStatus,
    Throughput,
};
use signalr::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// What the server calls on an employee's device.
#[signalr::hub_client]
pub(crate) trait EmployeeClient {
    /// A new notification for this employee.
    async fn notify(&self, notification: Notification);
    /// Someone acknowledged a notification this device shows.
    async fn acknowledged(&self, acknowledgement: Acknowledgement);
    /// Asks a forklift operator's device to accept (`true`) or decline a task.
    async fn offer_task(&self, offer: TaskOffer) -> bool;
    /// A task's outcome, for supervisors.
    async fn task_update(&self, status: TaskStatus);
}

/// What an employee's device may call. Every call needs a sign-in token.
#[signalr::hub]
#[authorize]
pub(crate) trait Notifications {
    /// The signed-in employee.
    async fn who_am_i(&self, cx: &Ctx) -> Result<Employee, HubError>;
    /// What is still unacknowledged for this employee (everything, for a supervisor).
    async fn unacknowledged(&self, cx: &Ctx) -> Result<Vec<Notification>, HubError>;
    /// Acknowledges a notification; `false` when someone else was first.
    async fn acknowledge(&self, cx: &Ctx, id: i64) -> Result<bool, HubError>;
    /// Notifications and acknowledgements per second, every second, for the chart.
    async fn throughput(&self, cx: &Ctx) -> impl Stream<Item = Throughput>;
    /// The latest acknowledgements (supervisors).
    #[authorize(is_supervisor)]
    async fn recent_acknowledgements(&self) -> Result<Vec<Acknowledgement>, HubError>;
    /// Posts a notice to an audience (supervisors).
    #[authorize(is_supervisor)]
    async fn post_notice(&self, notice: Notice) -> Result<Notification, HubError>;
    /// Offers a forklift task to the operators online (supervisors).
    #[authorize(is_supervisor)]
    async fn dispatch_task(
        &self,
        description: String,
        section: Section,
    ) -> Result<TaskStatus, HubError>;
}

/// The hub: every connection shares the dispatch.
pub(crate) struct NotificationHub {
    pub(crate) dispatch: Arc<Dispatch>,
}

fn employee(cx: &Ctx) -> Result<Employee, HubError> {
    cx.request()
        .extensions
        .get::<Employee>()
        .cloned()
        .ok_or_else(|| HubError::new("sign in first"))
}

fn storage(error: crate::store::StoreError) -> HubError {
    tracing::error!(%error, "storage failed");
    HubError::new("the notification store is unavailable; try again")
}

impl Notifications for NotificationHub {
    async fn on_connected(&self, cx: &Ctx) -> Result<(), HubError> {
        let employee = employee(cx)?;
        for group in groups_of(&employee) {
            cx.groups().add_to_group(cx.connection_id(), &group).await?;
        }
        self.dispatch.connected(cx.connection_id(), employee);
        Ok(())
    }

    async fn on_disconnected(&self, cx: &Ctx, _reason: &DisconnectReason) {
        self.dispatch.disconnected(cx.connection_id());
    }

    async fn who_am_i(&self, cx: &Ctx) -> Result<Employee, HubError> {
        employee(cx)
    }

    async fn unacknowledged(&self, cx: &Ctx) -> Result<Vec<Notification>, HubError> {
        let employee = employee(cx)?;
        self.dispatch
            .store
            .unacknowledged(&employee, 200)
            .await
            .map_err(storage)
    }

    async fn acknowledge(&self, cx: &Ctx, id: i64) -> Result<bool, HubError> {
        let employee = employee(cx)?;
        self.dispatch
            .acknowledge(&employee, id)
            .await
            .map_err(storage)
    }

    async fn throughput(&self, cx: &Ctx) -> impl Stream<Item = Throughput> {
        let dispatch = self.dispatch.clone();
        let closed = cx.connection_closed();
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut previous = (0, 0);
        let _ = dispatch.sample(&mut previous);
        signalr::stream::unfold(
            (dispatch, ticks, previous, closed),
            |(dispatch, mut ticks, mut previous, closed)| async move {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = closed.cancelled() => return None,
                }
                let point = dispatch.sample(&mut previous);
                Some((point, (dispatch, ticks, previous, closed)))
            },
        )
    }

    async fn recent_acknowledgements(&self) -> Result<Vec<Acknowledgement>, HubError> {
        self.dispatch
            .recent_acknowledgements()
            .await
            .map_err(storage)
    }

    async fn post_notice(&self, notice: Notice) -> Result<Notification, HubError> {
        let title = notice.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(HubError::new(
                "a notice needs a title of 1 to 200 characters",
            ));
        }
        self.dispatch
            .publish(Draft {
                kind: Kind::Notice,
                severity: notice.severity,
                title: title.to_owned(),
                detail: notice.detail.chars().take(2000).collect(),
                audience: notice.audience,
            })
            .await
            .map_err(storage)
    }

    async fn dispatch_task(
        &self,
        description: String,
        section: Section,
    ) -> Result<TaskStatus, HubError> {
        let description = description.trim().chars().take(200).collect::<String>();
        if description.is_empty() {
            return Err(HubError::new("describe the task"));
        }
        self.dispatch
            .dispatch_task(description, section)
            .await
            .map_err(storage)
    }
}
