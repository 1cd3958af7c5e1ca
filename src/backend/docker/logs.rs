//! Container logs from the engine into the shared log engine: one stream per container,
//! split into lines, timestamped by the engine, sanitised off the UI thread, sent in batches.

use std::sync::Arc;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use crate::logs::LogEvent;
use crate::logs::{LogBatch, PendingLine, Stream};

/// Which logs to read.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRequest {
    /// Container ids with the name each one's lines are tagged with.
    pub containers: Vec<(String, String)>,
    /// Lines per container to start from; `None`: all.
    pub tail: Option<usize>,
    /// Only lines after this time.
    pub since: Option<DateTime<Utc>>,
    pub follow: bool,
}

/// Reads every container of `request` until their streams end; sends batches of lines.
pub async fn stream_logs(docker: Docker, request: LogRequest, out: mpsc::Sender<LogEvent>) {
    let mut streams = JoinSet::new();
    for (id, source) in request.containers.clone() {
        streams.spawn(stream_one(
            docker.clone(),
            id,
            source.into(),
            request.clone(),
            out.clone(),
        ));
    }
    while streams.join_next().await.is_some() {}
    let _ = out.send(LogEvent::End).await;
}

async fn stream_one(
    docker: Docker,
    id: String,
    source: Arc<str>,
    request: LogRequest,
    out: mpsc::Sender<LogEvent>,
) {
    let mut options = LogsOptionsBuilder::default()
        .follow(request.follow)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&request.tail.map_or("all".to_string(), |n| n.to_string()));
    if let Some(since) = request.since {
        options = options.since(i32::try_from(since.timestamp()).unwrap_or(i32::MAX));
    }
    // Frames already waiting are taken together: one batch per wake-up, not per line.
    let mut frames = docker.logs(&id, Some(options.build())).ready_chunks(1024);
    let mut splitter = LineSplitter::default();
    while let Some(chunk) = frames.next().await {
        let mut lines = Vec::with_capacity(chunk.len());
        for frame in chunk {
            match frame {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    splitter.feed(Stream::Stdout, &message, &mut lines)
                }
                Ok(LogOutput::StdErr { message }) => {
                    splitter.feed(Stream::Stderr, &message, &mut lines)
                }
                Ok(LogOutput::StdIn { .. }) => {}
                Err(error) => {
                    let message = format!("logs of {source}: {}", super::describe(&error));
                    let _ = out.send(LogEvent::Error(message)).await;
                    return;
                }
            }
        }
        if !send_batch(&out, &source, lines).await {
            return;
        }
    }
    send_batch(&out, &source, splitter.finish()).await;
}

/// Sends `lines` (when there are any) as one batch; false when nobody listens any more.
pub(crate) async fn send_batch(
    out: &mpsc::Sender<LogEvent>,
    source: &Arc<str>,
    lines: Vec<PendingLine>,
) -> bool {
    lines.is_empty()
        || out
            .send(LogEvent::Batch(LogBatch {
                source: source.clone(),
                lines,
            }))
            .await
            .is_ok()
}

/// Frames are usually one line each, but a TTY's output comes in arbitrary pieces.
#[derive(Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
    partial_stream: Option<Stream>,
}

impl LineSplitter {
    pub(crate) fn feed(&mut self, stream: Stream, bytes: &[u8], out: &mut Vec<PendingLine>) {
        if self.partial_stream.is_some_and(|s| s != stream) {
            self.flush(out);
        }
        self.partial_stream = Some(stream);
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..newline]);
            self.flush(out);
            rest = &rest[newline + 1..];
        }
        self.partial.extend_from_slice(rest);
        self.partial_stream = (!self.partial.is_empty()).then_some(stream);
    }

    fn flush(&mut self, out: &mut Vec<PendingLine>) {
        if let Some(stream) = self.partial_stream {
            out.push(parse_line(stream, &self.partial));
        }
        self.partial.clear();
    }

    pub(crate) fn finish(mut self) -> Vec<PendingLine> {
        let mut out = Vec::new();
        if !self.partial.is_empty() {
            self.flush(&mut out);
        }
        out
    }
}

/// A line as the engine sends it with `timestamps=true`: `2026-11-22T01:38:06.0471Z message`.
pub fn parse_line(stream: Stream, line: &[u8]) -> PendingLine {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Some(space) = line.iter().position(|&b| b == b' ')
        && let Ok(stamp) = std::str::from_utf8(&line[..space])
        && let Ok(time) = DateTime::parse_from_rfc3339(stamp)
    {
        return PendingLine::new(Some(time.with_timezone(&Utc)), stream, &line[space + 1..]);
    }
    PendingLine::new(None, stream, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_frames_and_timestamps_parse() {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        splitter.feed(
            Stream::Stdout,
            b"2026-11-22T03:00:01.5Z first\n2026-11-22T03:00:02Z sec",
            &mut lines,
        );
        splitter.feed(Stream::Stdout, b"ond\n", &mut lines);
        splitter.feed(
            Stream::Stderr,
            b"2026-11-22T03:00:03Z \x1b[31moops\x1b[0m\n",
            &mut lines,
        );
        lines.extend(splitter.finish());
        let texts: Vec<&str> = lines.iter().map(|l| &*l.text).collect();
        assert_eq!(texts, ["first", "second", "oops"]);
        assert_eq!(lines[2].stream, Stream::Stderr);
        assert_eq!(
            lines[0].time.map(|t| t.timestamp_subsec_millis()),
            Some(500)
        );
        assert_eq!(lines[2].spans.len(), 1);
    }

    #[test]
    fn a_line_without_timestamp_keeps_its_text() {
        let line = parse_line(Stream::Stdout, b"no stamp here");
        assert_eq!(line.time, None);
        assert_eq!(&*line.text, "no stamp here");
    }
}
