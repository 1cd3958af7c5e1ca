//! Data sources, and the one boundary the console, the CLI and capacity call them through:
//! `watch` a context, `logs` of a scope, a `session` for a scope, and `deploy` (revisions,
//! plan a change, apply a plan with progress). Each source runs as its own task and sends
//! owned events on a channel; none of them touches the UI. A context's platform is matched
//! in these entry points, not by their callers.

pub mod deploy;
pub mod docker;
pub mod ecs;
pub mod logs;
pub mod session;
pub mod swarm;

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, watch as latest};
use tokio::task::JoinHandle;

use crate::config::{Context, Target};
use crate::model::{ConnectionState, FleetSnapshot};

#[derive(Debug)]
pub enum BackendEvent {
    Connection(ConnectionState),
    Snapshot(Box<FleetSnapshot>),
    Ecs(Box<ecs::EcsSnapshot>),
    Swarm(Box<swarm::SwarmSnapshot>),
    SwarmUsage(Box<swarm::SwarmUsage>),
}

/// Tells the watcher which containers are on screen (they are sampled more often).
pub type OnScreenSender = latest::Sender<Option<Arc<HashSet<String>>>>;

/// A running watch of a context: its task (abort it to stop), its events, and where to say
/// what is on screen.
pub struct Watch {
    pub task: JoinHandle<()>,
    pub events: mpsc::Receiver<BackendEvent>,
    pub on_screen: OnScreenSender,
}

/// Starts watching the context's platform, refreshing as often as the context says.
pub fn watch(context: &Context) -> Watch {
    let (events_tx, events) = mpsc::channel::<BackendEvent>(64);
    let (on_screen, on_screen_rx) = latest::channel(None);
    let task = match &context.target {
        Target::Ecs(target) => ecs::spawn_ecs_watcher(target.clone(), context.refresh, events_tx),
        Target::Swarm(target) => {
            swarm::spawn_swarm_watcher(target.clone(), context.refresh, events_tx)
        }
        Target::Docker(target) => {
            let sampling =
                docker::SamplingOptions::for_host(&target.host).with_on_screen(on_screen_rx);
            docker::spawn_watcher(target.host.clone(), context.refresh, events_tx, sampling)
        }
    };
    Watch {
        task,
        events,
        on_screen,
    }
}
