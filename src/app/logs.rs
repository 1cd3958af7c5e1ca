//! The log view's state: the buffer, follow or paused, toggles, search and filter.

use std::cell::Cell;

use super::{Effect, State, View};
use crate::backend::logs::LogScope;
use crate::logs::LogEvent;
use crate::logs::{LogBuffer, Search, Stream, with_context};

/// Opens a log view on `scope` over the current view (Esc goes back to it), and asks for
/// its lines.
pub fn open_log_view(state: &mut State, title: String, scope: LogScope) -> Vec<Effect> {
    state.log_sessions += 1;
    let session = state.log_sessions;
    state.logs = Some(LogView::new(title, session, state.log_lines));
    let back = std::mem::replace(&mut state.view, View::Fleet);
    state.view = View::Logs(Box::new(back));
    vec![Effect::OpenLogs { session, scope }]
}

#[derive(Debug)]
pub struct LogView {
    pub title: String,
    /// Tells this view's batches from those of a view closed earlier.
    pub session: u64,
    pub buffer: LogBuffer,
    /// Keep the newest line in view. Scrolling up pauses; `G` resumes.
    pub follow: bool,
    /// The selected line (buffer index) while paused.
    pub cursor: usize,
    pub wrap: bool,
    pub timestamps: bool,
    pub show_stdout: bool,
    pub show_stderr: bool,
    pub search: Option<Search>,
    /// What was typed at the search prompt and did not compile.
    pub search_error: Option<String>,
    /// Show only matching lines, with `context` lines around each.
    pub filter: bool,
    pub context: usize,
    /// Set when every stream ended, or one failed.
    pub status: Option<String>,
    /// The first line on screen when the view was last drawn, to keep the cursor in view.
    pub top: Cell<usize>,
    /// Rows of the last draw, for paging.
    pub height: Cell<usize>,
}

impl LogView {
    pub fn new(title: String, session: u64, max_lines: usize) -> LogView {
        LogView {
            title,
            session,
            buffer: LogBuffer::new(max_lines),
            follow: true,
            cursor: 0,
            wrap: false,
            timestamps: false,
            show_stdout: true,
            show_stderr: true,
            search: None,
            search_error: None,
            filter: false,
            context: 0,
            status: None,
            top: Cell::new(0),
            height: Cell::new(20),
        }
    }

    pub fn on_event(&mut self, event: LogEvent) {
        match event {
            LogEvent::Batch(batch) => {
                let dropped = self.buffer.dropped();
                match &self.search {
                    Some(search) => {
                        let (out, err) = (self.show_stdout, self.show_stderr);
                        self.buffer.push_batch_marked(batch, |line| {
                            let shown = match line.stream {
                                Stream::Stdout => out,
                                Stream::Stderr => err,
                            };
                            shown && search.is_match(&line.text)
                        })
                    }
                    None => self.buffer.push_batch(batch),
                }
                // Keep a paused view on the same line as old lines fall off the front.
                let gone = (self.buffer.dropped() - dropped) as usize;
                self.cursor = self.cursor.saturating_sub(gone);
                self.top.set(self.top.get().saturating_sub(gone));
            }
            LogEvent::Error(message) => self.status = Some(message),
            LogEvent::End => {
                self.status.get_or_insert_with(|| {
                    "the log streams ended (containers stopped?)".to_string()
                });
            }
        }
    }

