//! The host header: where dokk is connected, the host's size, what is allocated against it
//! (with an over-commit warning) and what is used.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format::{age, bytes, cores, percent};
use super::{base, level_color, muted};
use crate::app::State;
use crate::model::{Allocation, ConnectionState, Sampling};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let sep = || Span::styled(" │ ", Style::new().fg(theme.border.0));
    let bold = |text: String| Span::styled(text, base(theme).add_modifier(Modifier::BOLD));

    let mut first = context_spans(state);
    first.push(Span::styled(state.context.address(), base(theme)));
    first.push(sep());
    first.push(connection_span(state));
    first.extend(readonly_badge(state));
    if let Some(snapshot) = &state.snapshot {
        let host = &snapshot.host;
        first.push(sep());
        first.push(Span::styled(
            format!(
                "{} · Engine {} · API {}",
                host.name, host.engine_version, host.api_version
            ),
            muted(theme),
        ));
    }

    let mut lines = vec![Line::from(first)];
    if let Some(snapshot) = &state.snapshot {
        let host = &snapshot.host;
        let allocation = Allocation::of(&snapshot.containers, &snapshot.usage);
        let host_cores = f64::from(host.cpus.max(1));
        let cpu_alloc_pct = allocation.cpu_limit_cores * 100.0 / host_cores;
        let mem_alloc_pct =
            allocation.memory_limit_bytes as f64 * 100.0 / host.memory_bytes.max(1) as f64;
        let over_badge = |over: bool| {
            over.then(|| {
                Span::styled(
                    " ⚠ OVER-COMMITTED ",
                    Style::new()
                        .fg(theme.header_fg.0)
                        .bg(theme.crit.0)
                        .add_modifier(Modifier::BOLD),
                )
            })
        };
        let mut second = vec![
            Span::styled(" Host ", muted(theme)),
            bold(format!("{} CPUs {}", host.cpus, bytes(host.memory_bytes))),
            sep(),
            Span::styled("Limits ", muted(theme)),
            Span::styled(
                format!(
                    "CPU {:.2}/{} {} ",
                    allocation.cpu_limit_cores,
                    host.cpus,
                    percent(cpu_alloc_pct)
                ),
                Style::new().fg(level_color(state, cpu_alloc_pct)),
            ),
        ];
        second.extend(over_badge(allocation.cpu_overcommitted(host)));
        second.push(Span::styled(
            format!(
                " mem {}/{} {} ",
                bytes(allocation.memory_limit_bytes),
                bytes(host.memory_bytes),
                percent(mem_alloc_pct)
            ),
            Style::new().fg(level_color(state, mem_alloc_pct)),
        ));
        second.extend(over_badge(allocation.memory_overcommitted(host)));
        if !allocation.unlimited.is_empty() {
            second.push(sep());
            second.push(Span::styled(
                format!("{} without limit", allocation.unlimited.len()),
                Style::new()
                    .fg(theme.no_limit.0)
                    .add_modifier(Modifier::BOLD),
            ));
        }
        let cpu_used_pct = allocation.cpu_used_percent / host_cores;
        let mem_used_pct =
            allocation.memory_used_bytes as f64 * 100.0 / host.memory_bytes.max(1) as f64;
        let mut third = vec![
            Span::styled(" Used ", muted(theme)),
            Span::styled(
                format!(
                    "CPU {} cores {}",
                    cores(allocation.cpu_used_percent),
                    percent(cpu_used_pct)
                ),
                Style::new().fg(level_color(state, cpu_used_pct)),
            ),
            Span::raw("  "),
            Span::styled(
                format!(
                    "mem {} {}",
                    bytes(allocation.memory_used_bytes),
                    percent(mem_used_pct)
                ),
                Style::new().fg(level_color(state, mem_used_pct)),
            ),
            sep(),
            Span::styled(
                format!(
                    "{} services, {}/{} containers running",
                    state.services.len(),
                    allocation.running,
                    allocation.total
                ),
                muted(theme),
            ),
        ];
        if let Some(text) = sampling_text(snapshot.sampling) {
            third.extend([sep(), Span::styled(text, muted(theme))]);
        }
        lines.push(Line::from(second));
        lines.push(Line::from(third));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// How usage is read: from cgroup files costs the engine nothing; asking it costs a sample
/// per container asked.
fn sampling_text(sampling: Sampling) -> Option<String> {
    let text = match (
        sampling.from_cgroups,
        sampling.polled,
        sampling.off_screen_every,
    ) {
        (0, 0, _) => return None,
        (_, 0, _) if sampling.over_ssh => {
            "usage read from cgroups on the host over SSH".to_string()
        }
        (_, 0, _) => "usage read from cgroups".to_string(),
        (_, _, Some(every)) => {
            format!("usage: rows on screen every refresh, others every {every}th")
        }
        (_, _, None) => "usage asked of the engine every refresh".to_string(),
    };
    Some(match sampling.why_polled {
        Some(why) if sampling.polled > 0 => format!("{text} ({why})"),
        _ => text,
    })
}

/// ` dokk  NAME (kind) `: the start of every header line.
pub fn context_spans(state: &State) -> Vec<Span<'static>> {
    let theme = &state.theme;
    vec![
        Span::styled(
            " dokk ",
            Style::new()
                .fg(theme.header_fg.0)
                .bg(theme.header_bg.0)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::styled(
            state.context.name.clone(),
            base(theme).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" ({}) ", state.context.target.kind().label()),
            muted(theme),
        ),
    ]
}

/// ` READ-ONLY ` when the context refuses mutations.
pub fn readonly_badge(state: &State) -> Vec<Span<'static>> {
    if !state.guard.readonly {
        return Vec::new();
    }
    vec![
        Span::raw(" "),
        Span::styled(
            " READ-ONLY ",
            Style::new()
                .fg(state.theme.header_fg.0)
                .bg(state.theme.warn.0)
                .add_modifier(Modifier::BOLD),
        ),
    ]
}

fn connection_span(state: &State) -> Span<'static> {
    let theme = &state.theme;
    match &state.connection {
        ConnectionState::Connecting => Span::styled("◌ connecting…", Style::new().fg(theme.warn.0)),
        ConnectionState::Live => Span::styled("● live", Style::new().fg(theme.ok.0)),
        ConnectionState::Disconnected { since, .. } => {
            let shown = match state.data_age_s() {
                Some(seconds) => format!(", showing data {} old", age(seconds)),
                None => String::new(),
            };
            Span::styled(
                format!(
                    "✗ DISCONNECTED for {}{shown}; retrying",
                    age((state.now - *since).num_seconds())
                ),
                Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
            )
        }
    }
}
