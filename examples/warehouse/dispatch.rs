//! [`Dispatch`]: what the hub, the simulator and the HTTP handlers share: the store, the
//! hub context that reaches employees' devices, who is online, and the live counters.

use crate::hub::EmployeeClient;
use crate::model::{
    now_ms, Acknowledgement, Audience, Draft, Employee, Kind, Notification, Role, Section,
    Severity, TaskOffer, TaskStatus, Throughput,
};
use crate::store::{Store, StoreError};
use signalr::hub::{ClientResultError, HubContext};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The group of every supervisor: they see everything.
pub(crate) const SUPERVISORS: &str = "supervisors";

/// The groups an employee's connections join.
pub(crate) fn groups_of(employee: &Employee) -> Vec<String> {
    let mut groups = vec![
        "everyone".to_owned(),
        format!("section:{}", employee.section.name()),
        format!("role:{}", employee.role.name()),
        format!("team:{}:{}", employee.section.name(), employee.role.name()),
    ];
    if employee.is_supervisor() {
        groups.push(SUPERVISORS.to_owned());
    }
    groups
}

/// The group an audience of sections and roles maps to.
fn group_of(audience: &Audience) -> String {
    match (audience.section, audience.role) {
        (Some(s), Some(r)) => format!("team:{}:{}", s.name(), r.name()),
        (Some(s), None) => format!("section:{}", s.name()),
        (None, Some(r)) => format!("role:{}", r.name()),
        (None, None) => "everyone".to_owned(),
    }
}

/// The shared state of the application.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub(crate) store: Store,
    context: OnceLock<HubContext>,
    /// Connections of this server, with who is on them.
    online: Mutex<HashMap<String, Employee>>,
    notifications: AtomicU64,
    acknowledgements: AtomicU64,
    next_task: AtomicI64,
    /// How long a device has to accept or decline a task.
    pub(crate) answer_within: Duration,
}

impl Dispatch {
    pub(crate) fn new(store: Store, answer_within: Duration) -> Self {
        Dispatch {
            store,
            context: OnceLock::new(),
            online: Mutex::new(HashMap::new()),
            notifications: AtomicU64::new(0),
            acknowledgements: AtomicU64::new(0),
            next_task: AtomicI64::new(1),
            answer_within,
        }
    }

    /// Set once the hub server exists.
    pub(crate) fn set_context(&self, context: HubContext) {
        let _ = self.context.set(context);
    }

    fn context(&self) -> Option<&HubContext> {
        self.context.get()
    }

    fn online(&self) -> std::sync::MutexGuard<'_, HashMap<String, Employee>> {
        self.online.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn connected(&self, connection_id: &str, employee: Employee) {
        self.online().insert(connection_id.to_owned(), employee);
    }

    pub(crate) fn disconnected(&self, connection_id: &str) {
        self.online().remove(connection_id);
    }

    /// Stores a notification and tells its audience and every supervisor.
    pub(crate) async fn publish(&self, draft: Draft) -> Result<Notification, StoreError> {
        let notification = self.store.add(draft, now_ms()).await?;
        self.notifications.fetch_add(1, Ordering::Relaxed);
        if let Some(context) = self.context() {
            let clients = context.clients();
            let sent = match &notification.audience.user {
                Some(user) => {
                    let to_user = clients.user(user).notify(notification.clone()).await;
                    let to_supervisors = clients
                        .group(SUPERVISORS)
                        .notify(notification.clone())
                        .await;
                    to_user.and(to_supervisors)
                }
                None => {
                    let group = group_of(&notification.audience);
                    clients
                        .groups([group.as_str(), SUPERVISORS])
                        .notify(notification.clone())
                        .await
                }
            };
            if let Err(error) = sent {
                tracing::warn!(%error, id = notification.id, "a notification did not reach everyone");
            }
        }
        Ok(notification)
    }

