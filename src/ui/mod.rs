//! Views: pure functions of `&State` that draw into a frame.

mod capacity;
mod detail;
mod ecs;
mod fleet;
pub mod format;
mod header;
mod help;
mod logs;
mod rollout;
mod swarm;
mod swarm_capacity;
mod unreachable;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::{Prompt, State, View};
use crate::config::Action;
use crate::config::Theme;
use crate::model::{ConnectionState, Env, Health, ServiceState};

pub fn draw(frame: &mut Frame, state: &State) {
    let theme = &state.theme;
    let area = frame.area();
    frame.render_widget(Block::new().style(base(theme)), area);
    let [header_area, body, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    // The render's one platform question: whose header (the views below are per platform).
    match (&state.ecs, &state.swarm) {
        (Some(ecs), _) => ecs::render_header(frame, header_area, state, ecs),
        (_, Some(swarm)) => swarm::render_header(frame, header_area, state, swarm),
        _ => header::render(frame, header_area, state),
    }
    let never_connected = state.snapshot.is_none();
    match (&state.view, &state.connection) {
        (View::Logs(_), _) => logs::render(frame, body, state),
        (View::Capacity, _) => match &state.swarm {
            Some(swarm) => swarm_capacity::render(frame, body, state, swarm),
            None => capacity::render(frame, body, state),
        },
        (View::EcsServices | View::EcsService(_) | View::EcsNodes, _) => {
            if let Some(console) = &state.ecs {
                match &state.view {
                    View::EcsService(name) => {
                        ecs::render_service(frame, body, state, console, name)
                    }
                    View::EcsNodes => ecs::render_nodes(frame, body, state, console),
                    _ => ecs::render_services(frame, body, state, console),
                }
            }
        }
        (View::SwarmServices | View::SwarmService(_) | View::SwarmNodes, _) => {
            if let Some(console) = &state.swarm {
                match &state.view {
                    View::SwarmService(id) => {
                        swarm::render_service(frame, body, state, console, id)
                    }
                    View::SwarmNodes => swarm::render_nodes(frame, body, state, console),
                    _ => swarm::render_services(frame, body, state, console),
                }
            }
        }
        (_, ConnectionState::Disconnected { .. }) if never_connected => {
            unreachable::render(frame, body, state)
        }
        (View::Detail(key), _) => detail::render(frame, body, state, key),
        (View::Fleet, _) => fleet::render(frame, body, state),
    }
    render_footer(frame, footer, state);
    if let Some(rollout) = state.rollout.as_ref().filter(|r| !r.hidden) {
        rollout::render_rollout(frame, body, state, rollout);
    }
    if let Some(dialog) = &state.dialog {
        rollout::render_dialog(frame, body, state, dialog);
    }
    if state.show_help {
        help::render(frame, area, state);
    }
}

fn render_footer(frame: &mut Frame, area: ratatui::layout::Rect, state: &State) {
    let theme = &state.theme;
    if let Some(field) = &state.image_field {
        frame.render_widget(Paragraph::new(image_field(state, field)), area);
        return;
    }
    let line = match (state.prompt, &state.flash) {
        (Some(prompt), _) => {
            let sign = if prompt == Prompt::Command { ":" } else { "/" };
            let mut spans = vec![
                Span::styled(
                    sign,
                    Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
                ),
                Span::styled(state.input.clone(), base(theme)),
                Span::styled("█", Style::new().fg(theme.accent.0)),
            ];
            if prompt == Prompt::Search
                && let Some(view) = &state.logs
            {
                spans.push(match &view.search_error {
                    Some(error) => {
                        Span::styled(format!("  ✗ {error}"), Style::new().fg(theme.crit.0))
                    }
                    None if view.search.is_some() => Span::styled(
                        format!(
                            "  {} matching lines · enter keeps, esc clears",
                            view.match_count()
                        ),
                        muted(theme),
                    ),
                    None => Span::styled("  regex, smart case", muted(theme)),
                });
            }
            Line::from(spans)
        }
        (None, Some(flash)) => Line::styled(
            flash.text.clone(),
            Style::new().fg(if flash.error {
                theme.crit.0
            } else {
                theme.ok.0
            }),
        ),
        (None, None) => hints(state),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// `deploy SERVICE image: TEXT` with the cursor on its character, then what Tab found or the
/// keys.
fn image_field(state: &State, field: &crate::app::ImageField) -> Line<'static> {
    let theme = &state.theme;
    let (before, rest): (String, String) = (
        field.text.chars().take(field.cursor).collect(),
        field.text.chars().skip(field.cursor).collect(),
    );
    let mut rest = rest.chars();
    let under = rest.next().map_or(" ".to_string(), String::from);
    let accent = Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD);
    let hint = if field.matches.is_empty() {
        "  Tab completes · Enter reviews the change · Esc cancels".to_string()
    } else {
        let shown: Vec<&str> = field.matches.iter().take(6).map(String::as_str).collect();
        let more = field.matches.len().saturating_sub(shown.len());
        format!(
            "  {}{}",
            shown.join("  "),
            if more > 0 {
                format!("  (+{more})")
            } else {
                String::new()
            }
        )
    };
    Line::from(vec![
        Span::styled(format!("deploy {} image: ", field.service), accent),
        Span::styled(before, base(theme)),
        Span::styled(under, base(theme).add_modifier(Modifier::REVERSED)),
        Span::styled(rest.collect::<String>(), base(theme)),
        Span::styled(hint, muted(theme)),
    ])
}

fn hints(state: &State) -> Line<'static> {
    let theme = &state.theme;
    let pairs: &[(&str, &str)] = match state.view {
        View::Fleet => &[
            ("↑↓", "move"),
            ("⏎", "detail"),
            ("l", "logs"),
            ("s", "shell"),
            ("c", "capacity"),
            ("d/r", "deploy/rollback"),
            ("/", "filter"),
            (":", "command"),
            ("?", "help"),
            ("q", "quit"),
            ("⇧C/M/N", "sort"),
        ],
        View::Detail(_) => &[
            ("esc", "back"),
            ("tab", "container"),
            ("l/L", "logs"),
            ("s", "shell"),
            ("↑↓", "scroll"),
            ("x", "reveal secrets"),
            ("?", "help"),
        ],
        View::Logs(_) => &[
            ("esc", "back"),
            ("/", "search"),
            ("n/N", "match"),
            ("f", "filter"),
            ("+/-", "context"),
            ("t", "time"),
            ("w", "wrap"),
            ("1/2", "out/err"),
            ("S", "save"),
            ("y", "copy"),
            ("G", "follow"),
        ],
        View::EcsServices => &[
            ("↑↓", "move"),
            ("⏎", "service"),
            ("l", "logs"),
            ("n", "nodes"),
            ("c", "capacity"),
            ("d/r", "deploy/rollback"),
            ("/", "filter"),
            (":cluster", "switch"),
            ("?", "help"),
            ("q", "quit"),
        ],
        View::EcsService(_) => &[
            ("esc", "back"),
            ("↑↓", "task"),
            ("tab", "container"),
            ("l", "service logs"),
            ("L", "task logs"),
            ("s", "ECS Exec"),
            ("?", "help"),
        ],
        View::Capacity if state.swarm.is_some() => &[
            ("esc", "back"),
            (":scale", "SERVICE=N scales (asks first)"),
            ("?", "help"),
        ],
        View::Capacity => &[
            ("esc", "back"),
            (":scale", "SERVICE=N … what-if"),
            (":scale", "clears"),
            ("?", "help"),
        ],
        View::EcsNodes => &[
            ("esc", "services"),
            ("↑↓", "move"),
            ("s", "SSM session"),
            ("?", "help"),
        ],
        View::SwarmServices => &[
            ("↑↓", "move"),
            ("⏎", "tasks"),
            ("l", "logs"),
            ("n", "nodes"),
            ("c", "capacity"),
            ("d/r", "deploy/rollback"),
            ("h", "history"),
            ("/", "filter"),
            ("?", "help"),
            ("q", "quit"),
        ],
        View::SwarmService(_) => &[
            ("esc", "back"),
            ("↑↓", "task"),
            ("l", "service logs"),
            ("L", "task logs"),
            ("s", "shell"),
            ("?", "help"),
        ],
        View::SwarmNodes => &[
            ("esc", "services"),
            ("↑↓", "move"),
            ("d", "drain"),
            ("p", "pause"),
            ("a", "activate"),
            ("c", "capacity"),
            ("?", "help"),
        ],
    };
    let mut spans = Vec::new();
    // An active filter comes first: it explains why rows are missing.
    if !state.filter.is_empty()
        && matches!(
            state.view,
            View::Fleet | View::EcsServices | View::SwarmServices
        )
    {
        spans.push(Span::styled(
            format!(" filter: {} (esc clears) ", state.filter),
            Style::new().fg(theme.warn.0),
        ));
    }
    let lists = matches!(
        state.view,
        View::Fleet
            | View::EcsServices
            | View::EcsService(_)
            | View::EcsNodes
            | View::SwarmServices
            | View::SwarmService(_)
            | View::SwarmNodes
    );
    for (key, what) in pairs {
        let key = mapped_key(state, key, lists);
        spans.push(Span::styled(
            format!(" {key}"),
            Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            format!(" {what} "),
            Style::new().fg(theme.muted.0),
        ));
    }
    Line::from(spans)
}

