//! The capacity view: allocated against capacity with used (and its peak in the window) as
//! bars, each service's share and headroom, ECS nodes and zones, and the `:scale` what-if.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::format::{bar, bytes};
use super::{base, block, level_color, muted};
use crate::app::State;
use crate::capacity::{self, Report};
use crate::config::Target;

/// The report for what is on screen now, or why there is none.
pub fn report(state: &State) -> Result<Report, String> {
    // Each platform's report comes from its own data (as `dokk capacity` does).
    match (&state.context.target, &state.ecs, &state.snapshot) {
        (Target::Ecs(_), Some(ecs), _) if ecs.data.updated_at.is_some() => {
            capacity::ecs(&ecs.data, &state.capacity_scale)
        }
        (Target::Docker(docker), _, Some(snapshot)) => {
            let mut report = capacity::compose(snapshot, &state.capacity_scale)?;
            report.advise_host(docker.instance_type.as_deref());
            Ok(report)
        }
        _ => Err("waiting for the first data…".into()),
    }
}

fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part * 100.0 / whole
    } else {
        0.0
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let title = if state.capacity_scale.is_empty() {
        " Capacity  (:scale SERVICE=N … asks what a scale-up needs) ".to_string()
    } else {
        let list: Vec<String> = state
            .capacity_scale
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect();
        format!(" Capacity · what if {} ", list.join(" "))
    };
    let outer = block(theme, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let report = match report(state) {
        Ok(report) => report,
        Err(message) => {
            frame.render_widget(
                Paragraph::new(Line::styled(message, Style::new().fg(theme.crit.0))),
                inner,
            );
            return;
        }
    };
    let advice = report
        .instance_advice
        .as_ref()
        .map(|a| a.lines())
        .unwrap_or_default();
    let verdict_lines = 1 + (report.problems.len() + advice.len()) as u16;
    let nodes = if report.nodes.is_empty() {
        0
    } else {
        report.nodes.len() as u16 + 3
    };
    let [totals, verdict, services, nodes_area] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(verdict_lines + 1),
        Constraint::Min(3),
        Constraint::Length(nodes),
    ])
    .areas(inner);

    let cpu = &report.cpu;
    let memory = &report.memory;
    let peak = |values: &std::collections::VecDeque<f64>| {
        values
            .iter()
            .copied()
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let cpu_peak = peak(&state.fleet_history.cpu).map(|p| p / 100.0);
    let memory_peak = state.fleet_history.memory.iter().copied().max();
    let cpu_pct = share(cpu.after, cpu.capacity);
    let memory_pct = share(memory.after as f64, memory.capacity as f64);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("CPU     ", muted(theme)),
            Span::styled(
                bar(cpu_pct, 24),
                Style::new().fg(level_color(state, cpu_pct)),
            ),
            Span::styled(
                format!(
                    " {} {:.2} of {:.2} cores ({:.0}%)",
                    report.allocation_word(),
                    cpu.after,
                    cpu.capacity,
                    cpu_pct
                ),
                base(theme),
            ),
            Span::styled(
                format!(
                    "{}{}",
                    cpu.used
                        .map(|u| format!(" · used {u:.2}"))
                        .unwrap_or_default(),
                    cpu_peak
                        .map(|p| format!(" · peak {p:.2}"))
                        .unwrap_or_default()
                ),
                muted(theme),
            ),
        ]),
        Line::from(vec![
            Span::styled("memory  ", muted(theme)),
            Span::styled(
                bar(memory_pct, 24),
                Style::new().fg(level_color(state, memory_pct)),
            ),
            Span::styled(
                format!(
                    " {} {} of {} ({:.0}%)",
                    report.allocation_word(),
                    bytes(memory.after),
                    bytes(memory.capacity),
                    memory_pct
                ),
                base(theme),
            ),
            Span::styled(
                format!(
                    "{}{}",
                    memory
                        .used
                        .map(|u| format!(" · used {}", bytes(u)))
                        .unwrap_or_default(),
                    memory_peak
                        .map(|p| format!(" · peak {}", bytes(p)))
                        .unwrap_or_default()
                ),
                muted(theme),
            ),
        ]),
    ];
    if let Some(reserved) = report.memory_reservations.filter(|r| *r > 0) {
        lines.push(Line::styled(
            format!(
                "        memory reservations (soft limits) sum to {}",
                bytes(reserved)
            ),
            muted(theme),
        ));
    }
    if let Some(units) = &report.ecs {
        lines.push(Line::styled(
            format!(
                "ECS     {}/{} CPU units · {}/{} MiB reserved (1024 units = 1 vCPU); \"unreserved\" is not free: used is from CloudWatch",
                units.cpu_units.after,
                units.cpu_units.capacity,
                units.memory_mib.after,
                units.memory_mib.capacity
            ),
            muted(theme),
        ));
    }
    if !report.unlimited.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(
                "no limit ",
                Style::new()
                    .fg(theme.no_limit.0)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("(can take the whole host): {}", report.unlimited.join(", ")),
                muted(theme),
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), totals);

    let mut verdict_text = vec![if report.fits {
        Line::styled(
            "✓ fits",
            Style::new().fg(theme.ok.0).add_modifier(Modifier::BOLD),
        )
    } else {
        Line::styled(
            match report.nodes_needed.filter(|n| *n > 0) {
                Some(n) => format!("✗ does not fit: {n} more node(s) of the current size needed"),
                None => "✗ does not fit".to_string(),
            },
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        )
    }];
    verdict_text.extend(
        report
            .problems
            .iter()
            .map(|p| Line::styled(format!("  {p}"), Style::new().fg(theme.crit.0))),
    );
    verdict_text.extend(
        advice
            .into_iter()
            .map(|line| Line::raw(format!("  {line}"))),
    );
    frame.render_widget(Paragraph::new(verdict_text), verdict);

    let header = Row::new(
        [
            "SERVICE",
            "REPLICAS",
            "CPU/REPLICA",
            "MEM/REPLICA",
            "SHARE OF CPU",
            "HEADROOM",
            "WHAT-IF",
        ]
        .map(|t| {
            Line::styled(
                t,
                Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
            )
        }),
    );
    let rows = report.services.iter().map(|s| {
        let cpu_share = s
            .cpu_per_replica
            .map(|c| share(c * f64::from(s.replicas), cpu.capacity));
        Row::new(vec![
            Line::raw(s.name.clone()),
            Line::raw(s.replicas.to_string()),
            s.cpu_per_replica.map_or_else(
                || Line::styled("no limit", Style::new().fg(theme.no_limit.0)),
                |c| Line::raw(format!("{c:.2} cores")),
            ),
            s.memory_per_replica.map_or_else(
                || Line::styled("no limit", Style::new().fg(theme.no_limit.0)),
                |m| Line::raw(bytes(m)),
            ),
            cpu_share.map_or(Line::raw("-"), |p| {
                Line::raw(format!("{} {p:.0}%", bar(p, 8)))
            }),
            match s.headroom {
                Some(0) => Line::styled("+0", Style::new().fg(theme.crit.0)),
                Some(h) if h > 10_000 => Line::raw("no CPU/memory asked"),
                Some(h) => Line::raw(format!("+{h}")),
                None => Line::styled("-", muted(theme)),
            },
            Line::raw(s.scale_to.map_or(String::new(), |n| format!("→ {n}"))),
        ])
    });
    let name_width = report
        .services
        .iter()
        .map(|s| s.name.chars().count() as u16)
        .max()
        .unwrap_or(10)
        .clamp(10, 40);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(name_width),
                Constraint::Length(8),
                Constraint::Length(12),
                Constraint::Length(12),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Min(8),
            ],
        )
        .header(header)
        .column_spacing(1),
        services,
    );

    if !report.nodes.is_empty() {
        let rows = report.nodes.iter().map(|n| {
            let cpu = share(n.reserved_after.cpu as f64, n.registered.cpu as f64);
            let memory = share(n.reserved_after.memory as f64, n.registered.memory as f64);
            Row::new(vec![
                Line::raw(n.id.clone()),
                Line::raw(n.az.clone()),
                Line::from(vec![
                    Span::styled(bar(cpu, 10), Style::new().fg(level_color(state, cpu))),
                    Span::raw(format!(
                        " {}/{} units",
                        n.reserved_after.cpu, n.registered.cpu
                    )),
                ]),
                Line::from(vec![
                    Span::styled(bar(memory, 10), Style::new().fg(level_color(state, memory))),
                    Span::raw(format!(
                        " {}/{} MiB",
                        n.reserved_after.memory, n.registered.memory
                    )),
                ]),
            ])
        });
        frame.render_widget(
            Table::new(
                rows,
                [
                    Constraint::Length(20),
                    Constraint::Length(12),
                    Constraint::Length(30),
                    Constraint::Min(28),
                ],
            )
            .header(Row::new(
                ["NODE", "AZ", "CPU reserved", "MEM reserved"].map(|t| {
                    Line::styled(
                        t,
                        Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
                    )
                }),
            ))
            .block(block(theme, " Nodes (after the what-if) ")),
            nodes_area,
        );
    }
}
