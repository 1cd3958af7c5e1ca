//! The console's state and its pure update function: `update(&mut State, Msg) -> Vec<Effect>`.
//! No I/O here; effects are carried out by the caller.

mod ecs;
mod history;
mod image_field;
mod keys;
mod log_keys;
mod logs;
mod rollout;
mod swarm;
mod table;

pub use ecs::EcsConsole;
pub use history::History;
pub use image_field::ImageField;
pub use logs::LogView;
pub use rollout::{Dialog, Rollout, RolloutEvent};
pub use swarm::SwarmConsole;
pub use table::{DisplayRow, SortColumn, display_rows, matches_filter, on_screen, ordered_rows};

use std::cell::Cell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;

use crate::backend::BackendEvent;
use crate::config::{Context, Target, Theme, Thresholds};
use crate::guard::Guard;
use crate::model::{
    ConnectionState, Container, FleetSnapshot, Service, ServiceKey, group_services,
};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// What the watcher saw, and when it arrived.
    Backend(BackendEvent, DateTime<Utc>),
    /// Once a second, so ages and "disconnected since" move on.
    Tick(DateTime<Utc>),
    /// News of a rollback planned or under way.
    Rollout(RolloutEvent),
    /// Log lines for the log view of this session.
    Logs(u64, crate::logs::LogEvent),
    /// An effect ended: what to tell the operator (`Err`: as an error).
    Outcome(Result<String, String>),
    /// The console now watches `context` (another context, or another cluster).
    ContextSwitched {
        context: Context,
        message: String,
    },
    ThemeLoaded(Theme),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Stop watching the current context and watch this one.
    SwitchContext(String),
    /// Switch to the theme of this name.
    LoadTheme(String),
    /// Start reading logs for the log view (session in `State::logs`).
    OpenLogs {
        session: u64,
        scope: crate::backend::logs::LogScope,
    },
    /// Stop reading logs.
    CloseLogs,
    /// Write the log buffer to a file named after `title`.
    SaveLogs {
        title: String,
        text: String,
    },
    /// Put text on the clipboard (OSC 52, which terminals and tmux pass on).
    Copy(String),
    /// Hand the terminal to a session: a container shell, ECS Exec, SSM. Goes through the
    /// read-only guard, in the backend.
    Session(crate::backend::session::SessionScope),
    /// Watch another cluster of the same context.
    SwitchCluster(String),
    /// Work out a deploy or rollback (service: ECS name or Compose `project/service`) and
    /// ask. Goes through the read-only guard, in the rollout engine.
    Plan(crate::backend::deploy::Request),
    /// Make the confirmed change, following it to stable or failed.
    Apply(crate::backend::deploy::Request),
    /// Find the images a deploy of the service could go to (for Tab in the image field).
    ListImages {
        service: String,
    },
    /// Show the revisions the service has run.
    ShowHistory {
        service: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Fleet,
    Detail(ServiceKey),
    /// The log view (`State::logs`), and the view to go back to.
    Logs(Box<View>),
    /// An ECS cluster's services.
    EcsServices,
    /// One ECS service: deployments, tasks and their containers, targets, events.
    EcsService(String),
    /// An ECS cluster's container instances.
    EcsNodes,
    /// A swarm's services, by stack.
    SwarmServices,
    /// One swarm service (by id): its tasks on their nodes, its update config and status.
    SwarmService(String),
    /// A swarm's nodes: role, state, reserved against capacity, usage.
    SwarmNodes,
    /// Capacity: allocated, used, headroom, and the `:scale` what-if.
    Capacity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Filter,
    Command,
    /// A regex search in the log view.
    Search,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
}

/// Where the fleet table was last drawn: for mouse clicks, and to keep the selection in view.
#[derive(Debug, Default)]
pub struct TableLayout {
    pub area: Cell<Rect>,
    pub offset: Cell<usize>,
    /// Column boundaries of the header, with the column each one sorts by.
    pub header: Cell<[(u16, u16, Option<SortColumn>); 16]>,
}

