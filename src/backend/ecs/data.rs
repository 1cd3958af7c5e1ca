//! What is known of a cluster: every refresh merged in. A part that failed keeps what the last
//! good refresh read, with the error beside it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{EcsNode, EcsService, EcsSnapshot, EcsTask, Section, ServiceMetrics, TargetHealth};

#[derive(Debug, Clone, Default)]
pub struct ClusterData {
    pub cluster: String,
    pub services: Vec<EcsService>,
    pub tasks: Vec<EcsTask>,
    pub nodes: Vec<EcsNode>,
    pub targets: BTreeMap<String, Vec<TargetHealth>>,
    pub metrics: HashMap<String, ServiceMetrics>,
    /// The parts whose last read failed, with why.
    pub errors: BTreeMap<Section, String>,
    /// Requests the last refresh sent, and how long it took.
    pub calls: u64,
    pub took: Duration,
    pub updated_at: Option<DateTime<Utc>>,
    /// How many refreshes arrived.
    pub refreshes: u64,
}

impl ClusterData {
    pub fn apply(&mut self, snapshot: EcsSnapshot, now: DateTime<Utc>) {
        if !snapshot.cluster.is_empty() {
            self.cluster = snapshot.cluster;
        }
        if let Some(services) = snapshot.services {
            self.services = services;
        }
        if let Some(tasks) = snapshot.tasks {
            self.tasks = tasks;
        }
        if let Some(nodes) = snapshot.nodes {
            self.nodes = nodes;
        }
        if let Some(targets) = snapshot.targets {
            self.targets = targets;
        }
        if let Some(metrics) = snapshot.metrics {
            self.metrics = metrics;
        }
        self.errors = snapshot.errors;
        self.calls = snapshot.calls;
        self.took = snapshot.took;
        self.updated_at = Some(now);
        self.refreshes += 1;
    }

    pub fn service(&self, name: &str) -> Option<&EcsService> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service's tasks, running ones first.
    pub fn tasks_of(&self, service: &str) -> Vec<&EcsTask> {
        self.tasks
            .iter()
            .filter(|t| t.service.as_deref() == Some(service))
            .collect()
    }

    pub fn node_of(&self, task: &EcsTask) -> Option<&EcsNode> {
        let id = task.container_instance.as_deref()?;
        self.nodes.iter().find(|n| n.container_instance == id)
    }

    /// The ALB targets of the service's target groups.
    pub fn targets_of(&self, service: &EcsService) -> Vec<&TargetHealth> {
        service
            .target_groups
            .iter()
            .filter_map(|group| self.targets.get(group))
            .flatten()
            .collect()
    }

    /// The targets that are this task.
    pub fn targets_of_task(&self, service: &EcsService, task: &EcsTask) -> Vec<&TargetHealth> {
        self.targets_of(service)
            .into_iter()
            .filter(|t| t.is_task(task, &self.nodes))
            .collect()
    }

    /// CPU (100 = one core) and memory in bytes the service uses, from its CloudWatch
    /// utilization of what its running tasks reserve.
    pub fn usage(&self, service: &EcsService) -> (Option<f64>, Option<u64>) {
        let Some(metrics) = self.metrics.get(&service.name) else {
            return (None, None);
        };
        let (cpu_reserved, memory_reserved) = self.reserved(service);
        let cpu = metrics
            .cpu_percent
            .zip(cpu_reserved)
            .map(|(percent, cores)| percent * cores);
        let memory = metrics
            .memory_percent
            .zip(memory_reserved)
            .map(|(percent, bytes)| (percent / 100.0 * bytes as f64) as u64);
        (cpu, memory)
    }
}

impl ClusterData {
    /// What the service's running tasks reserve, in cores and bytes: its task size times the
    /// RUNNING tasks listed (or, before tasks were read, the service's running count).
    pub fn reserved(&self, service: &EcsService) -> (Option<f64>, Option<u64>) {
        let listed = self
            .tasks
            .iter()
            .filter(|t| t.service.as_deref() == Some(service.name.as_str()) && t.is_running())
            .count();
        let running = if self.tasks.is_empty() {
            service.running.max(0)
        } else {
            i32::try_from(listed).unwrap_or(i32::MAX)
        };
        reserved(service, running)
    }
}

/// What `running` tasks of the service reserve: cores and bytes.
pub fn reserved(service: &EcsService, running: i32) -> (Option<f64>, Option<u64>) {
    let running = running.max(0);
    (
        service
            .cpu_units
            .map(|u| f64::from(u) / 1024.0 * f64::from(running)),
        service
            .memory_mib
            .map(|m| (u64::from(m.max(0) as u32) * u64::from(running as u32)) << 20),
    )
}
