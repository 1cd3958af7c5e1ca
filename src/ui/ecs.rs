//! The ECS views: the cluster header, services, one service (deployments, tasks with their
//! containers and ALB target health, events) and nodes. Units are labelled: CPU in units
//! (1024 = 1 vCPU), memory in MiB; CloudWatch usage shows how old it is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};

use super::format::{age, bar, since};
use super::{base, block, env_badge, level_color, muted};
use crate::app::{EcsConsole, State};
use crate::backend::ecs::{EcsNode, EcsService, EcsTask, Section, TargetHealth};
use crate::config::{EcsTarget, Target};

pub fn render_header(frame: &mut Frame, area: Rect, state: &State, ecs: &EcsConsole) {
    let theme = &state.theme;
    let data = &ecs.data;
    let sep = || Span::styled(" │ ", Style::new().fg(theme.border.0));
    // The ECS header names the target's region and profile.
    let target = match &state.context.target {
        Target::Ecs(target) => target.clone(),
        Target::Docker(_) | Target::Swarm(_) => EcsTarget::default(),
    };
    let mut first = super::header::context_spans(state);
    first.extend([
        Span::styled(
            format!(
                "cluster {} · {}{}",
                if data.cluster.is_empty() {
                    "?"
                } else {
                    &data.cluster
                },
                target.region.as_deref().unwrap_or("default region"),
                target
                    .profile
                    .as_deref()
                    .map(|p| format!(" · profile {p}"))
                    .unwrap_or_default()
            ),
            base(theme),
        ),
        sep(),
    ]);
    first.push(match (data.updated_at, data.errors.is_empty()) {
        (None, _) => Span::styled("◌ connecting…", Style::new().fg(theme.warn.0)),
        (Some(at), true) => Span::styled(
            format!("● updated {} ago", age((state.now - at).num_seconds())),
            Style::new().fg(theme.ok.0),
        ),
        (Some(at), false) => Span::styled(
            format!(
                "⚠ {} failing · updated {} ago",
                data.errors
                    .keys()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                age((state.now - at).num_seconds())
            ),
            Style::new().fg(theme.warn.0).add_modifier(Modifier::BOLD),
        ),
    });
    first.extend(super::header::readonly_badge(state));
    let nodes = &data.nodes;
    let sum = |f: fn(&EcsNode) -> i32| nodes.iter().map(|n| i64::from(f(n))).sum::<i64>();
    let (cpu, cpu_free) = (
        sum(|n| n.registered_cpu_units),
        sum(|n| n.remaining_cpu_units),
    );
    let (mem, mem_free) = (
        sum(|n| n.registered_memory_mib),
        sum(|n| n.remaining_memory_mib),
    );
    let share = |used: i64, of: i64| used as f64 * 100.0 / of.max(1) as f64;
    let cpu_pct = share(cpu - cpu_free, cpu);
    let mem_pct = share(mem - mem_free, mem);
    let second = Line::from(vec![
        Span::styled(" Nodes ", muted(theme)),
        Span::styled(
            format!(
                "{} ({} agents lost)",
                nodes.len(),
                nodes.iter().filter(|n| !n.agent_connected).count()
            ),
            base(theme),
        ),
        sep(),
        Span::styled("Reserved ", muted(theme)),
        Span::styled(
            format!("CPU {}/{} units {:.0}% ", cpu - cpu_free, cpu, cpu_pct),
            Style::new().fg(level_color(state, cpu_pct)),
        ),
        Span::styled(
            format!(" mem {}/{} MiB {:.0}%", mem - mem_free, mem, mem_pct),
            Style::new().fg(level_color(state, mem_pct)),
        ),
    ]);
    let running = data.tasks.iter().filter(|t| t.is_running()).count();
    let desired: i32 = data.services.iter().map(|s| s.desired).sum();
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
                "refresh every {}s · last {} requests in {} ms",
                state.context.refresh.as_secs(),
                data.calls,
                data.took.as_millis()
            ),
            muted(theme),
        ),
    ]);
    frame.render_widget(Paragraph::new(vec![Line::from(first), second, third]), area);
}

