//! `?`: every key, in one popup.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{base, block, muted};
use crate::app::State;
use crate::config::{Action, Keymap};

/// Every key with what it does; the lists' keys as the keymap has them (`[keys]` in
/// config.toml moves them).
fn keys(map: &Keymap) -> Vec<(String, String)> {
    let k = |action| map.label(action);
    let fixed = |key: &str, what: &str| (key.to_string(), what.to_string());
    vec![
        (
            format!("{} {}", k(Action::Up), k(Action::Down)),
            format!(
                "move; first / last: {} / {}",
                k(Action::First),
                k(Action::Last)
            ),
        ),
        (
            k(Action::PageUp),
            format!("a page up; a page down: {}", k(Action::PageDown)),
        ),
        (
            k(Action::Open),
            "service detail (containers, limits, routes, env)".into(),
        ),
        (
            format!("Esc / {}", k(Action::Quit)),
            "back; on the fleet it quits; Ctrl-c quits from anywhere".into(),
        ),
        (
            k(Action::Filter),
            "fleet: filter by project, service, image or route; logs: regex search".into(),
        ),
        (
            k(Action::Command),
            "command: :ctx NAME, :theme NAME, :sort COLUMN [asc|desc], :capacity, :q".into(),
        ),
        fixed("⇧N ⇧S ⇧H ⇧P", "sort by name, state, health, replicas"),
        fixed(
            "⇧C ⇧X ⇧M ⇧Y",
            "sort by CPU, CPU % of limit, memory, memory % of limit",
        ),
        fixed(
            "⇧R ⇧A ⇧I  o O",
            "sort by restarts, uptime, image; next column / reverse",
        ),
        (
            format!("{} / L", k(Action::Logs)),
            "logs of the service (replicas merged); in detail: l one container".into(),
        ),
        (
            k(Action::Shell),
            "shell in the first running replica; in detail: the selected one".into(),
        ),
        fixed("Tab", "detail: select the next container"),
        fixed("x", "detail: reveal or mask secret-looking env values"),
        (
            k(Action::Deploy),
            "deploy an image; Tab completes, Enter shows the change and asks".into(),
        ),
        (
            format!("{} / {}", k(Action::History), k(Action::Rollback)),
            "the service's revisions; roll it back (asks first, shows the change, follows it)"
                .into(),
        ),
        (
            k(Action::Capacity),
            "capacity: limits vs host, headroom; :scale SVC=N … what-if, :scale clears".into(),
        ),
        fixed(
            "ECS",
            "n nodes · Enter: tasks, targets, events · s Exec/SSM · L logs · :cluster X",
        ),
        fixed(
            "Swarm",
            "n nodes: d drain · p pause · a activate · :scale SVC=N scales (asks first)",
        ),
        fixed(
            "logs",
            "n N match · f filter · + - context · t time · w wrap · 1 2 out/err",
        ),
        fixed(
            "",
            "S save to a file · y copy line · G/End follow · ↑ pauses",
        ),
        fixed(
            "mouse",
            "wheel scrolls, click selects, click again opens, click a header sorts",
        ),
    ]
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let [popup] = Layout::horizontal([Constraint::Length(98.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let keys = keys(&state.keymap);
    let [popup] = Layout::vertical([Constraint::Length((keys.len() as u16 + 2).min(area.height))])
        .flex(Flex::Center)
        .areas(popup);
    let width = keys
        .iter()
        .map(|(key, _)| key.chars().count())
        .max()
        .unwrap_or(0)
        .max(15);
    let lines: Vec<Line> = keys
        .into_iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {key:<width$} "),
                    Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
                ),
                Span::styled(what, base(theme)),
            ])
        })
        .collect();

    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .style(base(theme))
            // On the border, so a short terminal that cuts rows still says how to leave.
            .block(block(theme, " keys ").title_bottom(Line::styled(
                " any key closes this help · [keys] in config.toml moves keys ",
                muted(theme),
            ))),
        popup,
    );
}
