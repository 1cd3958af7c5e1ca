//! `dokk status` and `dokk capacity` on a Swarm context: services with their tasks, nodes with
//! what is reserved on them, for people or as JSON. The same keys as for Compose where they
//! mean the same, plus what only a swarm has.

use std::io::Write;

use serde::Serialize;

use crate::backend::swarm::capacity::{ScaleFit, fit_scale};
use crate::backend::swarm::{
    self, Engine, NodeUsage, SwarmNode, SwarmService, SwarmState, SwarmUsage, usage::NodeEngines,
};
use crate::config::{Context, SwarmTarget};
use crate::ui::format;

/// The manager's view and one round of usage samples from the nodes.
pub async fn load_swarm(target: &SwarmTarget) -> anyhow::Result<(SwarmState, SwarmUsage)> {
    let failed = |e: swarm::EngineError| {
        let hint = swarm::hint(&e);
        anyhow::anyhow!("{e}\n{hint}")
    };
    let manager = Engine::connect(&target.host).await.map_err(failed)?;
    let state = swarm::load(&manager).await.map_err(failed)?;
    let usage = swarm::sample(target, &state.nodes, &mut NodeEngines::new()).await;
    Ok((state, usage))
}

#[derive(Debug, Serialize)]
pub struct SwarmStatusJson {
    pub context: String,
    pub kind: &'static str,
    pub manager: String,
    pub warnings: Vec<String>,
    pub services: Vec<SwarmServiceJson>,
    pub nodes: Vec<SwarmNodeJson>,
}

#[derive(Debug, Serialize)]
pub struct SwarmServiceJson {
    pub name: String,
    pub stack: Option<String>,
    pub mode: &'static str,
    pub replicas_running: u64,
    pub replicas_total: u64,
    pub image: String,
    /// Per task, as the spec sets them.
    pub cpu_limit_cores: Option<f64>,
    pub memory_limit_bytes: Option<u64>,
    pub cpu_reservation_cores: Option<f64>,
    pub memory_reservation_bytes: Option<u64>,
    /// Summed over the sampled tasks (100 = one core).
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub route: Option<String>,
    pub ports: Vec<swarm::PublishedPort>,
    pub update_state: Option<String>,
    pub update_message: Option<String>,
    pub update_config: swarm::UpdatePolicy,
    pub tasks: Vec<SwarmTaskJson>,
}

#[derive(Debug, Serialize)]
pub struct SwarmTaskJson {
    pub id: String,
    pub slot: Option<u64>,
    pub node: Option<String>,
    pub state: String,
    pub desired_state: String,
    pub error: Option<String>,
    pub message: String,
    pub exit_code: Option<i64>,
    pub image: String,
}