/// Errors of the parts a view shows, one line each above it; returns the area left.
fn errors_area(
    frame: &mut Frame,
    state: &State,
    ecs: &EcsConsole,
    area: Rect,
    sections: &[Section],
) -> Rect {
    let errors: Vec<Line> = sections
        .iter()
        .filter_map(|section| {
            ecs.data.errors.get(section).map(|error| {
                Line::styled(
                    format!(
                        "⚠ {}: {error} (showing the last good data; retrying)",
                        section.label()
                    ),
                    Style::new().fg(state.theme.crit.0),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        return area;
    }
    let height = (errors.len() as u16 * 2).min(area.height / 2);
    let [top, rest] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(errors).wrap(Wrap { trim: true }), top);
    rest
}

pub(super) fn header_row(state: &State, titles: &[&'static str]) -> Row<'static> {
    let style = Style::new()
        .fg(state.theme.accent.0)
        .add_modifier(Modifier::BOLD);
    Row::new(titles.iter().map(|t| Line::styled(*t, style)))
}

/// A table with a bold header, each column titled beside its width.
pub(super) fn table<'a>(
    state: &State,
    rows: impl IntoIterator<Item = Row<'a>>,
    columns: &[(&'static str, Constraint)],
) -> Table<'a> {
    let titles: Vec<&'static str> = columns.iter().map(|(title, _)| *title).collect();
    Table::new(rows, columns.iter().map(|(_, width)| *width))
        .header(header_row(state, &titles))
        .column_spacing(1)
}

/// The row in the selection's colours when it is the selected one.
pub(super) fn highlighted<'a>(state: &State, row: Row<'a>, selected: bool) -> Row<'a> {
    if selected {
        row.style(selected_style(state))
    } else {
        row
    }
}

pub(super) fn selected_style(state: &State) -> Style {
    Style::new()
        .bg(state.theme.selected_bg.0)
        .fg(state.theme.selected_fg.0)
}

/// Rows `offset..` so that `selected` is in view of `height` rows.
pub(super) fn window(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        0
    } else {
        selected.saturating_sub(height - 1).min(len - height)
    }
}

fn status_color(state: &State, status: &str) -> Color {
    match status {
        "ACTIVE" | "RUNNING" | "HEALTHY" | "healthy" | "COMPLETED" => state.theme.ok.0,
        "PENDING" | "PROVISIONING" | "ACTIVATING" | "IN_PROGRESS" | "initial" | "draining"
        | "UNKNOWN" | "DEACTIVATING" | "STOPPING" => state.theme.warn.0,
        "STOPPED" | "DEPROVISIONING" | "INACTIVE" => state.theme.muted.0,
        _ => state.theme.crit.0,
    }
}

/// `used/reserved` with a bar; usage from CloudWatch, so its age goes in the title.
pub(super) fn usage_cell(
    state: &State,
    used: Option<f64>,
    reserved: Option<f64>,
    unit: &str,
) -> Line<'static> {
    match (used, reserved) {
        (Some(used), Some(reserved)) if reserved > 0.0 => {
            let pct = used * 100.0 / reserved;
            Line::from(vec![
                Span::styled(bar(pct, 5), Style::new().fg(level_color(state, pct))),
                Span::raw(format!(" {used:.2}/{reserved:.2}{unit}")),
            ])
        }
        (None, Some(reserved)) => {
            Line::styled(format!("  -/{reserved:.2}{unit}"), muted(&state.theme))
        }
        _ => Line::styled("-", muted(&state.theme)),
    }
}

fn targets_cell(state: &State, targets: &[&TargetHealth]) -> Line<'static> {
    if targets.is_empty() {
        return Line::styled("-", muted(&state.theme));
    }
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let color = if healthy == targets.len() {
        state.theme.ok.0
    } else if healthy == 0 {
        state.theme.crit.0
    } else {
        state.theme.warn.0
    };
    Line::styled(
        format!("{healthy}/{} healthy", targets.len()),
        Style::new().fg(color),
    )
}

