//! The console on a swarm: stacks → services → a service's tasks by node, and nodes with what
//! is reserved on them. The state of those views and their keys.

use crossterm::event::{KeyCode, KeyEvent};

use super::keys::move_in;
use super::{Effect, State, View};
use crate::backend::deploy::Request;
use crate::backend::logs::LogScope;
use crate::backend::session::SessionScope;
use crate::backend::swarm::{SwarmService, SwarmSnapshot, SwarmState, SwarmTask, SwarmUsage};
use crate::config::Action;

#[derive(Debug, Default)]
pub struct SwarmConsole {
    pub state: SwarmState,
    pub usage: SwarmUsage,
    /// When the manager last answered.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Requests and time of the last refresh.
    pub calls: usize,
    pub took_ms: u128,
    /// Services matching the filter, by stack then name (indices into `state.services`).
    pub rows: Vec<usize>,
    pub selected: usize,
    /// In a service's view: the selected task (index into its tasks as shown).
    pub task: usize,
    pub node: usize,
}

impl SwarmConsole {
    pub fn apply(&mut self, snapshot: SwarmSnapshot, at: chrono::DateTime<chrono::Utc>) {
        self.state = snapshot.state;
        self.calls = snapshot.calls;
        self.took_ms = snapshot.took.as_millis();
        self.updated_at = Some(at);
    }

    pub fn refresh_rows(&mut self, filter: &str) {
        let keep = self.selected_service().map(|s| s.id.clone());
        let needle = filter.to_lowercase();
        let services = &self.state.services;
        let mut rows: Vec<usize> = (0..services.len())
            .filter(|&i| {
                let s = &services[i];
                needle.is_empty()
                    || s.name.to_lowercase().contains(&needle)
                    || s.image.to_lowercase().contains(&needle)
            })
            .collect();
        rows.sort_by(|&a, &b| {
            (&services[a].stack, &services[a].name).cmp(&(&services[b].stack, &services[b].name))
        });
        self.rows = rows;
        if let Some(id) = keep
            && let Some(row) = self.rows.iter().position(|&i| services[i].id == id)
        {
            self.selected = row;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.node = self.node.min(self.state.nodes.len().saturating_sub(1));
    }

    pub fn selected_service(&self) -> Option<&SwarmService> {
        self.rows
            .get(self.selected)
            .and_then(|&i| self.state.services.get(i))
    }

    /// A service's tasks as its view lists them: the desired ones by slot, then the rest
    /// (shut down, failed) newest first.
    pub fn tasks_of(&self, service_id: &str) -> Vec<&SwarmTask> {
        let mut tasks: Vec<&SwarmTask> = self.state.service_tasks(service_id).collect();
        tasks.sort_by(|a, b| {
            (!a.is_desired(), a.slot, &a.node_id, b.since).cmp(&(
                !b.is_desired(),
                b.slot,
                &b.node_id,
                a.since,
            ))
        });
        tasks
    }

    fn selected_task(&self, service_id: &str) -> Option<&SwarmTask> {
        let tasks = self.tasks_of(service_id);
        tasks
            .get(self.task.min(tasks.len().saturating_sub(1)))
            .copied()
    }
}

pub fn on_services_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(swarm) = state.swarm.as_mut() else {
        return Vec::new();
    };
    if move_in(&mut swarm.selected, swarm.rows.len(), action) {
        return Vec::new();
    }
    let Some(service) = swarm.selected_service().cloned() else {
        return match (action, key.code) {
            (Some(Action::Quit), _) => vec![Effect::Quit],
            (_, KeyCode::Char('n') | KeyCode::Tab) => {
                state.view = View::SwarmNodes;
                Vec::new()
            }
            _ => Vec::new(),
        };
    };
    match (action, key.code) {
        (Some(Action::Quit), _) => return vec![Effect::Quit],
        (_, KeyCode::Esc) if !state.filter.is_empty() => {
            state.filter.clear();
            swarm.refresh_rows("");
        }
        (Some(Action::Open), _) => {
            swarm.task = 0;
            state.view = View::SwarmService(service.id);
        }
        (_, KeyCode::Char('n') | KeyCode::Tab) => state.view = View::SwarmNodes,
        (Some(Action::Deploy), _) => {
            return super::image_field::open(state, service.name, service.image);
        }
        (Some(Action::Rollback), _) => {
            return vec![Effect::Plan(Request::Rollback {
                service: service.name,
                to: None,
                order: None,
            })];
        }
        (Some(Action::History), _) => {
            return vec![Effect::ShowHistory {
                service: service.name,
            }];
        }
        (Some(Action::Logs), _) => return open_logs(state, &service.id, None),
        _ => {}
    }
    Vec::new()
}

