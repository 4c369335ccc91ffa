//! A living warehouse: every few seconds something happens, reported through the same
//! dispatch a supervisor's notice goes through (stored, then sent through the hub
//! context): arrivals and where they must go, goods to refrigerate, shipments with their
//! container and time, cold-storage temperature alerts, delays, and forklift tasks.

use crate::dispatch::Dispatch;
use crate::model::{now_ms, Audience, Draft, Kind, Role, Section, Severity};
use rand::seq::IndexedRandom;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

const GOODS: &[(&str, Storage)] = &[
    ("frozen peas", Storage::Refrigerated),
    ("vaccines", Storage::Refrigerated),
    ("fresh salmon", Storage::Refrigerated),
    ("ice cream", Storage::Refrigerated),
    ("office paper", Storage::LongTerm),
    ("garden furniture", Storage::LongTerm),
    ("winter tyres", Storage::LongTerm),
    ("canned tomatoes", Storage::LongTerm),
    ("laptops", Storage::Shipping),
    ("bicycles", Storage::Shipping),
];
const ORIGINS: &[&str] = &["Hamburg", "Gdańsk", "Lyon", "Milan", "Antwerp", "Leeds"];
const DESTINATIONS: &[&str] = &[
    "Rotterdam",
    "Oslo",
    "Valencia",
    "Dublin",
    "Tallinn",
    "Porto",
];

#[derive(Clone, Copy)]
enum Storage {
    Refrigerated,
    LongTerm,
    Shipping,
}

/// Runs until the process ends, one event every `every`.
pub(crate) fn start(dispatch: Arc<Dispatch>, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut tick: u64 = 0;
        loop {
            ticks.tick().await;
            tick += 1;
            if tick % 6 == 0 {
                let (description, section) = task();
                let dispatch = dispatch.clone();
                // A task waits for devices to answer: it must not hold up the events.
                tokio::spawn(async move {
                    if let Err(error) = dispatch.dispatch_task(description, section).await {
                        tracing::warn!(%error, "the simulator could not dispatch a task");
                    }
                });
                continue;
            }
            for draft in event() {
                if let Err(error) = dispatch.publish(draft).await {
                    tracing::warn!(%error, "the simulator could not publish");
                }
            }
        }
    });
}

fn task() -> (String, Section) {
    let mut rng = rand::rng();
    let (goods, storage) = *GOODS.choose(&mut rng).unwrap_or(&GOODS[0]);
    let pallets = rng.random_range(2..=16);
    let (section, to) = match storage {
        Storage::Refrigerated => (
            Section::ColdStorage,
            format!("cold room C{}", rng.random_range(1..=6)),
        ),
        Storage::LongTerm => (
            Section::LongTermStorage,
            format!("bay L{}", rng.random_range(1..=40)),
        ),
        Storage::Shipping => (
            Section::Shipping,
            format!("gate {}", rng.random_range(1..=8)),
        ),
    };
    (
        format!(
            "Move {pallets} pallets of {goods} from dock {} to {to}",
            rng.random_range(1..=6)
        ),
        section,
    )
}

