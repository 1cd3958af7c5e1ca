//! Keys of the log view: follow and pause, search and filter, toggles, save and copy.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, Prompt, State, View};
use crate::logs::Search;

pub fn on_log_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let Some(view) = state.logs.as_mut() else {
        state.view = state.home();
        return Vec::new();
    };
    let page = view.height.get().max(2) as isize - 1;
    match key.code {
        KeyCode::Esc if view.filter => view.filter = false,
        KeyCode::Esc | KeyCode::Char('q') => {
            state.logs = None;
            let back = match std::mem::replace(&mut state.view, View::Fleet) {
                View::Logs(back) => *back,
                other => other,
            };
            state.view = back;
            return vec![Effect::CloseLogs];
        }
        KeyCode::Up | KeyCode::Char('k') => view.move_by(-1),
        KeyCode::Down | KeyCode::Char('j') => view.move_by(1),
        KeyCode::PageUp => view.move_by(-page),
        KeyCode::PageDown => view.move_by(page),
        KeyCode::Char('u') if ctrl => view.move_by(-page / 2),
        KeyCode::Char('d') if ctrl => view.move_by(page / 2),
        KeyCode::Home | KeyCode::Char('g') => view.to_top(),
        KeyCode::End | KeyCode::Char('G') => view.resume(),
        KeyCode::Char('/') => {
            state.input = view
                .search
                .as_ref()
                .map(|s| s.pattern.clone())
                .unwrap_or_default();
            view.search_error = None;
            state.prompt = Some(Prompt::Search);
        }
        KeyCode::Char('n') | KeyCode::Char('N') => {
            let forward = key.code == KeyCode::Char('n');
            if view.search.is_none() {
                state.flash("no search: / to search", true);
            } else if !view.jump(forward) {
                state.flash("no match", true);
            }
        }
        KeyCode::Char('f') => {
            if view.search.is_some() {
                view.filter = !view.filter;
            } else {
                state.flash("filter needs a search: / first", true);
            }
        }
        KeyCode::Char('+') => view.context = (view.context + 1).min(20),
        KeyCode::Char('-') => view.context = view.context.saturating_sub(1),
        KeyCode::Char('t') => view.timestamps = !view.timestamps,
        KeyCode::Char('w') => view.wrap = !view.wrap,
        KeyCode::Char('1') => view.toggle_stream(crate::logs::Stream::Stdout),
        KeyCode::Char('2') => view.toggle_stream(crate::logs::Stream::Stderr),
        KeyCode::Char('S') => {
            return vec![Effect::SaveLogs {
                title: view.title.clone(),
                text: view.export(),
            }];
        }
        KeyCode::Char('y') => {
            if let Some(line) = view.selected().and_then(|i| view.buffer.get(i)) {
                return vec![Effect::Copy(line.text.to_string())];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The search prompt: every keystroke recompiles, so an invalid regex shows at once, inline.
pub fn on_search_key(state: &mut State, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => {
            state.prompt = None;
            if let Some(view) = state.logs.as_mut() {
                view.set_search(None);
                view.search_error = None;
            }
            return;
        }
        KeyCode::Enter => {
            let invalid = state
                .logs
                .as_ref()
                .is_some_and(|v| v.search_error.is_some());
            if !invalid {
                state.prompt = None;
                if let Some(view) = state.logs.as_mut()
                    && view.search.is_some()
                {
                    view.jump(false);
                }
            }
            return;
        }
        KeyCode::Backspace => {
            state.input.pop();
        }
        KeyCode::Char(c) => state.input.push(c),
        _ => return,
    }
    let Some(view) = state.logs.as_mut() else {
        return;
    };
    if state.input.is_empty() {
        view.set_search(None);
        view.search_error = None;
        return;
    }
    match Search::new(&state.input) {
        Ok(search) => {
            view.set_search(Some(search));
            view.search_error = None;
        }
        Err(error) => view.search_error = Some(error),
    }
}
