//! The warehouse's vocabulary: sections, roles, employees, notifications and their
//! audiences, forklift tasks.

use serde::{Deserialize, Serialize};

/// A section of the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Section {
    Receiving,
    ColdStorage,
    LongTermStorage,
    Shipping,
}

impl Section {
    pub(crate) const ALL: [Section; 4] = [
        Section::Receiving,
        Section::ColdStorage,
        Section::LongTermStorage,
        Section::Shipping,
    ];

    /// The name used in groups, storage and the page.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Receiving => "receiving",
            Section::ColdStorage => "cold-storage",
            Section::LongTermStorage => "long-term-storage",
            Section::Shipping => "shipping",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What an employee does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Role {
    Picker,
    ForkliftOperator,
    Supervisor,
}

impl Role {
    pub(crate) const ALL: [Role; 3] = [Role::Picker, Role::ForkliftOperator, Role::Supervisor];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Picker => "picker",
            Role::ForkliftOperator => "forklift-operator",
            Role::Supervisor => "supervisor",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// A signed-in employee: what their token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Employee {
    pub(crate) name: String,
    pub(crate) section: Section,
    pub(crate) role: Role,
}

impl Employee {
    pub(crate) fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }
}

/// How urgent a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A package arrived and must go somewhere.
    Arrival,
    /// Goods that must be refrigerated.
    Refrigeration,
    /// A container scheduled to ship.
    Shipment,
    /// Cold storage out of its range.
    TemperatureAlert,
    /// Something runs late.
    Delay,
    /// A supervisor's notice.
    Notice,
    /// A forklift task's outcome.
    Task,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Arrival => "arrival",
            Kind::Refrigeration => "refrigeration",
            Kind::Shipment => "shipment",
            Kind::TemperatureAlert => "temperature-alert",
            Kind::Delay => "delay",
            Kind::Notice => "notice",
            Kind::Task => "task",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            Kind::Arrival,
            Kind::Refrigeration,
            Kind::Shipment,
            Kind::TemperatureAlert,
            Kind::Delay,
            Kind::Notice,
            Kind::Task,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// Who a notification is for. Supervisors see every notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Audience {
    /// Everyone in this section (with `role`: only that role there).
    pub(crate) section: Option<Section>,
    /// Everyone with this role (with `section`: only in that section).
    pub(crate) role: Option<Role>,
    /// One employee, on every device (then `section` and `role` are ignored).
    pub(crate) user: Option<String>,
}

impl Audience {
    pub(crate) fn section(section: Section) -> Self {
        Audience {
            section: Some(section),
            ..Audience::default()
        }
    }

    pub(crate) fn team(section: Section, role: Role) -> Self {
        Audience {
            section: Some(section),
            role: Some(role),
            user: None,
        }
    }
}
/// A notification as stored and as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notification {
    pub(crate) id: i64,
    pub(crate) kind: Kind,
    pub(crate) severity: Severity,
    pub(crate) title: String,
    pub(crate) detail: String,
    pub(crate) audience: Audience,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
    pub(crate) acknowledged_by: Option<String>,
    pub(crate) acknowledged_at: Option<i64>,
}

/// A notification before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Draft {
    pub(crate) kind: Kind,
    pub(crate) severity: Severity,
    pub(crate) title: String,
    pub(crate) detail: String,
    pub(crate) audience: Audience,
}

/// Someone acknowledged a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Acknowledgement {
    pub(crate) notification_id: i64,
    pub(crate) title: String,
    pub(crate) by: String,
    pub(crate) section: Section,
    pub(crate) at: i64,
}

/// A supervisor's notice, from the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notice {
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) detail: String,
    pub(crate) severity: Severity,
    #[serde(default)]
    pub(crate) audience: Audience,
}

/// A forklift task offered to an operator's device (a client result: accept or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskOffer {
    pub(crate) task_id: i64,
    pub(crate) description: String,
    pub(crate) section: Section,
    /// How long the device has to answer, in seconds.
    pub(crate) answer_within: u64,
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskStatus {
    pub(crate) task_id: i64,
    pub(crate) description: String,
    pub(crate) section: Section,
    /// `accepted` or `unassigned`.
    pub(crate) state: String,
    pub(crate) assignee: Option<String>,
    /// Operators who declined or did not answer.
    pub(crate) passed_over: Vec<String>,
}

/// Counts for the live chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Throughput {
    pub(crate) at: i64,
    pub(crate) notifications: u64,
    pub(crate) acknowledgements: u64,
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
