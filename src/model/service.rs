//! Grouping containers into services, by Compose labels (never by container name).

use std::collections::{BTreeMap, HashMap};

use super::{Container, Env, Usage};

/// Where a group of containers sits: a Compose project and service, or a standalone container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// `None`: standalone containers.
    pub project: Option<String>,
    pub name: String,
}

impl ServiceKey {
    pub fn project_label(&self) -> &str {
        self.project.as_deref().unwrap_or(STANDALONE)
    }

    /// `project/service`, as the logs title and `dokk logs` name it.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.project_label(), self.name)
    }

    /// How a replica's log lines are tagged: `service.N` for Compose, the name otherwise.
    pub fn replica_tag(&self, container: &Container) -> String {
        match container.replica_number {
            Some(n) if self.project.is_some() => format!("{}.{n}", self.name),
            _ => container.name.clone(),
        }
    }
}

pub const STANDALONE: &str = "standalone";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check configured.
    #[default]
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::None => "none",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Every replica runs.
    Running,
    /// Some replicas run, some do not.
    Degraded,
    Restarting,
    Paused,
    /// No replica runs.
    Stopped,
}

impl ServiceState {
    pub fn label(self) -> &'static str {
        match self {
            ServiceState::Running => "running",
            ServiceState::Degraded => "degraded",
            ServiceState::Restarting => "restarting",
            ServiceState::Paused => "paused",
            ServiceState::Stopped => "stopped",
        }
    }
}

/// One row of the fleet: a Compose service with its replicas, or one standalone container.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub key: ServiceKey,
    pub app: String,
    pub env: Option<Env>,
    pub state: ServiceState,
    pub health: Health,
    pub replicas_running: usize,
    pub replicas_total: usize,
    /// CPU used by the running replicas, 100 = one core. `None` until a sample arrived.
    pub cpu_percent: Option<f64>,
    /// Sum of the running replicas' CPU limits in cores; `None` when any of them has none.
    pub cpu_limit_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    /// The limits of the replicas that have a usage sample: what `cpu_percent` and
    /// `memory_bytes` are measured against while a new replica has no sample yet.
    pub sampled_limits: (Option<f64>, Option<u64>),
    pub restarts: i64,
    /// The most recent start among running replicas.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub image: String,
    /// First `Host(...)` of its Traefik routers, if any.
    pub route: Option<String>,
    /// Container ids, by replica number.
    pub containers: Vec<String>,
}

impl Service {
    /// CPU used as a share of the limit, in percent.
    pub fn cpu_of_limit(&self) -> Option<f64> {
        let (used, limit) = (self.cpu_percent?, self.sampled_limits.0?);
        (limit > 0.0).then(|| used / limit)
    }

    pub fn memory_of_limit(&self) -> Option<f64> {
        let (used, limit) = (self.memory_bytes?, self.sampled_limits.1?);
        (limit > 0).then(|| used as f64 * 100.0 / limit as f64)
    }

    pub fn has_limits(&self) -> bool {
        self.cpu_limit_cores.is_some() && self.memory_limit_bytes.is_some()
    }
}

/// Groups containers into services: Compose services by their labels, the rest one row each
/// under "standalone". The result is ordered by project, then service name.
pub fn group_services(containers: &[Container], usage: &HashMap<String, Usage>) -> Vec<Service> {
    let mut groups: BTreeMap<ServiceKey, Vec<&Container>> = BTreeMap::new();
    for container in containers {
        let key = match (&container.project, &container.service) {
            (Some(project), Some(service)) if !container.oneoff => ServiceKey {
                project: Some(project.clone()),
                name: service.clone(),
            },
            (Some(project), Some(service)) => ServiceKey {
                project: Some(project.clone()),
                name: format!("{service} (run {})", container.short_id()),
            },
            _ => ServiceKey {
                project: None,
                name: container.name.clone(),
            },
        };
        groups.entry(key).or_default().push(container);
    }
    groups
        .into_iter()
        .map(|(key, mut replicas)| {
            replicas.sort_by_key(|c| (c.replica_number.unwrap_or(0), c.name.clone()));
            aggregate(key, &replicas, usage)
        })
        .collect()
}

