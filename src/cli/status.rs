//! `dokk status`: the fleet once, as a table or JSON.

use std::io::Write;

use serde::Serialize;

use crate::backend::docker;
use crate::config::{Context, Target};
use crate::model::{
    Allocation, Env, FleetSnapshot, Health, HostInfo, Service, ServiceState, group_services,
};
use crate::ui::format::{bytes, cores, image_tag, mib, percent, since};

#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub context: String,
    pub kind: &'static str,
    pub host: HostJson,
    pub allocated: AllocatedJson,
    pub services: Vec<ServiceJson>,
}

#[derive(Debug, Serialize)]
pub struct HostJson {
    pub name: String,
    pub address: String,
    pub engine_version: String,
    pub cpus: u32,
    pub memory_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct AllocatedJson {
    pub cpu_limit_cores: f64,
    pub memory_limit_bytes: u64,
    pub cpu_overcommitted: bool,
    pub memory_overcommitted: bool,
    pub cpu_used_percent: f64,
    pub memory_used_bytes: u64,
    pub unlimited: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ServiceJson {
    /// `null` for standalone containers.
    pub project: Option<String>,
    pub name: String,
    pub env: Option<Env>,
    pub state: ServiceState,
    pub health: Health,
    pub replicas_running: usize,
    pub replicas_total: usize,
    /// 100 = one core, as `docker stats`.
    pub cpu_percent: Option<f64>,
    /// Sum over running replicas; `null` when any has no limit.
    pub cpu_limit_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    pub restarts: i64,
    pub started_at: Option<String>,
    pub image: String,
    pub route: Option<String>,
    pub containers: Vec<String>,
}

impl From<&Service> for ServiceJson {
    fn from(s: &Service) -> Self {
        ServiceJson {
            project: s.key.project.clone(),
            name: s.key.name.clone(),
            env: s.env,
            state: s.state,
            health: s.health,
            replicas_running: s.replicas_running,
            replicas_total: s.replicas_total,
            cpu_percent: s.cpu_percent.map(|v| (v * 100.0).round() / 100.0),
            cpu_limit_cores: s.cpu_limit_cores,
            memory_bytes: s.memory_bytes,
            memory_limit_bytes: s.memory_limit_bytes,
            restarts: s.restarts,
            started_at: s.started_at.map(|t| t.to_rfc3339()),
            image: s.image.clone(),
            route: s.route.clone(),
            containers: s.containers.clone(),
        }
    }
}

/// `dokk status`: the fleet or the cluster once, as a table or JSON. A pipe closed early
/// (`dokk status | head`) is not an error.
pub async fn run_status(context: &Context, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    // A fleet and a cluster are told differently (their JSON too): each has its printer.
    let printed = match &context.target {
        Target::Docker(docker) => {
            let snapshot = load_fleet(&docker.host)
                .await
                .map_err(|e| anyhow::anyhow!("{e}\n{}", docker::connection_hint(&docker.host)))?;
            print_status(out, context, &snapshot, json)
        }
        Target::Ecs(target) => {
            let data = super::load_cluster(target).await?;
            super::print_ecs_status(out, context, &data, json)
        }
        Target::Swarm(target) => {
            let (state, usage) = super::load_swarm(target).await?;
            super::print_swarm_status(out, context, target, &state, &usage, json)
        }
    };
    match printed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Loads the fleet once, with one usage sample per running container.
pub async fn load_fleet(host: &str) -> Result<FleetSnapshot, docker::DockerError> {
    let (client, containers) = docker::connect_and_inspect(host).await?;
    let host = docker::host_info(&client, host).await?;
    let usage = docker::sample_usage(&client, &containers).await;
    Ok(FleetSnapshot {
        host,
        containers: std::sync::Arc::new(containers),
        usage: std::sync::Arc::new(usage),
        sampling: Default::default(),
    })
}

pub fn status_json(context: &Context, snapshot: &FleetSnapshot) -> StatusJson {
    let services = group_services(&snapshot.containers, &snapshot.usage);
    let allocation = Allocation::of(&snapshot.containers, &snapshot.usage);
    StatusJson {
        context: context.name.clone(),
        kind: "docker",
        host: host_json(context, &snapshot.host),
        allocated: AllocatedJson {
            cpu_overcommitted: allocation.cpu_overcommitted(&snapshot.host),
            memory_overcommitted: allocation.memory_overcommitted(&snapshot.host),
            cpu_limit_cores: allocation.cpu_limit_cores,
            memory_limit_bytes: allocation.memory_limit_bytes,
            cpu_used_percent: (allocation.cpu_used_percent * 100.0).round() / 100.0,
            memory_used_bytes: allocation.memory_used_bytes,
            unlimited: allocation.unlimited,
        },
        services: services.iter().map(ServiceJson::from).collect(),
    }
}

fn host_json(context: &Context, host: &HostInfo) -> HostJson {
    HostJson {
        name: host.name.clone(),
        address: context.address(),
        engine_version: host.engine_version.clone(),
        cpus: host.cpus,
        memory_bytes: host.memory_bytes,
    }
}

/// `dokk status`: a table for people, `--json` for scripts.
pub fn print_status(
    out: &mut impl Write,
    context: &Context,
    snapshot: &FleetSnapshot,
    json: bool,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, &status_json(context, snapshot))?;
        return writeln!(out);
    }
    let host = &snapshot.host;
    let allocation = Allocation::of(&snapshot.containers, &snapshot.usage);
    writeln!(
        out,
        "context {} ({}) · {} · Engine {} · {} CPUs, {}",
        context.name,
        context.address(),
        host.name,
        host.engine_version,
        host.cpus,
        bytes(host.memory_bytes)
    )?;
    let mut warnings = Vec::new();
    if allocation.cpu_overcommitted(host) {
        warnings.push("CPU OVER-COMMITTED");
    }
    if allocation.memory_overcommitted(host) {
        warnings.push("MEMORY OVER-COMMITTED");
    }
    writeln!(
        out,
        "allocated CPU {:.2}/{} cores, memory {}/{}{}{}",
        allocation.cpu_limit_cores,
        host.cpus,
        bytes(allocation.memory_limit_bytes),
        bytes(host.memory_bytes),
        if warnings.is_empty() {
            String::new()
        } else {
            format!("  ⚠ {}", warnings.join(", "))
        },
        if allocation.unlimited.is_empty() {
            String::new()
        } else {
            format!(
                "  ({} running without limit: {})",
                allocation.unlimited.len(),
                allocation.unlimited.join(", ")
            )
        }
    )?;
    writeln!(out)?;
    let now = chrono::Utc::now();
    let rows: Vec<[String; 10]> = group_services(&snapshot.containers, &snapshot.usage)
        .iter()
        .map(|s| {
            let cpu = s.cpu_percent.map_or("-".into(), cores);
            let memory = s.memory_bytes.map_or("-".into(), mib);
            [
                s.key.project_label().to_string(),
                s.key.name.clone(),
                format!(
                    "{}{}",
                    s.state.label(),
                    if s.health == Health::None {
                        String::new()
                    } else {
                        format!(" ({})", s.health.label())
                    }
                ),
                format!("{}/{}", s.replicas_running, s.replicas_total),
                match s.cpu_limit_cores {
                    Some(limit) => format!(
                        "{cpu}/{limit:.2} {}",
                        s.cpu_of_limit().map_or(String::new(), percent)
                    ),
                    None => format!("{cpu}/no limit"),
                },
                match s.memory_limit_bytes {
                    Some(limit) => format!(
                        "{memory}/{} MiB {}",
                        mib(limit),
                        s.memory_of_limit().map_or(String::new(), percent)
                    ),
                    None => format!("{memory} MiB/no limit"),
                },
                s.restarts.to_string(),
                since(s.started_at, now),
                image_tag(&s.image).to_string(),
                s.route.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "PROJECT",
        "SERVICE",
        "STATE",
        "REPL",
        "CPU cores",
        "MEMORY",
        "RST",
        "UPTIME",
        "IMAGE",
        "ROUTE",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let print_row = |out: &mut dyn Write, cells: Vec<&str>| -> std::io::Result<()> {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())
    };
    print_row(out, header.to_vec())?;
    for row in &rows {
        print_row(out, row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
