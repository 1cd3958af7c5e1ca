//! The Swarm views: the swarm header (managers, quorum, nodes down or drained), services by
//! stack, one service's tasks on their nodes, and nodes with reserved against capacity.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Wrap};

use super::ecs::{highlighted, table, usage_cell, window};
use super::format::{age, bar, bytes, core_count, since};
use super::{base, block, level_color, muted};
use crate::app::{State, SwarmConsole};
use crate::backend::swarm::{NodeUsage, SwarmService, SwarmTask};
use crate::model::ConnectionState;

const GIB: f64 = (1u64 << 30) as f64;

pub fn render_header(frame: &mut Frame, area: Rect, state: &State, swarm: &SwarmConsole) {
    let theme = &state.theme;
    let sep = || Span::styled(" │ ", Style::new().fg(theme.border.0));
    let mut first = super::header::context_spans(state);
    first.push(Span::styled(state.context.address(), base(theme)));
    first.push(sep());
    first.push(match (&state.connection, swarm.updated_at) {
        (ConnectionState::Disconnected { .. }, Some(at)) => Span::styled(
            format!(
                "⚠ manager unreachable · last data {} old",
                age((state.now - at).num_seconds())
            ),
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        ),
        (ConnectionState::Disconnected { .. }, None) => Span::styled(
            "⚠ manager unreachable",
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        ),
        (_, None) => Span::styled("◌ connecting…", Style::new().fg(theme.warn.0)),
        (_, Some(at)) => Span::styled(
            format!("● updated {} ago", age((state.now - at).num_seconds())),
            Style::new().fg(theme.ok.0),
        ),
    });
    first.extend(super::header::readonly_badge(state));
    let data = &swarm.state;
    let (cpus, memory) = data
        .nodes
        .iter()
        .fold((0.0, 0u64), |(c, m), n| (c + n.cpus, m + n.memory_bytes));
    let (cpu_reserved, memory_reserved) = data.nodes.iter().fold((0.0, 0u64), |(c, m), n| {
        let (rc, rm) = data.reserved_on(&n.id);
        (c + rc, m + rm)
    });
    let share = |used: f64, of: f64| if of > 0.0 { used * 100.0 / of } else { 0.0 };
    let cpu_pct = share(cpu_reserved, cpus);
    let mem_pct = share(memory_reserved as f64, memory as f64);
    let managers = data.nodes.iter().filter(|n| n.is_manager()).count();
    let warnings = data.warnings();
    let mut second = vec![
        Span::styled(" Nodes ", muted(theme)),
        Span::styled(
            format!(
                "{} ({managers} manager{})",
                data.nodes.len(),
                if managers == 1 { "" } else { "s" }
            ),
            base(theme),
        ),
        sep(),
        Span::styled("Reserved ", muted(theme)),
        Span::styled(
            format!("CPU {cpu_reserved:.2}/{cpus:.0} {cpu_pct:.0}% "),
            Style::new().fg(level_color(state, cpu_pct)),
        ),
        Span::styled(
            format!(
                " mem {:.1}/{:.1} GiB {mem_pct:.0}%",
                memory_reserved as f64 / GIB,
                memory as f64 / GIB
            ),
            Style::new().fg(level_color(state, mem_pct)),
        ),
    ];
    if !warnings.is_empty() {
        second.push(sep());
        second.push(Span::styled(
            format!("⚠ {}", warnings.join(" · ")),
            Style::new().fg(theme.warn.0).add_modifier(Modifier::BOLD),
        ));
    }
    let running = data
        .tasks
        .iter()
        .filter(|t| t.is_desired() && t.is_running())
        .count();
    let desired: u64 = data.services.iter().map(|s| s.desired).sum();
    let third = Line::from(vec![
        Span::styled(" Services ", muted(theme)),
        Span::styled(
            format!(
                "{} · tasks {running}/{desired} running",
                data.services.len()
            ),
            base(theme),
        ),
        sep(),
        Span::styled(
            format!(
                "refresh every {:.0}s · last {} requests in {} ms",
                state.context.refresh.as_secs_f64(),
                swarm.calls,
                swarm.took_ms
            ),
            muted(theme),
        ),
    ]);
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second), third]),
        area,
    );
}