    /// Records an acknowledgement and shows it to the notification's audience (who no
    /// longer need to act) and to supervisors; `false` when someone was first.
    pub(crate) async fn acknowledge(
        &self,
        employee: &Employee,
        id: i64,
    ) -> Result<bool, StoreError> {
        let Some((notification, acknowledgement)) =
            self.store.acknowledge(id, employee, now_ms()).await?
        else {
            return Ok(false);
        };
        self.acknowledgements.fetch_add(1, Ordering::Relaxed);
        if let Some(context) = self.context() {
            let clients = context.clients();
            let _ = match &notification.audience.user {
                Some(user) => {
                    let _ = clients
                        .user(user)
                        .acknowledged(acknowledgement.clone())
                        .await;
                    clients
                        .group(SUPERVISORS)
                        .acknowledged(acknowledgement)
                        .await
                }
                None => {
                    let group = group_of(&notification.audience);
                    clients
                        .groups([group.as_str(), SUPERVISORS])
                        .acknowledged(acknowledgement)
                        .await
                }
            };
        }
        Ok(true)
    }

    /// The latest acknowledgements, for a supervisor's view.
    pub(crate) async fn recent_acknowledgements(&self) -> Result<Vec<Acknowledgement>, StoreError> {
        self.store.recent_acknowledgements(50).await
    }

    /// The counts since the previous sample, for the live chart.
    pub(crate) fn sample(&self, previous: &mut (u64, u64)) -> Throughput {
        let now = (
            self.notifications.load(Ordering::Relaxed),
            self.acknowledgements.load(Ordering::Relaxed),
        );
        let point = Throughput {
            at: now_ms(),
            notifications: now.0.saturating_sub(previous.0),
            acknowledgements: now.1.saturating_sub(previous.1),
        };
        *previous = now;
        point
    }

    /// Offers a forklift task to the operators online, those of its section first, one
    /// after the other: each device has `answer_within` to accept; a decline or no answer
    /// passes it to the next. Supervisors are told the outcome.
    pub(crate) async fn dispatch_task(
        &self,
        description: String,
        section: Section,
    ) -> Result<TaskStatus, StoreError> {
        let task_id = self.next_task.fetch_add(1, Ordering::Relaxed);
        let mut candidates: Vec<(String, Employee)> = self
            .online()
            .iter()
            .filter(|(_, e)| e.role == Role::ForkliftOperator)
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect();
        candidates.sort_by_key(|(id, e)| (e.section != section, e.name.clone(), id.clone()));
        let offer = TaskOffer {
            task_id,
            description: description.clone(),
            section,
            answer_within: self.answer_within.as_secs(),
        };
        let mut passed_over = Vec::new();
        let mut assignee = None;
        if let Some(context) = self.context() {
            for (connection_id, operator) in candidates {
                if passed_over.contains(&operator.name) {
                    continue; // another device of someone who already declined
                }
                let device = context.clients().client(&connection_id);
                let asked = device.offer_task(offer.clone());
                match tokio::time::timeout(self.answer_within, asked).await {
                    Ok(Ok(true)) => {
                        assignee = Some(operator.name);
                        break;
                    }
                    Ok(Ok(false)) => passed_over.push(operator.name),
                    Ok(Err(ClientResultError::Disconnected)) | Err(_) | Ok(Err(_)) => {
                        passed_over.push(operator.name)
                    }
                }
            }
        }
        let status = TaskStatus {
            task_id,
            description: description.clone(),
            section,
            state: if assignee.is_some() {
                "accepted"
            } else {
                "unassigned"
            }
            .to_owned(),
            assignee: assignee.clone(),
            passed_over,
        };
        let (severity, title, audience) = match &assignee {
            Some(name) => (
                Severity::Info,
                format!("Task accepted by {name}: {description}"),
                Audience {
                    user: Some(name.clone()),
                    ..Audience::default()
                },
            ),
            None => (
                Severity::Critical,
                format!("Nobody took the task: {description}"),
                Audience::team(section, Role::Supervisor),
            ),
        };
        self.publish(Draft {
            kind: Kind::Task,
            severity,
            title,
            detail: format!("Task #{task_id} in {}", section.name()),
            audience,
        })
        .await?;
        if let Some(context) = self.context() {
            let _ = context
                .clients()
                .group(SUPERVISORS)
                .task_update(status.clone())
                .await;
        }
        Ok(status)
    }
}
