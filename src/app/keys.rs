//! Keys and mouse, in the style of k9s: `?` help, `/` filter, `:` command, Enter, Esc, `q`,
//! arrows and vim motions, Shift+letter to sort.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Position;

use super::{DisplayRow, Effect, Prompt, SortColumn, State, View, display_rows};
use crate::backend::deploy::Request;
use crate::backend::logs::LogScope;
use crate::backend::session::SessionScope;
use crate::config::Action;

const PAGE: usize = 10;

pub fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return vec![Effect::Quit];
    }
    if let Some(prompt) = state.prompt {
        return on_prompt_key(state, prompt, key);
    }
    if state.image_field.is_some() {
        return super::image_field::on_key(state, key);
    }
    if state.dialog.is_some() {
        return super::rollout::on_dialog_key(state, key);
    }
    if super::rollout::on_rollout_key(state, key) {
        return Vec::new();
    }
    if state.show_help {
        state.show_help = false;
        return Vec::new();
    }
    state.flash = None;
    let lists = matches!(
        state.view,
        View::Fleet | View::EcsServices | View::EcsNodes | View::SwarmServices | View::SwarmNodes
    );
    match state.keymap.action(&key) {
        Some(Action::Help) => state.show_help = true,
        Some(Action::Command) => {
            state.prompt = Some(Prompt::Command);
            state.input.clear();
        }
        Some(Action::Capacity) if lists => state.view = View::Capacity,
        Some(Action::Filter)
            if matches!(
                state.view,
                View::Fleet | View::EcsServices | View::SwarmServices
            ) =>
        {
            state.prompt = Some(Prompt::Filter);
            state.input = state.filter.clone();
        }
        _ => {
            return match state.view.clone() {
                View::Fleet => on_fleet_key(state, key),
                View::Detail(_) => on_detail_key(state, key),
                View::Logs(_) => super::log_keys::on_log_key(state, key),
                View::EcsServices => super::ecs::on_services_key(state, key),
                View::EcsService(name) => super::ecs::on_service_key(state, &name, key),
                View::EcsNodes => super::ecs::on_nodes_key(state, key),
                View::SwarmServices => super::swarm::on_services_key(state, key),
                View::SwarmService(id) => super::swarm::on_service_key(state, &id, key),
                View::SwarmNodes => super::swarm::on_nodes_key(state, key),
                View::Capacity => {
                    if matches!(
                        key.code,
                        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('c')
                    ) {
                        state.view = state.home();
                    }
                    Vec::new()
                }
            };
        }
    }
    Vec::new()
}

/// Moves a list's selection as the keymap says; false when the action is not a move.
pub(super) fn move_in(index: &mut usize, len: usize, action: Option<Action>) -> bool {
    let last = len.saturating_sub(1);
    match action {
        Some(Action::Down) => *index = (*index + 1).min(last),
        Some(Action::Up) => *index = index.saturating_sub(1),
        Some(Action::PageDown) => *index = (*index + PAGE).min(last),
        Some(Action::PageUp) => *index = index.saturating_sub(PAGE),
        Some(Action::First) => *index = 0,
        Some(Action::Last) => *index = last,
        _ => return false,
    }
    true
}

