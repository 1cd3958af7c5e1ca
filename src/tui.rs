//! The interactive console: terminal setup and restore, and the one loop that selects over
//! terminal input, backend events, log lines and a once-a-second tick, redrawing only on
//! change. Effects returned by `update` are carried out here.

use std::io::{self, Stdout, Write};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyCode, KeyEvent, KeyModifiers,
};
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

use crate::app::{self, Dialog, Effect, Msg, RolloutEvent, State};
use crate::backend::deploy;
use crate::backend::logs::{self, LogWindow};
use crate::backend::session;
use crate::backend::{self, Watch};
use crate::config::{Config, Context, Target, Theme, user_theme_dir};
use crate::logs::LogEvent;

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
        if let Err(error) = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture) {
            restore_terminal();
            return Err(error);
        }
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
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

/// When the process started (forced first thing in `main`): the first full frame is logged
/// against it, which is how the benchmark reads the time to it.
pub static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Ctrl-C, which quits from anywhere.
const QUIT: KeyEvent = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);

struct Console {
    config: Config,
    terminal: TerminalGuard,
    input: Option<EventStream>,
    watch: Watch,
    log_task: Option<JoinHandle<()>>,
    log_tx: mpsc::Sender<(u64, LogEvent)>,
    rollout_tx: mpsc::Sender<RolloutEvent>,
}

pub async fn run(config: Config, mut state: State) -> anyhow::Result<()> {
    let watch = backend::watch(&state.context);
    let (log_tx, mut log_rx) = mpsc::channel::<(u64, LogEvent)>(256);
    let (rollout_tx, mut rollout_rx) = mpsc::channel::<RolloutEvent>(64);
    let mut console = Console {
        config,
        terminal: TerminalGuard::new()?,
        input: Some(EventStream::new()),
        watch,
        log_task: None,
        log_tx,
        rollout_tx,
    };
    spawn_recovery(&state.context, console.rollout_tx.clone());
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut first_full_frame = true;
    let mut last_backend_event = Instant::now();

    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            console
                .terminal
                .0
                .draw(|frame| crate::ui::draw(frame, &state))?;
            dirty = false;
            last_draw = Instant::now();
            let shown = app::on_screen(&state).map(Arc::new);
            console.watch.on_screen.send_if_modified(|current| {
                let changed = *current != shown;
                if changed {
                    current.clone_from(&shown);
                }
                changed
            });
            if first_full_frame && let Some(snapshot) = &state.snapshot {
                first_full_frame = false;
                tracing::info!(
                    containers = snapshot.containers.len(),
                    ms = STARTED.elapsed().as_secs_f64() * 1000.0,
                    "first full frame"
                );
            }
        }
        // A change within a frame of the last draw waits for the next frame.
        let wait = FRAME.saturating_sub(last_draw.elapsed());
        let input = console.input.get_or_insert_with(EventStream::new);
        let msg = tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) => Msg::Key(key),
                Some(Ok(Event::Mouse(mouse))) => Msg::Mouse(mouse),
                Some(Ok(Event::Resize(..))) => { dirty = true; continue }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            Some(event) = console.watch.events.recv() => Msg::Backend(event, chrono::Utc::now()),
            Some((session, event)) = log_rx.recv() => Msg::Logs(session, event),
            Some(event) = rollout_rx.recv() => Msg::Rollout(event),
            _ = tick.tick() => Msg::Tick(chrono::Utc::now()),
            // The terminal guard restores the terminal on the way out.
            _ = terminate.recv() => Msg::Key(QUIT),
            _ = hangup.recv() => Msg::Key(QUIT),
            _ = tokio::time::sleep(wait), if dirty => continue,
        };
        // A tick only moves ages on. While snapshots arrive every refresh they redraw anyway:
        // a tick then would draw a second frame a few milliseconds before the snapshot's.
        let tick_only = matches!(msg, Msg::Tick(_));
        if matches!(msg, Msg::Backend(..)) {
            last_backend_event = Instant::now();
        }
        let mut msgs = vec![msg];
        // A burst of log lines costs one frame, not one per batch.
        while msgs.len() < MAX_BATCHES_PER_FRAME {
            match log_rx.try_recv() {
                Ok((session, event)) => msgs.push(Msg::Logs(session, event)),
                Err(_) => break,
            }
        }
        // What effects bring back goes through `update` too, after the messages before it.
        let mut queue = std::collections::VecDeque::from(msgs);
        while let Some(msg) = queue.pop_front() {
            for effect in app::update(&mut state, msg) {
                match console.apply(&state, effect).await {
                    Some(results) => queue.extend(results),
                    None => {
                        console.watch.task.abort();
                        console.stop_logs();
                        return Ok(());
                    }
                }
            }
        }
        dirty |= !tick_only || last_backend_event.elapsed() >= Duration::from_millis(1500);
    }
}

