//! The screen shown while the engine has never been reached: which host, the error, what to try.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{base, block, muted};
use crate::app::State;
use crate::backend::docker::connection_hint;
use crate::model::ConnectionState;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let ConnectionState::Disconnected { error, .. } = &state.connection else {
        return;
    };
    let lines = vec![
        Line::from(Span::styled(
            "Cannot reach the Docker engine",
            Style::new().fg(theme.crit.0).add_modifier(Modifier::BOLD),
        )),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Host:   ", muted(theme)),
            Span::styled(state.context.address(), base(theme)),
        ]),
        Line::from(vec![
            Span::styled("Error:  ", muted(theme)),
            Span::styled(error.clone(), base(theme)),
        ]),
        Line::from(vec![
            Span::styled("Try:    ", muted(theme)),
            Span::styled(connection_hint(&state.context.address()), base(theme)),
        ]),
        Line::raw(""),
        Line::from(Span::styled(
            "dokk retries every second. `:ctx NAME` switches context, q quits.",
            muted(theme),
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(theme, " engine unreachable ")),
        area,
    );
}
