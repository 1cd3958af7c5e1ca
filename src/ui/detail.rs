//! Service detail: containers, effective limits, restart policy, health check, Traefik routes,
//! networks and ports, environment (secret-looking values masked).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::format::{bytes, cores, mib, percent, since};
use super::{base, block, env_badge, health_span, level_color, muted, no_limit, state_span};
use crate::app::State;
use crate::model::{Container, ServiceKey, looks_secret, traefik_routers};

pub fn render(frame: &mut Frame, area: Rect, state: &State, key: &ServiceKey) {
    let theme = &state.theme;
    let Some(service) = state.service(key) else {
        let text = format!(
            "{} is gone: its containers were removed. Esc goes back.",
            key.name
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, muted(theme))).block(block(theme, " detail ")),
            area,
        );
        return;
    };
    let containers = state.containers_of(service);
    let title = Line::from(vec![
        Span::raw(format!(" {} / {} ", key.project_label(), key.name)),
        env_badge(theme, service.env),
        Span::raw(" "),
        state_span(theme, service.state),
        Span::raw(" "),
        health_span(theme, service.health),
        Span::raw(" "),
    ]);
    let table_height = (containers.len() as u16 + 3).min(area.height / 2).max(4);
    let [table_area, info_area] =
        Layout::vertical([Constraint::Length(table_height), Constraint::Min(3)]).areas(area);

    let usage = state
        .snapshot
        .as_ref()
        .map(|s| s.usage.clone())
        .unwrap_or_default();
    let header = Row::new([
        "CONTAINER",
        "ID",
        "STATE",
        "HEALTH",
        "STARTED",
        "CPU",
        "MEMORY",
        "RST",
    ])
    .style(Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD));
    let rows = containers.iter().enumerate().map(|(index, c)| {
        let sample = usage.get(&c.id);
        let cpu = sample.map_or("-".to_string(), |u| {
            let share = c.limits.cpu_cores.map(|l| u.cpu_percent / l);
            match share {
                Some(share) => format!("{} cores {}", cores(u.cpu_percent), percent(share)),
                None => format!("{} cores", cores(u.cpu_percent)),
            }
        });
        let memory = sample.map_or("-".to_string(), |u| match c.limits.memory_bytes {
            Some(limit) => format!(
                "{} MiB {}",
                mib(u.memory_bytes),
                percent(u.memory_bytes as f64 * 100.0 / limit as f64)
            ),
            None => format!("{} MiB", mib(u.memory_bytes)),
        });
        let state_text = match (c.state.as_str(), c.exit_code) {
            ("exited", Some(code)) => {
                format!("exited ({code}){}", if c.oom_killed { " OOM" } else { "" })
            }
            (s, _) => s.to_string(),
        };
        let row = Row::new(vec![
            Line::raw(c.name.clone()),
            Line::styled(c.short_id().to_string(), muted(theme)),
            Line::styled(
                state_text,
                Style::new().fg(if c.is_running() {
                    theme.ok.0
                } else {
                    theme.warn.0
                }),
            ),
            Line::from(health_span(theme, c.health)),
            Line::raw(if c.is_running() {
                format!("{} ago", since(c.started_at, state.now))
            } else {
                "-".into()
            }),
            Line::raw(cpu),
            Line::raw(memory),
            Line::raw(c.restart_count.to_string()),
        ]);
        // The container `l` and `s` act on (Tab moves it).
        if index == state.detail_container && containers.len() > 1 {
            row.style(Style::new().bg(theme.selected_bg.0).fg(theme.selected_fg.0))
        } else {
            row
        }
    });
    let widths = [
        Constraint::Fill(2),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Length(15),
        Constraint::Length(15),
        Constraint::Length(3),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(block(theme, title)),
        table_area,
    );

    let lines = containers
        .first()
        .map(|c| info_lines(state, c))
        .unwrap_or_default();
    let scroll = state
        .detail_scroll
        .min(lines.len().saturating_sub(1) as u16);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(block(theme, " configuration (first replica) ")),
        info_area,
    );
}

