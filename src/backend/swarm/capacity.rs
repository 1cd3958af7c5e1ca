//! Capacity by reservations, as the swarm scheduler decides (moby/swarmkit
//! `manager/scheduler/filter.go`, `manager/constraint`): a node takes a task when it is ready
//! and active, every placement constraint matches, its unreserved resources cover the task's
//! reservations, and the service's max-per-node is not reached.

use super::{SwarmNode, SwarmService, SwarmState};
use crate::ui::format::core_count;

/// How many more tasks of a service one node can take, and why it takes none.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeRoom {
    pub hostname: String,
    /// `None`: no limit (the service reserves nothing, and no max-per-node).
    pub room: Option<u64>,
    pub why_not: Option<String>,
    pub free_cpu_cores: f64,
    pub free_memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScaleFit {
    pub service: String,
    pub current: u64,
    pub wanted: u64,
    pub fits: bool,
    /// More nodes of the largest current size that would make it fit (0 when it does).
    pub nodes_needed: u64,
    pub nodes: Vec<NodeRoom>,
    /// What the scheduler will do that the operator may not expect.
    pub warnings: Vec<String>,
}

/// Does a node satisfy one `key==value` / `key!=value` constraint? Unknown keys never match,
/// values compare case-insensitively, label names exactly (as swarmkit does).
pub fn constraint_matches(constraint: &str, node: &SwarmNode) -> bool {
    let (key, equal, value) = match (constraint.split_once("=="), constraint.split_once("!=")) {
        (Some((k, v)), _) => (k, true, v),
        (None, Some((k, v))) => (k, false, v),
        (None, None) => return false,
    };
    let (key, value) = (key.trim(), value.trim());
    let lower = key.to_ascii_lowercase();
    let actual = match lower.as_str() {
        "node.id" => node.id.as_str(),
        "node.hostname" => node.hostname.as_str(),
        "node.role" => node.role.as_str(),
        "node.ip" => node.addr.as_str(),
        "node.platform.os" => node.os.as_str(),
        "node.platform.arch" => node.arch.as_str(),
        _ if lower.starts_with("node.labels.") => node
            .labels
            .get(&key["node.labels.".len()..])
            .map_or("", String::as_str),
        _ if lower.starts_with("engine.labels.") => node
            .engine_labels
            .get(&key["engine.labels.".len()..])
            .map_or("", String::as_str),
        _ => return false,
    };
    actual.eq_ignore_ascii_case(value) == equal
}

/// Why a node takes no task of `service` regardless of resources, if it does not.
pub fn ineligible(service: &SwarmService, node: &SwarmNode) -> Option<String> {
    if !node.is_ready() {
        return Some(format!("node {}", node.state));
    }
    if node.availability != "active" {
        return Some(format!("availability {}", node.availability));
    }
    service
        .constraints
        .iter()
        .find(|c| !constraint_matches(c, node))
        .map(|c| format!("constraint {c}"))
}

/// The room for more tasks of `service` on `node`, given what is reserved there now.
pub fn room_on(state: &SwarmState, service: &SwarmService, node: &SwarmNode) -> NodeRoom {
    let (reserved_cpu, reserved_memory) = state.reserved_on(&node.id);
    let free_cpu = (node.cpus - reserved_cpu).max(0.0);
    let free_memory = node.memory_bytes.saturating_sub(reserved_memory);
    let mut room = NodeRoom {
        hostname: node.hostname.clone(),
        room: Some(0),
        why_not: ineligible(service, node),
        free_cpu_cores: free_cpu,
        free_memory_bytes: free_memory,
    };
    if room.why_not.is_some() {
        return room;
    }
    let by_resources = tasks_fitting(service, free_cpu, free_memory);
    let mut fits = by_resources;
    if service.max_per_node > 0 {
        let here = state
            .service_tasks(&service.id)
            .filter(|t| t.is_desired() && t.node_id.as_deref() == Some(&node.id))
            .count() as u64;
        let left = service.max_per_node.saturating_sub(here);
        fits = Some(fits.map_or(left, |f| f.min(left)));
    }
    if fits == Some(0) {
        room.why_not = Some(if service.max_per_node > 0 && by_resources != Some(0) {
            format!("{} per node already", service.max_per_node)
        } else {
            "reservations do not fit".to_string()
        });
    }
    room.room = fits;
    room
}

