//! Watches a swarm: the manager's state every refresh, and the nodes' usage beside it (a
//! round of engine samples takes about a second, so it does not hold up the manager's view).

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch as latest};
use tokio::task::JoinHandle;

use super::usage::NodeEngines;
use super::{Engine, SwarmNode, SwarmState, SwarmUsage, load};
use crate::backend::BackendEvent;
use crate::config::SwarmTarget;
use crate::model::ConnectionState;

/// One refresh of the manager's view.
#[derive(Debug, Clone, Default)]
pub struct SwarmSnapshot {
    pub state: SwarmState,
    /// Requests this refresh sent.
    pub calls: usize,
    pub took: Duration,
}

pub fn spawn_swarm_watcher(
    target: SwarmTarget,
    refresh: Duration,
    events: mpsc::Sender<BackendEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (nodes_tx, nodes_rx) = latest::channel(Vec::new());
        tokio::join!(
            watch_manager(&target, refresh, &events, nodes_tx),
            watch_usage(&target, refresh, &events, nodes_rx),
        );
    })
}

async fn watch_manager(
    target: &SwarmTarget,
    refresh: Duration,
    events: &mpsc::Sender<BackendEvent>,
    nodes: latest::Sender<Vec<SwarmNode>>,
) {
    let mut interval = tokio::time::interval(refresh);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut manager: Option<Engine> = None;
    loop {
        interval.tick().await;
        let started = Instant::now();
        let result = match &manager {
            Some(engine) => Ok(engine.clone()),
            None => Engine::connect(&target.host).await,
        };
        let result = match result {
            Ok(engine) => {
                let before = engine.calls();
                let loaded = load(&engine).await;
                let calls = engine.calls() - before;
                manager = Some(engine);
                loaded.map(|state| SwarmSnapshot {
                    state,
                    calls,
                    took: started.elapsed(),
                })
            }
            Err(error) => Err(error),
        };
        let event = match result {
            Ok(snapshot) => {
                nodes.send_replace(snapshot.state.nodes.clone());
                if events
                    .send(BackendEvent::Connection(ConnectionState::Live))
                    .await
                    .is_err()
                {
                    return;
                }
                BackendEvent::Swarm(Box::new(snapshot))
            }
            Err(error) => {
                manager = None;
                let hint = super::hint(&error);
                BackendEvent::Connection(ConnectionState::Disconnected {
                    error: format!("{error}. {hint}")
                        .trim_end_matches(". ")
                        .to_string(),
                    since: chrono::Utc::now(),
                })
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

async fn watch_usage(
    target: &SwarmTarget,
    refresh: Duration,
    events: &mpsc::Sender<BackendEvent>,
    mut nodes: latest::Receiver<Vec<SwarmNode>>,
) {
    let mut engines = NodeEngines::new();
    if nodes.changed().await.is_err() {
        return;
    }
    let mut interval = tokio::time::interval(refresh);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let current = nodes.borrow_and_update().clone();
        let usage: SwarmUsage = super::sample(target, &current, &mut engines).await;
        if events
            .send(BackendEvent::SwarmUsage(Box::new(usage)))
            .await
            .is_err()
        {
            return;
        }
    }
}
