//! The side-by-side table: each server's numbers and SignalR's ratio to the bare server.

use crate::scenarios::Outcome;
use crate::server::Target;
use crate::Options;

fn quantile(outcome: &Outcome, q: f64) -> String {
    match &outcome.latency {
        Some(h) if !h.is_empty() => format!("{:.2} ms", h.value_at_quantile(q) as f64 / 1000.0),
        _ => "–".to_owned(),
    }
}

/// The bare server's and SignalR's outcomes, when both ran.
fn pair(results: &[(Target, Outcome)]) -> Option<(&Outcome, &Outcome)> {
    let find = |t: Target| {
        results
            .iter()
            .find(|(target, _)| *target == t)
            .map(|(_, o)| o)
    };
    Some((find(Target::Raw)?, find(Target::SignalR)?))
}

fn per_cpu_second(outcome: &Outcome) -> f64 {
    outcome.operations as f64 / outcome.server_cpu.max(0.01)
}

/// Prints one line per server, then the ratios.
pub(crate) fn print(options: &Options, results: &[(Target, Outcome)]) {
    println!(
        "scenario {}: {} connections, {} s, payload {} B, protocol {}{}",
        options.scenario,
        options.connections,
        options.seconds,
        options.payload,
        options.protocol.name(),
        match options.scenario.as_str() {
            "broadcast" => format!(", {} senders at {} msg/s", options.senders, options.rate),
            "group" => format!(
                ", groups of {} at {} msg/s",
                options.group_size, options.rate
            ),
            _ => String::new(),
        }
    );
    println!(
        "| server | operations | per second | server CPU s | ops per server CPU s | CPU µs per op | p50 | p99 | max | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (target, outcome) in results {
        let mut notes = Vec::new();
        if let Some(expected) = outcome.expected {
            let lost = expected.saturating_sub(outcome.operations);
            notes.push(format!("expected {expected}, missing {lost}"));
        }
        for (n, bytes) in &outcome.bytes_per_connection {
            notes.push(format!("{:.2} KB per connection at {n}", bytes / 1000.0));
        }
        if let Some((before, after)) = outcome.memory_kib {
            notes.push(format!("RSS {before} KiB → {after} KiB after the churn"));
        }
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.0} | {:.1} | {} | {} | {} | {} |",
            target.name(),
            outcome.operations,
            outcome.operations as f64 / outcome.elapsed.as_secs_f64().max(0.001),
            outcome.server_cpu,
            per_cpu_second(outcome),
            outcome.server_cpu * 1e6 / (outcome.operations.max(1) as f64),
            quantile(outcome, 0.5),
            quantile(outcome, 0.99),
            quantile(outcome, 1.0),
            notes.join("; "),
        );
    }
    if let Some((raw, ours)) = pair(results) {
        println!(
            "signalr / raw: {:.2} of raw's operations per server CPU second",
            per_cpu_second(ours) / per_cpu_second(raw).max(0.001)
        );
        if let (Some(a), Some(b)) = (&raw.latency, &ours.latency) {
            if !a.is_empty() && !b.is_empty() {
                println!(
                    "signalr / raw: p99 latency {:.2}×",
                    b.value_at_quantile(0.99) as f64 / a.value_at_quantile(0.99).max(1) as f64
                );
            }
        }
    }
}

/// The middle of `values` (the mean of the two middle ones for an even count); sorts
/// them. `values` is not empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// After several rounds: each round's ratio of operations per server CPU second and of
/// p99 latency, and their medians.
pub(crate) fn summary(rounds: &[Vec<(Target, Outcome)>]) {
    let mut throughput = Vec::new();
    let mut p99 = Vec::new();
    for (raw, ours) in rounds.iter().filter_map(|results| pair(results)) {
        throughput.push(per_cpu_second(ours) / per_cpu_second(raw).max(0.001));
        if let (Some(a), Some(b)) = (&raw.latency, &ours.latency) {
            if !a.is_empty() && !b.is_empty() {
                p99.push(
                    b.value_at_quantile(0.99) as f64 / a.value_at_quantile(0.99).max(1) as f64,
                );
            }
        }
    }
    let line = |name: &str, mut values: Vec<f64>| {
        if values.is_empty() {
            return;
        }
        let each: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
        let median = median(&mut values);
        println!(
            "signalr / raw over {} rounds, {name}: median {median:.2} (each: {})",
            values.len(),
            each.join(", ")
        );
    };
    line("operations per server CPU second", throughput);
    line("p99 latency", p99);
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_round_whatever_the_order() {
        assert_eq!(median(&mut [0.9, 1.1, 0.7]), 0.9);
        assert_eq!(median(&mut [1.0, 0.8, 0.9, 0.95]), 0.925);
        assert_eq!(median(&mut [0.5]), 0.5);
    }
}
