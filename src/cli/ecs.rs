//! `dokk status` on an ECS context: services (with their tasks, deployments, events and ALB
//! target health) and nodes, for people or as JSON. The same fields as for Compose where they
//! mean the same, plus what only ECS has.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backend::ecs::{
    Aws, ClusterData, EcsDeployment, EcsEvent, EcsNode, EcsTask, Refresher, Section, TargetHealth,
    cluster_name,
};
use crate::config::{Context, EcsTarget};
use crate::model::Env;

/// One full refresh of the context's cluster. Fails only when there is no cluster to read or
/// its services cannot be listed; other parts that fail are reported in `errors`.
pub async fn load_cluster(target: &EcsTarget) -> anyhow::Result<ClusterData> {
    let aws = Aws::connect(target).await;
    let cluster = cluster_name(&aws).await?;
    let snapshot = Refresher::default().refresh(&aws, &cluster).await;
    if let Some(error) = snapshot.errors.get(&Section::Services) {
        anyhow::bail!("{error}");
    }
    let mut data = ClusterData::default();
    data.apply(snapshot, Utc::now());
    Ok(data)
}

#[derive(Debug, Serialize)]
pub struct EcsStatusJson {
    pub context: String,
    pub kind: &'static str,
    pub cluster: String,
    /// The cluster's registered capacity, in cores and bytes (1024 CPU units = 1 vCPU).
    pub host: EcsCapacityJson,
    pub services: Vec<EcsServiceJson>,
    pub nodes: Vec<EcsNode>,
    /// Parts of the cluster that could not be read, with why.
    pub errors: std::collections::BTreeMap<&'static str, String>,
    /// Requests the refresh sent.
    pub api_calls: u64,
}

#[derive(Debug, Serialize)]
pub struct EcsCapacityJson {
    pub cpus: f64,
    pub memory_bytes: u64,
    pub cpu_units: i64,
    pub memory_mib: i64,
    pub remaining_cpu_units: i64,
    pub remaining_memory_mib: i64,
}

#[derive(Debug, Serialize)]
pub struct EcsServiceJson {
    pub kind: &'static str,
    pub project: String,
    pub name: String,
    pub env: Option<Env>,
    pub status: String,
    pub replicas_running: i32,
    pub replicas_total: i32,
    pub replicas_pending: i32,
    /// From CloudWatch (service CPUUtilization × what the running tasks reserve); 100 = one core.
    pub cpu_percent: Option<f64>,
    /// Reserved by the running tasks: task CPU units / 1024 × running.
    pub cpu_limit_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    /// When CloudWatch's newest datapoint was taken: usage is minutes old.
    pub metrics_at: Option<DateTime<Utc>>,
    pub cpu_units_per_task: Option<i32>,
    pub memory_mib_per_task: Option<i32>,
    pub image: String,
    pub task_definition: String,
    pub deployments: Vec<EcsDeployment>,
    pub events: Vec<EcsEvent>,
    pub enable_execute_command: bool,
    pub tasks: Vec<EcsTask>,
    pub targets: Vec<TargetHealth>,
}