fn deployment_cell(state: &State, service: &EcsService) -> Line<'static> {
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
    let others = service.deployments.len().saturating_sub(1);
    match primary {
        Some(d) => {
            let rollout = d.rollout_state.as_deref().unwrap_or("-");
            let text = if others > 0 {
                format!("{rollout} (+{others} old)")
            } else {
                rollout.to_string()
            };
            Line::styled(text, Style::new().fg(status_color(state, rollout)))
        }
        None => Line::styled("-", muted(&state.theme)),
    }
}

pub fn render_services(frame: &mut Frame, area: Rect, state: &State, ecs: &EcsConsole) {
    let theme = &state.theme;
    let data = &ecs.data;
    let title = Line::from(vec![
        Span::raw(" Services "),
        Span::styled(
            format!("[{}/{}] ", ecs.rows.len(), data.services.len()),
            muted(theme),
        ),
        Span::styled(usage_age(state, ecs), muted(theme)),
    ]);
    let outer = block(theme, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let inner = errors_area(
        frame,
        state,
        ecs,
        inner,
        &[
            Section::Cluster,
            Section::Services,
            Section::Targets,
            Section::Metrics,
        ],
    );
    if data.services.is_empty() {
        let text = if data.updated_at.is_none() {
            "Reading the cluster…"
        } else {
            "No services in this cluster."
        };
        frame.render_widget(Paragraph::new(Line::styled(text, muted(theme))), inner);
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let offset = window(ecs.selected, ecs.rows.len(), height);
    let rows = ecs
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(row, &index)| {
            let s = &data.services[index];
            let (cpu_used, mem_used) = data.usage(s);
            let (cpu_resv, mem_resv) = data.reserved(s);
            let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
            let pending = if s.pending > 0 {
                format!(" +{}", s.pending)
            } else {
                String::new()
            };
            let counts_color = if s.running < s.desired {
                theme.warn.0
            } else {
                theme.fg.0
            };
            let cells = vec![
                Line::styled(s.name.clone(), base(theme).add_modifier(Modifier::BOLD)),
                Line::from(env_badge(theme, s.env)),
                Line::styled(
                    s.status.clone(),
                    Style::new().fg(status_color(state, &s.status)),
                ),
                Line::styled(
                    format!("{}/{}{pending}", s.running, s.desired),
                    Style::new().fg(counts_color),
                ),
                Line::raw(s.task_definition.clone()),
                usage_cell(state, cpu_used.map(|p| p / 100.0), cpu_resv, ""),
                usage_cell(state, mem_used.map(gib), mem_resv.map(gib), ""),
                targets_cell(state, &data.targets_of(s)),
                deployment_cell(state, s),
            ];
            let widget = Row::new(cells);
            highlighted(state, widget, row == ecs.selected)
        });
    let name_width = data
        .services
        .iter()
        .map(|s| s.name.chars().count() as u16)
        .max()
        .unwrap_or(10)
        .clamp(10, 34);
    let table = table(
        state,
        rows,
        &[
            ("SERVICE", Constraint::Length(name_width)),
            ("ENV", Constraint::Length(4)),
            ("STATUS", Constraint::Length(8)),
            ("RUN/WANT", Constraint::Length(9)),
            ("TASK DEF", Constraint::Length(name_width.min(28) + 3)),
            ("CPU used/resv vCPU", Constraint::Length(19)),
            ("MEM used/resv GiB", Constraint::Length(18)),
            ("ALB TARGETS", Constraint::Length(12)),
            ("ROLLOUT", Constraint::Min(10)),
        ],
    );
    frame.render_widget(table, inner);
}

fn usage_age(state: &State, ecs: &EcsConsole) -> String {
    let newest = ecs.data.metrics.values().filter_map(|m| m.at).max();
    match newest {
        Some(at) => format!("usage: CloudWatch, {} old ", since(Some(at), state.now)),
        None if ecs.data.updated_at.is_some() => "usage: no CloudWatch datapoints yet ".into(),
        None => String::new(),
    }
}

pub fn render_service(frame: &mut Frame, area: Rect, state: &State, ecs: &EcsConsole, name: &str) {
    let theme = &state.theme;
    let data = &ecs.data;
    let Some(service) = data.service(name) else {
        let outer = block(theme, format!(" {name} "));
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "This service is no longer in the cluster. Esc goes back.",
                muted(theme),
            )),
            inner,
        );
        return;
    };
    let tasks = data.tasks_of(name);
    let task_index = ecs.task.min(tasks.len().saturating_sub(1));
    let selected = tasks.get(task_index).copied();
    let outer = block(
        theme,
        Line::from(vec![
            Span::raw(format!(" {name} ")),
            Span::styled(format!("{} ", service.task_definition), muted(theme)),
        ]),
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let inner = errors_area(
        frame,
        state,
        ecs,
        inner,
        &[Section::Services, Section::Tasks, Section::Targets],
    );

    let deployments = service.deployments.len().max(1) as u16;
    let containers = selected.map_or(1, |t| t.containers.len().max(1)) as u16;
    let [summary, deploy_area, task_area, container_area, events_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(deployments + 3),
        Constraint::Min(4),
        Constraint::Length(containers + 3),
        Constraint::Length(7),
    ])
    .areas(inner);

    let size = format!(
        "task size {} CPU units ({:.2} vCPU) · {} MiB",
        service.cpu_units.map_or("-".into(), |u| u.to_string()),
        f64::from(service.cpu_units.unwrap_or(0)) / 1024.0,
        service.memory_mib.map_or("-".into(), |m| m.to_string())
    );
    let exec = if service.enable_execute_command {
        Span::styled("ECS Exec on", Style::new().fg(theme.ok.0))
    } else {
        Span::styled("ECS Exec off", muted(theme))
    };
    let placement = if service.placement.is_empty() {
        "default placement".to_string()
    } else {
        service.placement.join(", ")
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(
                    format!(
                        "{} {}/{} running",
                        service.status, service.running, service.desired
                    ),
                    Style::new().fg(status_color(state, &service.status)),
                ),
                Span::styled(format!(" · {size} · "), muted(theme)),
                exec,
                Span::styled(format!(" · {placement}"), muted(theme)),
            ]),
            Line::styled(
                format!("images: {}", service.images().join(", ")),
                muted(theme),
            ),
        ]),
        summary,
    );

    let deploy_rows = service.deployments.iter().map(|d| {
        Row::new(vec![
            Line::styled(
                d.status.clone(),
                Style::new().fg(if d.status == "PRIMARY" {
                    theme.accent.0
                } else {
                    theme.muted.0
                }),
            ),
            Line::raw(d.task_definition.clone()),
            Line::raw(format!("{}/{}", d.running, d.desired)),
            Line::raw(d.pending.to_string()),
            Line::raw(d.failed_tasks.to_string()),
            Line::styled(
                d.rollout_state.clone().unwrap_or("-".into()),
                Style::new().fg(status_color(
                    state,
                    d.rollout_state.as_deref().unwrap_or("-"),
                )),
            ),
            Line::styled(d.rollout_reason.clone().unwrap_or_default(), muted(theme)),
        ])
    });
    let deploy_block = block(theme, " Deployments ");
    frame.render_widget(
        table(
            state,
            deploy_rows,
            &[
                ("STATUS", Constraint::Length(8)),
                ("TASK DEF", Constraint::Length(28)),
                ("RUN/WANT", Constraint::Length(9)),
                ("PENDING", Constraint::Length(7)),
                ("FAILED", Constraint::Length(6)),
                ("ROLLOUT", Constraint::Length(12)),
                ("REASON", Constraint::Min(10)),
            ],
        )
        .block(deploy_block),
        deploy_area,
    );

    render_tasks(frame, task_area, state, ecs, service, &tasks, task_index);
    render_containers(frame, container_area, state, ecs, selected);

    let events: Vec<Line> = service
        .events
        .iter()
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{:>6} ago ", since(e.at, state.now)), muted(theme)),
                Span::raw(e.message.clone()),
            ])
        })
        .collect();
    let events = if events.is_empty() {
        vec![Line::styled("no events", muted(theme))]
    } else {
        events
    };
    frame.render_widget(
        Paragraph::new(events).block(block(theme, " Events (newest first) ")),
        events_area,
    );
}