/// One thing that happened (an arrival also says where it goes).
fn event() -> Vec<Draft> {
    let mut rng = rand::rng();
    let minutes_from_now = |rng: &mut rand::rngs::ThreadRng, lo: i64, hi: i64| {
        let at = now_ms() / 60_000 + rng.random_range(lo..=hi);
        format!("{:02}:{:02} UTC", (at / 60) % 24, at % 60)
    };
    match rng.random_range(0..100) {
        0..=34 => {
            let (goods, storage) = *GOODS.choose(&mut rng).unwrap_or(&GOODS[0]);
            let package = rng.random_range(10_000..99_999);
            let pallets = rng.random_range(1..=20);
            let dock = rng.random_range(1..=6);
            let (destination, follow_up) = match storage {
                Storage::Refrigerated => (
                    "cold storage".to_owned(),
                    Some(Draft {
                        kind: Kind::Refrigeration,
                        severity: Severity::Warning,
                        title: format!("Refrigerate within 30 min: {pallets} pallets of {goods}"),
                        detail: format!("Package PKG-{package} at dock {dock}, keep at 2–8 °C"),
                        audience: Audience::section(Section::ColdStorage),
                    }),
                ),
                Storage::LongTerm => (
                    format!("long-term bay L{}", rng.random_range(1..=40)),
                    Some(Draft {
                        kind: Kind::Arrival,
                        severity: Severity::Info,
                        title: format!(
                            "Incoming for long-term storage: {pallets} pallets of {goods}"
                        ),
                        detail: format!("Package PKG-{package}, from dock {dock}"),
                        audience: Audience::section(Section::LongTermStorage),
                    }),
                ),
                Storage::Shipping => ("shipping, cross-dock".to_owned(), None),
            };
            let mut drafts = vec![Draft {
                kind: Kind::Arrival,
                severity: Severity::Info,
                title: format!(
                    "Package PKG-{package} arrived at dock {dock}: {pallets} pallets of {goods}"
                ),
                detail: format!(
                    "From {}; goes to {destination}",
                    ORIGINS.choose(&mut rng).unwrap_or(&ORIGINS[0])
                ),
                audience: Audience::section(Section::Receiving),
            }];
            drafts.extend(follow_up);
            drafts
        }
        35..=59 => {
            let container = format!(
                "{}U {:06}-{}",
                ["MSK", "CMA", "HLX", "OOL"]
                    .choose(&mut rng)
                    .unwrap_or(&"MSK"),
                rng.random_range(0..999_999),
                rng.random_range(0..10)
            );
            vec![Draft {
                kind: Kind::Shipment,
                severity: Severity::Info,
                title: format!(
                    "Container {container} to {} departs {} from gate {}",
                    DESTINATIONS.choose(&mut rng).unwrap_or(&DESTINATIONS[0]),
                    minutes_from_now(&mut rng, 30, 240),
                    rng.random_range(1..=8)
                ),
                detail: format!("{} pallets to load", rng.random_range(4..=30)),
                audience: Audience::section(Section::Shipping),
            }]
        }
        60..=74 => {
            let room = rng.random_range(1..=6);
            let reading = rng.random_range(9..=14);
            vec![Draft {
                kind: Kind::TemperatureAlert,
                severity: if reading >= 12 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title: format!("Cold room C{room} at {reading} °C (limit 8 °C)"),
                detail: "Check the door seal and the compressor; move sensitive goods".to_owned(),
                audience: Audience::section(Section::ColdStorage),
            }]
        }
        75..=89 => {
            let late = rng.random_range(10..=90);
            let (title, section) = if rng.random_bool(0.5) {
                (
                    format!(
                        "Truck from {} delayed {late} min",
                        ORIGINS.choose(&mut rng).unwrap_or(&ORIGINS[0])
                    ),
                    Section::Receiving,
                )
            } else {
                (
                    format!(
                        "Shipment to {} delayed {late} min",
                        DESTINATIONS.choose(&mut rng).unwrap_or(&DESTINATIONS[0])
                    ),
                    Section::Shipping,
                )
            };
            vec![Draft {
                kind: Kind::Delay,
                severity: Severity::Warning,
                title,
                detail: format!(
                    "New estimate {}",
                    minutes_from_now(&mut rng, late, late + 15)
                ),
                audience: Audience::section(section),
            }]
        }
        _ => {
            let (goods, _) = *GOODS.choose(&mut rng).unwrap_or(&GOODS[0]);
            vec![Draft {
                kind: Kind::Arrival,
                severity: Severity::Info,
                title: format!(
                    "Pick list ready: {} cases of {goods}",
                    rng.random_range(5..=60)
                ),
                detail: "Order for tomorrow's first shipment".to_owned(),
                audience: Audience::team(Section::LongTermStorage, Role::Picker),
            }]
        }
    }
}
