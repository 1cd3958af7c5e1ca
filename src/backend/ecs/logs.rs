//! Task logs from CloudWatch into the shared log engine. The stream of a task's container is
//! computed from its task definition's awslogs options (`prefix/container/task-id`), never
//! guessed from the group. The newest lines of each stream come first (GetLogEvents), then
//! every stream of a group is polled in one FilterLogEvents call.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::fleet::AwsLogs;
use super::{Aws, EcsError, EcsService, EcsTask, failed};
use crate::logs::{LogBatch, LogEvent, PendingLine, Stream};

/// How often followed logs are polled. CloudWatch itself lags ingestion by a second or more.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// FilterLogEvents names at most 100 streams a call.
const STREAMS_PER_CALL: usize = 100;

/// One container of one task, and where its lines are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// How its lines are tagged: `task-id-prefix/container`.
    pub tag: String,
    pub group: String,
    /// The group's ARN (Live Tail names groups by ARN), from the task's partition and account.
    pub group_arn: Option<String>,
    pub stream: String,
}

/// `arn:PARTITION:logs:REGION:ACCOUNT:log-group:GROUP`, with the partition and account of the
/// task's ARN and the region of the awslogs options (else the task's).
fn group_arn(task_arn: &str, logs: &AwsLogs) -> Option<String> {
    let parts: Vec<&str> = task_arn.splitn(6, ':').collect();
    let [_, partition, _, region, account, _] = parts.as_slice() else {
        return None;
    };
    let region = logs.region.as_deref().unwrap_or(region);
    Some(format!(
        "arn:{partition}:logs:{region}:{account}:log-group:{}",
        logs.group
    ))
}

/// `prefix/container/task-id`, the stream awslogs writes a task's container to; without a
/// prefix awslogs names streams after the Docker container id, which the task knows as the
/// container's runtime id.
pub fn stream_name(logs: &AwsLogs, container: &str, task: &EcsTask) -> Option<String> {
    match &logs.stream_prefix {
        Some(prefix) => Some(format!("{prefix}/{container}/{}", task.id)),
        None => task
            .containers
            .iter()
            .find(|c| c.name == container)
            .and_then(|c| c.runtime_id.clone()),
    }
}

/// The log sources of `tasks` of `service`: each container with awslogs, optionally only the
/// one called `container`.
pub fn sources(
    service: &EcsService,
    tasks: &[&EcsTask],
    container: Option<&str>,
) -> Result<Vec<LogSource>, String> {
    let mut sources = Vec::new();
    let with_logs: Vec<_> = service
        .containers
        .iter()
        .filter(|c| container.is_none_or(|name| c.name == name))
        .collect();
    if let Some(name) = container
        && with_logs.is_empty()
    {
        let known: Vec<&str> = service.containers.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "{} has no container {name}; it has {}",
            service.name,
            known.join(", ")
        ));
    }
    for spec in &with_logs {
        let Some(logs) = &spec.logs else { continue };
        for task in tasks {
            if let Some(stream) = stream_name(logs, &spec.name, task) {
                let short = task.id.get(..8).unwrap_or(&task.id);
                sources.push(LogSource {
                    tag: if with_logs.len() > 1 {
                        format!("{short}/{}", spec.name)
                    } else {
                        short.to_string()
                    },
                    group: logs.group.clone(),
                    group_arn: group_arn(&task.arn, logs),
                    stream,
                });
            }
        }
    }
    if sources.is_empty() {
        return Err(format!(
            "{}'s task definition {} sends no container to CloudWatch Logs (no awslogs log driver)",
            service.name, service.task_definition
        ));
    }
    Ok(sources)
}

type Tags = Arc<BTreeMap<(String, String), Arc<str>>>;

/// Reads the newest `tail` lines of each source, then (when `follow`) follows each log group
/// with a Live Tail session, or polls it where Live Tail is not available, until the receiver
/// goes away.
pub async fn stream_logs(
    aws: Aws,
    sources: Vec<LogSource>,
    tail: usize,
    since: Option<DateTime<Utc>>,
    follow: bool,
    out: mpsc::Sender<LogEvent>,
) {
    let tags: Tags = Arc::new(
        sources
            .iter()
            .map(|s| {
                (
                    (s.group.clone(), s.stream.clone()),
                    Arc::from(s.tag.as_str()),
                )
            })
            .collect(),
    );
    let mut groups: BTreeMap<String, (Option<String>, Vec<String>, Cursor)> = BTreeMap::new();
    for source in &sources {
        let group = groups
            .entry(source.group.clone())
            .or_insert_with(|| (source.group_arn.clone(), Vec::new(), Cursor::default()));
        group.1.push(source.stream.clone());
        match newest(&aws, source, tail, since).await {
            Ok(events) => {
                for event in &events {
                    group.2.saw(event);
                }
                if !send(&out, &tags, &source.group, events).await {
                    return;
                }
            }
            Err(error) => {
                let _ = out.send(LogEvent::Error(error.to_string())).await;
            }
        }
    }
    if !follow {
        let _ = out.send(LogEvent::End).await;
        return;
    }
    let mut followers = tokio::task::JoinSet::new();
    for (group, (arn, streams, cursor)) in groups {
        followers.spawn(follow_group(
            aws.clone(),
            group,
            arn,
            streams,
            cursor,
            tags.clone(),
            out.clone(),
        ));
    }
    while followers.join_next().await.is_some() {}
}