/// At most 60 frames a second.
const FRAME: Duration = Duration::from_millis(16);
const MAX_BATCHES_PER_FRAME: usize = 512;

impl Console {
    /// Carries out one effect and returns what came of it as messages for `update` (it
    /// reads the state, never writes it); `None` means quit.
    async fn apply(&mut self, state: &State, effect: Effect) -> Option<Vec<Msg>> {
        let said = |result: Result<String, String>| vec![Msg::Outcome(result)];
        Some(match effect {
            Effect::Quit => return None,
            Effect::SwitchContext(name) => match self.config.context(Some(&name)) {
                Ok(context) => {
                    self.watch.task.abort();
                    // A fresh channel: nothing the old watcher still sends can arrive.
                    self.watch = backend::watch(&context);
                    self.stop_logs();
                    vec![Msg::ContextSwitched {
                        context,
                        message: format!("switched to context {name}"),
                    }]
                }
                Err(error) => said(Err(error.to_string())),
            },
            Effect::LoadTheme(name) => match Theme::load(&name, user_theme_dir().as_deref()) {
                Ok(theme) => vec![Msg::ThemeLoaded(theme)],
                Err(error) => said(Err(error.to_string().replace('\n', " "))),
            },
            Effect::OpenLogs { session, scope } => {
                self.stop_logs();
                let window = LogWindow {
                    tail: Some(self.config.log_tail.unwrap_or(DEFAULT_TAIL)),
                    since: None,
                    follow: true,
                };
                let (mut events, reader) = logs::open(&state.context.target, scope, window);
                let out = self.log_tx.clone();
                self.log_task = Some(tokio::spawn(async move {
                    while let Some(event) = events.recv().await {
                        if out.send((session, event)).await.is_err() {
                            break;
                        }
                    }
                    reader.abort();
                }));
                Vec::new()
            }
            Effect::CloseLogs => {
                self.stop_logs();
                Vec::new()
            }
            Effect::SaveLogs { title, text } => match save_logs(&title, &text) {
                Ok(path) => said(Ok(format!(
                    "saved {} lines to {}",
                    text.lines().count(),
                    path.display()
                ))),
                Err(error) => said(Err(format!("could not save the logs: {error}"))),
            },
            Effect::Copy(text) => {
                // OSC 52: the terminal (and tmux with set-clipboard) puts it on the clipboard.
                let encoded = base64(text.as_bytes());
                let mut stdout = io::stdout();
                let _ = write!(stdout, "\x1b]52;c;{encoded}\x07");
                let _ = stdout.flush();
                said(Ok(format!("copied {} characters", text.chars().count())))
            }
            Effect::Session(scope) => {
                let result =
                    match session::prepare(&state.context, scope, &self.config.shells()).await {
                        Ok(session) => {
                            let banner = format!("{} — `exit` returns to dokk", session.title);
                            match self.hand_over(&banner, session.raw, session.run).await {
                                Ok(Some(code)) if code != 0 => {
                                    Ok(format!("{} exited with {code}", session.title))
                                }
                                Ok(_) => Ok(format!("back from {}", session.title)),
                                Err(error) => Err(error),
                            }
                        }
                        Err(error) => Err(error.to_string()),
                    };
                said(result)
            }
            Effect::Plan(request) => {
                let working = format!(
                    "working out a {} of {}…",
                    request.action(),
                    request.service()
                );
                let context = state.context.clone();
                let tx = self.rollout_tx.clone();
                tokio::spawn(async move {
                    let event = match deploy::plan(&context, &request).await {
                        Ok(plan) => RolloutEvent::Planned(Dialog {
                            title: plan.question(),
                            lines: plan.lines(),
                            on_yes: Effect::Apply(plan.request().clone()),
                        }),
                        Err(error) => RolloutEvent::PlanFailed(error.to_string()),
                    };
                    let _ = tx.send(event).await;
                });
                said(Ok(working))
            }
            Effect::Apply(request) => {
                let context = state.context.clone();
                let tx = self.rollout_tx.clone();
                tokio::spawn(async move {
                    let lines = tx.clone();
                    let mut progress = move |line: String| {
                        let _ = lines.try_send(RolloutEvent::Line(line));
                    };
                    let follow = deploy::Follow {
                        wait: true,
                        timeout: Duration::from_secs(15 * 60),
                        poll: Duration::from_secs(5),
                        revert_on_failure: true,
                    };
                    let result = match deploy::plan(&context, &request).await {
                        Ok(plan) => deploy::apply(&context, plan, follow, &mut progress)
                            .await
                            .map(|report| (report.ok(), report.summary()))
                            .map_err(|e| e.to_string()),
                        Err(error) => Err(error.to_string()),
                    };
                    let _ = tx.send(RolloutEvent::Done(result)).await;
                });
                Vec::new()
            }
            Effect::ListImages { service } => {
                let context = state.context.clone();
                let tx = self.rollout_tx.clone();
                tokio::spawn(async move {
                    // No candidates only means Tab completes nothing: the field still works.
                    let images = deploy::images(&context, &service).await.unwrap_or_default();
                    let _ = tx.send(RolloutEvent::Images { service, images }).await;
                });
                Vec::new()
            }
            Effect::ShowHistory { service } => {
                let context = state.context.clone();
                let tx = self.rollout_tx.clone();
                tokio::spawn(async move {
                    let event = match deploy::history(&context, &service).await {
                        Ok(revisions) => RolloutEvent::Show {
                            title: format!("History of {service} (r rolls back)"),
                            lines: deploy::history_table(&revisions),
                        },
                        Err(error) => RolloutEvent::PlanFailed(error.to_string()),
                    };
                    let _ = tx.send(event).await;
                });
                Vec::new()
            }
            Effect::SwitchCluster(cluster) => {
                let mut context = state.context.clone();
                // Only an ECS target has clusters (`:cluster` elsewhere is refused in `update`).
                if let Target::Ecs(target) = &mut context.target {
                    target.cluster = Some(cluster.clone());
                }
                self.watch.task.abort();
                self.watch = backend::watch(&context);
                self.stop_logs();
                vec![Msg::ContextSwitched {
                    context,
                    message: format!("watching cluster {cluster}"),
                }]
            }
        })
    }

