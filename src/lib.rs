//! dokk: a terminal operations console for container fleets.

pub mod app;
pub mod backend;
pub mod capacity;
pub mod cli;
pub mod config;
pub mod files;
#[cfg(test)]
pub mod fixtures;
pub mod guard;
pub mod logs;
pub mod model;
pub mod tui;
pub mod ui;