/// Follows one log group's streams: Live Tail when it can (events within a second or two),
/// FilterLogEvents polling otherwise.
async fn follow_group(
    aws: Aws,
    group: String,
    arn: Option<String>,
    streams: Vec<String>,
    mut cursor: Cursor,
    tags: Tags,
    out: mpsc::Sender<LogEvent>,
) {
    if let Some(arn) = &arn
        && streams.len() <= STREAMS_PER_CALL
    {
        match live_tail(&aws, &group, arn, &streams, &mut cursor, &tags, &out).await {
            Ok(()) => return,
            Err(error) => {
                let message = format!(
                    "Live Tail unavailable for {group} ({error}); polling every {} s",
                    POLL_EVERY.as_secs()
                );
                if out.send(LogEvent::Error(message)).await.is_err() {
                    return;
                }
            }
        }
    }
    let mut failing = false;
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        for chunk in streams.chunks(STREAMS_PER_CALL) {
            match newer(&aws, &group, chunk, &mut cursor).await {
                Ok(events) => {
                    if failing {
                        failing = false;
                        let _ = out
                            .send(LogEvent::Error(format!("{group}: logs are flowing again")))
                            .await;
                    }
                    if !send(&out, &tags, &group, events).await {
                        return;
                    }
                }
                Err(error) if !failing => {
                    failing = true;
                    let message = format!("{error}; retrying every {} s", POLL_EVERY.as_secs());
                    if out.send(LogEvent::Error(message)).await.is_err() {
                        return;
                    }
                }
                Err(_) => {}
            }
        }
    }
}

/// Live Tail sessions on the group's streams, one after another (a session ends after at
/// most three hours). Returns Ok when the receiver is gone, the error when a session cannot
/// start or breaks.
async fn live_tail(
    aws: &Aws,
    group: &str,
    arn: &str,
    streams: &[String],
    cursor: &mut Cursor,
    tags: &Tags,
    out: &mpsc::Sender<LogEvent>,
) -> Result<(), EcsError> {
    use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream;
    loop {
        let mut session = aws
            .logs
            .start_live_tail()
            .log_group_identifiers(arn)
            .set_log_stream_names(Some(streams.to_vec()))
            .send()
            .await
            .map_err(failed("StartLiveTail"))?;
        loop {
            match session.response_stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionUpdate(update))) => {
                    let events = cursor.take_new(
                        update
                            .session_results()
                            .iter()
                            .map(|e| Event::new(e.log_stream_name(), e.timestamp, e.message())),
                    );
                    cursor.start();
                    if !send(out, tags, group, events).await {
                        return Ok(());
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => {
                    return Err(EcsError::Call {
                        call: "StartLiveTail",
                        message: aws_sdk_ecs::error::DisplayErrorContext(&error).to_string(),
                    });
                }
            }
        }
    }
}

/// One log event, as both calls return it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub stream: String,
    pub timestamp: i64,
    pub message: String,
}

impl Event {
    /// From any of the SDK's event types (their fields are all optional).
    fn new(stream: Option<&str>, timestamp: Option<i64>, message: Option<&str>) -> Event {
        Event {
            stream: stream.unwrap_or_default().to_string(),
            timestamp: timestamp.unwrap_or_default(),
            message: message.unwrap_or_default().to_string(),
        }
    }
}

/// How far back each poll looks again: CloudWatch can make an event visible after newer ones
/// of another stream.
const LOOKBACK_MS: i64 = 10_000;

/// What was already shown, within the look-back window: a poll starts `LOOKBACK_MS` before the
/// newest event seen, and the events it returns again are dropped here.
#[derive(Default)]
struct Cursor {
    newest: Option<i64>,
    seen: HashSet<(i64, String, String)>,
}

impl Cursor {
    fn key(event: &Event) -> (i64, String, String) {
        (event.timestamp, event.stream.clone(), event.message.clone())
    }