pub fn ecs_status_json(context: &Context, data: &ClusterData) -> EcsStatusJson {
    let sum = |f: fn(&EcsNode) -> i32| data.nodes.iter().map(|n| i64::from(f(n))).sum::<i64>();
    let cpu_units = sum(|n| n.registered_cpu_units);
    let memory_mib = sum(|n| n.registered_memory_mib);
    EcsStatusJson {
        context: context.name.clone(),
        kind: "ecs",
        cluster: data.cluster.clone(),
        host: EcsCapacityJson {
            cpus: cpu_units as f64 / 1024.0,
            memory_bytes: (memory_mib.max(0) as u64) << 20,
            cpu_units,
            memory_mib,
            remaining_cpu_units: sum(|n| n.remaining_cpu_units),
            remaining_memory_mib: sum(|n| n.remaining_memory_mib),
        },
        services: data
            .services
            .iter()
            .map(|s| {
                let (cpu_percent, memory_bytes) = data.usage(s);
                let (cpu_limit_cores, memory_limit_bytes) = data.reserved(s);
                EcsServiceJson {
                    kind: "ecs",
                    project: data.cluster.clone(),
                    name: s.name.clone(),
                    env: s.env,
                    status: s.status.clone(),
                    replicas_running: s.running,
                    replicas_total: s.desired,
                    replicas_pending: s.pending,
                    cpu_percent,
                    cpu_limit_cores,
                    memory_bytes,
                    memory_limit_bytes,
                    metrics_at: data.metrics.get(&s.name).and_then(|m| m.at),
                    cpu_units_per_task: s.cpu_units,
                    memory_mib_per_task: s.memory_mib,
                    image: s.images().join(", "),
                    task_definition: s.task_definition.clone(),
                    deployments: s.deployments.clone(),
                    events: s.events.clone(),
                    enable_execute_command: s.enable_execute_command,
                    tasks: data.tasks_of(&s.name).into_iter().cloned().collect(),
                    targets: data.targets_of(s).into_iter().cloned().collect(),
                }
            })
            .collect(),
        nodes: data.nodes.clone(),
        errors: data
            .errors
            .iter()
            .map(|(section, error)| (section.label(), error.clone()))
            .collect(),
        api_calls: data.calls,
    }
}

pub fn print_ecs_status(
    out: &mut impl Write,
    context: &Context,
    data: &ClusterData,
    json: bool,
) -> std::io::Result<()> {
    let status = ecs_status_json(context, data);
    if json {
        serde_json::to_writer_pretty(&mut *out, &status)?;
        return writeln!(out);
    }
    writeln!(
        out,
        "context {} (ecs) · cluster {} · {} nodes, {:.2} vCPU ({} units) and {} MiB registered, {} units and {} MiB unreserved",
        status.context,
        status.cluster,
        status.nodes.len(),
        status.host.cpus,
        status.host.cpu_units,
        status.host.memory_mib,
        status.host.remaining_cpu_units,
        status.host.remaining_memory_mib
    )?;
    for (section, error) in &status.errors {
        writeln!(out, "! {section}: {error}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<32} {:<10} {:>9} {:<28} {:>9} {:>10} {:>8}",
        "SERVICE", "STATUS", "RUN/WANT", "TASK DEFINITION", "CPU UNITS", "MEMORY MiB", "TARGETS"
    )?;
    for s in &status.services {
        let healthy = s.targets.iter().filter(|t| t.state == "healthy").count();
        writeln!(
            out,
            "{:<32} {:<10} {:>9} {:<28} {:>9} {:>10} {:>8}",
            s.name,
            s.status,
            format!("{}/{}", s.replicas_running, s.replicas_total),
            s.task_definition,
            s.cpu_units_per_task.map_or("-".into(), |u| u.to_string()),
            s.memory_mib_per_task.map_or("-".into(), |m| m.to_string()),
            if s.targets.is_empty() {
                "-".to_string()
            } else {
                format!("{healthy}/{}", s.targets.len())
            }
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<22} {:<14} {:<10} {:<6} {:>16} {:>18} {:>6}",
        "NODE", "AZ", "TYPE", "AGENT", "CPU unreserved", "MiB unreserved", "TASKS"
    )?;
    for n in &status.nodes {
        writeln!(
            out,
            "{:<22} {:<14} {:<10} {:<6} {:>16} {:>18} {:>6}",
            n.instance_id,
            n.availability_zone.as_deref().unwrap_or("-"),
            n.instance_type.as_deref().unwrap_or("-"),
            if n.agent_connected { "ok" } else { "LOST" },
            format!("{}/{}", n.remaining_cpu_units, n.registered_cpu_units),
            format!("{}/{}", n.remaining_memory_mib, n.registered_memory_mib),
            n.running_tasks
        )?;
    }
    Ok(())
}