fn on_fleet_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = state.keymap.action(&key);
    if move_in(&mut state.selected, state.rows.len(), action) {
        return Vec::new();
    }
    match (action, key.code) {
        (Some(Action::Quit), _) => return vec![Effect::Quit],
        (_, KeyCode::Esc) if !state.filter.is_empty() => {
            state.filter.clear();
            state.refresh_rows();
        }
        (Some(Action::Open), _) => open_detail(state),
        (Some(Action::Logs), _) => return service_logs(state),
        (Some(Action::Rollback), _) => {
            if let Some(service) = state.selected_service().filter(|s| s.key.project.is_some()) {
                return vec![Effect::Plan(Request::Rollback {
                    service: service.key.qualified(),
                    to: None,
                    order: None,
                })];
            }
        }
        (Some(Action::Deploy), _) => {
            if let Some(service) = state.selected_service().filter(|s| s.key.project.is_some()) {
                let (name, image) = (service.key.qualified(), service.image.clone());
                return super::image_field::open(state, name, image);
            }
        }
        (Some(Action::History), _) => {
            if let Some(service) = state.selected_service().filter(|s| s.key.project.is_some()) {
                return vec![Effect::ShowHistory {
                    service: service.key.qualified(),
                }];
            }
        }
        (Some(Action::Shell), _) => {
            let containers = state
                .selected_service()
                .map(|s| state.containers_of(s))
                .unwrap_or_default();
            let target = containers
                .iter()
                .find(|c| c.is_running())
                .or(containers.first())
                .map(|c| (c.id.clone(), c.name.clone()));
            if let Some((container, name)) = target {
                return vec![Effect::Session(SessionScope::Container {
                    id: container,
                    name,
                })];
            }
        }
        (_, KeyCode::Char('o')) => {
            let next = state.sort.next();
            state.set_sort(next);
        }
        (_, KeyCode::Char('O')) => {
            state.descending = !state.descending;
            state.refresh_rows();
        }
        (_, KeyCode::Char(c)) if c.is_ascii_uppercase() => {
            if let Some(column) = sort_key(c) {
                state.set_sort(column);
                state.flash(
                    format!(
                        "sorted by {} {}",
                        column.name(),
                        if state.descending { "↓" } else { "↑" }
                    ),
                    false,
                );
            }
        }
        _ => {}
    }
    Vec::new()
}

/// k9s-style sort keys: Shift+N name, Shift+C cpu, Shift+M memory, ...
fn sort_key(c: char) -> Option<SortColumn> {
    Some(match c {
        'N' => SortColumn::Name,
        'S' => SortColumn::State,
        'H' => SortColumn::Health,
        'P' => SortColumn::Replicas,
        'C' => SortColumn::Cpu,
        'X' => SortColumn::CpuOfLimit,
        'M' => SortColumn::Memory,
        'Y' => SortColumn::MemoryOfLimit,
        'R' => SortColumn::Restarts,
        'A' => SortColumn::Uptime,
        'I' => SortColumn::Image,
        _ => return None,
    })
}

fn open_detail(state: &mut State) {
    if let Some(service) = state.selected_service() {
        state.view = View::Detail(service.key.clone());
        state.detail_scroll = 0;
        state.detail_container = 0;
        state.reveal_env = false;
    }
}