pub fn on_service_key(state: &mut State, id: &str, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(swarm) = state.swarm.as_mut() else {
        return Vec::new();
    };
    let tasks = swarm.tasks_of(id).len();
    if move_in(&mut swarm.task, tasks, action) {
        return Vec::new();
    }
    match (action, key.code) {
        (Some(Action::Quit), _) | (_, KeyCode::Esc | KeyCode::Left) => {
            state.view = View::SwarmServices
        }
        (Some(Action::Logs), _) => return open_logs(state, id, None),
        (_, KeyCode::Char('L')) => {
            let task = swarm.selected_task(id).map(|t| t.id.clone());
            if let Some(task) = task {
                return open_logs(state, id, Some(task));
            }
        }
        (Some(Action::Shell), _) => {
            let Some(task) = swarm.selected_task(id) else {
                return Vec::new();
            };
            let node = task
                .node_id
                .as_deref()
                .and_then(|n| swarm.state.node(n))
                .map(|n| n.hostname.clone());
            let service = swarm
                .state
                .services
                .iter()
                .find(|s| s.id == id)
                .map_or("", |s| s.name.as_str());
            let name = format!("{service}.{}", task.slot.unwrap_or(0));
            match (node, task.container_id.clone(), task.is_running()) {
                (Some(node), Some(container), true) => {
                    return vec![Effect::Session(SessionScope::SwarmTask {
                        node,
                        container,
                        name,
                    })];
                }
                _ => {
                    let message = format!("{name} is {}: no shell to open", task.state);
                    state.flash(message, true);
                }
            }
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_nodes_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    let Some(swarm) = state.swarm.as_mut() else {
        return Vec::new();
    };
    if move_in(&mut swarm.node, swarm.state.nodes.len(), action) {
        return Vec::new();
    }
    match (action, key.code) {
        (_, KeyCode::Esc | KeyCode::Char('n') | KeyCode::Tab | KeyCode::Left) => {
            state.view = View::SwarmServices
        }
        (Some(Action::Quit), _) => return vec![Effect::Quit],
        (_, KeyCode::Char(key @ ('d' | 'p' | 'a'))) => {
            let Some(node) = swarm.state.nodes.get(swarm.node) else {
                return Vec::new();
            };
            let availability = match key {
                'd' => "drain",
                'p' => "pause",
                _ => "active",
            };
            return vec![Effect::Plan(Request::Availability {
                node: node.hostname.clone(),
                availability: availability.into(),
            })];
        }
        _ => {}
    }
    Vec::new()
}

/// Opens the log view on a service's running tasks (or one task), merged across nodes.
fn open_logs(state: &mut State, service_id: &str, task: Option<String>) -> Vec<Effect> {
    let Some(swarm) = state.swarm.as_ref() else {
        return Vec::new();
    };
    let Some(service) = swarm.state.services.iter().find(|s| s.id == service_id) else {
        return Vec::new();
    };
    let sources: Vec<_> =
        crate::backend::swarm::logs::sources(&swarm.state, service, task.is_some())
            .into_iter()
            .filter(|s| task.as_ref().is_none_or(|id| &s.task == id))
            .collect();
    if sources.is_empty() {
        let name = service.name.clone();
        state.flash(format!("{name} has no running tasks to read logs of"), true);
        return Vec::new();
    }
    let title = match &task {
        Some(_) => format!("{} {}", service.name, sources[0].tag),
        None => format!("{} ({} tasks)", service.name, sources.len()),
    };
    super::logs::open_log_view(state, title, LogScope::Tasks(sources))
}