fn state_color(state: &State, value: &str) -> Color {
    match value {
        "running" | "ready" | "active" | "completed" | "rollback_completed" | "reachable" => {
            state.theme.ok.0
        }
        "pending" | "assigned" | "accepted" | "preparing" | "starting" | "updating"
        | "rollback_started" | "pause" | "drain" | "unknown" => state.theme.warn.0,
        "shutdown" | "complete" | "remove" | "orphaned" => state.theme.muted.0,
        _ => state.theme.crit.0,
    }
}

/// CPU (cores) and memory (GiB) a service's tasks use, against the sum of their limits.
fn service_usage(swarm: &SwarmConsole, service: &SwarmService) -> (Option<f64>, Option<f64>) {
    let used = swarm.usage.sum(
        swarm
            .state
            .service_tasks(&service.id)
            .map(|t| t.id.as_str()),
    );
    (
        used.map(|u| u.cpu_percent / 100.0),
        used.map(|u| u.memory_bytes as f64 / GIB),
    )
}

pub fn render_services(frame: &mut Frame, area: Rect, state: &State, swarm: &SwarmConsole) {
    let theme = &state.theme;
    let data = &swarm.state;
    let title = Line::from(vec![
        Span::raw(" Services "),
        Span::styled(
            format!("[{}/{}] ", swarm.rows.len(), data.services.len()),
            muted(theme),
        ),
    ]);
    let outer = block(theme, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if data.services.is_empty() {
        let text = match (&state.connection, swarm.updated_at) {
            (ConnectionState::Disconnected { error, .. }, _) => error.clone(),
            (_, None) => "Reading the swarm…".to_string(),
            _ => "No services on this swarm.".to_string(),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, muted(theme))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let offset = window(swarm.selected, swarm.rows.len(), height);
    let mut last_stack = None;
    let rows = swarm
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(row, &index)| {
            let s = &data.services[index];
            let stack = s.stack.as_deref().unwrap_or("-");
            let stack_cell = if last_stack == Some(stack) && row != offset {
                Line::raw("")
            } else {
                Line::styled(stack.to_string(), muted(theme))
            };
            last_stack = Some(stack);
            let (cpu, memory) = service_usage(swarm, s);
            let running = s.running as f64;
            let cpu_limit = s.limits.cpu_cores.map(|c| c * running);
            let memory_limit = s.limits.memory_bytes.map(|m| m as f64 * running / GIB);
            let counts_color = if s.running < s.desired {
                theme.warn.0
            } else {
                theme.fg.0
            };
            let update = s.update_status.as_ref().map_or("-", |u| u.state.as_str());
            let reserved = format!(
                "{} {}",
                s.reservations
                    .cpu_cores
                    .map_or("-".into(), |c| format!("{c}")),
                s.reservations.memory_bytes.map_or("-".into(), bytes)
            );
            let ports: Vec<String> = s
                .ports
                .iter()
                .map(|p| format!("{}→{}", p.published, p.target))
                .collect();
            let cells = vec![
                stack_cell,
                Line::styled(
                    s.short_name().to_string(),
                    base(theme).add_modifier(Modifier::BOLD),
                ),
                Line::styled(s.mode.label(), muted(theme)),
                Line::styled(
                    format!("{}/{}", s.running, s.desired),
                    Style::new().fg(counts_color),
                ),
                Line::raw(s.image.clone()),
                usage_cell(state, cpu, cpu_limit, ""),
                usage_cell(state, memory, memory_limit, "G"),
                Line::styled(reserved, muted(theme)),
                Line::styled(
                    update.to_string(),
                    Style::new().fg(state_color(state, update)),
                ),
                Line::raw(
                    s.route()
                        .or_else(|| (!ports.is_empty()).then(|| ports.join(" ")))
                        .unwrap_or_default(),
                ),
            ];
            highlighted(state, Row::new(cells), row == swarm.selected)
        });
    let widths = [
        ("STACK", Constraint::Length(10)),
        ("SERVICE", Constraint::Min(12)),
        ("MODE", Constraint::Length(10)),
        ("TASKS", Constraint::Length(5)),
        ("IMAGE", Constraint::Min(14)),
        ("CPU/LIMIT", Constraint::Length(16)),
        ("MEM/LIMIT", Constraint::Length(16)),
        ("RESERVED", Constraint::Length(12)),
        ("UPDATE", Constraint::Length(18)),
        ("ROUTE", Constraint::Min(10)),
    ];
    frame.render_widget(table(state, rows, &widths), inner);
}

pub fn render_service(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    swarm: &SwarmConsole,
    id: &str,
) {
    let theme = &state.theme;
    let Some(service) = swarm.state.services.iter().find(|s| s.id == id) else {
        let outer = block(theme, " Service ");
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "This service is gone (removed meanwhile).",
                muted(theme),
            )),
            inner,
        );
        return;
    };
    let outer = block(
        theme,
        Line::from(vec![
            Span::raw(format!(" {} ", service.name)),
            Span::styled(
                format!("{} · {} ", service.mode.label(), service.image),
                muted(theme),
            ),
        ]),
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let u = &service.update;
    let r = &service.rollback;
    let mut about = vec![Line::from(vec![
        Span::styled("update ", muted(theme)),
        Span::raw(format!(
            "{} at a time · delay {}s · monitor {}s · {} · on failure {}",
            u.parallelism, u.delay_s, u.monitor_s, u.order, u.failure_action
        )),
        Span::styled("   rollback ", muted(theme)),
        Span::raw(format!(
            "{} at a time · {} · on failure {}",
            r.parallelism, r.order, r.failure_action
        )),
    ])];
    about.push(match &service.update_status {
        Some(status) => Line::from(vec![
            Span::styled("last update ", muted(theme)),
            Span::styled(
                status.state.clone(),
                Style::new().fg(state_color(state, &status.state)),
            ),
            Span::raw(format!(
                " {} · {}",
                since(status.started_at, state.now),
                status.message
            )),
        ]),
        None => Line::styled(
            "last update: none since the last change of scale or creation",
            muted(theme),
        ),
    });
    let constraints = if service.constraints.is_empty() {
        "none".to_string()
    } else {
        service.constraints.join(", ")
    };
    about.push(Line::from(vec![
        Span::styled("placement ", muted(theme)),
        Span::raw(constraints),
        Span::raw(if service.max_per_node > 0 {
            format!(" · at most {} per node", service.max_per_node)
        } else {
            String::new()
        }),
    ]));
    let [top, rest] = Layout::vertical([
        Constraint::Length(about.len() as u16 + 1),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(about).wrap(Wrap { trim: true }), top);
    let tasks = swarm.tasks_of(id);
    let height = usize::from(rest.height.saturating_sub(1));
    let selected = swarm.task.min(tasks.len().saturating_sub(1));
    let offset = window(selected, tasks.len(), height);
    let rows = tasks
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, t)| task_row(state, swarm, service, t, i == selected));
    let widths = [
        ("SLOT", Constraint::Length(12)),
        ("NODE", Constraint::Length(14)),
        ("STATE", Constraint::Length(10)),
        ("DESIRED", Constraint::Length(8)),
        ("AGE", Constraint::Length(6)),
        ("IMAGE", Constraint::Length(20)),
        ("CPU", Constraint::Length(6)),
        ("MEM", Constraint::Length(9)),
        ("EXIT", Constraint::Length(4)),
        ("ERROR / MESSAGE", Constraint::Min(20)),
    ];
    frame.render_widget(table(state, rows, &widths), rest);
}