pub struct State {
    pub context: Context,
    pub contexts: Vec<String>,
    /// Where contexts come from when the Docker CLI adds some (`:ctx` says it).
    pub context_sources: Option<String>,
    pub theme: Theme,
    pub thresholds: Thresholds,
    pub guard: Guard,
    pub connection: ConnectionState,
    pub snapshot: Option<FleetSnapshot>,
    /// When the last snapshot arrived: the age of what is shown.
    pub received_at: Option<DateTime<Utc>>,
    pub services: Vec<Service>,
    /// Indices into `services`, filtered and in display order.
    pub rows: Vec<usize>,
    pub history: HashMap<ServiceKey, History>,
    /// Index into `rows`.
    pub selected: usize,
    pub sort: SortColumn,
    pub descending: bool,
    pub filter: String,
    pub prompt: Option<Prompt>,
    pub input: String,
    pub show_help: bool,
    pub view: View,
    pub reveal_env: bool,
    pub detail_scroll: u16,
    /// The selected container in the detail view (index into the service's containers).
    pub detail_container: usize,
    pub logs: Option<LogView>,
    pub log_sessions: u64,
    /// How many lines a log view keeps.
    pub log_lines: usize,
    pub flash: Option<Flash>,
    pub now: DateTime<Utc>,
    pub layout: TableLayout,
    /// The ECS views' state, when the context is an ECS one.
    pub ecs: Option<EcsConsole>,
    /// The Swarm views' state, when the context is a Swarm one.
    pub swarm: Option<SwarmConsole>,
    /// The what-if of the capacity view (`:scale SERVICE=N ...`).
    pub capacity_scale: Vec<(String, u32)>,
    /// The whole fleet's used CPU and memory over the last samples: the peak in the window.
    pub fleet_history: History,
    /// What each key does in the lists.
    pub keymap: crate::config::Keymap,
    /// The image to deploy, being typed (`d`).
    pub image_field: Option<ImageField>,
    /// A question waiting for y/n.
    pub dialog: Option<Dialog>,
    /// The rollout started from the console.
    pub rollout: Option<Rollout>,
}

impl State {
    pub fn new(
        context: Context,
        contexts: Vec<String>,
        theme: Theme,
        thresholds: Thresholds,
    ) -> State {
        State {
            guard: Guard {
                readonly: context.readonly,
                context: context.name.clone(),
            },
            context,
            contexts,
            context_sources: None,
            theme,
            thresholds,
            connection: ConnectionState::Connecting,
            snapshot: None,
            received_at: None,
            services: Vec::new(),
            rows: Vec::new(),
            history: HashMap::new(),
            selected: 0,
            sort: SortColumn::Name,
            descending: false,
            filter: String::new(),
            prompt: None,
            input: String::new(),
            show_help: false,
            view: View::Fleet,
            reveal_env: false,
            detail_scroll: 0,
            detail_container: 0,
            logs: None,
            log_sessions: 0,
            log_lines: crate::logs::DEFAULT_MAX_LINES,
            flash: None,
            now: Utc::now(),
            layout: TableLayout::default(),
            ecs: None,
            swarm: None,
            capacity_scale: Vec::new(),
            fleet_history: History::default(),
            keymap: crate::config::Keymap::default(),
            image_field: None,
            dialog: None,
            rollout: None,
        }
        .on_platform()
    }

    /// An ECS context starts on its services; a Docker one on the fleet.
    fn on_platform(mut self) -> State {
        self.start_on_platform();
        self
    }

    /// The console's one question about the platform: which views' state it keeps. Every
    /// ECS view finds its state in `ecs`; the Docker fleet's is the rest of `State`.
    fn start_on_platform(&mut self) {
        (self.ecs, self.swarm) = match self.context.target {
            Target::Docker(_) => (None, None),
            Target::Ecs(_) => (Some(EcsConsole::default()), None),
            Target::Swarm(_) => (None, Some(SwarmConsole::default())),
        };
        self.view = self.home();
    }

    /// The view to go back to from the top: the fleet, or an ECS cluster's services.
    pub fn home(&self) -> View {
        match (&self.ecs, &self.swarm) {
            (Some(_), _) => View::EcsServices,
            (_, Some(_)) => View::SwarmServices,
            _ => View::Fleet,
        }
    }

