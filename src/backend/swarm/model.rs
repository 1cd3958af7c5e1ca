//! A swarm as dokk shows it: nodes, services and their tasks, read from the manager's JSON
//! (`GET /nodes`, `/services?status=true`, `/tasks`). Fields the engine leaves out are
//! empty, never an error: a swarm on an older engine lacks some.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::TraefikRouter;

const NANO: f64 = 1e9;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// "manager" or "worker".
    pub role: String,
    pub leader: bool,
    /// A manager's reachability: "reachable", "unreachable", "unknown".
    pub reachability: Option<String>,
    /// "active", "pause", "drain".
    pub availability: String,
    /// "ready", "down", "unknown", "disconnected".
    pub state: String,
    pub message: String,
    pub addr: String,
    pub engine_version: String,
    pub labels: BTreeMap<String, String>,
    pub engine_labels: BTreeMap<String, String>,
    pub os: String,
    pub arch: String,
    pub cpus: f64,
    pub memory_bytes: u64,
    /// The manager's own version of this node, for updates.
    #[serde(skip)]
    pub version: u64,
}

impl SwarmNode {
    pub fn is_manager(&self) -> bool {
        self.role == "manager"
    }

    pub fn is_ready(&self) -> bool {
        self.state == "ready"
    }

    /// `zone` from the node labels (the usual placement label), else a `*zone*` label.
    pub fn zone(&self) -> Option<&str> {
        self.labels
            .get("zone")
            .or_else(|| {
                self.labels
                    .iter()
                    .find(|(k, _)| k.contains("zone"))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "replicas")]
pub enum Mode {
    Replicated(u64),
    Global,
    ReplicatedJob(u64),
    GlobalJob,
}

impl Mode {
    pub fn label(&self) -> &'static str {
        match self {
            Mode::Replicated(_) => "replicated",
            Mode::Global => "global",
            Mode::ReplicatedJob(_) => "job",
            Mode::GlobalJob => "global-job",
        }
    }
}

/// How Swarm replaces tasks on an update (or a rollback).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UpdatePolicy {
    pub parallelism: u64,
    pub delay_s: f64,
    /// "pause", "continue", "rollback".
    pub failure_action: String,
    pub monitor_s: f64,
    pub max_failure_ratio: f64,
    /// "stop-first" or "start-first".
    pub order: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UpdateStatus {
    /// "updating", "paused", "completed", "rollback_started", "rollback_paused",
    /// "rollback_completed".
    pub state: String,
    pub message: String,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Resources {
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PublishedPort {
    pub published: u64,
    pub target: u64,
    pub protocol: String,
    /// "ingress" or "host".
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    /// `com.docker.stack.namespace`.
    pub stack: Option<String>,
    pub mode: Mode,
    pub image: String,
    /// The service's own labels (a stack file's `deploy.labels`: where Traefik reads routes).
    pub labels: BTreeMap<String, String>,
    pub limits: Resources,
    pub reservations: Resources,
    pub constraints: Vec<String>,
    /// Max replicas per node; 0 = no limit.
    pub max_per_node: u64,
    pub update: UpdatePolicy,
    pub rollback: UpdatePolicy,
    pub update_status: Option<UpdateStatus>,
    pub ports: Vec<PublishedPort>,
    /// What the manager counts (`status=true`): running and desired tasks.
    pub running: u64,
    pub desired: u64,
    pub version: u64,
    pub updated_at: Option<DateTime<Utc>>,
    /// Its containers run with a TTY: their logs come raw, not in the engine's frames.
    pub tty: bool,
}

impl SwarmService {
    /// The first `Host(...)` of its Traefik routers, from the service labels.
    pub fn route(&self) -> Option<String> {
        crate::model::traefik_routers(&self.labels)
            .iter()
            .find_map(|r: &TraefikRouter| r.hosts().into_iter().next())
    }

    /// The name inside its stack (`evergreen_web` → `web`).
    pub fn short_name(&self) -> &str {
        match &self.stack {
            Some(stack) => self
                .name
                .strip_prefix(stack.as_str())
                .and_then(|rest| rest.strip_prefix('_'))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SwarmTask {
    pub id: String,
    pub service_id: String,
    /// Replicated services number their tasks; a global service's task is its node's.
    pub slot: Option<u64>,
    pub node_id: Option<String>,
    /// "new" … "pending", "assigned", …, "running", "complete", "shutdown", "failed",
    /// "rejected", "remove", "orphaned".
    pub state: String,
    pub desired_state: String,
    pub message: String,
    pub error: Option<String>,
    pub exit_code: Option<i64>,
    pub container_id: Option<String>,
    pub image: String,
    pub reservations: Resources,
    pub limits: Resources,
    /// When the task reached its state.
    pub since: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

/// Task states in the scheduler's order (swarmkit `api.TaskState`).
const STATES: [&str; 15] = [
    "new",
    "allocated",
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "ready",
    "starting",
    "running",
    "complete",
    "shutdown",
    "failed",
    "rejected",
    "remove",
    "orphaned",
];

fn rank(state: &str) -> usize {
    STATES.iter().position(|s| *s == state).unwrap_or(0)
}

impl SwarmTask {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    /// Meant to run (not being shut down or removed).
    pub fn is_desired(&self) -> bool {
        rank(&self.desired_state) <= rank("running")
    }

    /// Holds its reservation on its node: the scheduler counts tasks from pending to running
    /// (swarmkit `manager/scheduler`), whatever their desired state.
    pub fn holds_resources(&self) -> bool {
        self.node_id.is_some() && (rank("pending")..=rank("running")).contains(&rank(&self.state))
    }

    pub fn short_id(&self) -> &str {
        self.id.get(..10).unwrap_or(&self.id)
    }

    /// The whole reason a task is not running: the error, else the manager's message.
    pub fn reason(&self) -> String {
        match &self.error {
            Some(error) if !error.is_empty() => error.clone(),
            _ => self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmState {
    pub nodes: Vec<SwarmNode>,
    pub services: Vec<SwarmService>,
    pub tasks: Vec<SwarmTask>,
}

impl SwarmState {
    pub fn node(&self, id: &str) -> Option<&SwarmNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn service_tasks<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a SwarmTask> + 'a {
        let id = id.to_string();
        self.tasks.iter().filter(move |t| t.service_id == id)
    }

    /// A service by its name or id (a stack's `web` too, when only one stack has it).
    pub fn find_service(&self, name: &str) -> Option<&SwarmService> {
        self.services
            .iter()
            .find(|s| s.name == name || s.id == name)
            .or_else(|| {
                let mut short = self.services.iter().filter(|s| s.short_name() == name);
                match (short.next(), short.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            })
    }

    /// CPU cores and memory reserved on a node: the sum over the tasks holding resources there.
    pub fn reserved_on(&self, node_id: &str) -> (f64, u64) {
        self.tasks
            .iter()
            .filter(|t| t.holds_resources() && t.node_id.as_deref() == Some(node_id))
            .fold((0.0, 0), |(cpu, memory), t| {
                (
                    cpu + t.reservations.cpu_cores.unwrap_or(0.0),
                    memory + t.reservations.memory_bytes.unwrap_or(0),
                )
            })
    }

    /// Why the swarm is fragile, worst first: lost quorum, a single manager, nodes down or
    /// drained.
    pub fn warnings(&self) -> Vec<String> {
        let managers: Vec<&SwarmNode> = self.nodes.iter().filter(|n| n.is_manager()).collect();
        let reachable = managers
            .iter()
            .filter(|n| n.reachability.as_deref() == Some("reachable"))
            .count();
        let mut warnings = Vec::new();
        if !managers.is_empty() && reachable * 2 <= managers.len() {
            warnings.push(format!(
                "quorum lost: {reachable} of {} managers reachable",
                managers.len()
            ));
        } else if managers.len() == 1 {
            warnings.push("single manager: no fault tolerance".to_string());
        }
        for node in &self.nodes {
            if let Some(reach) = node.reachability.as_deref().filter(|r| *r != "reachable") {
                warnings.push(format!("manager {} {reach}", node.hostname));
            }
            if !node.is_ready() {
                warnings.push(format!("{} {}", node.hostname, node.state));
            } else if node.availability != "active" {
                warnings.push(format!("{} {}", node.hostname, node.availability));
            }
        }
        warnings
    }
}

// The engine's JSON, as much of it as dokk reads.

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Version {
    index: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawNode {
    #[serde(rename = "ID")]
    id: String,
    version: Version,
    spec: RawNodeSpec,
    description: RawNodeDescription,
    status: RawNodeStatus,
    manager_status: Option<RawManagerStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNodeSpec {
    labels: BTreeMap<String, String>,
    role: String,
    availability: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNodeDescription {
    hostname: String,
    platform: RawPlatform,
    resources: RawResources,
    engine: RawEngine,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawPlatform {
    architecture: String,
    #[serde(rename = "OS")]
    os: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawResources {
    #[serde(rename = "NanoCPUs")]
    nano_cpus: Option<i64>,
    memory_bytes: Option<i64>,
}

impl RawResources {
    fn resources(&self) -> Resources {
        Resources {
            cpu_cores: self.nano_cpus.filter(|n| *n > 0).map(|n| n as f64 / NANO),
            memory_bytes: self.memory_bytes.filter(|n| *n > 0).map(|n| n as u64),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawEngine {
    engine_version: String,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNodeStatus {
    state: String,
    message: String,
    addr: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawManagerStatus {
    leader: bool,
    reachability: String,
}

impl From<RawNode> for SwarmNode {
    fn from(raw: RawNode) -> SwarmNode {
        let resources = raw.description.resources.resources();
        SwarmNode {
            id: raw.id,
            hostname: raw.description.hostname,
            role: raw.spec.role,
            leader: raw.manager_status.as_ref().is_some_and(|m| m.leader),
            reachability: raw.manager_status.map(|m| m.reachability),
            availability: raw.spec.availability,
            state: raw.status.state,
            message: raw.status.message,
            addr: raw.status.addr,
            engine_version: raw.description.engine.engine_version,
            labels: raw.spec.labels,
            engine_labels: raw.description.engine.labels,
            os: raw.description.platform.os,
            arch: raw.description.platform.architecture,
            cpus: resources.cpu_cores.unwrap_or(0.0),
            memory_bytes: resources.memory_bytes.unwrap_or(0),
            version: raw.version.index,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawService {
    #[serde(rename = "ID")]
    id: String,
    version: Version,
    updated_at: Option<DateTime<Utc>>,
    spec: RawServiceSpec,
    endpoint: RawEndpoint,
    update_status: Option<RawUpdateStatus>,
    service_status: Option<RawServiceStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawServiceSpec {
    name: String,
    labels: BTreeMap<String, String>,
    task_template: RawTaskSpec,
    mode: serde_json::Value,
    update_config: Option<RawUpdateConfig>,
    rollback_config: Option<RawUpdateConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawTaskSpec {
    container_spec: RawContainerSpec,
    resources: RawTaskResources,
    placement: RawPlacement,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawContainerSpec {
    image: String,
    #[serde(rename = "TTY")]
    tty: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawTaskResources {
    limits: RawResources,
    reservations: RawResources,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawPlacement {
    constraints: Vec<String>,
    max_replicas: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawUpdateConfig {
    parallelism: u64,
    delay: i64,
    failure_action: String,
    monitor: i64,
    max_failure_ratio: f64,
    order: String,
}

impl RawUpdateConfig {
    /// The engine's defaults fill what the spec leaves out (`docker service create`).
    fn policy(this: Option<RawUpdateConfig>) -> UpdatePolicy {
        let raw = this.unwrap_or(RawUpdateConfig {
            parallelism: 1,
            ..RawUpdateConfig::default()
        });
        UpdatePolicy {
            parallelism: raw.parallelism,
            delay_s: raw.delay as f64 / NANO,
            failure_action: if raw.failure_action.is_empty() {
                "pause".into()
            } else {
                raw.failure_action
            },
            monitor_s: if raw.monitor > 0 {
                raw.monitor as f64 / NANO
            } else {
                5.0
            },
            max_failure_ratio: raw.max_failure_ratio,
            order: if raw.order.is_empty() {
                "stop-first".into()
            } else {
                raw.order
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawEndpoint {
    ports: Vec<RawPort>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawPort {
    protocol: String,
    target_port: u64,
    published_port: u64,
    publish_mode: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawUpdateStatus {
    state: String,
    message: String,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawServiceStatus {
    running_tasks: u64,
    desired_tasks: u64,
}

fn mode(value: &serde_json::Value) -> Mode {
    let replicas = |key: &str, field: &str| {
        value
            .get(key)
            .and_then(|m| m.get(field))
            .and_then(|n| n.as_u64())
            .unwrap_or(1)
    };
    if value.get("Global").is_some() {
        Mode::Global
    } else if value.get("GlobalJob").is_some() {
        Mode::GlobalJob
    } else if value.get("ReplicatedJob").is_some() {
        Mode::ReplicatedJob(replicas("ReplicatedJob", "TotalCompletions"))
    } else {
        Mode::Replicated(replicas("Replicated", "Replicas"))
    }
}

impl From<RawService> for SwarmService {
    fn from(raw: RawService) -> SwarmService {
        let spec = raw.spec;
        let template = spec.task_template;
        let status = raw.service_status.unwrap_or_default();
        SwarmService {
            id: raw.id,
            stack: spec.labels.get("com.docker.stack.namespace").cloned(),
            name: spec.name,
            mode: mode(&spec.mode),
            image: strip_digest(&template.container_spec.image),
            tty: template.container_spec.tty,
            labels: spec.labels,
            limits: template.resources.limits.resources(),
            reservations: template.resources.reservations.resources(),
            constraints: template.placement.constraints,
            max_per_node: template.placement.max_replicas,
            update: RawUpdateConfig::policy(spec.update_config),
            rollback: RawUpdateConfig::policy(spec.rollback_config),
            update_status: raw.update_status.map(|u| UpdateStatus {
                state: u.state,
                message: u.message,
                started_at: u.started_at,
                completed_at: u.completed_at,
            }),
            ports: raw
                .endpoint
                .ports
                .into_iter()
                .map(|p| PublishedPort {
                    published: p.published_port,
                    target: p.target_port,
                    protocol: p.protocol,
                    mode: p.publish_mode,
                })
                .collect(),
            running: status.running_tasks,
            desired: status.desired_tasks,
            version: raw.version.index,
            updated_at: raw.updated_at,
        }
    }
}

/// `image:tag@sha256:…` → `image:tag`: the digest a manager pins is noise on screen.
pub fn strip_digest(image: &str) -> String {
    image.split('@').next().unwrap_or(image).to_string()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawTask {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ServiceID")]
    service_id: String,
    slot: Option<u64>,
    #[serde(rename = "NodeID")]
    node_id: Option<String>,
    created_at: Option<DateTime<Utc>>,
    spec: RawTaskSpec,
    status: RawTaskStatus,
    desired_state: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawTaskStatus {
    timestamp: Option<DateTime<Utc>>,
    state: String,
    message: String,
    err: Option<String>,
    container_status: RawContainerStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawContainerStatus {
    #[serde(rename = "ContainerID")]
    container_id: Option<String>,
    exit_code: Option<i64>,
}

impl From<RawTask> for SwarmTask {
    fn from(raw: RawTask) -> SwarmTask {
        let status = raw.status;
        SwarmTask {
            id: raw.id,
            service_id: raw.service_id,
            slot: raw.slot.filter(|s| *s > 0),
            node_id: raw.node_id.filter(|n| !n.is_empty()),
            state: status.state,
            desired_state: raw.desired_state,
            message: status.message,
            error: status.err.filter(|e| !e.is_empty()),
            exit_code: status.container_status.exit_code,
            container_id: status
                .container_status
                .container_id
                .filter(|c| !c.is_empty()),
            image: strip_digest(&raw.spec.container_spec.image),
            reservations: raw.spec.resources.reservations.resources(),
            limits: raw.spec.resources.limits.resources(),
            since: status.timestamp,
            created_at: raw.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_reads_from_the_engine_json_and_keeps_what_it_lacks_empty() {
        let json = r#"{"ID":"s1","Version":{"Index":42},"Spec":{"Name":"evergreen_web",
            "Labels":{"com.docker.stack.namespace":"evergreen",
                      "traefik.http.routers.web.rule":"Host(`grades.example.edu`)"},
            "TaskTemplate":{"ContainerSpec":{"Image":"app:v1@sha256:abc","Healthcheck":{"Test":["CMD","true"]}},
              "Resources":{"Limits":{"NanoCPUs":500000000,"MemoryBytes":134217728},
                           "Reservations":{"NanoCPUs":250000000}},
              "Placement":{"Constraints":["node.labels.zone!=c"],"MaxReplicas":1}},
            "Mode":{"Replicated":{"Replicas":3}},
            "UpdateConfig":{"Parallelism":1,"FailureAction":"rollback","Order":"start-first"}},
            "ServiceStatus":{"RunningTasks":2,"DesiredTasks":3},
            "UpdateStatus":{"State":"rollback_completed","Message":"rollback completed"}}"#;
        let raw: RawService = serde_json::from_str(json).expect("service JSON");
        let service = SwarmService::from(raw);
        assert_eq!(service.stack.as_deref(), Some("evergreen"));
        assert_eq!(service.short_name(), "web");
        assert_eq!(service.mode, Mode::Replicated(3));
        assert_eq!(service.image, "app:v1");
        assert_eq!(service.limits.cpu_cores, Some(0.5));
        assert_eq!(service.reservations.cpu_cores, Some(0.25));
        assert_eq!(service.reservations.memory_bytes, None);
        assert_eq!(service.max_per_node, 1);
        assert_eq!(service.update.order, "start-first");
        assert_eq!(service.rollback.failure_action, "pause");
        assert_eq!(
            (service.running, service.desired, service.version),
            (2, 3, 42)
        );
        assert_eq!(service.route().as_deref(), Some("grades.example.edu"));
        let odd: RawService =
            serde_json::from_str(r#"{"Spec":{"Mode":{"Global":{}}}}"#).expect("a sparse service");
        assert_eq!(SwarmService::from(odd).mode, Mode::Global);
    }

    #[test]
    fn reservations_count_tasks_from_pending_to_running_only() {
        let task = |state: &str, node: Option<&str>| SwarmTask {
            state: state.into(),
            desired_state: "running".into(),
            node_id: node.map(str::to_string),
            reservations: Resources {
                cpu_cores: Some(0.5),
                memory_bytes: Some(100),
            },
            ..SwarmTask::default()
        };
        let state = SwarmState {
            tasks: vec![
                task("running", Some("n1")),
                task("assigned", Some("n1")),
                task("shutdown", Some("n1")),
                task("failed", Some("n1")),
                task("running", Some("n2")),
                task("pending", None),
            ],
            ..SwarmState::default()
        };
        assert_eq!(state.reserved_on("n1"), (1.0, 200));
        assert_eq!(state.reserved_on("n2"), (0.5, 100));
    }

    #[test]
    fn warnings_name_single_manager_lost_quorum_and_unhealthy_nodes() {
        let node =
            |host: &str, role: &str, reach: Option<&str>, state: &str, avail: &str| SwarmNode {
                hostname: host.into(),
                role: role.into(),
                reachability: reach.map(str::to_string),
                state: state.into(),
                availability: avail.into(),
                ..SwarmNode::default()
            };
        let single = SwarmState {
            nodes: vec![
                node("m1", "manager", Some("reachable"), "ready", "active"),
                node("w1", "worker", None, "down", "active"),
                node("w2", "worker", None, "ready", "drain"),
            ],
            ..SwarmState::default()
        };
        assert_eq!(
            single.warnings(),
            ["single manager: no fault tolerance", "w1 down", "w2 drain"]
        );
        let lost = SwarmState {
            nodes: vec![
                node("m1", "manager", Some("reachable"), "ready", "active"),
                node("m2", "manager", Some("unreachable"), "down", "active"),
                node("m3", "manager", Some("unreachable"), "down", "active"),
            ],
            ..SwarmState::default()
        };
        assert_eq!(lost.warnings()[0], "quorum lost: 1 of 3 managers reachable");
        let one_down = SwarmState {
            nodes: vec![
                node("m1", "manager", Some("reachable"), "ready", "active"),
                node("m2", "manager", Some("reachable"), "ready", "active"),
                node("m3", "manager", Some("unreachable"), "down", "active"),
            ],
            ..SwarmState::default()
        };
        assert_eq!(one_down.warnings(), ["manager m3 unreachable", "m3 down"]);
    }
}
