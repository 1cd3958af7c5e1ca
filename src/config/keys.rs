//! The keymap as data: what each key does in the lists (the fleet, an ECS cluster's services,
//! tasks and nodes), with dokk's defaults, and `[keys]` in config.toml to change them:
//!
//! ```toml
//! [keys]
//! deploy = "D"                  # one key…
//! page_down = ["ctrl-f", "pgdn"] # …or several; they replace the defaults of that action
//! ```
//!
//! A key is a character (`d`, `D`, `/`), `ctrl-` and a character, or a name: `enter`, `esc`,
//! `tab`, `space`, `up`, `down`, `left`, `right`, `home`, `end`, `pgup`, `pgdn`.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// Something a key does in the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    Open,
    Logs,
    Shell,
    Deploy,
    Rollback,
    History,
    Capacity,
    Filter,
    Command,
    Help,
    Quit,
}

/// One key: a code, with or without Ctrl (Shift is in the character: `G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Chord {
    const fn plain(code: KeyCode) -> Chord {
        Chord { code, ctrl: false }
    }

    const fn char(c: char) -> Chord {
        Chord::plain(KeyCode::Char(c))
    }

    const fn ctrl(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    fn matches(&self, key: &KeyEvent) -> bool {
        self.code == key.code && self.ctrl == key.modifiers.contains(KeyModifiers::CONTROL)
    }
}

const NAMES: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("space", KeyCode::Char(' ')),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
];

impl std::str::FromStr for Chord {
    type Err = String;

    fn from_str(text: &str) -> Result<Chord, String> {
        let (ctrl, rest) = match text.strip_prefix("ctrl-") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => NAMES
                .iter()
                .find(|(name, _)| *name == rest)
                .map(|(_, code)| *code)
                .ok_or_else(|| {
                    format!(
                        "unknown key `{text}`: use a character (d, D, /), ctrl-CHARACTER, or one of {}",
                        NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )
                })?,
        };
        if ctrl && !matches!(code, KeyCode::Char(_)) {
            return Err(format!("unknown key `{text}`: ctrl- goes with a character"));
        }
        Ok(Chord { code, ctrl })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            write!(f, "Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => write!(f, "Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => write!(f, "Enter"),
            KeyCode::Esc => write!(f, "Esc"),
            KeyCode::Tab => write!(f, "Tab"),
            KeyCode::Up => write!(f, "↑"),
            KeyCode::Down => write!(f, "↓"),
            KeyCode::Left => write!(f, "←"),
            KeyCode::Right => write!(f, "→"),
            KeyCode::Home => write!(f, "Home"),
            KeyCode::End => write!(f, "End"),
            KeyCode::PageUp => write!(f, "PgUp"),
            KeyCode::PageDown => write!(f, "PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// `deploy = "D"` or `deploy = ["D", "ctrl-d"]`, each key checked where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Keys(pub Vec<Chord>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let texts = match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(text) => vec![text],
            OneOrMany::Many(texts) => texts,
        };
        if texts.is_empty() {
            return Err(serde::de::Error::custom(
                "no key given: name at least one (the action would be unreachable)",
            ));
        }
        texts
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect::<Result<Vec<Chord>, D::Error>>()
            .map(Keys)
    }
}