fn info_lines(state: &State, c: &Container) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let heading = |text: &str| {
        Line::styled(
            text.to_string(),
            Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
        )
    };
    let field = |name: &str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("  {name:<20}"), muted(theme)),
            value,
        ])
    };
    let text = |value: String| Span::styled(value, base(theme));
    let mut lines = Vec::new();

    lines.push(heading("Limits (effective, from HostConfig)"));
    let cpu = match c.limits.cpu_cores {
        Some(cores) => text(format!("{cores:.2} cores")),
        None => no_limit(theme),
    };
    lines.push(field("CPU", cpu));
    let memory = match c.limits.memory_bytes {
        Some(limit) => text(bytes(limit)),
        None => no_limit(theme),
    };
    lines.push(field("Memory", memory));
    lines.push(field(
        "Memory reservation",
        text(
            c.limits
                .memory_reservation_bytes
                .map_or("none".into(), bytes),
        ),
    ));
    lines.push(field(
        "PIDs",
        text(c.limits.pids.map_or("no limit".into(), |p| p.to_string())),
    ));
    if let Some(sample) = state.snapshot.as_ref().and_then(|s| s.usage.get(&c.id)) {
        let share = c
            .limits
            .memory_bytes
            .map(|l| sample.memory_bytes as f64 * 100.0 / l as f64);
        let span = Span::styled(
            format!(
                "{} MiB{}",
                mib(sample.memory_bytes),
                share
                    .map(|s| format!(" ({})", percent(s)))
                    .unwrap_or_default()
            ),
            Style::new().fg(level_color(state, share.unwrap_or(0.0))),
        );
        lines.push(field("Memory used", span));
    }
    lines.push(Line::raw(""));

    lines.push(heading("Runtime"));
    lines.push(field("Image", text(c.image.clone())));
    lines.push(field("Command", text(c.command.join(" "))));
    lines.push(field(
        "User",
        text(if c.user.is_empty() {
            "(image default)".into()
        } else {
            c.user.clone()
        }),
    ));
    lines.push(field("Restart policy", text(c.restart_policy.clone())));
    match &c.healthcheck {
        Some(check) => {
            let test = check
                .test
                .iter()
                .skip(1)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let timing = format!(
                "every {}s, timeout {}s, {} retries, start period {}s",
                check.interval_s.unwrap_or(30.0),
                check.timeout_s.unwrap_or(30.0),
                check.retries.unwrap_or(3),
                check.start_period_s.unwrap_or(0.0)
            );
            lines.push(field("Health check", text(test)));
            lines.push(field("", Span::styled(timing, muted(theme))));
            if let Some((code, output)) = &c.last_health_check {
                let style = Style::new().fg(if *code == 0 { theme.ok.0 } else { theme.crit.0 });
                let first_line = output.lines().next().unwrap_or("(no output)");
                lines.push(field(
                    "Last check",
                    Span::styled(format!("exit {code}: {first_line}"), style),
                ));
            }
        }
        None => lines.push(field("Health check", Span::styled("none", muted(theme)))),
    }
    lines.push(Line::raw(""));

    let routers = traefik_routers(&c.labels);
    lines.push(heading("Traefik routes"));
    if routers.is_empty() {
        lines.push(Line::styled(
            "  none (no traefik.http.routers.* labels)",
            muted(theme),
        ));
    }
    for router in routers {
        lines.push(field(&router.name, text(router.rule.clone())));
        lines.push(field(
            "",
            Span::styled(
                format!(
                    "entrypoints {} → service {} port {}{}",
                    if router.entrypoints.is_empty() {
                        "(all)"
                    } else {
                        &router.entrypoints
                    },
                    if router.service.is_empty() {
                        &router.name
                    } else {
                        &router.service
                    },
                    router.port.as_deref().unwrap_or("(auto)"),
                    if router.tls { ", TLS" } else { "" }
                ),
                muted(theme),
            ),
        ));
    }
    lines.push(Line::raw(""));

    lines.push(heading("Networks and ports"));
    lines.push(field("Networks", text(c.networks.join(", "))));
    let ports = c
        .ports
        .iter()
        .map(|p| match &p.host {
            Some(host) => format!("{host} → {}", p.container),
            None => p.container.clone(),
        })
        .collect::<Vec<_>>();
    lines.push(field(
        "Ports",
        text(if ports.is_empty() {
            "none".into()
        } else {
            ports.join(", ")
        }),
    ));
    lines.push(Line::raw(""));

    lines.push(heading(if state.reveal_env {
        "Environment (revealed; x masks)"
    } else {
        "Environment (secrets masked; x reveals)"
    }));
    for (name, value) in &c.env {
        let masked = looks_secret(name) && !state.reveal_env;
        let value = if masked {
            Span::styled("••••••••", Style::new().fg(theme.warn.0))
        } else {
            text(value.clone())
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {name}="), muted(theme)),
            value,
        ]));
    }
    lines
}
