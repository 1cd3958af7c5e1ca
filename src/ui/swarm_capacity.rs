//! The capacity view on a swarm: what is reserved against what the nodes have, and how many
//! more tasks of each service the scheduler would place, node by node, and why not.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Wrap};

use super::ecs::table;
use super::format::{bar, bytes, core_count};
use super::{base, block, level_color, muted};
use crate::app::{State, SwarmConsole};
use crate::backend::swarm::capacity::room_left;
use crate::backend::swarm::{Mode, SwarmService};

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part * 100.0 / whole
    } else {
        0.0
    }
}

fn reserves(service: &SwarmService) -> String {
    match (
        service.reservations.cpu_cores,
        service.reservations.memory_bytes,
    ) {
        (None, None) => "-".to_string(),
        (cpu, memory) => format!(
            "{} cpu {}",
            cpu.map_or("-".to_string(), core_count),
            memory.map_or("-".to_string(), bytes)
        ),
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, swarm: &SwarmConsole) {
    let theme = &state.theme;
    let data = &swarm.state;
    let outer = block(
        theme,
        Line::from(vec![
            Span::raw(" Capacity "),
            Span::styled(
                "by reservations, as the scheduler places tasks · :scale SERVICE=N applies one (asks first) ",
                muted(theme),
            ),
        ]),
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if swarm.updated_at.is_none() {
        frame.render_widget(
            Paragraph::new(Line::styled("Reading the swarm…", muted(theme))),
            inner,
        );
        return;
    }
    let (mut cpus, mut memory, mut cpu_reserved, mut memory_reserved) = (0.0, 0u64, 0.0, 0u64);
    let mut active = 0;
    for node in &data.nodes {
        let (cpu, mem) = data.reserved_on(&node.id);
        cpus += node.cpus;
        memory += node.memory_bytes;
        cpu_reserved += cpu;
        memory_reserved += mem;
        active += usize::from(node.is_ready() && node.availability == "active");
    }
    let mut warnings = data.warnings();
    let unreserved: Vec<&str> = data
        .services
        .iter()
        .filter(|s| s.reservations.cpu_cores.is_none() && s.reservations.memory_bytes.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if !unreserved.is_empty() {
        warnings.push(format!(
            "reserve nothing, so the scheduler will over-commit: {}",
            unreserved.join(", ")
        ));
    }
    let [summary, notes, services] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(warnings.len().min(4) as u16),
        Constraint::Min(2),
    ])
    .areas(inner);
    let (cpu_pct, mem_pct) = (
        percent(cpu_reserved, cpus),
        percent(memory_reserved as f64, memory as f64),
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("{} nodes ({active} ready and active)  ", data.nodes.len()),
                base(theme).add_modifier(Modifier::BOLD),
            ),
            Span::raw("reserved CPU "),
            Span::styled(
                bar(cpu_pct, 10),
                Style::new().fg(level_color(state, cpu_pct)),
            ),
            Span::raw(format!(
                " {}/{} cores   memory ",
                core_count(cpu_reserved),
                core_count(cpus)
            )),
            Span::styled(
                bar(mem_pct, 10),
                Style::new().fg(level_color(state, mem_pct)),
            ),
            Span::raw(format!(" {}/{}", bytes(memory_reserved), bytes(memory))),
        ])),
        summary,
    );
    let lines: Vec<Line> = warnings
        .iter()
        .map(|w| Line::styled(format!("⚠ {w}"), Style::new().fg(theme.warn.0)))
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), notes);
    let mut ordered: Vec<&SwarmService> = data.services.iter().collect();
    ordered.sort_by(|a, b| (&a.stack, &a.name).cmp(&(&b.stack, &b.name)));
    let rows = ordered.into_iter().map(|s| {
        let (room, rooms) = room_left(data, s);
        let global = matches!(s.mode, Mode::Global | Mode::GlobalJob);
        let (room_cell, room_style) = match (global, room) {
            (true, _) => ("one per node".to_string(), muted(theme)),
            (false, None) => ("no bound".to_string(), Style::new().fg(theme.warn.0)),
            (false, Some(0)) => ("+0".to_string(), Style::new().fg(theme.crit.0)),
            (false, Some(n)) => (format!("+{n}"), Style::new().fg(theme.ok.0)),
        };
        let spread: Vec<String> = rooms
            .iter()
            .map(|r| match (&r.room, &r.why_not) {
                (_, Some(why)) => format!("{} 0 ({why})", r.hostname),
                (Some(n), None) => format!("{} +{n}", r.hostname),
                (None, None) => format!("{} ∞", r.hostname),
            })
            .collect();
        Row::new(vec![
            Line::styled(s.stack.clone().unwrap_or_else(|| "-".into()), muted(theme)),
            Line::styled(
                s.short_name().to_string(),
                base(theme).add_modifier(Modifier::BOLD),
            ),
            Line::raw(format!("{}/{}", s.running, s.desired)),
            Line::styled(reserves(s), muted(theme)),
            Line::styled(room_cell, room_style),
            Line::raw(spread.join(" · ")),
        ])
    });
    let widths = [
        ("STACK", Constraint::Length(10)),
        ("SERVICE", Constraint::Length(16)),
        ("TASKS", Constraint::Length(5)),
        ("RESERVES/TASK", Constraint::Length(18)),
        ("MORE FIT", Constraint::Length(12)),
        ("BY NODE", Constraint::Min(30)),
    ];
    frame.render_widget(table(state, rows, &widths), services);
}
