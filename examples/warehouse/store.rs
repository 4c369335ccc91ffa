//! Where notifications and acknowledgements are kept, so that nobody misses one: SQLite
//! (a file beside the binary, or in memory) by default, PostgreSQL when a URL is given.
//! One set of queries through sqlx's `Any` driver; only the table definitions differ.

use crate::model::{
    Acknowledgement, Audience, Draft, Employee, Kind, Notification, Role, Section, Severity,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// The notification store.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pool: AnyPool,
}

/// The store failed (the database is unreachable or refused a query).
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub(crate) struct StoreError(#[from] sqlx::Error);

/// The columns every query reads, in `notification`'s order (a macro: sqlx takes only
/// literal SQL).
macro_rules! columns {
    () => {
        "id, kind, severity, title, detail, section, role, user_name, created_at, \
         acknowledged_by, acknowledged_at"
    };
}

impl Store {
    /// Opens (and creates the tables of) `url`: `sqlite::memory:`, `sqlite://path?mode=rwc`
    /// or `postgres://…`.
    pub(crate) async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let memory = url.contains(":memory:");
        let pool = AnyPoolOptions::new()
            // Every connection to `sqlite::memory:` would be its own empty database.
            .max_connections(if memory { 1 } else { 8 })
            .connect(url)
            .await?;
        macro_rules! table {
            ($id:literal) => {
                concat!(
                    "CREATE TABLE IF NOT EXISTS notifications (",
                    $id,
                    ", kind TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, \
                     detail TEXT NOT NULL, section TEXT, role TEXT, user_name TEXT, \
                     created_at BIGINT NOT NULL, acknowledged_by TEXT, acknowledged_at BIGINT)"
                )
            };
        }
        let create = if url.starts_with("postgres") {
            table!("id BIGSERIAL PRIMARY KEY")
        } else {
            table!("id INTEGER PRIMARY KEY AUTOINCREMENT")
        };
        sqlx::query(create).execute(&pool).await?;
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS notifications_open ON notifications (acknowledged_at, id)",
        )
        .execute(&pool)
        .await?;
        Ok(Store { pool })
    }

    /// Stores a new notification.
    pub(crate) async fn add(
        &self,
        draft: Draft,
        created_at: i64,
    ) -> Result<Notification, StoreError> {
        let row = sqlx::query(
            "INSERT INTO notifications (kind, severity, title, detail, section, role, user_name, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(draft.kind.name())
        .bind(draft.severity.name())
        .bind(draft.title.clone())
        .bind(draft.detail.clone())
        .bind(draft.audience.section.map(|s| s.name().to_owned()))
        .bind(draft.audience.role.map(|r| r.name().to_owned()))
        .bind(draft.audience.user.clone())
        .bind(created_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(Notification {
            id: row.try_get("id")?,
            kind: draft.kind,
            severity: draft.severity,
            title: draft.title,
            detail: draft.detail,
            audience: draft.audience,
            created_at,
            acknowledged_by: None,
            acknowledged_at: None,
        })
    }

    /// Records `by`'s acknowledgement; `None` when the notification does not exist or
    /// someone acknowledged it first.
    pub(crate) async fn acknowledge(
        &self,
        id: i64,
        by: &Employee,
        at: i64,
    ) -> Result<Option<(Notification, Acknowledgement)>, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET acknowledged_by = $1, acknowledged_at = $2 \
             WHERE id = $3 AND acknowledged_at IS NULL",
        )
        .bind(by.name.clone())
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM notifications WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let notification = notification(&row)?;
        let acknowledgement = Acknowledgement {
            notification_id: id,
            title: notification.title.clone(),
            by: by.name.clone(),
            section: by.section,
            at,
        };
        Ok(Some((notification, acknowledgement)))
    }

    /// What is still unacknowledged for `employee` (everything, for a supervisor), oldest
    /// first, at most `limit`.
    pub(crate) async fn unacknowledged(
        &self,
        employee: &Employee,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = if employee.is_supervisor() {
            sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM notifications WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
        } else {
            sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM notifications WHERE acknowledged_at IS NULL AND ( \
                 user_name = $1 OR (user_name IS NULL \
                 AND (section IS NULL OR section = $2) AND (role IS NULL OR role = $3))) \
                 ORDER BY id DESC LIMIT $4"
            ))
            .bind(employee.name.clone())
            .bind(employee.section.name())
            .bind(employee.role.name())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
        };
        let mut found = rows
            .iter()
            .map(notification)
            .collect::<Result<Vec<_>, _>>()?;
        found.reverse();
        Ok(found)
    }

    /// The latest acknowledgements, newest last.
    pub(crate) async fn recent_acknowledgements(
        &self,
        limit: i64,
    ) -> Result<Vec<Acknowledgement>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM notifications WHERE acknowledged_at IS NOT NULL \
             ORDER BY acknowledged_at DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut acks = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            let n = notification(row)?;
            acks.push(Acknowledgement {
                notification_id: n.id,
                section: n.audience.section.unwrap_or(Section::Receiving),
                title: n.title,
                by: n.acknowledged_by.unwrap_or_default(),
                at: n.acknowledged_at.unwrap_or_default(),
            });
        }
        Ok(acks)
    }

    /// How many notifications are stored.
    pub(crate) async fn count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

fn notification(row: &AnyRow) -> Result<Notification, StoreError> {
    let text = |column: &str| -> Result<String, sqlx::Error> { row.try_get::<String, _>(column) };
    let maybe = |column: &str| -> Result<Option<String>, sqlx::Error> {
        row.try_get::<Option<String>, _>(column)
    };
    let corrupt = |what: &str| StoreError(sqlx::Error::Decode(format!("unknown {what}").into()));
    Ok(Notification {
        id: row.try_get("id")?,
        kind: Kind::from_name(&text("kind")?).ok_or_else(|| corrupt("kind"))?,
        severity: Severity::from_name(&text("severity")?).ok_or_else(|| corrupt("severity"))?,
        title: text("title")?,
        detail: text("detail")?,
        audience: Audience {
            section: maybe("section")?.and_then(|s| Section::from_name(&s)),
            role: maybe("role")?.and_then(|r| Role::from_name(&r)),
            user: maybe("user_name")?,
        },
        created_at: row.try_get("created_at")?,
        acknowledged_by: maybe("acknowledged_by")?,
        acknowledged_at: row.try_get::<Option<i64>, _>("acknowledged_at")?,
    })
}