fn render_tasks(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    ecs: &EcsConsole,
    service: &EcsService,
    tasks: &[&EcsTask],
    selected: usize,
) {
    let theme = &state.theme;
    let data = &ecs.data;
    let outer = block(theme, format!(" Tasks [{}] ", tasks.len()));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if tasks.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no running or recently stopped tasks",
                muted(theme),
            )),
            inner,
        );
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let offset = window(selected, tasks.len(), height);
    let rows = tasks
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, task)| {
            let node = data.node_of(task);
            let targets = data.targets_of_task(service, task);
            let target = match targets.first() {
                Some(t) => Line::styled(
                    match &t.reason {
                        Some(reason) => format!(
                            "{} ({})",
                            t.state,
                            reason.strip_prefix("Target.").unwrap_or(reason)
                        ),
                        None => t.state.clone(),
                    },
                    Style::new().fg(status_color(state, &t.state)),
                ),
                None if service.target_groups.is_empty() => Line::styled("-", muted(theme)),
                None => Line::styled("not registered", Style::new().fg(theme.warn.0)),
            };
            let outcome = if task.is_running() {
                format!("up {}", since(task.started_at, state.now))
            } else {
                let exit = task
                    .containers
                    .iter()
                    .filter_map(|c| c.exit_code.map(|code| format!("{}={code}", c.name)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let reason = task.stopped_reason.clone().unwrap_or_default();
                if exit.is_empty() {
                    reason
                } else {
                    format!("exit {exit} · {reason}")
                }
            };
            let widget = Row::new(vec![
                Line::raw(task.id.get(..12).unwrap_or(&task.id).to_string()),
                Line::styled(
                    task.last_status.clone(),
                    Style::new().fg(status_color(state, &task.last_status)),
                ),
                Line::styled(
                    task.health.clone().unwrap_or("-".into()),
                    Style::new().fg(status_color(state, task.health.as_deref().unwrap_or("-"))),
                ),
                Line::raw(task.task_definition.clone()),
                Line::raw(task.availability_zone.clone().unwrap_or("-".into())),
                Line::raw(node.map_or("-".to_string(), |n| n.instance_id.clone())),
                target,
                Line::raw(outcome),
            ]);
            highlighted(state, widget, i == selected)
        });
    frame.render_widget(
        table(
            state,
            rows,
            &[
                ("TASK", Constraint::Length(12)),
                ("STATUS", Constraint::Length(9)),
                ("HEALTH", Constraint::Length(9)),
                ("TASK DEF", Constraint::Length(24)),
                ("AZ", Constraint::Length(11)),
                ("NODE", Constraint::Length(19)),
                ("ALB TARGET", Constraint::Length(32)),
                ("STARTED / STOPPED", Constraint::Min(10)),
            ],
        ),
        inner,
    );
}

