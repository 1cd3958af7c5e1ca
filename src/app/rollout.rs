//! Rollbacks from the console: a confirm dialog that shows what changes, then the rollout's
//! progress until it is stable or failed. The work itself is the same engine as
//! `dokk rollback`; this is the state and the keys.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Effect, State};

/// A question before a mutation: what it does, and the effect that does it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    pub title: String,
    pub lines: Vec<String>,
    pub on_yes: Effect,
}

/// A rollout in progress (or done): its lines as they come and, at the end, the outcome.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rollout {
    pub title: String,
    pub lines: Vec<String>,
    /// `Some((stable, summary))` once it ended.
    pub done: Option<(bool, String)>,
    pub hidden: bool,
}

/// What the rollout task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutEvent {
    Planned(Dialog),
    PlanFailed(String),
    Line(String),
    Done(Result<(bool, String), String>),
    /// Something to read (a service's history): shown in the same panel, already ended.
    Show {
        title: String,
        lines: Vec<String>,
    },
    /// The images a deploy of the service could go to.
    Images {
        service: String,
        images: Vec<String>,
    },
}

pub fn on_event(state: &mut State, event: RolloutEvent) {
    match event {
        RolloutEvent::Planned(dialog) => state.dialog = Some(dialog),
        RolloutEvent::PlanFailed(message) => state.flash(message, true),
        RolloutEvent::Images { service, images } => {
            super::image_field::on_candidates(state, &service, images)
        }
        RolloutEvent::Show { title, lines } => {
            state.rollout = Some(Rollout {
                title,
                lines,
                done: Some((true, "Esc closes".into())),
                hidden: false,
            });
        }
        RolloutEvent::Line(line) => {
            if let Some(rollout) = state.rollout.as_mut() {
                rollout.lines.push(line);
            }
        }
        RolloutEvent::Done(result) => {
            let (ok, summary) = match result {
                Ok(done) => done,
                Err(message) => (false, message),
            };
            state.flash(summary.clone(), !ok);
            if let Some(rollout) = state.rollout.as_mut() {
                rollout.done = Some((ok, summary));
            }
        }
    }
}

/// Keys while a dialog is open: y or Enter confirms, n or Esc cancels.
pub fn on_dialog_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y') | KeyCode::Enter => {
            let Some(dialog) = state.dialog.take() else {
                return Vec::new();
            };
            state.rollout = Some(Rollout {
                title: dialog.title.trim_end_matches('?').to_string(),
                ..Rollout::default()
            });
            vec![dialog.on_yes]
        }
        KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => {
            state.dialog = None;
            state.flash("cancelled: nothing changed", false);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Esc hides the progress (the rollout goes on; its end is flashed).
pub fn on_rollout_key(state: &mut State, key: KeyEvent) -> bool {
    let Some(rollout) = state.rollout.as_mut().filter(|r| !r.hidden) else {
        return false;
    };
    if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
        if rollout.done.is_some() {
            state.rollout = None;
        } else {
            rollout.hidden = true;
        }
    }
    true
}