/// Each node's room for more tasks of `service`, and their sum (`None`: no bound).
pub fn room_left(state: &SwarmState, service: &SwarmService) -> (Option<u64>, Vec<NodeRoom>) {
    let nodes: Vec<NodeRoom> = state
        .nodes
        .iter()
        .map(|node| room_on(state, service, node))
        .collect();
    let unbounded = nodes
        .iter()
        .any(|n| n.room.is_none() && n.why_not.is_none());
    let room = (!unbounded).then(|| nodes.iter().filter_map(|n| n.room).sum());
    (room, nodes)
}

/// Would `service` at `wanted` tasks fit, node by node?
pub fn fit_scale(state: &SwarmState, service: &SwarmService, wanted: u64) -> ScaleFit {
    let current = state
        .service_tasks(&service.id)
        .filter(|t| t.is_desired())
        .count() as u64;
    let (room, nodes) = room_left(state, service);
    let new_tasks = wanted.saturating_sub(current);
    let fits = room.is_none_or(|room| room >= new_tasks);
    let room = room.unwrap_or(u64::MAX);
    let mut warnings = Vec::new();
    if service.reservations.cpu_cores.is_none() && service.reservations.memory_bytes.is_none() {
        warnings.push(format!(
            "{} reserves nothing: the scheduler will over-commit",
            service.name
        ));
    }
    if let Some(limit) = service.limits.cpu_cores {
        for node in state
            .nodes
            .iter()
            .filter(|n| n.cpus > 0.0 && limit > n.cpus)
        {
            warnings.push(format!(
                "CPU limit {} above {}'s {} CPUs: the engine rejects the task there",
                core_count(limit),
                node.hostname,
                core_count(node.cpus)
            ));
        }
    }
    if service.update.order == "start-first" {
        warnings.push(format!(
            "start-first updates need room for {} extra task(s)",
            service.update.parallelism.max(1)
        ));
    }
    let nodes_needed = if fits {
        0
    } else {
        let per_node = largest_node(state, service)
            .map(|node| empty_node_room(service, node))
            .unwrap_or(0);
        if per_node == 0 {
            u64::MAX
        } else {
            (new_tasks - room).div_ceil(per_node)
        }
    };
    ScaleFit {
        service: service.name.clone(),
        current,
        wanted,
        fits,
        nodes_needed,
        nodes,
        warnings,
    }
}