    pub fn selected_service(&self) -> Option<&Service> {
        self.rows
            .get(self.selected)
            .and_then(|&i| self.services.get(i))
    }

    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services.iter().find(|s| &s.key == key)
    }

    /// The containers of a service, in replica order.
    pub fn containers_of(&self, service: &Service) -> Vec<&Container> {
        let Some(snapshot) = &self.snapshot else {
            return Vec::new();
        };
        service
            .containers
            .iter()
            .filter_map(|id| snapshot.containers.iter().find(|c| &c.id == id))
            .collect()
    }

    /// Seconds since the data on screen was current.
    pub fn data_age_s(&self) -> Option<i64> {
        self.received_at
            .map(|t| (self.now - t).num_seconds().max(0))
    }

    /// Re-derives rows after the services, filter or sort changed, keeping the same service
    /// selected when it is still shown.
    pub fn refresh_rows(&mut self) {
        let keep = self.selected_service().map(|s| s.key.clone());
        self.reorder(keep);
    }

    /// Orders the rows and selects `keep` again when it is still shown.
    fn reorder(&mut self, keep: Option<ServiceKey>) {
        self.rows = ordered_rows(&self.services, &self.filter, self.sort, self.descending);
        if let Some(key) = keep
            && let Some(row) = self.rows.iter().position(|&i| self.services[i].key == key)
        {
            self.selected = row;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        if let Some(ecs) = self.ecs.as_mut() {
            ecs.refresh_rows(&self.filter);
        }
        if let Some(swarm) = self.swarm.as_mut() {
            swarm.refresh_rows(&self.filter);
        }
    }

    pub fn set_sort(&mut self, column: SortColumn) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.descending_by_default();
        }
        self.refresh_rows();
    }

    pub fn flash(&mut self, text: impl Into<String>, error: bool) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
        });
    }

    fn apply_snapshot(&mut self, snapshot: FleetSnapshot) {
        // Which service is selected must be read before the services are replaced.
        let keep = self.selected_service().map(|s| s.key.clone());
        self.services = group_services(&snapshot.containers, &snapshot.usage);
        for service in &self.services {
            if let (Some(cpu), Some(memory)) = (service.cpu_percent, service.memory_bytes) {
                self.history
                    .entry(service.key.clone())
                    .or_default()
                    .push(cpu, memory);
            }
        }
        let allocation = crate::model::Allocation::of(&snapshot.containers, &snapshot.usage);
        if !snapshot.usage.is_empty() {
            self.fleet_history
                .push(allocation.cpu_used_percent, allocation.memory_used_bytes);
        }
        let present: std::collections::HashSet<&ServiceKey> =
            self.services.iter().map(|s| &s.key).collect();
        self.history.retain(|key, _| present.contains(key));
        self.snapshot = Some(snapshot);
        self.received_at = Some(self.now);
        self.reorder(keep);
    }
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => keys::on_key(state, key),
        Msg::Mouse(mouse) => keys::on_mouse(state, mouse),
        Msg::Tick(now) => {
            state.now = now;
            Vec::new()
        }
        Msg::Rollout(event) => {
            rollout::on_event(state, event);
            Vec::new()
        }
        Msg::Logs(session, event) => {
            if let Some(view) = state.logs.as_mut().filter(|v| v.session == session) {
                view.on_event(event);
            }
            Vec::new()
        }
        Msg::Outcome(Ok(message)) => {
            state.flash(message, false);
            Vec::new()
        }
        Msg::Outcome(Err(message)) => {
            state.flash(message, true);
            Vec::new()
        }
        Msg::ContextSwitched { context, message } => {
            switch_context(state, context);
            state.flash(message, false);
            Vec::new()
        }
        Msg::ThemeLoaded(theme) => {
            state.theme = theme;
            Vec::new()
        }
        Msg::Backend(BackendEvent::Connection(connection), _) => {
            state.connection = connection;
            Vec::new()
        }
        Msg::Backend(BackendEvent::Ecs(snapshot), at) => {
            state.now = at.max(state.now);
            if let Some(ecs) = state.ecs.as_mut() {
                state.connection = if snapshot
                    .errors
                    .contains_key(&crate::backend::ecs::Section::Cluster)
                {
                    ConnectionState::Connecting
                } else {
                    ConnectionState::Live
                };
                ecs.data.apply(*snapshot, state.now);
                ecs.refresh_rows(&state.filter);
                state.received_at = Some(state.now);
            }
            Vec::new()
        }
        Msg::Backend(BackendEvent::Swarm(snapshot), at) => {
            state.now = at.max(state.now);
            if let Some(swarm) = state.swarm.as_mut() {
                swarm.apply(*snapshot, state.now);
                swarm.refresh_rows(&state.filter);
                state.received_at = Some(state.now);
            }
            Vec::new()
        }
        Msg::Backend(BackendEvent::SwarmUsage(usage), _) => {
            if let Some(swarm) = state.swarm.as_mut() {
                swarm.usage = *usage;
            }
            Vec::new()
        }
        Msg::Backend(BackendEvent::Snapshot(snapshot), at) => {
            state.now = at.max(state.now);
            state.connection = ConnectionState::Live;
            state.apply_snapshot(*snapshot);
            Vec::new()
        }
    }
}

/// Replaces the context after `:ctx`, keeping the view settings.
fn switch_context(state: &mut State, context: Context) {
    state.guard = Guard {
        readonly: context.readonly,
        context: context.name.clone(),
    };
    state.context = context;
    state.connection = ConnectionState::Connecting;
    state.snapshot = None;
    state.received_at = None;
    state.services.clear();
    state.rows.clear();
    state.selected = 0;
    state.history.clear();
    state.fleet_history = History::default();
    state.capacity_scale.clear();
    state.logs = None;
    state.filter.clear();
    state.start_on_platform();
}

#[cfg(test)]
mod tests;
