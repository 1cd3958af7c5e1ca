//! What a backend knows about the fleet at one moment.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Container, Usage};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostInfo {
    pub name: String,
    pub engine_version: String,
    pub api_version: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    pub os: String,
}

/// An owned snapshot, sent from a backend task to the UI.
#[derive(Debug, Clone, Default)]
pub struct FleetSnapshot {
    pub host: HostInfo,
    pub containers: Arc<Vec<Container>>,
    pub usage: Arc<HashMap<String, Usage>>,
    /// How the running containers' usage is being sampled.
    pub sampling: Sampling,
}

/// Running containers by how their usage is read: from their cgroup files (dokk is on the
/// engine's host, and costs the engine nothing) or by asking the engine for a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sampling {
    pub from_cgroups: usize,
    pub polled: usize,
    /// Polled containers off screen are sampled once in this many refreshes.
    pub off_screen_every: Option<u32>,
    /// The cgroup files are read on the engine's host, through its SSH connection.
    pub over_ssh: bool,
    /// Why every container is polled, when none can be read from its cgroup files.
    pub why_polled: Option<&'static str>,
}

impl Sampling {
    pub fn total(&self) -> usize {
        self.from_cgroups + self.polled
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionState {
    Connecting,
    Live,
    Disconnected {
        error: String,
        since: chrono::DateTime<chrono::Utc>,
    },
}

/// What the running containers claim and use, against the host: the seed's rule is that the
/// sum of limits must not exceed the instance.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Allocation {
    pub cpu_limit_cores: f64,
    pub memory_limit_bytes: u64,
    pub cpu_used_percent: f64,
    pub memory_used_bytes: u64,
    /// Running containers without a CPU or memory limit: they can take the whole host.
    pub unlimited: Vec<String>,
    pub running: usize,
    pub total: usize,
}

impl Allocation {
    pub fn of(containers: &[Container], usage: &HashMap<String, Usage>) -> Allocation {
        let mut allocation = Allocation {
            total: containers.len(),
            ..Allocation::default()
        };
        for container in containers.iter().filter(|c| c.is_running()) {
            allocation.running += 1;
            allocation.cpu_limit_cores += container.limits.cpu_cores.unwrap_or(0.0);
            allocation.memory_limit_bytes += container.limits.memory_bytes.unwrap_or(0);
            if container.limits.cpu_cores.is_none() || container.limits.memory_bytes.is_none() {
                allocation.unlimited.push(container.name.clone());
            }
            if let Some(sample) = usage.get(&container.id) {
                allocation.cpu_used_percent += sample.cpu_percent;
                allocation.memory_used_bytes += sample.memory_bytes;
            }
        }
        allocation
    }

    pub fn cpu_overcommitted(&self, host: &HostInfo) -> bool {
        host.cpus > 0 && self.cpu_limit_cores > f64::from(host.cpus) + 1e-9
    }

    pub fn memory_overcommitted(&self, host: &HostInfo) -> bool {
        host.memory_bytes > 0 && self.memory_limit_bytes > host.memory_bytes
    }
}