fn on_detail_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Left | KeyCode::Backspace => {
            state.view = View::Fleet;
            state.detail_container = 0;
        }
        KeyCode::Char('x') => {
            state.reveal_env = !state.reveal_env;
            state.flash(
                if state.reveal_env {
                    "secret-looking values revealed (x to mask)"
                } else {
                    "secret-looking values masked"
                },
                false,
            );
        }
        KeyCode::Down | KeyCode::Char('j') => {
            state.detail_scroll = state.detail_scroll.saturating_add(1)
        }
        KeyCode::Up | KeyCode::Char('k') => {
            state.detail_scroll = state.detail_scroll.saturating_sub(1)
        }
        KeyCode::PageDown => state.detail_scroll = state.detail_scroll.saturating_add(PAGE as u16),
        KeyCode::PageUp => state.detail_scroll = state.detail_scroll.saturating_sub(PAGE as u16),
        KeyCode::Home | KeyCode::Char('g') => state.detail_scroll = 0,
        KeyCode::Tab | KeyCode::BackTab => {
            let count = detail_containers(state).len().max(1);
            state.detail_container = if key.code == KeyCode::Tab {
                (state.detail_container + 1) % count
            } else {
                (state.detail_container + count - 1) % count
            };
        }
        KeyCode::Char('l') => {
            if let Some((id, name)) = detail_containers(state)
                .get(state.detail_container)
                .cloned()
            {
                return open_logs(state, name.clone(), vec![(id, name)]);
            }
        }
        KeyCode::Char('L') => return service_logs(state),
        KeyCode::Char('s') => {
            if let Some((container, name)) = detail_containers(state)
                .get(state.detail_container)
                .cloned()
            {
                return vec![Effect::Session(SessionScope::Container {
                    id: container,
                    name,
                })];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Ids and names of the containers of the service in the detail view.
fn detail_containers(state: &State) -> Vec<(String, String)> {
    let View::Detail(key) = &state.view else {
        return Vec::new();
    };
    state
        .service(key)
        .map(|service| {
            state
                .containers_of(service)
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The logs of the selected service (fleet) or the shown one (detail), replicas merged.
fn service_logs(state: &mut State) -> Vec<Effect> {
    let service = match &state.view {
        View::Detail(key) => state.service(key),
        _ => state.selected_service(),
    };
    let Some(service) = service else {
        return Vec::new();
    };
    let containers: Vec<(String, String)> = state
        .containers_of(service)
        .iter()
        .map(|c| (c.id.clone(), service.key.replica_tag(c)))
        .collect();
    let title = service.key.qualified();
    open_logs(state, title, containers)
}

fn open_logs(state: &mut State, title: String, containers: Vec<(String, String)>) -> Vec<Effect> {
    if containers.is_empty() {
        return Vec::new();
    }
    super::logs::open_log_view(state, title, LogScope::Containers(containers))
}

fn on_prompt_key(state: &mut State, prompt: Prompt, key: KeyEvent) -> Vec<Effect> {
    if prompt == Prompt::Search {
        super::log_keys::on_search_key(state, key);
        return Vec::new();
    }
    match key.code {
        KeyCode::Esc => {
            if prompt == Prompt::Filter {
                state.filter.clear();
                state.refresh_rows();
            }
            state.prompt = None;
        }
        KeyCode::Enter => {
            state.prompt = None;
            if prompt == Prompt::Command {
                let command = std::mem::take(&mut state.input);
                return run_command(state, command.trim());
            }
        }
        KeyCode::Backspace => {
            state.input.pop();
            if prompt == Prompt::Filter {
                state.filter = state.input.clone();
                state.refresh_rows();
            }
        }
        KeyCode::Char(c) => {
            state.input.push(c);
            if prompt == Prompt::Filter {
                state.filter = state.input.clone();
                state.refresh_rows();
            }
        }
        _ => {}
    }
    Vec::new()
}

pub const COMMANDS: &str = ":ctx [NAME]  :cluster NAME  :nodes  :services  :capacity  :scale SVC=N ...  :theme NAME  :sort COLUMN  :filter TEXT  :help  :q";

fn run_command(state: &mut State, command: &str) -> Vec<Effect> {
    let (verb, argument) = match command.split_once(char::is_whitespace) {
        Some((verb, argument)) => (verb, argument.trim()),
        None => (command, ""),
    };
    match (verb, argument) {
        ("", _) => {}
        ("q" | "q!" | "quit" | "exit", _) => return vec![Effect::Quit],
        ("help" | "h", _) => state.show_help = true,
        ("ctx" | "context", "") => {
            let list = state.contexts.join(", ");
            let sources = state
                .context_sources
                .as_ref()
                .map(|s| format!(" · {s}"))
                .unwrap_or_default();
            state.flash(
                format!("contexts: {list} (now: {}){sources}", state.context.name),
                false,
            );
        }
        ("ctx" | "context", name) => {
            if state.contexts.iter().any(|c| c == name) {
                return vec![Effect::SwitchContext(name.to_string())];
            }
            let list = state.contexts.join(", ");
            state.flash(format!("unknown context `{name}`; known: {list}"), true);
        }
        ("theme", name) if !name.is_empty() => return vec![Effect::LoadTheme(name.to_string())],
        // The one platform question of the commands: these three are an ECS cluster's.
        ("cluster" | "nodes" | "no" | "services" | "svc", _) if state.ecs.is_none() => {
            let kind = state.context.target.kind().label();
            state.flash(
                format!(
                    ":{verb} is for ECS contexts; `{}` is a {kind} one",
                    state.context.name
                ),
                true,
            );
        }
        ("cluster", "") => {
            let cluster = state.ecs.as_ref().map_or("", |e| e.data.cluster.as_str());
            let text = format!("cluster {cluster} · `:cluster NAME` switches");
            state.flash(text, false);
        }
        ("cluster", name) => return vec![Effect::SwitchCluster(name.to_string())],
        ("nodes" | "no", _) => state.view = View::EcsNodes,
        ("capacity" | "cap", _) => state.view = View::Capacity,
        ("scale", list) if state.swarm.is_some() => match crate::capacity::parse_scale(list) {
            Ok((service, replicas)) if !list.trim().is_empty() && !list.contains(' ') => {
                return vec![Effect::Plan(crate::backend::deploy::Request::Scale {
                    service,
                    replicas: u64::from(replicas),
                })];
            }
            Ok(_) => state.flash(":scale SERVICE=N, one service at a time", true),
            Err(message) => state.flash(message.replace("--scale", ":scale"), true),
        },
        ("scale", "") => {
            state.capacity_scale.clear();
            state.view = View::Capacity;
        }
        ("scale", list) => {
            match list
                .split_whitespace()
                .map(crate::capacity::parse_scale)
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(scale) => {
                    state.capacity_scale = scale;
                    state.view = View::Capacity;
                }
                Err(message) => state.flash(message, true),
            }
        }
        ("services" | "svc", _) => state.view = View::EcsServices,
        ("sort", column) => match column.split_whitespace().collect::<Vec<_>>().as_slice() {
            [name, rest @ ..] if SortColumn::parse(name).is_some() => {
                if let Some(column) = SortColumn::parse(name) {
                    state.sort = column;
                    state.descending = match rest {
                        ["desc"] => true,
                        ["asc"] => false,
                        _ => column.descending_by_default(),
                    };
                    state.refresh_rows();
                }
            }
            _ => {
                let names: Vec<&str> = SortColumn::ALL.iter().map(|c| c.name()).collect();
                state.flash(format!("sort by one of: {}", names.join(", ")), true);
            }
        },
        ("filter", text) => {
            state.filter = text.to_string();
            state.refresh_rows();
        }
        _ => state.flash(format!("unknown command `{command}`; try {COMMANDS}"), true),
    }
    Vec::new()
}

pub fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    if state.show_help || state.prompt.is_some() {
        return Vec::new();
    }
    match (&state.view, mouse.kind) {
        (View::Detail(_), MouseEventKind::ScrollDown) => {
            state.detail_scroll = state.detail_scroll.saturating_add(3)
        }
        (View::Detail(_), MouseEventKind::ScrollUp) => {
            state.detail_scroll = state.detail_scroll.saturating_sub(3)
        }
        (View::Fleet, MouseEventKind::ScrollDown) => {
            state.selected = (state.selected + 1).min(state.rows.len().saturating_sub(1))
        }
        (View::Fleet, MouseEventKind::ScrollUp) => {
            state.selected = state.selected.saturating_sub(1)
        }
        (View::Fleet, MouseEventKind::Down(MouseButton::Left)) => {
            click(state, mouse.column, mouse.row)
        }
        _ => {}
    }
    Vec::new()
}

/// A click on the header sorts by that column; on a service selects it, and on the selected
/// one opens its detail.
fn click(state: &mut State, column: u16, row: u16) {
    let area = state.layout.area.get();
    if !area.contains(Position::new(column, row)) {
        return;
    }
    if row == area.y {
        let header = state.layout.header.get();
        if let Some((_, _, Some(sort))) = header
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&column))
        {
            state.set_sort(*sort);
        }
        return;
    }
    let line = state.layout.offset.get() + usize::from(row - area.y - 1);
    if let Some(DisplayRow::Service { row, .. }) = display_rows(&state.services, &state.rows)
        .get(line)
        .copied()
    {
        if row == state.selected {
            open_detail(state);
        } else {
            state.selected = row;
        }
    }
}
