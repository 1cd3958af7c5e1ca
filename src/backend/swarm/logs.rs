//! A service's logs across its tasks and nodes: one stream per task from the manager
//! (`GET /tasks/{id}/logs`), so each line is known by its task and node without `details`,
//! and shut-down tasks are left out unless asked for. The shared log engine merges them in
//! time order.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Engine, SwarmService, SwarmState};
use crate::backend::docker::logs::{LineSplitter, send_batch};
use crate::backend::logs::LogWindow;
use crate::logs::{LogEvent, Stream};

/// A task whose logs to read, with the tag its lines carry (`web.2@node-2`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSource {
    pub task: String,
    pub tag: String,
    /// The task's container has a TTY: its stream is raw bytes, not frames.
    pub tty: bool,
}

/// The tasks of `service` to read: the desired ones, or every one still known to the manager.
pub fn sources(state: &SwarmState, service: &SwarmService, all_tasks: bool) -> Vec<TaskSource> {
    let mut sources: Vec<TaskSource> = state
        .service_tasks(&service.id)
        .filter(|t| all_tasks || t.is_desired())
        .filter(|t| t.container_id.is_some() || t.is_running())
        .map(|t| {
            let node = t
                .node_id
                .as_deref()
                .and_then(|id| state.node(id))
                .map_or("?", |n| n.hostname.as_str());
            let slot = t
                .slot
                .map_or_else(|| t.short_id().to_string(), |s| s.to_string());
            let old = if t.is_desired() { "" } else { "~" };
            TaskSource {
                task: t.id.clone(),
                tag: format!("{old}{}.{slot}@{node}", service.short_name()),
                tty: service.tty,
            }
        })
        .collect();
    sources.sort_by(|a, b| a.tag.cmp(&b.tag));
    sources
}

/// Reads each task's log until the streams end (or follows them).
pub async fn stream_logs(
    engine: Engine,
    sources: Vec<TaskSource>,
    window: LogWindow,
    out: mpsc::Sender<LogEvent>,
) {
    let mut streams = JoinSet::new();
    for source in sources {
        streams.spawn(stream_one(engine.clone(), source, window, out.clone()));
    }
    while streams.join_next().await.is_some() {}
    let _ = out.send(LogEvent::End).await;
}

async fn stream_one(
    engine: Engine,
    source: TaskSource,
    window: LogWindow,
    out: mpsc::Sender<LogEvent>,
) {
    let mut path = format!(
        "/tasks/{}/logs?stdout=1&stderr=1&timestamps=1&follow={}&tail={}",
        source.task,
        window.follow,
        window.tail.map_or("all".to_string(), |n| n.to_string())
    );
    if let Some(since) = window.since {
        path.push_str(&format!("&since={}", since.timestamp()));
    }
    let tag: Arc<str> = source.tag.into();
    let tty = source.tty;
    let mut body = match engine.stream(&path).await {
        Ok(body) => Box::pin(body),
        Err(error) => {
            let _ = out
                .send(LogEvent::Error(format!("logs of {tag}: {error}")))
                .await;
            return;
        }
    };
    let mut frames = Demuxer::default();
    let mut splitter = LineSplitter::default();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let _ = out
                    .send(LogEvent::Error(format!("logs of {tag}: {error}")))
                    .await;
                return;
            }
        };
        let mut lines = Vec::new();
        if tty {
            splitter.feed(Stream::Stdout, &chunk, &mut lines);
        } else {
            for (stream, payload) in frames.feed(&chunk) {
                splitter.feed(stream, &payload, &mut lines);
            }
        }
        if !send_batch(&out, &tag, lines).await {
            return;
        }
    }
    send_batch(&out, &tag, splitter.finish()).await;
}

/// The engine's multiplexed stream (no TTY): frames of an 8-byte header (stream, 0, 0, 0,
/// big-endian length) and the payload, cut anywhere by the transport.
#[derive(Default)]
struct Demuxer {
    pending: Vec<u8>,
}

impl Demuxer {
    fn feed(&mut self, bytes: &[u8]) -> Vec<(Stream, Vec<u8>)> {
        self.pending.extend_from_slice(bytes);
        let mut frames = Vec::new();
        loop {
            if self.pending.len() < 8 {
                break;
            }
            let size = u32::from_be_bytes([
                self.pending[4],
                self.pending[5],
                self.pending[6],
                self.pending[7],
            ]) as usize;
            if self.pending.len() < 8 + size {
                break;
            }
            let stream = if self.pending[0] == 2 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            frames.push((stream, self.pending[8..8 + size].to_vec()));
            self.pending.drain(..8 + size);
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cut_anywhere_come_out_whole() {
        let mut bytes = vec![1, 0, 0, 0, 0, 0, 0, 6];
        bytes.extend_from_slice(b"hello\n");
        bytes.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        bytes.extend_from_slice(b"oops");
        let mut demuxer = Demuxer::default();
        let mut frames = Vec::new();
        for piece in bytes.chunks(3) {
            frames.extend(demuxer.feed(piece));
        }
        assert_eq!(
            frames,
            [
                (Stream::Stdout, b"hello\n".to_vec()),
                (Stream::Stderr, b"oops".to_vec())
            ]
        );
    }
}
