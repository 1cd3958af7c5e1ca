//! The interactive console: terminal setup and restore, and the one loop that selects over
//! terminal input, backend events and a once-a-second tick, redrawing only on change.

use std::io::{self, Stdout};
use std::path::PathBuf;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::{self, Effect, Msg, State};
use crate::backend::BackendEvent;
use crate::backend::docker::spawn_watcher;
use crate::config::{Config, Theme, user_theme_dir};

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal before the default hook prints a panic of the UI thread. A panic in
/// a background task is logged and ends only that task; the console keeps its terminal.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some("main") {
            tracing::error!(%info, "panic in a background task");
            return;
        }
        restore_terminal();
        tracing::error!(%info, "panic");
        previous(info);
    }));
}

struct TerminalGuard(Term);

impl TerminalGuard {
    fn new() -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(error) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
            restore_terminal();
            return Err(error);
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(TerminalGuard(terminal)),
            Err(error) => {
                restore_terminal();
                Err(error)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub async fn run(config: Config, mut state: State) -> anyhow::Result<()> {
    let mut terminal = TerminalGuard::new()?;
    let (mut watcher, mut events_rx) = watch(&state.context);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw = std::time::Instant::now();

    loop {
        if dirty {
            terminal.0.draw(|frame| crate::ui::draw(frame, &state))?;
            dirty = false;
            last_draw = std::time::Instant::now();
        }
        let msg = tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) => Msg::Key(key),
                Some(Ok(Event::Mouse(mouse))) => Msg::Mouse(mouse),
                Some(Ok(Event::Resize(..))) => { dirty = true; continue }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            Some(event) = events_rx.recv() => Msg::Backend(event),
            _ = tick.tick() => Msg::Tick(chrono::Utc::now()),
            // The terminal guard restores the terminal on the way out.
            _ = terminate.recv() => Msg::Key(QUIT),
            _ = hangup.recv() => Msg::Key(QUIT),
        };
        // A tick only moves ages on; when live, a snapshot already redrew within the second.
        let tick_only = matches!(msg, Msg::Tick(_));
        for effect in app::update(&mut state, msg) {
            match effect {
                Effect::Quit => {
                    watcher.abort();
                    return Ok(());
                }
                Effect::SwitchContext(name) => match config.context(Some(&name)) {
                    Ok(context) => {
                        watcher.abort();
                        // A fresh channel: nothing the old watcher still sends can arrive.
                        (watcher, events_rx) = watch(&context);
                        app::switch_context(&mut state, context);
                        state.flash(format!("switched to context {name}"), false);
                    }
                    Err(error) => state.flash(error.to_string(), true),
                },
                Effect::LoadTheme(name) => match Theme::load(&name, user_theme_dir().as_deref()) {
                    Ok(theme) => state.theme = theme,
                    Err(error) => state.flash(error.to_string().replace('\n', " "), true),
                },
            }
        }
        dirty = !tick_only || last_draw.elapsed() >= std::time::Duration::from_millis(900);
    }
}

/// Ctrl-C, which quits from anywhere.
const QUIT: crossterm::event::KeyEvent = crossterm::event::KeyEvent::new(
    crossterm::event::KeyCode::Char('c'),
    crossterm::event::KeyModifiers::CONTROL,
);

fn watch(context: &crate::config::Context) -> (JoinHandle<()>, mpsc::Receiver<BackendEvent>) {
    let (events_tx, events_rx) = mpsc::channel::<BackendEvent>(64);
    let watcher = spawn_watcher(context.host.clone(), context.refresh, events_tx);
    (watcher, events_rx)
}

/// Where the log file goes: the state dir (or cache dir) from `directories`.
pub fn log_path() -> Option<PathBuf> {
    let dirs = crate::config::project_dirs()?;
    let dir = dirs.state_dir().unwrap_or(dirs.cache_dir()).to_path_buf();
    Some(dir.join("dokk.log"))
}
