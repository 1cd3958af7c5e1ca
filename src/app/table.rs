//! Which services the fleet table shows, in which order: filter, sort, group by project.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{State, View};
use crate::model::{Service, ServiceKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Name,
    State,
    Health,
    Replicas,
    Cpu,
    CpuOfLimit,
    Memory,
    MemoryOfLimit,
    Restarts,
    Uptime,
    Image,
}

impl SortColumn {
    pub const ALL: [SortColumn; 11] = [
        SortColumn::Name,
        SortColumn::State,
        SortColumn::Health,
        SortColumn::Replicas,
        SortColumn::Cpu,
        SortColumn::CpuOfLimit,
        SortColumn::Memory,
        SortColumn::MemoryOfLimit,
        SortColumn::Restarts,
        SortColumn::Uptime,
        SortColumn::Image,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::State => "state",
            SortColumn::Health => "health",
            SortColumn::Replicas => "replicas",
            SortColumn::Cpu => "cpu",
            SortColumn::CpuOfLimit => "cpu%",
            SortColumn::Memory => "mem",
            SortColumn::MemoryOfLimit => "mem%",
            SortColumn::Restarts => "restarts",
            SortColumn::Uptime => "uptime",
            SortColumn::Image => "image",
        }
    }

    pub fn parse(text: &str) -> Option<SortColumn> {
        let text = text.to_ascii_lowercase();
        SortColumn::ALL.into_iter().find(|c| {
            c.name() == text
                || (text == "memory" && *c == SortColumn::Memory)
                || (text == "age" && *c == SortColumn::Uptime)
        })
    }

    /// Columns whose natural order is biggest first.
    pub fn descending_by_default(self) -> bool {
        matches!(
            self,
            SortColumn::Cpu
                | SortColumn::CpuOfLimit
                | SortColumn::Memory
                | SortColumn::MemoryOfLimit
                | SortColumn::Restarts
                | SortColumn::Health
        )
    }

    pub fn next(self) -> SortColumn {
        let index = SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0);
        SortColumn::ALL[(index + 1) % SortColumn::ALL.len()]
    }
}

/// Case-insensitive match on project, service, image and route.
pub fn matches_filter(service: &Service, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let needle = filter.to_lowercase();
    [
        service.key.project_label(),
        service.key.name.as_str(),
        service.image.as_str(),
        service.route.as_deref().unwrap_or(""),
    ]
    .iter()
    .any(|field| field.to_lowercase().contains(&needle))
}

fn compare(a: &Service, b: &Service, column: SortColumn) -> Ordering {
    let by_f64 = |x: Option<f64>, y: Option<f64>| {
        x.unwrap_or(-1.0)
            .partial_cmp(&y.unwrap_or(-1.0))
            .unwrap_or(Ordering::Equal)
    };
    match column {
        SortColumn::Name => Ordering::Equal,
        SortColumn::State => a.state.cmp(&b.state),
        SortColumn::Health => a.health.cmp(&b.health),
        SortColumn::Replicas => {
            (a.replicas_running, a.replicas_total).cmp(&(b.replicas_running, b.replicas_total))
        }
        SortColumn::Cpu => by_f64(a.cpu_percent, b.cpu_percent),
        SortColumn::CpuOfLimit => by_f64(a.cpu_of_limit(), b.cpu_of_limit()),
        SortColumn::Memory => a.memory_bytes.cmp(&b.memory_bytes),
        SortColumn::MemoryOfLimit => by_f64(a.memory_of_limit(), b.memory_of_limit()),
        SortColumn::Restarts => a.restarts.cmp(&b.restarts),
        // Longest running first when ascending: the oldest start time.
        SortColumn::Uptime => b.started_at.cmp(&a.started_at),
        SortColumn::Image => a.image.cmp(&b.image),
    }
}

/// Indices into `services` in display order: grouped by project (standalone last), sorted
/// within a project by `column`, then by name so prod and staging of an app stay together.
pub fn ordered_rows(
    services: &[Service],
    filter: &str,
    column: SortColumn,
    descending: bool,
) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..services.len())
        .filter(|&i| matches_filter(&services[i], filter))
        .collect();
    rows.sort_by(|&i, &j| {
        let (a, b) = (&services[i], &services[j]);
        let by_column = compare(a, b, column);
        let by_column = if descending {
            by_column.reverse()
        } else {
            by_column
        };
        group_order(&a.key)
            .cmp(&group_order(&b.key))
            .then(by_column)
            .then_with(|| (&a.app, a.env, &a.key.name).cmp(&(&b.app, b.env, &b.key.name)))
    });
    rows
}

fn group_order(key: &ServiceKey) -> (bool, &str) {
    (key.project.is_none(), key.project.as_deref().unwrap_or(""))
}

/// A line of the fleet table: a project heading or a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayRow {
    Project { service: usize, count: usize },
    Service { row: usize, service: usize },
}

/// The table's lines: each project's heading followed by its services.
pub fn display_rows(services: &[Service], rows: &[usize]) -> Vec<DisplayRow> {
    let mut lines = Vec::with_capacity(rows.len() + 8);
    let mut current: Option<&Option<String>> = None;
    for (row, &service) in rows.iter().enumerate() {
        let project = &services[service].key.project;
        if current != Some(project) {
            current = Some(project);
            let count = rows[row..]
                .iter()
                .take_while(|&&s| &services[s].key.project == project)
                .count();
            lines.push(DisplayRow::Project { service, count });
        }
        lines.push(DisplayRow::Service { row, service });
    }
    lines
}

/// The containers whose usage is on screen, for the watcher to sample first; `None` when all
/// of them count: the table is sorted by usage, or the view shows totals (capacity).
pub fn on_screen(state: &State) -> Option<HashSet<String>> {
    match &state.view {
        View::Fleet => {
            let by_usage = matches!(
                state.sort,
                SortColumn::Cpu
                    | SortColumn::CpuOfLimit
                    | SortColumn::Memory
                    | SortColumn::MemoryOfLimit
            );
            if by_usage {
                return None;
            }
            let visible = usize::from(state.layout.area.get().height.saturating_sub(1));
            let shown = display_rows(&state.services, &state.rows)
                .into_iter()
                .skip(state.layout.offset.get())
                .take(visible)
                .filter_map(|line| match line {
                    DisplayRow::Service { service, .. } => Some(&state.services[service]),
                    DisplayRow::Project { .. } => None,
                })
                .flat_map(|s| s.containers.iter().cloned())
                .collect();
            Some(shown)
        }
        View::Detail(key) => Some(
            state
                .services
                .iter()
                .filter(|s| &s.key == key)
                .flat_map(|s| s.containers.iter().cloned())
                .collect(),
        ),
        View::Logs(_) => Some(HashSet::new()),
        _ => None,
    }
}
