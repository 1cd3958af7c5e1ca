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

/// Lines of one source (a replica, a task) sent together.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub source: Arc<str>,
    pub lines: Vec<PendingLine>,
}

impl LogBuffer {
    pub fn push_batch(&mut self, batch: LogBatch) {
        let source = self.source(&batch.source);
        for line in batch.lines {
            self.push(LogLine {
                time: line.time,
                source,
                stream: line.stream,
                text: line.text,
                spans: line.spans,
            });
        }
    }
}
