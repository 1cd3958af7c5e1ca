use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use dokk::app::State;
use dokk::config::{Config, ConfigError, Context, Theme, user_theme_dir};

/// A terminal operations console for container fleets.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Context from config.toml to use (default: `default_context`, else the local engine).
    #[arg(long, global = true, env = "DOKK_CONTEXT")]
    context: Option<String>,
    /// Config file (default: config.toml in the user's config dir).
    #[arg(long, global = true, env = "DOKK_CONFIG")]
    config: Option<PathBuf>,
    /// Theme: dark, light, high-contrast, a user theme name or a .toml path.
    #[arg(long, global = true)]
    theme: Option<String>,
    /// Refuse every action that changes the fleet.
    #[arg(long, global = true)]
    readonly: bool,
    /// Refresh interval in milliseconds.
    #[arg(long, global = true)]
    refresh_ms: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the fleet once and exit.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print a service's logs: its replicas merged in time order, or one container's.
    Logs(dokk::cli::LogsArgs),
    /// What is allocated, used and still fits; `--scale SERVICE=N` asks whether a scale-up
    /// fits (exit 0 fits, 1 does not, 2 bad input).
    Capacity(dokk::cli::CapacityArgs),
    /// The revisions a service has run, newest first, the live one marked.
    History(dokk::cli::HistoryArgs),
    /// Deploy a new image: a new revision copied from the live one, the service pointed at it.
    Deploy(dokk::cli::DeployArgs),
    /// Roll back to the previous revision, or any ACTIVE one with --to.
    Rollback(dokk::cli::RollbackArgs),
    /// Repair rollouts a signal, a kill or a lost connection cut off (Compose): finish each
    /// when every replica already runs the new image, else put the service back. Every other
    /// command on the context does this first too. Exit 0 repaired or nothing to repair, 1 not.
    Recover {
        /// Only this service (`project/service` or `service`).
        service: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Swarm: run SERVICE=N tasks of a replicated service (says first whether they fit).
    Scale(dokk::cli::ScaleArgs),
    /// Swarm: drain a node (its tasks move), pause it, or activate it again.
    Node(dokk::cli::NodeArgs),
    /// ECS Exec into a service's task container (through session-manager-plugin).
    Exec(dokk::cli::ExecArgs),
    /// An SSM session to a node of an ECS cluster (EC2 instance or container instance id).
    Ssm {
        /// The node: its EC2 instance id or container instance id.
        node: String,
    },
    /// Open the interactive console (the default).
    Ui,
    /// Print a shell completion script: `dokk completions bash > /etc/bash_completion.d/dokk`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `dokk man > ~/.local/share/man/man1/dokk.1`.
    Man,
}