#[derive(Debug, Serialize)]
pub struct SwarmNodeJson {
    pub hostname: String,
    pub id: String,
    pub role: String,
    pub leader: bool,
    pub reachability: Option<String>,
    pub availability: String,
    pub state: String,
    pub engine_version: String,
    pub zone: Option<String>,
    pub cpus: f64,
    pub memory_bytes: u64,
    pub cpu_reserved_cores: f64,
    pub memory_reserved_bytes: u64,
    pub tasks: usize,
    pub cpu_used_percent: Option<f64>,
    pub memory_used_bytes: Option<u64>,
    /// Why the node's usage is missing.
    pub usage_missing: Option<String>,
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub fn swarm_status_json(
    context: &Context,
    manager: &str,
    state: &SwarmState,
    usage: &SwarmUsage,
) -> SwarmStatusJson {
    let services = state
        .services
        .iter()
        .map(|service| service_json(state, usage, service))
        .collect();
    let nodes = state
        .nodes
        .iter()
        .map(|node| node_json(state, usage, node))
        .collect();
    SwarmStatusJson {
        context: context.name.clone(),
        kind: "swarm",
        manager: manager.to_string(),
        warnings: state.warnings(),
        services,
        nodes,
    }
}

fn service_json(
    state: &SwarmState,
    usage: &SwarmUsage,
    service: &SwarmService,
) -> SwarmServiceJson {
    let tasks: Vec<SwarmTaskJson> = state
        .service_tasks(&service.id)
        .map(|t| SwarmTaskJson {
            id: t.id.clone(),
            slot: t.slot,
            node: t
                .node_id
                .as_deref()
                .and_then(|id| state.node(id))
                .map(|n| n.hostname.clone()),
            state: t.state.clone(),
            desired_state: t.desired_state.clone(),
            error: t.error.clone(),
            message: t.message.clone(),
            exit_code: t.exit_code,
            image: t.image.clone(),
        })
        .collect();
    let used = usage.sum(state.service_tasks(&service.id).map(|t| t.id.as_str()));
    SwarmServiceJson {
        name: service.name.clone(),
        stack: service.stack.clone(),
        mode: service.mode.label(),
        replicas_running: service.running,
        replicas_total: service.desired,
        image: service.image.clone(),
        cpu_limit_cores: service.limits.cpu_cores,
        memory_limit_bytes: service.limits.memory_bytes,
        cpu_reservation_cores: service.reservations.cpu_cores,
        memory_reservation_bytes: service.reservations.memory_bytes,
        cpu_percent: used.map(|u| round(u.cpu_percent)),
        memory_bytes: used.map(|u| u.memory_bytes),
        route: service.route(),
        ports: service.ports.clone(),
        update_state: service.update_status.as_ref().map(|u| u.state.clone()),
        update_message: service.update_status.as_ref().map(|u| u.message.clone()),
        update_config: service.update.clone(),
        tasks,
    }
}

fn node_json(state: &SwarmState, usage: &SwarmUsage, node: &SwarmNode) -> SwarmNodeJson {
    let (cpu, memory) = state.reserved_on(&node.id);
    let (used, missing) = match usage.nodes.get(&node.hostname) {
        Some(NodeUsage::Sampled { total, .. }) => (Some(*total), None),
        Some(NodeUsage::Missing(why)) => (None, Some(why.clone())),
        None => (None, Some("not sampled yet".to_string())),
    };
    SwarmNodeJson {
        hostname: node.hostname.clone(),
        id: node.id.clone(),
        role: node.role.clone(),
        leader: node.leader,
        reachability: node.reachability.clone(),
        availability: node.availability.clone(),
        state: node.state.clone(),
        engine_version: node.engine_version.clone(),
        zone: node.zone().map(str::to_string),
        cpus: node.cpus,
        memory_bytes: node.memory_bytes,
        cpu_reserved_cores: round(cpu),
        memory_reserved_bytes: memory,
        tasks: state
            .tasks
            .iter()
            .filter(|t| t.is_desired() && t.node_id.as_deref() == Some(&node.id))
            .count(),
        cpu_used_percent: used.map(|u| round(u.cpu_percent)),
        memory_used_bytes: used.map(|u| u.memory_bytes),
        usage_missing: missing,
    }
}

pub fn print_swarm_status(
    out: &mut impl Write,
    context: &Context,
    target: &SwarmTarget,
    state: &SwarmState,
    usage: &SwarmUsage,
    json: bool,
) -> std::io::Result<()> {
    let status = swarm_status_json(context, &target.host, state, usage);
    if json {
        serde_json::to_writer_pretty(&mut *out, &status)?;
        return writeln!(out);
    }
    writeln!(out, "context {} · swarm {}", status.context, status.manager)?;
    for warning in &status.warnings {
        writeln!(out, "⚠ {warning}")?;
    }
    writeln!(
        out,
        "{:<28} {:<10} {:>7} {:<26} {:>11} {:>13} {:<18} ROUTE",
        "SERVICE", "MODE", "TASKS", "IMAGE", "CPU/LIMIT", "RESERVED", "UPDATE"
    )?;
    for s in &status.services {
        let cpu = match (s.cpu_percent, s.cpu_limit_cores) {
            (Some(used), Some(limit)) => {
                format!("{}/{}", format::cores(used), format::core_count(limit))
            }
            (Some(used), None) => format!("{}/-", format::cores(used)),
            (None, limit) => format!("-/{}", limit.map_or("-".into(), format::core_count)),
        };
        let reserved = format!(
            "{} {}",
            s.cpu_reservation_cores
                .map_or("-".into(), format::core_count),
            s.memory_reservation_bytes.map_or("-".into(), format::bytes)
        );
        writeln!(
            out,
            "{:<28} {:<10} {:>7} {:<26} {:>11} {:>13} {:<18} {}",
            s.name,
            s.mode,
            format!("{}/{}", s.replicas_running, s.replicas_total),
            s.image,
            cpu,
            reserved,
            s.update_state.as_deref().unwrap_or("-"),
            s.route.as_deref().unwrap_or("")
        )?;
        for t in s
            .tasks
            .iter()
            .filter(|t| t.desired_state == "running" || t.error.is_some())
        {
            if t.state != "running" {
                writeln!(
                    out,
                    "  {}.{} on {}: {} ({})",
                    s.name,
                    t.slot.map_or("-".into(), |n| n.to_string()),
                    t.node.as_deref().unwrap_or("no node"),
                    t.state,
                    t.error.as_deref().unwrap_or(&t.message)
                )?;
            }
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:<8} {:<8} {:<7} {:<12} {:>5} {:>10} {:>16} {:>6} USED",
        "NODE", "ROLE", "STATE", "AVAIL", "ZONE", "CPUS", "MEMORY", "RESERVED", "TASKS"
    )?;
    for n in &status.nodes {
        let role = match (n.role.as_str(), n.leader) {
            ("manager", true) => "leader".to_string(),
            (role, _) => role.to_string(),
        };
        let used = match (&n.usage_missing, n.cpu_used_percent, n.memory_used_bytes) {
            (None, Some(cpu), Some(memory)) => {
                format!("{} cores {}", format::cores(cpu), format::bytes(memory))
            }
            (Some(why), _, _) => format!("? ({why})"),
            _ => "-".into(),
        };
        writeln!(
            out,
            "{:<20} {:<8} {:<8} {:<7} {:<12} {:>5} {:>10} {:>16} {:>6} {used}",
            n.hostname,
            role,
            n.state,
            n.availability,
            n.zone.as_deref().unwrap_or("-"),
            format::core_count(n.cpus),
            format::bytes(n.memory_bytes),
            format!(
                "{} {}",
                format::core_count(n.cpu_reserved_cores),
                format::bytes(n.memory_reserved_bytes)
            ),
            n.tasks,
        )?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct SwarmCapacityJson {
    pub context: String,
    pub kind: &'static str,
    pub fits: bool,
    pub nodes: Vec<SwarmNodeJson>,
    pub scale: Vec<ScaleFit>,
    pub warnings: Vec<String>,
}

/// Capacity by reservations, with the `--scale` what-ifs; `Err` names a service that is not
/// there.
pub fn swarm_capacity(
    context: &Context,
    state: &SwarmState,
    usage: &SwarmUsage,
    scale: &[(String, u32)],
) -> Result<SwarmCapacityJson, String> {
    let mut fits = Vec::new();
    for (name, wanted) in scale {
        let Some(service) = state.find_service(name) else {
            let known: Vec<&str> = state.services.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--scale: no service `{name}`; services: {}",
                known.join(", ")
            ));
        };
        fits.push(fit_scale(state, service, u64::from(*wanted)));
    }
    let unreserved: Vec<String> = state
        .services
        .iter()
        .filter(|s| s.reservations.cpu_cores.is_none() && s.reservations.memory_bytes.is_none())
        .map(|s| s.name.clone())
        .collect();
    let mut warnings = state.warnings();
    if !unreserved.is_empty() {
        warnings.push(format!(
            "reserve nothing, so the scheduler will over-commit: {}",
            unreserved.join(", ")
        ));
    }
    Ok(SwarmCapacityJson {
        context: context.name.clone(),
        kind: "swarm",
        fits: fits.iter().all(|f| f.fits),
        nodes: state
            .nodes
            .iter()
            .map(|node| node_json(state, usage, node))
            .collect(),
        scale: fits,
        warnings,
    })
}

pub fn print_swarm_capacity(
    out: &mut impl Write,
    report: &SwarmCapacityJson,
    json: bool,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        return writeln!(out);
    }
    writeln!(
        out,
        "capacity of {} by reservations (as the scheduler places tasks)",
        report.context
    )?;
    for warning in &report.warnings {
        writeln!(out, "⚠ {warning}")?;
    }
    writeln!(
        out,
        "{:<20} {:<8} {:<7} {:>18} {:>22}",
        "NODE", "STATE", "AVAIL", "CPU RESERVED", "MEMORY RESERVED"
    )?;
    for n in &report.nodes {
        let cpu_share = if n.cpus > 0.0 {
            n.cpu_reserved_cores / n.cpus * 100.0
        } else {
            0.0
        };
        let memory_share = if n.memory_bytes > 0 {
            n.memory_reserved_bytes as f64 / n.memory_bytes as f64 * 100.0
        } else {
            0.0
        };
        writeln!(
            out,
            "{:<20} {:<8} {:<7} {} {:>5}/{:<5} {} {:>8}/{:<9}",
            n.hostname,
            n.state,
            n.availability,
            format::bar(cpu_share, 8),
            format::core_count(n.cpu_reserved_cores),
            format::core_count(n.cpus),
            format::bar(memory_share, 8),
            format::mib(n.memory_reserved_bytes),
            format::bytes(n.memory_bytes),
        )?;
    }
    for fit in &report.scale {
        writeln!(
            out,
            "\n{} → {} tasks (now {}): {}",
            fit.service,
            fit.wanted,
            fit.current,
            if fit.fits {
                "fits".to_string()
            } else if fit.nodes_needed == u64::MAX {
                "does not fit, and no node of the current size could take one".to_string()
            } else {
                format!(
                    "does not fit: {} more node(s) of the largest size",
                    fit.nodes_needed
                )
            }
        )?;
        for room in &fit.nodes {
            writeln!(
                out,
                "  {:<20} room {:>4}{}",
                room.hostname,
                room.room.map_or("∞".to_string(), |r| r.to_string()),
                room.why_not
                    .as_deref()
                    .map(|w| format!("  ({w})"))
                    .unwrap_or_default()
            )?;
        }
        for warning in &fit.warnings {
            writeln!(out, "  ⚠ {warning}")?;
        }
    }
    Ok(())
}