fn task_row<'a>(
    state: &State,
    swarm: &SwarmConsole,
    service: &SwarmService,
    task: &SwarmTask,
    selected: bool,
) -> Row<'a> {
    let theme = &state.theme;
    let node = task
        .node_id
        .as_deref()
        .and_then(|id| swarm.state.node(id))
        .map_or("-".to_string(), |n| n.hostname.clone());
    let usage = swarm.usage.tasks.get(&task.id);
    let slot = format!(
        "{}.{}",
        service.short_name(),
        task.slot
            .map_or_else(|| task.short_id().to_string(), |s| s.to_string())
    );
    let style = if task.is_desired() {
        base(theme)
    } else {
        muted(theme)
    };
    let reason = task.reason();
    let cells = vec![
        Line::styled(slot, style),
        Line::styled(node, style),
        Line::styled(
            task.state.clone(),
            Style::new().fg(state_color(state, &task.state)),
        ),
        Line::styled(task.desired_state.clone(), muted(theme)),
        Line::styled(since(task.since, state.now), muted(theme)),
        Line::styled(task.image.clone(), style),
        Line::raw(usage.map_or("-".into(), |u| format!("{:.2}", u.cpu_percent / 100.0))),
        Line::raw(usage.map_or("-".into(), |u| bytes(u.memory_bytes))),
        Line::raw(
            task.exit_code
                .filter(|c| *c != 0)
                .map_or(String::new(), |c| c.to_string()),
        ),
        Line::styled(
            reason.clone(),
            if task.error.is_some() {
                Style::new().fg(theme.crit.0)
            } else {
                muted(theme)
            },
        ),
    ];
    highlighted(state, Row::new(cells), selected)
}