fn aggregate(key: ServiceKey, replicas: &[&Container], usage: &HashMap<String, Usage>) -> Service {
    let running: Vec<&Container> = replicas
        .iter()
        .copied()
        .filter(|c| c.is_running())
        .collect();
    let state = if !running.is_empty() && running.len() == replicas.len() {
        ServiceState::Running
    } else if replicas.iter().any(|c| c.state == "restarting") {
        ServiceState::Restarting
    } else if !running.is_empty() {
        ServiceState::Degraded
    } else if replicas.iter().any(|c| c.state == "paused") {
        ServiceState::Paused
    } else {
        ServiceState::Stopped
    };
    let health = running
        .iter()
        .map(|c| c.health)
        .max_by_key(|h| match h {
            Health::None => 0,
            Health::Healthy => 1,
            Health::Starting => 2,
            Health::Unhealthy => 3,
        })
        .unwrap_or(Health::None);

    // Limits of what runs; a stopped service shows what one replica would take.
    let limited: &[&Container] = if running.is_empty() {
        replicas.get(..1).unwrap_or_default()
    } else {
        &running
    };
    let cpu_limit_cores = limited
        .iter()
        .map(|c| c.limits.cpu_cores)
        .sum::<Option<f64>>();
    let memory_limit_bytes = limited
        .iter()
        .map(|c| c.limits.memory_bytes)
        .sum::<Option<u64>>();

    let sampled: Vec<&Container> = running
        .iter()
        .copied()
        .filter(|c| usage.contains_key(&c.id))
        .collect();
    let sampled_limits = (
        sampled
            .iter()
            .map(|c| c.limits.cpu_cores)
            .sum::<Option<f64>>(),
        sampled
            .iter()
            .map(|c| c.limits.memory_bytes)
            .sum::<Option<u64>>(),
    );
    let samples: Vec<&Usage> = sampled.iter().filter_map(|c| usage.get(&c.id)).collect();
    let (cpu_percent, memory_bytes) = if samples.is_empty() {
        (None, None)
    } else {
        (
            Some(samples.iter().map(|u| u.cpu_percent).sum()),
            Some(samples.iter().map(|u| u.memory_bytes).sum()),
        )
    };

    let mut images: Vec<&str> = replicas.iter().map(|c| c.image.as_str()).collect();
    images.sort_unstable();
    images.dedup();
    let image = match images.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
    };
    let route = replicas
        .iter()
        .flat_map(|c| super::traefik_routers(&c.labels))
        .find_map(|router| router.hosts().into_iter().next());
    let (app, env) = match &key.project {
        Some(_) => {
            let (app, env) = Env::split(&key.name);
            (app.to_string(), env)
        }
        None => (key.name.clone(), Env::split(&key.name).1),
    };
    Service {
        app,
        env,
        state,
        health,
        replicas_running: running.len(),
        replicas_total: replicas.len(),
        cpu_percent,
        cpu_limit_cores,
        memory_bytes,
        memory_limit_bytes,
        sampled_limits,
        restarts: replicas.iter().map(|c| c.restart_count).sum(),
        started_at: running.iter().filter_map(|c| c.started_at).max(),
        image,
        route,
        containers: replicas.iter().map(|c| c.id.clone()).collect(),
        key,
    }
}

/// The service a person named: `project/service`, or `service` when only one project has one
/// of that name. The error lists what there is to choose from.
pub fn find_service<'a>(services: &'a [Service], wanted: &str) -> Result<&'a Service, String> {
    let matching: Vec<&Service> = services
        .iter()
        .filter(|s| s.key.name == wanted || s.key.qualified() == wanted)
        .collect();
    let names = |list: Vec<&Service>| {
        list.iter()
            .map(|s| s.key.qualified())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no service `{wanted}`; services: {}",
            names(services.iter().collect())
        )),
        _ => Err(format!(
            "`{wanted}` is in several projects; name one of: {}",
            names(matching)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{Spec, container};

    #[test]
    fn a_service_is_found_by_name_or_project_and_name() {
        let containers = [
            container(&Spec {
                id: "a1",
                project: Some("evergreen"),
                service: "web",
                ..Spec::default()
            }),
            container(&Spec {
                id: "b1",
                project: Some("staging"),
                service: "web",
                ..Spec::default()
            }),
            container(&Spec {
                id: "c1",
                project: Some("evergreen"),
                service: "db",
                ..Spec::default()
            }),
        ];
        let services = group_services(&containers, &Default::default());
        let found = find_service(&services, "db").expect("one db");
        assert_eq!(found.key.qualified(), "evergreen/db");
        let found = find_service(&services, "staging/web").expect("qualified");
        assert_eq!(found.containers, ["b1"]);
        let several = find_service(&services, "web").expect_err("two webs");
        assert!(
            several.contains("several projects") && several.contains("evergreen/web, staging/web"),
            "{several}"
        );
        let none = find_service(&services, "api").expect_err("no api");
        assert!(none.starts_with("no service `api`; services: "), "{none}");
    }
}
