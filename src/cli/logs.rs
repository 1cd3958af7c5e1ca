//! `dokk logs SERVICE`: a service's replicas merged in time order, or one container; from the
//! last N lines or a time; following; filtered by a regex; as text or JSON lines.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use crate::backend::logs::LogsError;
use crate::backend::logs::{self, LogQuery, LogWindow};
use crate::config::Context;
use crate::logs::{LogBatch, LogBuffer, LogEvent, LogLine, Search, Stream};

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// `service`, `project/service`, or a standalone container's name.
    pub service: String,
    /// Only this container of the service (id prefix or name; ECS: the container's name).
    #[arg(long)]
    pub container: Option<String>,
    /// ECS, Swarm: only this task (its id, or a prefix of it).
    #[arg(long)]
    pub task: Option<String>,
    /// Swarm: the service's shut-down tasks too (the manager keeps a few per slot).
    #[arg(long)]
    pub all_tasks: bool,
    /// Only lines newer than this: a duration (10m, 2h) or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Start from the last N lines of each container (default: all).
    #[arg(long)]
    pub tail: Option<usize>,
    /// Keep printing new lines.
    #[arg(long, short)]
    pub follow: bool,
    /// Only lines matching this regular expression (case-sensitive).
    #[arg(long)]
    pub grep: Option<String>,
    /// JSON lines: {"time", "replica", "stream", "message"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct JsonLine<'a> {
    time: Option<String>,
    replica: &'a str,
    stream: Stream,
    message: &'a str,
}

/// `10m`, `2h30m`, `1d`, or an RFC 3339 time.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    humantime::parse_duration(text)
        .map_err(|e| {
            format!("--since `{text}`: {e}; use a duration such as 10m or 2h, or an RFC 3339 time")
        })
        .and_then(|d| chrono::Duration::from_std(d).map_err(|e| e.to_string()))
        .map(|d| now - d)
}

pub async fn run_logs(
    context: &Context,
    args: &LogsArgs,
    out: &mut impl Write,
) -> Result<(), LogsError> {
    let grep = match &args.grep {
        Some(pattern) => Some(Search::exact(pattern).map_err(LogsError::Usage)?),
        None => None,
    };
    let since = match &args.since {
        Some(text) => Some(parse_since(text, Utc::now()).map_err(LogsError::Usage)?),
        None => None,
    };
    let query = LogQuery {
        service: &args.service,
        task: args.task.as_deref(),
        container: args.container.as_deref(),
        all_tasks: args.all_tasks,
    };
    let scope = logs::find(&context.target, query).await?;
    let window = LogWindow {
        tail: args.tail,
        since,
        follow: args.follow,
    };
    let (rx, reader) = logs::open(&context.target, scope, window);
    print_logs(args, grep, rx, out).await?;
    reader.abort();
    Ok(())
}

/// Prints lines as they come: the sources' backlogs gathered and merged in time order first.
async fn print_logs(
    args: &LogsArgs,
    grep: Option<Search>,
    mut rx: mpsc::Receiver<LogEvent>,
    out: &mut impl Write,
) -> Result<(), LogsError> {
    let mut buffer = LogBuffer::unbounded();
    let print = |out: &mut dyn Write, buffer: &LogBuffer, line: &LogLine| -> std::io::Result<()> {
        if grep.as_ref().is_some_and(|g| !g.is_match(&line.text)) {
            return Ok(());
        }
        let replica = buffer.source_name(line.source);
        if args.json {
            let json = JsonLine {
                time: line
                    .time
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                replica,
                stream: line.stream,
                message: &line.text,
            };
            serde_json::to_writer(&mut *out, &json)?;
            writeln!(out)
        } else {
            let time = line
                .time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default();
            let err = if line.stream == Stream::Stderr {
                " stderr"
            } else {
                ""
            };
            writeln!(out, "{time} {replica}{err} | {}", line.text)
        }
    };
    // The replicas' backlogs arrive separately: gather them, then print them merged in
    // time order. When following, what comes after that prints as it arrives.
    let settle = tokio::time::sleep(Duration::from_millis(500));
    tokio::pin!(settle);
    let mut settled = false;
    let mut failed = None;
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(LogEvent::Batch(batch)) => {
                    if settled {
                        print_batch(out, &mut buffer, batch, &print).map_err(io_error)?;
                    } else {
                        buffer.push_batch_unordered(batch);
                    }
                }
                // Following goes on after a source's error: say it now, on stderr.
                Some(LogEvent::Error(message)) if args.follow => eprintln!("dokk: {message}"),
                Some(LogEvent::Error(message)) => failed = Some(message),
                Some(LogEvent::End) | None => break,
            },
            _ = &mut settle, if args.follow && !settled => {
                settled = true;
                buffer.sort_by_time();
                for line in buffer.iter() {
                    print(out, &buffer, line).map_err(io_error)?;
                }
                buffer.clear();
                out.flush().map_err(io_error)?;
            }
        }
    }
    if !settled {
        buffer.sort_by_time();
        for line in buffer.iter() {
            print(out, &buffer, line).map_err(io_error)?;
        }
    }
    out.flush().map_err(io_error)?;
    match failed {
        Some(message) => Err(LogsError::Engine(message)),
        None => Ok(()),
    }
}

fn print_batch(
    out: &mut impl Write,
    buffer: &mut LogBuffer,
    batch: LogBatch,
    print: &dyn Fn(&mut dyn Write, &LogBuffer, &LogLine) -> std::io::Result<()>,
) -> std::io::Result<()> {
    buffer.push_batch(batch);
    for line in buffer.iter() {
        print(out, buffer, line)?;
    }
    buffer.clear();
    out.flush()
}

fn io_error(error: std::io::Error) -> LogsError {
    LogsError::Engine(error.to_string())
}
