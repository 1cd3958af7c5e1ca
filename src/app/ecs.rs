//! The console on an ECS cluster: services → service (deployments, tasks, containers, target
//! health, events) and nodes. The state of those views and their keys.

use crossterm::event::{KeyCode, KeyEvent};

use super::keys::move_in;
use super::{Effect, State, View};
use crate::backend::deploy::Request;
use crate::backend::ecs::logs::sources;
use crate::backend::ecs::{ClusterData, EcsService, EcsTask};
use crate::backend::logs::LogScope;
use crate::backend::session::SessionScope;
use crate::config::Action;

#[derive(Debug, Default)]
pub struct EcsConsole {
    pub data: ClusterData,
    /// Services matching the filter, in name order (indices into `data.services`).
    pub rows: Vec<usize>,
    pub selected: usize,
    /// In a service's view: the selected task (index into its tasks) and container.
    pub task: usize,
    pub container: usize,
    pub node: usize,
}

impl EcsConsole {
    pub fn refresh_rows(&mut self, filter: &str) {
        let keep = self.selected_service().map(|s| s.name.clone());
        let needle = filter.to_lowercase();
        self.rows = (0..self.data.services.len())
            .filter(|&i| {
                let s = &self.data.services[i];
                needle.is_empty()
                    || s.name.to_lowercase().contains(&needle)
                    || s.task_definition.to_lowercase().contains(&needle)
            })
            .collect();
        if let Some(name) = keep
            && let Some(row) = self
                .rows
                .iter()
                .position(|&i| self.data.services[i].name == name)
        {
            self.selected = row;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.node = self.node.min(self.data.nodes.len().saturating_sub(1));
    }

    pub fn selected_service(&self) -> Option<&EcsService> {
        self.rows
            .get(self.selected)
            .and_then(|&i| self.data.services.get(i))
    }

    /// The task selected in `service`'s view.
    pub fn selected_task(&self, service: &str) -> Option<&EcsTask> {
        let tasks = self.data.tasks_of(service);
        tasks
            .get(self.task.min(tasks.len().saturating_sub(1)))
            .copied()
    }
}

pub fn on_services_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(ecs) = state.ecs.as_mut() else {
        return Vec::new();
    };
    if move_in(&mut ecs.selected, ecs.rows.len(), action) {
        return Vec::new();
    }
    match (action, key.code) {
        (Some(Action::Quit), _) => return vec![Effect::Quit],
        (_, KeyCode::Esc) if !state.filter.is_empty() => {
            state.filter.clear();
            ecs.refresh_rows("");
        }
        (Some(Action::Open), _) => {
            if let Some(service) = ecs.selected_service() {
                let name = service.name.clone();
                ecs.task = 0;
                ecs.container = 0;
                state.view = View::EcsService(name);
            }
        }
        (_, KeyCode::Char('n') | KeyCode::Tab) => state.view = View::EcsNodes,
        (Some(Action::Rollback), _) => {
            if let Some(service) = ecs.selected_service() {
                return vec![Effect::Plan(Request::Rollback {
                    service: service.name.clone(),
                    to: None,
                    order: None,
                })];
            }
        }
        (Some(Action::Deploy), _) => {
            if let Some(service) = ecs.selected_service() {
                let name = service.name.clone();
                let image = service
                    .images()
                    .first()
                    .map_or(String::new(), |i| i.to_string());
                return super::image_field::open(state, name, image);
            }
        }
        (Some(Action::History), _) => {
            if let Some(service) = ecs.selected_service() {
                return vec![Effect::ShowHistory {
                    service: service.name.clone(),
                }];
            }
        }
        (Some(Action::Logs), _) => {
            if let Some(name) = ecs.selected_service().map(|s| s.name.clone()) {
                return open_logs(state, &name, None);
            }
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_service_key(state: &mut State, name: &str, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(ecs) = state.ecs.as_mut() else {
        return Vec::new();
    };
    let tasks = ecs.data.tasks_of(name).len();
    if move_in(&mut ecs.task, tasks, action) {
        ecs.container = 0;
        return Vec::new();
    }
    match (action, key.code) {
        (Some(Action::Quit), _) | (_, KeyCode::Esc | KeyCode::Left) => {
            state.view = View::EcsServices
        }
        (_, KeyCode::Tab) => {
            let containers = ecs.selected_task(name).map_or(0, |t| t.containers.len());
            ecs.container = (ecs.container + 1) % containers.max(1);
        }
        (Some(Action::Logs), _) => return open_logs(state, name, None),
        (_, KeyCode::Char('L')) => {
            let task = ecs.selected_task(name).map(|t| t.id.clone());
            if let Some(task) = task {
                return open_logs(state, name, Some(task));
            }
        }
        (Some(Action::Shell), _) => {
            if let Some(task) = ecs.selected_task(name) {
                let container = task
                    .containers
                    .get(ecs.container)
                    .or(task.containers.first())
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                return vec![Effect::Session(SessionScope::Task {
                    cluster: ecs.data.cluster.clone(),
                    service: ecs.data.service(name).cloned().map(Box::new),
                    task: Box::new(task.clone()),
                    container,
                    command: "/bin/sh".into(),
                })];
            }
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_nodes_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(ecs) = state.ecs.as_mut() else {
        return Vec::new();
    };
    if move_in(&mut ecs.node, ecs.data.nodes.len(), action) {
        return Vec::new();
    }
    match (action, key.code) {
        (_, KeyCode::Esc | KeyCode::Char('n') | KeyCode::Tab | KeyCode::Left) => {
            state.view = View::EcsServices
        }
        (Some(Action::Quit), _) => return vec![Effect::Quit],
        (Some(Action::Shell), _) => {
            if let Some(node) = ecs.data.nodes.get(ecs.node) {
                return vec![Effect::Session(SessionScope::Node(Box::new(node.clone())))];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Opens the log view on a service's tasks (or one task), from CloudWatch.
fn open_logs(state: &mut State, service_name: &str, task: Option<String>) -> Vec<Effect> {
    let Some(ecs) = state.ecs.as_ref() else {
        return Vec::new();
    };
    let Some(service) = ecs.data.service(service_name) else {
        return Vec::new();
    };
    let all = ecs.data.tasks_of(service_name);
    let tasks: Vec<&EcsTask> = all
        .into_iter()
        .filter(|t| task.as_ref().is_none_or(|id| &t.id == id))
        .collect();
    if tasks.is_empty() {
        state.flash(format!("{service_name} has no tasks to read logs of"), true);
        return Vec::new();
    }
    let sources = match sources(service, &tasks, None) {
        Ok(sources) => sources,
        Err(message) => {
            state.flash(message, true);
            return Vec::new();
        }
    };
    let title = match &task {
        Some(id) => format!("{service_name} task {}", id.get(..8).unwrap_or(id)),
        None => format!("{service_name} ({} tasks)", tasks.len()),
    };
    super::logs::open_log_view(state, title, LogScope::Streams(sources))
}