fn main() -> ExitCode {
    std::sync::LazyLock::force(&dokk::tui::STARTED);
    let cli = Cli::parse();
    let _log_guard = init_logging();
    raise_open_file_limit();
    let result = run(cli);
    // Every SSH connection ends with dokk, whatever the result.
    dokk::backend::docker::ssh::close_all();
    match result {
        Ok(code) => code,
        Err(Failure::BadInput(error)) => {
            eprintln!("dokk: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
        Err(Failure::Other(error)) => {
            eprintln!("dokk: {error:#}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    BadInput(ConfigError),
    Other(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::BadInput(error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Other(error)
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    // Neither needs a config, an engine or a terminal.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "dokk", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(anyhow::Error::from)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let (config, _path) = Config::load(cli.config.as_deref())?;
    let mut context: Context = config.context(cli.context.as_deref())?;
    context.readonly |= cli.readonly;
    if let Some(ms) = cli.refresh_ms {
        context.refresh = std::time::Duration::from_millis(dokk::config::clamp_refresh(ms));
    }
    let theme_name = cli.theme.clone().or_else(|| context.theme.clone());
    let theme = match &theme_name {
        Some(name) => Theme::load(name, user_theme_dir().as_deref())?,
        None => Theme::default_theme(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    match cli.command.unwrap_or(Command::Ui) {
        Command::Status { json } => {
            let mut out = std::io::stdout().lock();
            // A repair is said on stderr even with --json: it changed the fleet.
            let mut progress = cli_progress(false);
            runtime.block_on(async {
                dokk::backend::deploy::recover(&context, None, &mut progress).await;
                dokk::cli::run_status(&context, json, &mut out).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Recover { service, json } => {
            let mut out = std::io::stdout().lock();
            let mut progress = cli_progress(json);
            let ok = runtime.block_on(dokk::cli::run_recover(
                &context,
                service.as_deref(),
                json,
                &mut out,
                &mut progress,
            ));
            Ok(rollout_exit(ok))
        }
        Command::Logs(args) => {
            let mut out = std::io::stdout().lock();
            match runtime.block_on(dokk::cli::run_logs(&context, &args, &mut out)) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(dokk::cli::LogsError::Usage(message)) => {
                    eprintln!("dokk: {message}");
                    Ok(ExitCode::from(2))
                }
                // `dokk logs | head` closes the pipe early: not an error.
                Err(dokk::cli::LogsError::Engine(message)) if message.contains("Broken pipe") => {
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Err(anyhow::anyhow!("{error}").into()),
            }
        }
        Command::Capacity(args) => {
            let mut out = std::io::stdout().lock();
            match runtime.block_on(dokk::cli::run_capacity(&context, &args, &mut out)) {
                Ok(true) => Ok(ExitCode::SUCCESS),
                Ok(false) => Ok(ExitCode::from(1)),
                Err(dokk::cli::CapacityError::Usage(message)) => {
                    eprintln!("dokk: {message}");
                    Ok(ExitCode::from(2))
                }
                // Not 1: a CI gate must tell "does not fit" from "could not look".
                Err(error) => {
                    eprintln!("dokk: {error}");
                    Ok(ExitCode::from(3))
                }
            }
        }
        Command::History(args) => {
            let mut out = std::io::stdout().lock();
            let result = runtime
                .block_on(dokk::cli::run_history(&context, &args, &mut out))
                .map(|()| true);
            Ok(rollout_exit(result))
        }
        Command::Deploy(args) => Ok(rollout(&runtime, &context, &args)),
        Command::Rollback(args) => Ok(rollout(&runtime, &context, &args)),
        Command::Scale(args) => Ok(rollout(&runtime, &context, &args)),
        Command::Node(args) => Ok(rollout(&runtime, &context, &args)),
        Command::Exec(args) => session_exit(runtime.block_on(dokk::cli::run_exec(&context, &args))),
        Command::Ssm { node } => {
            session_exit(runtime.block_on(dokk::cli::run_ssm(&context, &node)))
        }
        Command::Completions { .. } | Command::Man => Ok(ExitCode::SUCCESS),
        Command::Ui => {
            dokk::tui::install_panic_hook();
            let mut state = State::new(context, config.context_names(), theme, config.thresholds);
            state.keymap = config.keymap();
            state.context_sources = config.context_sources();
            if let Some(lines) = config.log_lines {
                state.log_lines = lines.max(100);
            }
            runtime.block_on(dokk::tui::run(config, state))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Progress of a rollout on stderr, unless the output is JSON.
fn cli_progress(json: bool) -> impl FnMut(String) + Send {
    move |line| {
        // Not eprintln!: after SIGHUP the terminal may be gone, and that is no reason to panic.
        if !json {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// A rollout subcommand: plan, ask, apply, progress on stderr, the exit code of its end.
fn rollout(
    runtime: &tokio::runtime::Runtime,
    context: &dokk::config::Context,
    command: &impl dokk::cli::RolloutCommand,
) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut progress = cli_progress(command.rollout().json);
    rollout_exit(runtime.block_on(dokk::cli::run_rollout(
        context,
        command,
        &mut out,
        &mut progress,
    )))
}

fn rollout_exit(result: Result<bool, dokk::backend::deploy::DeployError>) -> ExitCode {
    let (code, message) = dokk::cli::rollout_exit_code(result);
    if let Some(message) = message {
        eprintln!("dokk: {message}");
    }
    ExitCode::from(code)
}

fn session_exit(result: Result<(), dokk::cli::SessionCliError>) -> Result<ExitCode, Failure> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(dokk::cli::SessionCliError::Refused(message)) => {
            eprintln!("dokk: {message}");
            Ok(ExitCode::from(2))
        }
        Err(error) => Err(anyhow::anyhow!("{error}").into()),
    }
}

/// Raises the soft limit on open files to the hard one, as Go programs such as the Docker CLI
/// do: the console keeps three cgroup files open per running container, and the usual soft
/// limit of 1,024 would otherwise cap it near 300 containers.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::debug!(%error, "could not raise the open-file limit");
        }
    }
}

/// Logs go to a file, never to the screen: `DOKK_LOG` sets the level (default `info`).
/// Below info only dokk's own events are written: the engine and AWS clients log whole
/// request and response bodies at debug and trace, environment values and session tokens
/// with them.
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    let path = dokk::tui::log_path()?;
    let file = dokk::files::append_private(&path).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOKK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_wire_dumps = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || meta.target().starts_with("dokk")
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter)
        .with_filter(no_wire_dumps);
    tracing_subscriber::registry().with(layer).init();
    Some(guard)
}
