//! The Docker Swarm backend: a manager's nodes, services and tasks (three requests a refresh,
//! the fewest that show them), and each task's usage from its own node's engine.

pub mod capacity;
pub mod engine;
pub mod logs;
mod model;
pub mod usage;
mod watcher;

pub use engine::{Engine, EngineError};
pub use model::{
    Mode, PublishedPort, Resources, SwarmNode, SwarmService, SwarmState, SwarmTask, UpdatePolicy,
    UpdateStatus, strip_digest,
};
pub use usage::{NodeUsage, SwarmUsage, sample};
pub use watcher::{SwarmSnapshot, spawn_swarm_watcher};

use model::{RawNode, RawService, RawTask};

/// The manager's view of the swarm, in three requests.
pub async fn load(manager: &Engine) -> Result<SwarmState, EngineError> {
    let (nodes, services, tasks) = tokio::try_join!(
        manager.get::<Vec<RawNode>>("/nodes"),
        manager.get::<Vec<RawService>>("/services?status=true"),
        manager.get::<Vec<RawTask>>("/tasks"),
    )?;
    Ok(SwarmState::from_raw(nodes, services, tasks))
}

/// The manager's three answers as JSON text (`GET /nodes`, `/services?status=true`, `/tasks`).
pub fn from_json(nodes: &str, services: &str, tasks: &str) -> serde_json::Result<SwarmState> {
    Ok(SwarmState::from_raw(
        serde_json::from_str(nodes)?,
        serde_json::from_str(services)?,
        serde_json::from_str(tasks)?,
    ))
}

impl SwarmState {
    fn from_raw(nodes: Vec<RawNode>, services: Vec<RawService>, tasks: Vec<RawTask>) -> Self {
        let mut state = SwarmState {
            nodes: nodes.into_iter().map(SwarmNode::from).collect(),
            services: services.into_iter().map(SwarmService::from).collect(),
            tasks: tasks.into_iter().map(SwarmTask::from).collect(),
        };
        state
            .nodes
            .sort_by(|a, b| (!a.is_manager(), &a.hostname).cmp(&(!b.is_manager(), &b.hostname)));
        state.services.sort_by(|a, b| a.name.cmp(&b.name));
        state.tasks.sort_by(|a, b| {
            (&a.service_id, a.slot, &a.node_id, b.created_at).cmp(&(
                &b.service_id,
                b.slot,
                &b.node_id,
                a.created_at,
            ))
        });
        state
    }
}

/// What to do when the manager cannot be asked.
pub fn hint(error: &EngineError) -> &'static str {
    match error {
        EngineError::Api { status: 503, .. } => {
            "That engine is not a swarm manager (or the swarm lost quorum): point `host` at a manager."
        }
        EngineError::Unreachable(crate::backend::docker::DockerError::Unreachable {
            host, ..
        }) => crate::backend::docker::connection_hint(host),
        _ => "",
    }
}
