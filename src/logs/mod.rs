//! The log engine shared by every backend: a bounded buffer of sanitised lines, in time order,
//! with regex search. Backends turn their own records into `PendingLine`s in batches.

mod buffer;
mod sanitize;
mod search;

pub use buffer::{DEFAULT_MAX_LINES, LogBuffer, LogLine, Stream};
pub use sanitize::{MAX_LINE_BYTES, StyleSpan, sanitize};
pub use search::{Search, with_context};

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A sanitised line on its way from a backend to a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingLine {
    pub time: Option<DateTime<Utc>>,
    pub stream: Stream,
    pub text: Box<str>,
    pub spans: Box<[StyleSpan]>,
}

impl PendingLine {
    pub fn new(time: Option<DateTime<Utc>>, stream: Stream, raw: &[u8]) -> PendingLine {
        let (text, spans) = sanitize(raw);
        PendingLine {
            time,
            stream,
            text: text.into_boxed_str(),
            spans: spans.into_boxed_slice(),
        }
    }
}

/// What a log source sends the log view.
#[derive(Debug)]
pub enum LogEvent {
    Batch(LogBatch),
    /// One source failed (or a problem to show); the others go on.
    Error(String),
    /// Every stream ended (the containers stopped, or not following).
    End,
}

/// Lines of one source (a replica, a task) sent together.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub source: Arc<str>,
    pub lines: Vec<PendingLine>,
}

impl LogBuffer {
    /// Adds a batch, each line in time order.
    pub fn push_batch(&mut self, batch: LogBatch) {
        self.add_batch(batch, LogBuffer::push, |_| false);
    }

    /// Adds a batch in time order, marking the lines `mark` says yes to.
    pub fn push_batch_marked(&mut self, batch: LogBatch, mark: impl Fn(&PendingLine) -> bool) {
        self.add_batch(batch, LogBuffer::push, mark);
    }

    /// Adds a batch as it comes; `sort_by_time` afterwards.
    pub fn push_batch_unordered(&mut self, batch: LogBatch) {
        self.add_batch(batch, LogBuffer::push_unordered, |_| false);
    }

    fn add_batch(
        &mut self,
        batch: LogBatch,
        add: fn(&mut LogBuffer, LogLine),
        mark: impl Fn(&PendingLine) -> bool,
    ) {
        let source = self.source(&batch.source);
        for line in batch.lines {
            let marked = mark(&line);
            add(
                self,
                LogLine {
                    time: line.time,
                    source,
                    stream: line.stream,
                    text: line.text,
                    spans: line.spans,
                    marked,
                },
            );
        }
    }
}
