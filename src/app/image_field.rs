//! `d` on a service: a one-line field for the image to deploy, prefilled with the one it
//! runs, with the readline keys people's fingers know (Ctrl-U, Ctrl-W, Ctrl-A/E, arrows) and
//! Tab completing from the images dokk can deploy (the engine's, or the family's registered
//! ones). Enter works the deploy out and asks, as `r` does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, State};
use crate::backend::deploy::Request;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageField {
    pub service: String,
    pub text: String,
    /// In characters.
    pub cursor: usize,
    /// What Tab completes from (arrives after the field opens).
    pub candidates: Vec<String>,
    /// The candidates matching what is typed, after a Tab that left a choice.
    pub matches: Vec<String>,
    /// Tab came before the candidates did: complete when they arrive.
    pub tab_pending: bool,
    /// The candidates have arrived (there may be none).
    pub listed: bool,
}

impl ImageField {
    pub fn new(service: String, image: String) -> ImageField {
        ImageField {
            service,
            cursor: image.chars().count(),
            text: image,
            ..ImageField::default()
        }
    }

    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn insert(&mut self, c: char) {
        let at = self.byte(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Deletes the characters between `from` and the cursor (`from` < cursor).
    fn delete_back_to(&mut self, from: usize) {
        let (start, end) = (self.byte(from), self.byte(self.cursor));
        self.text.replace_range(start..end, "");
        self.cursor = from;
    }

    /// Where the word before the cursor starts: back over separators, then over the word.
    /// An image reference's words end at `/`, `:`, `@` and `-` as well as at spaces.
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().take(self.cursor).collect();
        let separator = |c: &char| matches!(c, ' ' | '/' | ':' | '@' | '-' | '.');
        let mut at = chars.len();
        while at > 0 && separator(&chars[at - 1]) {
            at -= 1;
        }
        while at > 0 && !separator(&chars[at - 1]) {
            at -= 1;
        }
        at
    }

    /// Completes to the candidates that start with the text: the only one, else their
    /// longest common prefix, and remembers the choice to show.
    fn complete(&mut self) {
        let matches: Vec<String> = self
            .candidates
            .iter()
            .filter(|c| c.starts_with(&self.text))
            .cloned()
            .collect();
        if let Some(first) = matches.first() {
            let common = matches.iter().fold(first.clone(), |common, m| {
                common
                    .chars()
                    .zip(m.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            self.text = common;
            self.cursor = self.text.chars().count();
        }
        self.matches = if matches.len() > 1 {
            matches
        } else {
            Vec::new()
        };
    }
}

/// Opens the field on `service`, unless the context is read-only (refused before anything,
/// as every mutation is).
pub fn open(state: &mut State, service: String, image: String) -> Vec<Effect> {
    let mutation = crate::guard::Mutation::Deploy {
        service: service.clone(),
    };
    if let Err(refused) = state.guard.authorize(&mutation) {
        state.flash(refused.to_string(), true);
        return Vec::new();
    }
    state.image_field = Some(ImageField::new(service.clone(), image));
    vec![Effect::ListImages { service }]
}

/// The images Tab completes from, when they arrive for the field still open.
pub fn on_candidates(state: &mut State, service: &str, images: Vec<String>) {
    if let Some(field) = state.image_field.as_mut().filter(|f| f.service == service) {
        field.candidates = images;
        field.listed = true;
        if std::mem::take(&mut field.tab_pending) {
            field.complete();
        }
    }
}

pub fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(field) = state.image_field.as_mut() else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if key.code != KeyCode::Tab {
        field.matches.clear();
        field.tab_pending = false;
    }
    match key.code {
        KeyCode::Esc => {
            state.image_field = None;
            state.flash("deploy cancelled: nothing changed", false);
        }
        KeyCode::Enter => {
            let field = state.image_field.take().unwrap_or_default();
            let image = field.text.trim().to_string();
            if image.is_empty() {
                state.flash("no image given: nothing changed", true);
                return Vec::new();
            }
            return vec![Effect::Plan(Request::Deploy {
                service: field.service,
                image,
                container: None,
                order: None,
            })];
        }
        KeyCode::Tab if !field.listed => field.tab_pending = true,
        KeyCode::Tab => field.complete(),
        KeyCode::Char('u') if ctrl => field.delete_back_to(0),
        KeyCode::Char('w') if ctrl => {
            let from = field.word_start();
            field.delete_back_to(from);
        }
        KeyCode::Char('a') if ctrl => field.cursor = 0,
        KeyCode::Char('e') if ctrl => field.cursor = field.text.chars().count(),
        KeyCode::Home => field.cursor = 0,
        KeyCode::End => field.cursor = field.text.chars().count(),
        KeyCode::Left => field.cursor = field.cursor.saturating_sub(1),
        KeyCode::Right => field.cursor = (field.cursor + 1).min(field.text.chars().count()),
        KeyCode::Backspace if field.cursor > 0 => {
            let from = field.cursor - 1;
            field.delete_back_to(from);
        }
        KeyCode::Delete if field.cursor < field.text.chars().count() => {
            field.cursor += 1;
            let from = field.cursor - 1;
            field.delete_back_to(from);
        }
        KeyCode::Char(c) if !ctrl => field.insert(c),
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(state: &mut State, keys: &[KeyEvent]) -> Vec<Effect> {
        keys.iter().flat_map(|k| on_key(state, *k)).collect()
    }

    fn field(state: &State) -> (&str, usize) {
        let f = state.image_field.as_ref().expect("field open");
        (&f.text, f.cursor)
    }

    #[test]
    fn readline_keys_edit_the_image() {
        let mut state = crate::fixtures::state_with(None);
        let opened = open(&mut state, "shop/web".into(), "registry/web:v1".into());
        assert_eq!(
            opened,
            [Effect::ListImages {
                service: "shop/web".into()
            }]
        );
        assert_eq!(field(&state), ("registry/web:v1", 15));
        typed(&mut state, &[ctrl('w')]);
        assert_eq!(field(&state), ("registry/web:", 13));
        typed(&mut state, &[ctrl('w')]);
        assert_eq!(field(&state), ("registry/", 9));
        typed(&mut state, &[key(KeyCode::Left), key(KeyCode::Char('x'))]);
        assert_eq!(field(&state), ("registryx/", 9));
        typed(&mut state, &[key(KeyCode::Home), key(KeyCode::Delete)]);
        assert_eq!(field(&state), ("egistryx/", 0));
        typed(&mut state, &[key(KeyCode::End), key(KeyCode::Backspace)]);
        assert_eq!(field(&state), ("egistryx", 8));
        typed(&mut state, &[ctrl('u')]);
        assert_eq!(field(&state), ("", 0));
        let effects = typed(
            &mut state,
            &[
                key(KeyCode::Char('w')),
                key(KeyCode::Char(':')),
                key(KeyCode::Char('2')),
                key(KeyCode::Enter),
            ],
        );
        assert_eq!(
            effects,
            [Effect::Plan(Request::Deploy {
                service: "shop/web".into(),
                image: "w:2".into(),
                container: None,
                order: None,
            })]
        );
        assert!(state.image_field.is_none());
    }

    #[test]
    fn tab_completes_the_only_match_or_the_common_prefix() {
        let mut state = crate::fixtures::state_with(None);
        open(&mut state, "shop/web".into(), "web:v1".into());
        on_candidates(
            &mut state,
            "shop/web",
            vec![
                "web:v1".into(),
                "web:v2".into(),
                "web:v20".into(),
                "db:1".into(),
            ],
        );
        typed(
            &mut state,
            &[ctrl('u'), key(KeyCode::Char('d')), key(KeyCode::Tab)],
        );
        assert_eq!(field(&state), ("db:1", 4));
        typed(
            &mut state,
            &[ctrl('u'), key(KeyCode::Char('w')), key(KeyCode::Tab)],
        );
        assert_eq!(field(&state), ("web:v", 5));
        let matches = &state.image_field.as_ref().expect("field open").matches;
        assert_eq!(matches.len(), 3, "{matches:?}");
        typed(&mut state, &[key(KeyCode::Char('2')), key(KeyCode::Tab)]);
        assert_eq!(field(&state), ("web:v2", 6));
        typed(&mut state, &[key(KeyCode::Esc)]);
        assert!(state.image_field.is_none());
    }

    #[test]
    fn a_tab_before_the_images_arrive_completes_when_they_do() {
        let mut state = crate::fixtures::state_with(None);
        open(&mut state, "shop/web".into(), "web:v1".into());
        typed(
            &mut state,
            &[ctrl('u'), key(KeyCode::Char('d')), key(KeyCode::Tab)],
        );
        assert_eq!(field(&state), ("d", 1), "nothing to complete from yet");
        on_candidates(&mut state, "shop/web", vec!["db:1".into(), "web:v1".into()]);
        assert_eq!(field(&state), ("db:1", 4));
    }

    #[test]
    fn a_read_only_context_refuses_before_the_field_opens() {
        let mut state = crate::fixtures::state_with(None);
        state.guard.readonly = true;
        assert!(open(&mut state, "shop/web".into(), "web:v1".into()).is_empty());
        assert!(state.image_field.is_none());
        let flash = state.flash.as_ref().expect("a refusal");
        assert!(flash.error && flash.text.contains("read-only"), "{flash:?}");
    }
}
