//! `?`: every key, in one popup.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{base, block, muted};
use crate::app::State;

const KEYS: &[(&str, &str)] = &[
    (
        "↑ ↓ / k j",
        "move; PgUp PgDn, Ctrl-u Ctrl-d by pages; g G first / last",
    ),
    (
        "Enter / →",
        "service detail (containers, limits, routes, env)",
    ),
    (
        "Esc / q",
        "back; q on the fleet quits; Ctrl-c quits from anywhere",
    ),
    (
        "/",
        "fleet: filter by project, service, image or route; logs: regex search",
    ),
    (
        ":",
        "command: :ctx NAME, :theme NAME, :sort COLUMN [asc|desc], :capacity, :q",
    ),
    ("⇧N ⇧S ⇧H ⇧P", "sort by name, state, health, replicas"),
    (
        "⇧C ⇧X ⇧M ⇧Y",
        "sort by CPU, CPU % of limit, memory, memory % of limit",
    ),
    (
        "⇧R ⇧A ⇧I  o O",
        "sort by restarts, uptime, image; next column / reverse",
    ),
    (
        "l / L",
        "logs of the service (replicas merged); in detail: l one container",
    ),
    (
        "s",
        "shell in the first running replica; in detail: the selected one",
    ),
    ("Tab", "detail: select the next container"),
    ("x", "detail: reveal or mask secret-looking env values"),
    (
        "d",
        "deploy an image; Tab completes, Enter shows the change and asks",
    ),
    (
        "h / r",
        "the service's revisions; roll it back (asks first, shows the change, follows it)",
    ),
    (
        "c",
        "capacity: limits vs host, headroom; :scale SVC=N … what-if, :scale clears",
    ),
    (
        "ECS",
        "n nodes · Enter a service: tasks, targets, events · s ECS Exec / SSM",
    ),
    (
        "",
        ":cluster NAME switches cluster · L the selected task's logs",
    ),
    (
        "logs",
        "n N match · f filter · + - context · t time · w wrap · 1 2 out/err",
    ),
    (
        "",
        "S save to a file · y copy line · G/End follow · ↑ pauses",
    ),
    (
        "mouse",
        "wheel scrolls, click selects, click again opens, click a header sorts",
    ),
];

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let [popup] = Layout::horizontal([Constraint::Length(84.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length((KEYS.len() as u16 + 4).min(area.height))])
        .flex(Flex::Center)
        .areas(popup);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {key:<16}"),
                    Style::new().fg(theme.accent.0).add_modifier(Modifier::BOLD),
                ),
                Span::styled(*what, base(theme)),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(" any key closes this help", muted(theme)));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .style(base(theme))
            .block(block(theme, " keys ")),
        popup,
    );
}
