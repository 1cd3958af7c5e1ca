//! `dokk capacity [--scale SERVICE=N ...] [--json]`: allocated, used and what still fits, and
//! whether a scale-up fits — a gate for CI before an event. Exit 0 fits, 1 does not, 2 bad input.

use std::io::Write;

use crate::capacity::{self, Report};
use crate::config::{Context, Target};
use crate::ui::format::{bar, bytes};

#[derive(Debug, Clone, clap::Args)]
pub struct CapacityArgs {
    /// Scale a service to N replicas (tasks) in the what-if; repeat for several.
    #[arg(long = "scale", value_name = "SERVICE=N")]
    pub scale: Vec<String>,
    /// Compose: sample usage for this long (e.g. 30s) and report the peak beside the last
    /// sample. (ECS usage comes from CloudWatch's one-minute datapoints.)
    #[arg(long)]
    pub window: Option<humantime::Duration>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// Bad input: exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

/// Prints the report; returns whether everything fits.
pub async fn run_capacity(
    context: &Context,
    args: &CapacityArgs,
    out: &mut impl Write,
) -> Result<bool, CapacityError> {
    let scale = args
        .scale
        .iter()
        .map(|s| capacity::parse_scale(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CapacityError::Usage)?;
    // A cluster's room (nodes, placement) and a host's (one engine, its peak) are reports
    // from different data; `capacity` computes each.
    let report = match &context.target {
        Target::Swarm(target) => {
            let (state, usage) = super::load_swarm(target)
                .await
                .map_err(|e| CapacityError::Failed(e.to_string()))?;
            let report = super::swarm_capacity(context, &state, &usage, &scale)
                .map_err(CapacityError::Usage)?;
            super::print_swarm_capacity(out, &report, args.json)
                .map_err(|e| CapacityError::Failed(e.to_string()))?;
            return Ok(report.fits);
        }
        Target::Ecs(target) => {
            let data = super::load_cluster(target)
                .await
                .map_err(|e| CapacityError::Failed(e.to_string()))?;
            capacity::ecs(&data, &scale).map_err(CapacityError::Usage)?
        }
        Target::Docker(docker) => {
            let snapshot = super::load_fleet(&docker.host).await.map_err(|e| {
                CapacityError::Failed(format!(
                    "{e}\n{}",
                    crate::backend::docker::connection_hint(&docker.host)
                ))
            })?;
            let mut report = capacity::compose(&snapshot, &scale).map_err(CapacityError::Usage)?;
            if let Some(window) = args.window {
                let (cpu, memory) = peak_usage(&docker.host, &snapshot, window.into()).await?;
                report.cpu.peak = Some(cpu.max(report.cpu.used.unwrap_or(0.0)));
                report.memory.peak = Some(memory.max(report.memory.used.unwrap_or(0)));
            }
            report.advise_host(docker.instance_type.as_deref());
            report
        }
    };
    print(out, &report, args.json).map_err(|e| CapacityError::Failed(e.to_string()))?;
    Ok(report.fits)
}

/// The highest fleet-wide CPU (cores) and memory (bytes) over `window`, sampling again and
/// again (each sample spans about a second, as `docker stats` does).
async fn peak_usage(
    host: &str,
    snapshot: &crate::model::FleetSnapshot,
    window: std::time::Duration,
) -> Result<(f64, u64), CapacityError> {
    use crate::backend::docker;
    let client = docker::connect(host)
        .await
        .map_err(|e| CapacityError::Failed(e.to_string()))?;
    let started = std::time::Instant::now();
    let (mut cpu, mut memory) = (0.0f64, 0u64);
    while started.elapsed() < window {
        let usage = docker::sample_usage(&client, &snapshot.containers).await;
        cpu = cpu.max(usage.values().map(|u| u.cpu_percent).sum::<f64>() / 100.0);
        memory = memory.max(usage.values().map(|u| u.memory_bytes).sum());
    }
    Ok((cpu, memory))
}

fn print(out: &mut impl Write, report: &Report, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        return writeln!(out);
    }
    let share = |part: f64, whole: f64| {
        if whole > 0.0 {
            part * 100.0 / whole
        } else {
            0.0
        }
    };
    let cpu = &report.cpu;
    let memory = &report.memory;
    writeln!(
        out,
        "CPU     {} allocated {:.2} of {:.2} cores ({:.0}%){}{}",
        bar(share(cpu.allocated, cpu.capacity), 20),
        cpu.allocated,
        cpu.capacity,
        share(cpu.allocated, cpu.capacity),
        cpu.used
            .map(|u| format!(", used {u:.2}"))
            .unwrap_or_default(),
        if (cpu.after - cpu.allocated).abs() > 1e-9 {
            format!(", after scaling {:.2}", cpu.after)
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "memory  {} allocated {} of {} ({:.0}%){}{}",
        bar(share(memory.allocated as f64, memory.capacity as f64), 20),
        bytes(memory.allocated),
        bytes(memory.capacity),
        share(memory.allocated as f64, memory.capacity as f64),
        memory
            .used
            .map(|u| format!(", used {}", bytes(u)))
            .unwrap_or_default(),
        if memory.after != memory.allocated {
            format!(", after scaling {}", bytes(memory.after))
        } else {
            String::new()
        }
    )?;
    if let Some(reserved) = report.memory_reservations.filter(|r| *r > 0) {
        writeln!(
            out,
            "        memory reservations (soft limits) sum to {}",
            bytes(reserved)
        )?;
    }
    if let Some(units) = &report.ecs {
        writeln!(
            out,
            "ECS     {}/{} CPU units and {}/{} MiB reserved",
            units.cpu_units.allocated,
            units.cpu_units.capacity,
            units.memory_mib.allocated,
            units.memory_mib.capacity
        )?;
    }
    if !report.zones.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<16} {:>22} {:>22}",
            "AZ", "CPU units resv/reg", "MiB resv/reg"
        )?;
        for zone in &report.zones {
            writeln!(
                out,
                "{:<16} {:>22} {:>22}",
                zone.az,
                format!("{}/{}", zone.reserved.cpu, zone.registered.cpu),
                format!("{}/{}", zone.reserved.memory, zone.registered.memory)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<32} {:>8} {:>10} {:>12} {:>9} {:>8}",
        "SERVICE", "REPLICAS", "CPU/REPL", "MEM/REPL", "HEADROOM", "SCALE TO"
    )?;
    for s in &report.services {
        writeln!(
            out,
            "{:<32} {:>8} {:>10} {:>12} {:>9} {:>8}",
            s.name,
            s.replicas,
            s.cpu_per_replica
                .map_or("no limit".into(), |c| format!("{c:.2}")),
            s.memory_per_replica.map_or("no limit".into(), bytes),
            s.headroom.map_or("-".into(), |h| format!("+{h}")),
            s.scale_to.map_or(String::new(), |n| n.to_string())
        )?;
    }
    if !report.unlimited.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "without a limit (can take the whole host): {}",
            report.unlimited.join(", ")
        )?;
    }
    writeln!(out)?;
    for problem in &report.problems {
        writeln!(out, "✗ {problem}")?;
    }
    if report.fits {
        writeln!(out, "✓ fits")?;
    } else if let Some(n) = report.nodes_needed.filter(|n| *n > 0) {
        writeln!(out, "✗ does not fit: {n} more node(s) needed")?;
    } else {
        writeln!(out, "✗ does not fit")?;
    }
    if let Some(advice) = &report.instance_advice {
        for line in advice.lines() {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