    fn stream_shown(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.show_stdout,
            Stream::Stderr => self.show_stderr,
        }
    }

    /// Sets (or clears) the search and marks the matching lines once.
    pub fn set_search(&mut self, search: Option<Search>) {
        self.search = search;
        if self.search.is_none() {
            self.filter = false;
        }
        self.remark();
    }

    pub fn toggle_stream(&mut self, stream: Stream) {
        match stream {
            Stream::Stdout => self.show_stdout = !self.show_stdout,
            Stream::Stderr => self.show_stderr = !self.show_stderr,
        }
        self.remark();
    }

    /// Marks the lines that match the search in the streams on show.
    fn remark(&mut self) {
        let (out, err) = (self.show_stdout, self.show_stderr);
        match &self.search {
            Some(search) => self.buffer.mark_all(|line| {
                let shown = match line.stream {
                    Stream::Stdout => out,
                    Stream::Stderr => err,
                };
                shown && search.is_match(&line.text)
            }),
            None => self.buffer.mark_all(|_| false),
        }
    }

    /// How many lines match the search.
    pub fn match_count(&self) -> usize {
        self.buffer.marked()
    }

    /// Buffer indices of the lines on show, in order; `None` when every line is.
    pub fn shown(&self) -> Option<Vec<usize>> {
        let all_streams = self.show_stdout && self.show_stderr;
        let filtering = self.filter && self.search.is_some();
        if all_streams && !filtering {
            return None;
        }
        let by_stream: Vec<usize> = self
            .buffer
            .iter()
            .enumerate()
            .filter(|(_, l)| self.stream_shown(l.stream))
            .map(|(i, _)| i)
            .collect();
        if !filtering {
            return Some(by_stream);
        }
        let matches: Vec<usize> = (0..by_stream.len())
            .filter(|&k| self.buffer.get(by_stream[k]).is_some_and(|l| l.marked))
            .collect();
        let around = with_context(&matches, self.context, by_stream.len());
        Some(around.into_iter().map(|k| by_stream[k]).collect())
    }

    /// Indices of the matching lines, for `n`/`N`.
    pub fn matches(&self) -> Vec<usize> {
        if self.buffer.marked() == 0 {
            return Vec::new();
        }
        self.buffer
            .iter()
            .enumerate()
            .filter(|(_, l)| l.marked)
            .map(|(i, _)| i)
            .collect()
    }

    /// The selected line: the newest shown one when following.
    pub fn selected(&self) -> Option<usize> {
        self.selected_in(self.shown().as_deref())
    }

    /// `selected` for the lines `shown` already computed (`None`: every line).
    pub fn selected_in(&self, shown: Option<&[usize]>) -> Option<usize> {
        let last = match shown {
            Some(lines) => lines.last().copied(),
            None => self.buffer.len().checked_sub(1),
        };
        if self.follow {
            return last;
        }
        match shown {
            None => last.map(|last| self.cursor.min(last)),
            // The shown line nearest the cursor.
            Some(lines) => {
                let at = lines.partition_point(|&i| i < self.cursor);
                lines.get(at).or(lines.last()).copied()
            }
        }
    }

    /// Moves the selection by `delta` shown lines; pauses following.
    pub fn move_by(&mut self, delta: isize) {
        let shown = self.shown();
        let Some(current) = self.selected_in(shown.as_deref()) else {
            return;
        };
        self.follow = false;
        self.cursor = match shown {
            None => {
                let last = self.buffer.len().saturating_sub(1);
                current.saturating_add_signed(delta).min(last)
            }
            Some(lines) => {
                let at = lines.partition_point(|&i| i < current);
                let target = at
                    .saturating_add_signed(delta)
                    .min(lines.len().saturating_sub(1));
                lines.get(target).copied().unwrap_or(current)
            }
        };
    }

    pub fn to_top(&mut self) {
        self.follow = false;
        self.cursor = self.shown().and_then(|l| l.first().copied()).unwrap_or(0);
    }

    pub fn resume(&mut self) {
        self.follow = true;
    }

    /// Jumps to the next (or previous) match from the selection; returns false without one.
    pub fn jump(&mut self, forward: bool) -> bool {
        let matches = self.matches();
        let from = self.selected().unwrap_or(0);
        let next = if forward {
            matches.iter().find(|&&m| m > from).or(matches.first())
        } else {
            matches.iter().rev().find(|&&m| m < from).or(matches.last())
        };
        match next {
            Some(&line) => {
                self.follow = false;
                self.cursor = line;
                true
            }
            None => false,
        }
    }

    /// The buffer as text, one line each, as shown (timestamps and source included).
    pub fn export(&self) -> String {
        let mut out = String::with_capacity(self.buffer.bytes());
        for line in self.buffer.iter() {
            if let Some(time) = line.time {
                out.push_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                out.push(' ');
            }
            out.push_str(self.buffer.source_name(line.source));
            out.push_str(if line.stream == Stream::Stderr {
                " ERR "
            } else {
                " "
            });
            out.push_str(&line.text);
            out.push('\n');
        }
        out
    }
}
