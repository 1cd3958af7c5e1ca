//! Data sources. Each runs as its own task and sends owned events on a channel; none of them
//! touches the UI.

pub mod docker;

use crate::model::{ConnectionState, FleetSnapshot};

#[derive(Debug)]
pub enum BackendEvent {
    Connection(ConnectionState),
    Snapshot(Box<FleetSnapshot>),
    Ecs(Box<ecs::EcsSnapshot>),
}
pub mod ecs;
