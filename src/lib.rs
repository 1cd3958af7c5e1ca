//! dokk: a terminal operations console for container fleets.

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod guard;
pub mod model;
pub mod tui;
pub mod ui;
#[cfg(test)]
pub mod fixtures;
