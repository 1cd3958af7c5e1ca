//! The bounded log buffer shared by every backend: lines in time order, oldest dropped first,
//! so memory stays bounded however long a chatty container runs.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::sanitize::StyleSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: Option<DateTime<Utc>>,
    /// Index into the buffer's sources (the replica or task the line came from).
    pub source: u16,
    pub stream: Stream,
    /// Sanitised: no escape or control characters.
    pub text: Box<str>,
    pub spans: Box<[StyleSpan]>,
    /// Set by the view for lines that match its search, so that counting, jumping and
    /// filtering need no regex per frame.
    pub marked: bool,
}

impl LogLine {
    /// Bytes this line holds, roughly, for the buffer's memory bound.
    fn weight(&self) -> usize {
        std::mem::size_of::<LogLine>()
            + self.text.len()
            + self.spans.len() * std::mem::size_of::<StyleSpan>()
    }
}

#[derive(Debug, Clone)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    sources: Vec<String>,
    max_lines: usize,
    max_bytes: usize,
    bytes: usize,
    /// Lines ever pushed; the absolute number of `lines[0]` is `pushed - lines.len()`.
    pushed: u64,
    dropped: u64,
    marked: usize,
}

pub const DEFAULT_MAX_LINES: usize = 100_000;
/// A second bound, for buffers of long lines.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

impl LogBuffer {
    pub fn new(max_lines: usize) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::new(),
            sources: Vec::new(),
            max_lines: max_lines.max(1),
            max_bytes: DEFAULT_MAX_BYTES,
            bytes: 0,
            pushed: 0,
            dropped: 0,
            marked: 0,
        }
    }

    /// No bound at all: for a one-off read that prints everything it gathered.
    pub fn unbounded() -> LogBuffer {
        LogBuffer {
            max_bytes: usize::MAX,
            ..LogBuffer::new(usize::MAX)
        }
    }

    /// The index of a source name, added when new.
    pub fn source(&mut self, name: &str) -> u16 {
        if let Some(index) = self.sources.iter().position(|s| s == name) {
            return index as u16;
        }
        self.sources.push(name.to_string());
        (self.sources.len() - 1).min(u16::MAX as usize) as u16
    }

    pub fn source_name(&self, index: u16) -> &str {
        self.sources
            .get(usize::from(index))
            .map_or("?", String::as_str)
    }

    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Adds a line in time order: lines of several replicas arrive interleaved, a little out
    /// of order; a line without a time goes last.
    pub fn push(&mut self, line: LogLine) {
        self.bytes += line.weight();
        self.pushed += 1;
        self.marked += usize::from(line.marked);
        let in_order = match (self.lines.back().and_then(|l| l.time), line.time) {
            (Some(last), Some(time)) => time >= last,
            _ => true,
        };
        if in_order {
            self.lines.push_back(line);
        } else {
            let time = line.time;
            let at = self
                .lines
                .partition_point(|l| l.time.is_none_or(|t| Some(t) <= time));
            self.lines.insert(at, line);
        }
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.weight();
                self.dropped += 1;
                self.marked -= usize::from(old.marked);
            }
        }
    }

    /// Appends lines as they come, in any order; `sort_by_time` puts them in order once.
    /// For reading whole backlogs: ordered inserts of a long, older backlog are quadratic.
    pub fn push_unordered(&mut self, line: LogLine) {
        self.bytes += line.weight();
        self.pushed += 1;
        self.marked += usize::from(line.marked);
        self.lines.push_back(line);
    }

    /// Orders the lines by time, keeping the arrival order of equal times (and of a source's
    /// own lines); lines without a time keep their place relative to their neighbours.
    pub fn sort_by_time(&mut self) {
        self.lines.make_contiguous().sort_by_key(|l| l.time);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Lines dropped to stay within the bounds.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lines ever pushed: with `len`, tells how far the view's indices moved.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn clear(&mut self) {
        self.dropped += self.lines.len() as u64;
        self.lines.clear();
        self.bytes = 0;
        self.marked = 0;
    }

    /// Marks the lines `test` says yes to, on all the machine's cores.
    pub fn mark_all(&mut self, test: impl Fn(&LogLine) -> bool + Sync) {
        let (front, back) = self.lines.as_mut_slices();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .max(1);
        let test = &test;
        let marked: usize = std::thread::scope(|scope| {
            let mut workers = Vec::new();
            for slice in [front, back] {
                let size = slice.len().div_ceil(threads).max(50_000);
                for chunk in slice.chunks_mut(size) {
                    workers.push(scope.spawn(move || {
                        chunk.iter_mut().fold(0usize, |count, line| {
                            line.marked = test(line);
                            count + usize::from(line.marked)
                        })
                    }));
                }
            }
            workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
        });
        self.marked = marked;
    }

    pub fn marked(&self) -> usize {
        self.marked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn line(buffer: &mut LogBuffer, source: &str, second: u32, text: &str) -> LogLine {
        LogLine {
            time: Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, second).single(),
            source: buffer.source(source),
            stream: Stream::Stdout,
            text: text.into(),
            spans: Box::new([]),
            marked: false,
        }
    }

    #[test]
    fn replicas_interleave_in_time_order() {
        let mut buffer = LogBuffer::new(100);
        for (source, second, text) in [
            ("web-1", 1, "a"),
            ("web-1", 3, "c"),
            ("web-2", 2, "b"),
            ("web-2", 4, "d"),
            ("web-1", 3, "c2"),
        ] {
            let l = line(&mut buffer, source, second, text);
            buffer.push(l);
        }
        let texts: Vec<&str> = buffer.iter().map(|l| &*l.text).collect();
        assert_eq!(texts, ["a", "b", "c", "c2", "d"]);
        assert_eq!(buffer.sources(), ["web-1", "web-2"]);
    }

    #[test]
    fn the_oldest_lines_go_first_and_are_counted() {
        let mut buffer = LogBuffer::new(3);
        for second in 0..10 {
            let l = line(&mut buffer, "x", second, &second.to_string());
            buffer.push(l);
        }
        let texts: Vec<&str> = buffer.iter().map(|l| &*l.text).collect();
        assert_eq!(texts, ["7", "8", "9"]);
        assert_eq!(buffer.dropped(), 7);
        assert_eq!(buffer.pushed(), 10);
    }

    #[test]
    fn marks_are_counted_through_pushes_drops_and_remarks() {
        let mut buffer = LogBuffer::new(4);
        for second in 0..6 {
            let mut l = line(&mut buffer, "x", second, &second.to_string());
            l.marked = second % 2 == 0;
            buffer.push(l);
        }
        // Kept: 2 3 4 5; marked: 2 4.
        assert_eq!(buffer.marked(), 2);
        buffer.mark_all(|l| l.text.as_ref() != "3");
        assert_eq!(buffer.marked(), 3);
        buffer.clear();
        assert_eq!(buffer.marked(), 0);
    }

    #[test]
    fn bytes_are_bounded_too() {
        let mut buffer = LogBuffer::new(1_000_000);
        buffer.max_bytes = 10_000;
        for second in 0..1000 {
            let l = line(&mut buffer, "x", second % 60, &"y".repeat(100));
            buffer.push(l);
        }
        assert!(buffer.bytes() <= 10_000, "{}", buffer.bytes());
        assert!(buffer.len() < 100);
    }
}