/// A hint's key as the keymap has it now (`[keys]` may have moved it); in the lists every
/// mapped action, elsewhere only help (the other views' keys are their own).
fn mapped_key(state: &State, key: &str, lists: bool) -> String {
    const DEFAULTS: &[(&str, Action)] = &[
        ("⏎", Action::Open),
        ("l", Action::Logs),
        ("s", Action::Shell),
        ("c", Action::Capacity),
        ("/", Action::Filter),
        (":", Action::Command),
        ("?", Action::Help),
        ("q", Action::Quit),
    ];
    let shown = |action| match state.keymap.first(action).as_str() {
        "Enter" => "⏎".to_string(),
        other => other.to_string(),
    };
    match DEFAULTS.iter().find(|(default, _)| *default == key) {
        Some((_, action)) if lists || *action == Action::Help => shown(*action),
        _ if lists && key == "d/r" => {
            format!("{}/{}", shown(Action::Deploy), shown(Action::Rollback))
        }
        _ => key.to_string(),
    }
}

pub fn base(theme: &Theme) -> Style {
    Style::new().fg(theme.fg.0).bg(theme.bg.0)
}

pub fn muted(theme: &Theme) -> Style {
    Style::new().fg(theme.muted.0)
}

pub fn block<'a>(theme: &Theme, title: impl Into<Line<'a>>) -> Block<'a> {
    Block::bordered()
        .border_style(Style::new().fg(theme.border.0))
        .title(title)
        .title_style(Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD))
}