    fn saw(&mut self, event: &Event) {
        self.seen.insert(Cursor::key(event));
        self.newest = self.newest.max(Some(event.timestamp));
    }

    fn is_new(&self, event: &Event) -> bool {
        !self.seen.contains(&Cursor::key(event))
    }

    /// The events not seen yet, oldest first, now seen.
    fn take_new(&mut self, events: impl Iterator<Item = Event>) -> Vec<Event> {
        let mut new: Vec<Event> = events.filter(|e| self.is_new(e)).collect();
        new.sort_by_key(|e| e.timestamp);
        for event in &new {
            self.saw(event);
        }
        new
    }

    /// Where the next poll starts; forgets what is older than that.
    fn start(&mut self) -> Option<i64> {
        let start = self.newest? - LOOKBACK_MS;
        self.seen.retain(|(timestamp, _, _)| *timestamp >= start);
        Some(start)
    }
}

async fn newest(
    aws: &Aws,
    source: &LogSource,
    tail: usize,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Event>, EcsError> {
    let mut request = aws
        .logs
        .get_log_events()
        .log_group_name(&source.group)
        .log_stream_name(&source.stream)
        .start_from_head(false)
        .limit(i32::try_from(tail.clamp(1, 10_000)).unwrap_or(10_000));
    if let Some(since) = since {
        request = request.start_time(since.timestamp_millis());
    }
    let output = request.send().await.map_err(failed("GetLogEvents"))?;
    Ok(output
        .events()
        .iter()
        .map(|e| Event::new(Some(&source.stream), e.timestamp, e.message()))
        .collect())
}

async fn newer(
    aws: &Aws,
    group: &str,
    streams: &[String],
    cursor: &mut Cursor,
) -> Result<Vec<Event>, EcsError> {
    let mut request = aws
        .logs
        .filter_log_events()
        .log_group_name(group)
        .set_log_stream_names(Some(streams.to_vec()));
    if let Some(start) = cursor.start() {
        request = request.start_time(start);
    }
    let pages = request
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(failed("FilterLogEvents"))?;
    Ok(cursor.take_new(
        pages
            .iter()
            .flat_map(|page| page.events())
            .map(|e| Event::new(e.log_stream_name(), e.timestamp, e.message())),
    ))
}

/// Sends events as one batch a source; false when the receiver is gone.
async fn send(
    out: &mpsc::Sender<LogEvent>,
    tags: &BTreeMap<(String, String), Arc<str>>,
    group: &str,
    events: Vec<Event>,
) -> bool {
    let mut batches: BTreeMap<Arc<str>, Vec<PendingLine>> = BTreeMap::new();
    for event in events {
        let Some(tag) = tags.get(&(group.to_string(), event.stream.clone())) else {
            continue;
        };
        let time = DateTime::from_timestamp_millis(event.timestamp);
        for line in event.message.lines() {
            batches
                .entry(tag.clone())
                .or_default()
                .push(PendingLine::new(time, Stream::Stdout, line.as_bytes()));
        }
    }
    for (source, lines) in batches {
        if out
            .send(LogEvent::Batch(LogBatch { source, lines }))
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stream: &str, timestamp: i64, message: &str) -> Event {
        Event {
            stream: stream.into(),
            timestamp,
            message: message.into(),
        }
    }

    #[test]
    fn a_group_arn_takes_the_tasks_partition_and_account() {
        let logs = AwsLogs {
            group: "/ecs/web-prod".into(),
            region: Some("eu-north-1".into()),
            stream_prefix: Some("ecs".into()),
        };
        assert_eq!(
            group_arn(
                "arn:aws:ecs:eu-north-1:891459268445:task/dotkom/0f4a",
                &logs
            )
            .as_deref(),
            Some("arn:aws:logs:eu-north-1:891459268445:log-group:/ecs/web-prod")
        );
        assert_eq!(group_arn("not-an-arn", &logs), None);
    }

    #[test]
    fn events_seen_are_not_repeated_and_late_ones_are_kept() {
        let mut cursor = Cursor::default();
        cursor.saw(&event("a", 10_000, "one"));
        cursor.saw(&event("a", 20_000, "two"));
        assert!(!cursor.is_new(&event("a", 20_000, "two")));
        assert!(cursor.is_new(&event("b", 20_000, "two")));
        assert!(cursor.is_new(&event("a", 19_000, "late from a slow stream")));
        assert_eq!(cursor.start(), Some(10_000));
        assert!(!cursor.is_new(&event("a", 10_000, "one")));
        cursor.saw(&event("a", 30_000, "three"));
        assert_eq!(cursor.start(), Some(20_000));
        assert!(
            cursor.is_new(&event("a", 10_000, "one")),
            "forgotten outside the window"
        );
    }
}