/// The largest node the service may run on (as a new node like it would), else the largest.
fn largest_node<'a>(state: &'a SwarmState, service: &SwarmService) -> Option<&'a SwarmNode> {
    let allowed = |n: &&SwarmNode| service.constraints.iter().all(|c| constraint_matches(c, n));
    let pool: Vec<&SwarmNode> = if state.nodes.iter().any(|n| allowed(&n)) {
        state.nodes.iter().filter(allowed).collect()
    } else {
        state.nodes.iter().collect()
    };
    pool.into_iter().max_by(|a, b| {
        (a.cpus, a.memory_bytes)
            .partial_cmp(&(b.cpus, b.memory_bytes))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// Tasks of `service` an empty node the size of `node` would take.
fn empty_node_room(service: &SwarmService, node: &SwarmNode) -> u64 {
    let room = tasks_fitting(service, node.cpus, node.memory_bytes).unwrap_or(u64::MAX);
    match service.max_per_node {
        0 => room,
        max => room.min(max),
    }
}

/// How many of the service's reservations fit in `cpu` cores and `memory` bytes; `None`
/// when it reserves nothing.
fn tasks_fitting(service: &SwarmService, cpu: f64, memory: u64) -> Option<u64> {
    let by_cpu = service
        .reservations
        .cpu_cores
        .map(|reserved| ((cpu + 1e-9) / reserved).floor() as u64);
    let by_memory = service
        .reservations
        .memory_bytes
        .map(|reserved| memory / reserved.max(1));
    match (by_cpu, by_memory) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::swarm::{Mode, Resources, SwarmTask, UpdatePolicy};

    fn node(id: &str, cpus: f64, zone: &str) -> SwarmNode {
        SwarmNode {
            id: id.into(),
            hostname: format!("host-{id}"),
            role: "worker".into(),
            state: "ready".into(),
            availability: "active".into(),
            cpus,
            memory_bytes: 1 << 30,
            labels: [("zone".to_string(), zone.to_string())].into(),
            ..SwarmNode::default()
        }
    }

    fn service(cpu: f64, constraints: &[&str], max_per_node: u64) -> SwarmService {
        SwarmService {
            id: "svc".into(),
            name: "web".into(),
            stack: None,
            mode: Mode::Replicated(0),
            image: "app:v1".into(),
            labels: Default::default(),
            limits: Resources::default(),
            reservations: Resources {
                cpu_cores: Some(cpu),
                memory_bytes: None,
            },
            constraints: constraints.iter().map(|c| c.to_string()).collect(),
            max_per_node,
            update: UpdatePolicy::default(),
            rollback: UpdatePolicy::default(),
            update_status: None,
            ports: Vec::new(),
            running: 0,
            desired: 0,
            version: 1,
            updated_at: None,
            tty: false,
        }
    }

    #[test]
    fn constraints_match_as_swarmkit_matches_them() {
        let n = node("n1", 2.0, "eu-west-1a");
        assert!(constraint_matches("node.labels.zone==EU-WEST-1A", &n));
        assert!(constraint_matches("node.labels.zone != eu-west-1c", &n));
        assert!(!constraint_matches("node.labels.Zone==eu-west-1a", &n));
        assert!(constraint_matches("node.labels.rack!=r1", &n));
        assert!(constraint_matches("node.role==worker", &n));
        assert!(!constraint_matches("node.unknown==x", &n));
        assert!(!constraint_matches("nonsense", &n));
    }

    #[test]
    fn room_is_the_smallest_of_cpu_memory_and_max_per_node() {
        let mut state = SwarmState {
            nodes: vec![node("n1", 2.0, "a"), node("n2", 1.0, "b")],
            ..SwarmState::default()
        };
        state.tasks.push(SwarmTask {
            service_id: "other".into(),
            node_id: Some("n1".into()),
            state: "running".into(),
            desired_state: "running".into(),
            reservations: Resources {
                cpu_cores: Some(0.5),
                memory_bytes: None,
            },
            ..SwarmTask::default()
        });
        let web = service(0.5, &[], 0);
        let fit = fit_scale(&state, &web, 5);
        assert_eq!(
            fit.nodes.iter().map(|n| n.room).collect::<Vec<_>>(),
            [Some(3), Some(2)]
        );
        assert!(fit.fits);
        assert!(!fit_scale(&state, &web, 6).fits);
        assert_eq!(fit_scale(&state, &web, 6).nodes_needed, 1);
        let zoned = service(0.5, &["node.labels.zone==b"], 0);
        assert_eq!(fit_scale(&state, &zoned, 2).nodes[0].room, Some(0));
        assert!(fit_scale(&state, &zoned, 2).fits && !fit_scale(&state, &zoned, 3).fits);
        let spread = service(0.25, &[], 1);
        assert!(fit_scale(&state, &spread, 2).fits && !fit_scale(&state, &spread, 3).fits);
    }

    #[test]
    fn a_memory_only_reservation_that_does_not_fit_says_so() {
        let state = SwarmState {
            nodes: vec![node("n1", 2.0, "a")],
            ..SwarmState::default()
        };
        let mut big = service(0.0, &[], 2);
        big.reservations = Resources {
            cpu_cores: None,
            memory_bytes: Some(2 << 30),
        };
        let room = room_on(&state, &big, &state.nodes[0]);
        assert_eq!(room.room, Some(0));
        assert_eq!(room.why_not.as_deref(), Some("reservations do not fit"));
    }

    #[test]
    fn nodes_needed_counts_nodes_like_the_ones_the_service_may_use() {
        let state = SwarmState {
            nodes: vec![node("n1", 8.0, "a"), node("n2", 1.0, "b")],
            ..SwarmState::default()
        };
        let zoned = service(0.5, &["node.labels.zone==b"], 0);
        let fit = fit_scale(&state, &zoned, 6);
        assert!(!fit.fits);
        // n2 takes 2; 4 more need 2 nodes of n2's size, not 1 of n1's.
        assert_eq!(fit.nodes_needed, 2);
    }
}