/// The colour of a share of a limit, by threshold.
pub fn level_color(state: &State, percent: f64) -> Color {
    let theme = &state.theme;
    if percent >= state.thresholds.crit {
        theme.crit.0
    } else if percent >= state.thresholds.warn {
        theme.warn.0
    } else {
        theme.ok.0
    }
}

pub fn env_badge(theme: &Theme, env: Option<Env>) -> Span<'static> {
    match env {
        Some(env @ Env::Prod) => Span::styled(
            env.label(),
            Style::new().fg(theme.prod.0).add_modifier(Modifier::BOLD),
        ),
        Some(env) => Span::styled(env.label(), Style::new().fg(theme.staging.0)),
        None => Span::raw(""),
    }
}

pub fn state_span(theme: &Theme, state: ServiceState) -> Span<'static> {
    let (symbol, color) = match state {
        ServiceState::Running => ("●", theme.ok.0),
        ServiceState::Degraded => ("◐", theme.warn.0),
        ServiceState::Restarting => ("↻", theme.crit.0),
        ServiceState::Paused => ("‖", theme.warn.0),
        ServiceState::Stopped => ("○", theme.muted.0),
    };
    Span::styled(
        format!("{symbol} {}", state.label()),
        Style::new().fg(color),
    )
}

pub fn health_span(theme: &Theme, health: Health) -> Span<'static> {
    match health {
        Health::Healthy => Span::styled("✓ healthy", Style::new().fg(theme.ok.0)),
        Health::Unhealthy => Span::styled(
            "✗ unhealthy",
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        ),
        Health::Starting => Span::styled("… starting", Style::new().fg(theme.warn.0)),
        Health::None => Span::styled("· none", Style::new().fg(theme.muted.0)),
    }
}

pub fn no_limit(theme: &Theme) -> Span<'static> {
    Span::styled(
        "no limit",
        Style::new()
            .fg(theme.no_limit.0)
            .add_modifier(Modifier::BOLD),
    )
}

#[cfg(test)]
mod tests;