pub fn render_nodes(frame: &mut Frame, area: Rect, state: &State, swarm: &SwarmConsole) {
    let theme = &state.theme;
    let data = &swarm.state;
    let outer = block(
        theme,
        Line::from(vec![
            Span::raw(" Nodes "),
            Span::styled(
                format!(
                    "[{}] reserved by task reservations, used from each node's engine ",
                    data.nodes.len()
                ),
                muted(theme),
            ),
        ]),
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let height = usize::from(inner.height.saturating_sub(1));
    let offset = window(swarm.node, data.nodes.len(), height);
    let rows = data
        .nodes
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, n)| {
            let (cpu, memory) = data.reserved_on(&n.id);
            let cpu_pct = if n.cpus > 0.0 {
                cpu * 100.0 / n.cpus
            } else {
                0.0
            };
            let mem_pct = if n.memory_bytes > 0 {
                memory as f64 * 100.0 / n.memory_bytes as f64
            } else {
                0.0
            };
            let role = match (n.role.as_str(), n.leader) {
                ("manager", true) => "leader".to_string(),
                // The header names an unreachable manager and what it means for quorum.
                ("manager", false) if n.reachability.as_deref() == Some("reachable") => {
                    "manager".to_string()
                }
                ("manager", false) => "manager ✗".to_string(),
                (role, _) => role.to_string(),
            };
            let tasks = data
                .tasks
                .iter()
                .filter(|t| t.is_desired() && t.node_id.as_deref() == Some(&n.id))
                .count();
            let used = match swarm.usage.nodes.get(&n.hostname) {
                Some(NodeUsage::Sampled { total, .. }) => Line::raw(format!(
                    "{:.2} cores {}",
                    total.cpu_percent / 100.0,
                    bytes(total.memory_bytes)
                )),
                Some(NodeUsage::Missing(why)) => {
                    Line::styled(format!("? {why}"), Style::new().fg(theme.warn.0))
                }
                None => Line::styled("…", muted(theme)),
            };
            let cells = vec![
                Line::styled(n.hostname.clone(), base(theme).add_modifier(Modifier::BOLD)),
                Line::styled(role, muted(theme)),
                Line::styled(
                    n.state.clone(),
                    Style::new().fg(state_color(state, &n.state)),
                ),
                Line::styled(
                    n.availability.clone(),
                    Style::new().fg(state_color(state, &n.availability)),
                ),
                Line::raw(n.zone().unwrap_or("-").to_string()),
                Line::raw(n.engine_version.clone()),
                Line::from(vec![
                    Span::styled(
                        bar(cpu_pct, 6),
                        Style::new().fg(level_color(state, cpu_pct)),
                    ),
                    Span::raw(format!(" {cpu:.2}/{}", core_count(n.cpus))),
                ]),
                Line::from(vec![
                    Span::styled(
                        bar(mem_pct, 6),
                        Style::new().fg(level_color(state, mem_pct)),
                    ),
                    Span::raw(format!(" {}/{}", bytes(memory), bytes(n.memory_bytes))),
                ]),
                Line::raw(tasks.to_string()),
                used,
            ];
            highlighted(state, Row::new(cells), i == swarm.node)
        });
    let widths = [
        ("NODE", Constraint::Length(14)),
        ("ROLE", Constraint::Length(9)),
        ("STATE", Constraint::Length(7)),
        ("AVAIL", Constraint::Length(6)),
        ("ZONE", Constraint::Length(11)),
        ("ENGINE", Constraint::Length(9)),
        ("CPU RESERVED", Constraint::Length(16)),
        ("MEM RESERVED", Constraint::Length(24)),
        ("TASKS", Constraint::Length(5)),
        ("USED", Constraint::Min(12)),
    ];
    frame.render_widget(table(state, rows, &widths), inner);
}