fn render_containers(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    ecs: &EcsConsole,
    task: Option<&EcsTask>,
) {
    let theme = &state.theme;
    let title = match task {
        Some(t) => format!(
            " Containers of {} (tab selects) ",
            t.id.get(..12).unwrap_or(&t.id)
        ),
        None => " Containers ".to_string(),
    };
    let rows: Vec<Row> = task
        .map(|t| {
            t.containers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let widget = Row::new(vec![
                        Line::raw(c.name.clone()),
                        Line::styled(
                            c.last_status.clone(),
                            Style::new().fg(status_color(state, &c.last_status)),
                        ),
                        Line::styled(
                            c.health.clone().unwrap_or("-".into()),
                            Style::new()
                                .fg(status_color(state, c.health.as_deref().unwrap_or("-"))),
                        ),
                        Line::raw(c.image.clone()),
                        Line::raw(c.exit_code.map_or("-".into(), |e| e.to_string())),
                        Line::raw(c.exec_agent.clone().unwrap_or("-".into())),
                        Line::styled(c.reason.clone().unwrap_or_default(), muted(theme)),
                    ]);
                    if i == ecs.container.min(t.containers.len().saturating_sub(1)) {
                        widget.style(Style::new().add_modifier(Modifier::BOLD))
                    } else {
                        widget
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(
        table(
            state,
            rows,
            &[
                ("CONTAINER", Constraint::Length(18)),
                ("STATUS", Constraint::Length(9)),
                ("HEALTH", Constraint::Length(9)),
                ("IMAGE", Constraint::Min(20)),
                ("EXIT", Constraint::Length(5)),
                ("EXEC AGENT", Constraint::Length(10)),
                ("REASON", Constraint::Length(24)),
            ],
        )
        .block(block(theme, title)),
        area,
    );
}

pub fn render_nodes(frame: &mut Frame, area: Rect, state: &State, ecs: &EcsConsole) {
    let theme = &state.theme;
    let data = &ecs.data;
    let outer = block(
        theme,
        Line::from(vec![
            Span::raw(" Nodes "),
            Span::styled(
                format!(
                    "[{}] registered / reserved (registered − remaining) ",
                    data.nodes.len()
                ),
                muted(theme),
            ),
        ]),
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let inner = errors_area(frame, state, ecs, inner, &[Section::Nodes]);
    if data.nodes.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "No container instances in this cluster.",
                muted(theme),
            )),
            inner,
        );
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let offset = window(ecs.node, data.nodes.len(), height);
    let rows = data
        .nodes
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, n)| {
            let share = |used: i32, of: i32| f64::from(used) * 100.0 / f64::from(of.max(1));
            let cpu = share(n.reserved_cpu_units(), n.registered_cpu_units);
            let mem = share(n.reserved_memory_mib(), n.registered_memory_mib);
            let widget = Row::new(vec![
                Line::raw(n.instance_id.clone()),
                Line::raw(n.availability_zone.clone().unwrap_or("-".into())),
                Line::raw(n.instance_type.clone().unwrap_or("-".into())),
                if n.agent_connected {
                    Line::styled("✓ connected", Style::new().fg(theme.ok.0))
                } else {
                    Line::styled(
                        "✗ LOST",
                        Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
                    )
                },
                Line::from(vec![
                    Span::styled(bar(cpu, 6), Style::new().fg(level_color(state, cpu))),
                    Span::raw(format!(
                        " {}/{} units",
                        n.reserved_cpu_units(),
                        n.registered_cpu_units
                    )),
                ]),
                Line::from(vec![
                    Span::styled(bar(mem, 6), Style::new().fg(level_color(state, mem))),
                    Span::raw(format!(
                        " {}/{} MiB",
                        n.reserved_memory_mib(),
                        n.registered_memory_mib
                    )),
                ]),
                Line::raw(format!(
                    "{} (+{} pending)",
                    n.running_tasks, n.pending_tasks
                )),
                Line::styled(
                    n.status.clone(),
                    Style::new().fg(status_color(state, &n.status)),
                ),
            ]);
            highlighted(state, widget, i == ecs.node)
        });
    frame.render_widget(
        table(
            state,
            rows,
            &[
                ("INSTANCE", Constraint::Length(20)),
                ("AZ", Constraint::Length(12)),
                ("TYPE", Constraint::Length(10)),
                ("AGENT", Constraint::Length(11)),
                ("CPU reserved", Constraint::Length(24)),
                ("MEM reserved", Constraint::Length(24)),
                ("TASKS", Constraint::Length(16)),
                ("STATUS", Constraint::Min(8)),
            ],
        ),
        inner,
    );
}