/// Which key does what.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: Vec<(Chord, Action)>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let bindings = vec![
            (Chord::plain(KeyCode::Down), Action::Down),
            (Chord::char('j'), Action::Down),
            (Chord::plain(KeyCode::Up), Action::Up),
            (Chord::char('k'), Action::Up),
            (Chord::plain(KeyCode::PageDown), Action::PageDown),
            (Chord::ctrl('d'), Action::PageDown),
            (Chord::ctrl('f'), Action::PageDown),
            (Chord::plain(KeyCode::PageUp), Action::PageUp),
            (Chord::ctrl('u'), Action::PageUp),
            (Chord::ctrl('b'), Action::PageUp),
            (Chord::plain(KeyCode::Home), Action::First),
            (Chord::char('g'), Action::First),
            (Chord::plain(KeyCode::End), Action::Last),
            (Chord::char('G'), Action::Last),
            (Chord::plain(KeyCode::Enter), Action::Open),
            (Chord::plain(KeyCode::Right), Action::Open),
            (Chord::char('l'), Action::Logs),
            (Chord::char('s'), Action::Shell),
            (Chord::char('d'), Action::Deploy),
            (Chord::char('r'), Action::Rollback),
            (Chord::char('h'), Action::History),
            (Chord::char('c'), Action::Capacity),
            (Chord::char('/'), Action::Filter),
            (Chord::char(':'), Action::Command),
            (Chord::char('?'), Action::Help),
            (Chord::char('q'), Action::Quit),
        ];
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with `[keys]` applied: an action named there keeps only the keys given.
    /// A key given to two actions is refused, naming both.
    pub fn with(overrides: &BTreeMap<Action, Keys>) -> Result<Keymap, String> {
        let mut bindings: Vec<(Chord, Action)> = Keymap::default()
            .bindings
            .into_iter()
            .filter(|(_, action)| !overrides.contains_key(action))
            .collect();
        for (action, keys) in overrides {
            for chord in &keys.0 {
                if let Some((_, other)) = bindings.iter().find(|(c, _)| c == chord) {
                    return Err(format!(
                        "[keys]: {chord} is given to {} and to {}; give it to one, or move the other too",
                        snake(*action),
                        snake(*other)
                    ));
                }
                bindings.push((*chord, *action));
            }
        }
        Ok(Keymap { bindings })
    }

    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(chord, _)| chord.matches(key))
            .map(|(_, action)| *action)
    }

    /// The keys of `action`, as the help and the footer show them: `d`, `PgDn Ctrl-d Ctrl-f`.
    pub fn label(&self, action: Action) -> String {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(chord, _)| chord.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The first key of `action`, for short hints.
    pub fn first(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map_or_else(|| "-".into(), |(chord, _)| chord.to_string())
    }
}

/// `page_down`, as `[keys]` spells it.
fn snake(action: Action) -> String {
    let name = format!("{action:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_defaults_tell_ctrl_from_plain_keys() {
        let map = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(&key(KeyCode::Char('d'), none)),
            Some(Action::Deploy)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::PageDown)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Last)
        );
        assert_eq!(map.action(&key(KeyCode::Char('z'), none)), None);
        assert_eq!(map.label(Action::PageUp), "PgUp Ctrl-u Ctrl-b");
    }

    #[test]
    fn overrides_replace_an_actions_keys_and_refuse_a_clash() {
        let overrides = BTreeMap::from([(Action::Deploy, Keys(vec!["D".parse().expect("a key")]))]);
        let map = Keymap::with(&overrides).expect("valid");
        assert_eq!(
            map.action(&key(KeyCode::Char('D'), KeyModifiers::SHIFT)),
            Some(Action::Deploy)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('d'), KeyModifiers::NONE)),
            None
        );
        let clash = BTreeMap::from([(Action::Deploy, Keys(vec!["r".parse().expect("a key")]))]);
        let error = Keymap::with(&clash).expect_err("r is rollback's");
        assert!(
            error.contains("deploy") && error.contains("rollback"),
            "{error}"
        );
    }

    #[test]
    fn keys_parse_or_say_what_a_key_can_be() {
        assert_eq!(
            "ctrl-F".parse::<Chord>(),
            Ok(Chord::ctrl('f')),
            "ctrl- takes the letter either way"
        );
        assert_eq!("pgdn".parse::<Chord>(), Ok(Chord::plain(KeyCode::PageDown)));
        let error = "ctrl-enter".parse::<Chord>().expect_err("ctrl with a name");
        assert!(error.contains("ctrl- goes with a character"), "{error}");
        let error = "hyper-x".parse::<Chord>().expect_err("not a key");
        assert!(error.contains("pgdn"), "{error}");
    }
}