    /// Gives the terminal to `session` until it ends, then takes it back exactly as it was.
    /// `raw`: keep raw mode (a docker exec passes every byte through); otherwise the session
    /// gets the terminal as a plain shell would have it (the plugin sets its own mode).
    async fn hand_over<T>(
        &mut self,
        banner: &str,
        raw: bool,
        session: impl std::future::Future<Output = T>,
    ) -> T {
        // Stop reading keys ourselves: the session gets every byte.
        self.input = None;
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        if !raw {
            let _ = disable_raw_mode();
        }
        print!("dokk: {banner}\r\n");
        let _ = io::stdout().flush();
        let result = session.await;
        if !raw {
            let _ = enable_raw_mode();
        }
        let _ = execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        );
        // A fresh terminal has empty buffers, so the next frame redraws everything. (Its
        // `clear` asks the terminal for the cursor position, which can fail right here.)
        if let Ok(terminal) = Terminal::new(CrosstermBackend::new(io::stdout())) {
            self.terminal.0 = terminal;
        }
        self.input = Some(EventStream::new());
        result
    }

    fn stop_logs(&mut self) {
        if let Some(task) = self.log_task.take() {
            task.abort();
        }
    }
}

const DEFAULT_TAIL: usize = 1000;

/// Writes the logs to `dokk-<title>-<time>.log` in the current directory, or in dokk's data
/// dir when the current one is not writable.
fn save_logs(title: &str, text: &str) -> io::Result<PathBuf> {
    let safe: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!(
        "dokk-{safe}-{}.log",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let first = std::env::current_dir().map(|d| d.join(&name));
    let write = |path: PathBuf| crate::files::write_private(&path, text.as_bytes()).map(|_| path);
    match first.and_then(write) {
        Ok(path) => Ok(path),
        Err(_) => {
            let dir = crate::config::project_dirs()
                .map(|d| d.data_dir().join("logs"))
                .ok_or_else(|| io::Error::other("no data directory"))?;
            crate::files::private_dir(&dir)?;
            write(dir.join(&name))
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Where the log file goes: the state dir (or cache dir) from `directories`.
/// Repairs the rollouts of the context that were cut off (as every command does first), and
/// shows what it did in the rollout panel when there was anything.
fn spawn_recovery(context: &Context, tx: mpsc::Sender<RolloutEvent>) {
    let context = context.clone();
    tokio::spawn(async move {
        let mut lines = Vec::new();
        let recovered = deploy::recover(&context, None, &mut |line| lines.push(line)).await;
        if !recovered.is_empty() {
            let title = "Interrupted rollouts, repaired (also in the audit log)".to_string();
            let _ = tx.send(RolloutEvent::Show { title, lines }).await;
        }
    });
}

pub fn log_path() -> Option<PathBuf> {
    let dirs = crate::config::project_dirs()?;
    let dir = dirs.state_dir().unwrap_or(dirs.cache_dir()).to_path_buf();
    Some(dir.join("dokk.log"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"hello world"), "aGVsbG8gd29ybGQ=");
    }
}
