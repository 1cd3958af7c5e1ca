//! The live watcher: one task per engine that follows engine events and samples each running
//! container's usage, and sends owned snapshots to the UI. It never touches the UI, and it
//! never gives up: a lost engine is reported and retried every second.
//!
//! On the engine's own host, usage is read from the containers' cgroup files once per refresh
//! (see `cgroup`); elsewhere, or when those files cannot be seen, from one engine stats stream
//! per container.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{EventsOptionsBuilder, StatsOptionsBuilder};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cgroup::{CgroupFiles, Reading, usage_between};
use super::{DockerError, host_info, inspect, inspect_all, list_ids, usage_from_sample};
use crate::backend::BackendEvent;
use crate::model::{ConnectionState, Container, FleetSnapshot, HostInfo, Sampling, Usage};

const RETRY_EVERY: Duration = Duration::from_secs(1);
const QUICK_RETRY: Duration = Duration::from_millis(250);
const PING_EVERY: Duration = Duration::from_secs(3);
/// A full re-listing, in case an event was missed.
const RESYNC_EVERY: Duration = Duration::from_secs(30);
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Starts watching the engine at `host`; drop or abort the handle to stop.
pub fn spawn_watcher(
    host: String,
    refresh: Duration,
    events: mpsc::Sender<BackendEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lost_since = None;
        let mut attempts: u32 = 0;
        loop {
            let error = match Session::open(&host, refresh, events.clone()).await {
                Ok(mut session) => {
                    lost_since = None;
                    attempts = 0;
                    session.run().await
                }
                Err(error) => error,
            };
            tracing::warn!(%host, %error, attempts, "engine lost");
            let since = *lost_since.get_or_insert_with(chrono::Utc::now);
            let state = ConnectionState::Disconnected {
                error: error.to_string(),
                since,
            };
            if events.send(BackendEvent::Connection(state)).await.is_err() {
                return;
            }
            attempts = attempts.saturating_add(1);
            tokio::time::sleep(retry_delay(attempts)).await;
        }
    })
}

/// Quick retries first (an engine restart or a cut proxy comes back fast), then every second.
fn retry_delay(attempts: u32) -> Duration {
    if attempts <= 8 {
        QUICK_RETRY
    } else {
        RETRY_EVERY
    }
}

/// One stats stream per running container, with the start it belongs to.
struct StatsStream {
    handle: JoinHandle<()>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A container whose usage is read from its cgroup files, with the start it belongs to.
struct CgroupSampler {
    files: CgroupFiles,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    last: Reading,
}

/// Whether usage may be read from cgroup files: only through a local socket (the engine is on
/// this host), and not when `DOKK_STATS=engine` asks for the engine's stats streams.
fn cgroups_allowed(host: &str) -> bool {
    host.starts_with("unix://") && std::env::var("DOKK_STATS").as_deref() != Ok("engine")
}

/// Stats streams by container id; aborted when dropped, so a lost session leaks no task.
#[derive(Default)]
struct StatsStreams(HashMap<String, StatsStream>);

impl Drop for StatsStreams {
    fn drop(&mut self) {
        for stream in self.0.values() {
            stream.handle.abort();
        }
    }
}

struct Session {
    docker: Docker,
    host: String,
    refresh: Duration,
    out: mpsc::Sender<BackendEvent>,
    info: HostInfo,
    containers: BTreeMap<String, Container>,
    /// The containers as last sent; rebuilt only when one of them changed.
    shared: Option<Arc<Vec<Container>>>,
    usage: HashMap<String, Usage>,
    streams: StatsStreams,
    cgroups: HashMap<String, CgroupSampler>,
    cgroups_allowed: bool,
    samples_tx: mpsc::Sender<(String, Usage)>,
    samples_rx: mpsc::Receiver<(String, Usage)>,
}

impl Session {
    async fn open(
        host: &str,
        refresh: Duration,
        out: mpsc::Sender<BackendEvent>,
    ) -> Result<Session, DockerError> {
        let docker = super::connect(host).await?;
        let info = host_info(&docker, host).await?;
        let (samples_tx, samples_rx) = mpsc::channel(1024);
        Ok(Session {
            docker,
            host: host.to_string(),
            refresh,
            out,
            info,
            containers: BTreeMap::new(),
            shared: None,
            usage: HashMap::new(),
            streams: StatsStreams::default(),
            cgroups: HashMap::new(),
            cgroups_allowed: cgroups_allowed(host),
            samples_tx,
            samples_rx,
        })
    }

    /// Runs until the engine is lost; returns why.
    async fn run(&mut self) -> DockerError {
        let filters = HashMap::from([("type", vec!["container"])]);
        // bollard sends the request on the first poll, after the listing: ask for the events
        // since just before it, so nothing that happens in between is missed. Replays are
        // harmless (a container is inspected once more).
        let since = (chrono::Utc::now().timestamp() - 1).to_string();
        let options = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let mut events = self.docker.events(Some(options)).boxed();
        if let Err(error) = self.resync().await {
            return error;
        }
        if self
            .out
            .send(BackendEvent::Connection(ConnectionState::Live))
            .await
            .is_err()
        {
            return self.closed();
        }
        self.publish().await;

        let mut tick = tokio::time::interval(self.refresh);
        let mut ping = tokio::time::interval(PING_EVERY);
        let mut resync = tokio::time::interval(RESYNC_EVERY);
        for timer in [&mut tick, &mut ping, &mut resync] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer.reset();
        }
        let mut usage_changed = false;
        loop {
            tokio::select! {
                event = events.next() => {
                    let mut dirty = HashSet::new();
                    let mut next = event;
                    // Take every event already waiting, then inspect each container once.
                    loop {
                        match next {
                            Some(Ok(event)) => {
                                let action = event.action.unwrap_or_default();
                                if action.starts_with("exec_") {
                                    // Health checks run as execs: they change nothing we show.
                                } else if let Some(id) = event.actor.and_then(|a| a.id) {
                                    dirty.insert(id);
                                }
                            }
                            Some(Err(error)) => return self.lost(error),
                            None => {
                                return DockerError::Unreachable {
                                    host: self.host.clone(),
                                    message: "the engine closed its event stream".to_string(),
                                }
                            }
                        }
                        match futures_util::FutureExt::now_or_never(events.next()) {
                            Some(event) => next = event,
                            None => break,
                        }
                    }
                    if let Err(error) = self.refresh_containers(dirty).await {
                        return error;
                    }
                    self.publish().await;
                }
                Some((id, usage)) = self.samples_rx.recv() => {
                    if self.containers.get(&id).is_some_and(Container::is_running) {
                        self.usage.insert(id, usage);
                        usage_changed = true;
                    }
                }
                _ = tick.tick() => {
                    self.ensure_sampling();
                    usage_changed |= self.read_cgroups();
                    if usage_changed {
                        usage_changed = false;
                        self.publish().await;
                    }
                }
                _ = ping.tick() => {
                    if let Err(error) = super::timed(&self.host, self.docker.ping()).await {
                        return error;
                    }
                }
                _ = resync.tick() => {
                    if let Err(error) = self.resync().await {
                        return error;
                    }
                    self.publish().await;
                }
            }
            if self.out.is_closed() {
                return self.closed();
            }
        }
    }

    fn lost(&self, error: bollard::errors::Error) -> DockerError {
        DockerError::Unreachable {
            host: self.host.clone(),
            message: super::describe(&error),
        }
    }

    fn closed(&self) -> DockerError {
        DockerError::Unreachable {
            host: self.host.clone(),
            message: "dokk stopped watching".to_string(),
        }
    }

    /// Lists every container and inspects the ones that are new or changed state.
    async fn resync(&mut self) -> Result<(), DockerError> {
        let listed = list_ids(&self.docker, &self.host).await?;
        let present: HashSet<&String> = listed.iter().map(|(id, _)| id).collect();
        let gone: Vec<String> = self
            .containers
            .keys()
            .filter(|id| !present.contains(id))
            .cloned()
            .collect();
        for id in gone {
            self.forget(&id);
        }
        let stale = listed
            .iter()
            .filter(|(id, state)| self.containers.get(id).is_none_or(|c| &c.state != state))
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>();
        for container in inspect_all(&self.docker, &self.host, stale).await? {
            self.remember(container);
        }
        Ok(())
    }

    async fn refresh_containers(&mut self, ids: HashSet<String>) -> Result<(), DockerError> {
        for id in ids {
            match inspect(&self.docker, &self.host, &id).await? {
                Some(container) => self.remember(container),
                None => self.forget(&id),
            }
        }
        Ok(())
    }

    fn remember(&mut self, container: Container) {
        let id = container.id.clone();
        self.containers.insert(id.clone(), container);
        self.shared = None;
        self.ensure_sampled(&id);
    }

    /// Samples a running container from its cgroup files when they can be read, else from a
    /// stats stream; stops sampling a container that no longer runs.
    fn ensure_sampled(&mut self, id: &str) {
        let Some(container) = self.containers.get(id).filter(|c| c.is_running()) else {
            self.stop_sampling(id);
            return;
        };
        let started_at = container.started_at;
        if self.is_sampled(container) {
            return;
        }
        let files = container
            .pid
            .filter(|_| self.cgroups_allowed)
            .and_then(|pid| {
                CgroupFiles::locate(Path::new("/proc"), Path::new(CGROUP_ROOT), pid, id)
            });
        match files.and_then(|files| Some((files.read().ok()?, files))) {
            Some((last, files)) => {
                self.stop_sampling(id);
                self.cgroups.insert(
                    id.to_string(),
                    CgroupSampler {
                        files,
                        started_at,
                        last,
                    },
                );
            }
            None => {
                self.cgroups.remove(id);
                self.ensure_stream(id, started_at);
            }
        }
    }

    /// Takes a reading of every cgroup-sampled container; true when any usage changed. A
    /// cgroup that cannot be read has gone: its container is sampled afresh at the next tick.
    fn read_cgroups(&mut self) -> bool {
        let mut gone = Vec::new();
        let mut changed = false;
        for (id, sampler) in &mut self.cgroups {
            match sampler.files.read() {
                Ok(reading) => {
                    if let Some(usage) = usage_between(&sampler.last, &reading) {
                        self.usage.insert(id.clone(), usage);
                        changed = true;
                    }
                    sampler.last = reading;
                }
                Err(_) => gone.push(id.clone()),
            }
        }
        for id in gone {
            self.cgroups.remove(&id);
            self.usage.remove(&id);
        }
        changed
    }

    /// Starts a stats stream for a running container that has none, whose stream ended (an
    /// error, or the engine closed it), or that restarted since its stream began.
    fn ensure_stream(&mut self, id: &str, started_at: Option<chrono::DateTime<chrono::Utc>>) {
        let current =
            self.streams.0.get(id).is_some_and(|stream| {
                !stream.handle.is_finished() && stream.started_at == started_at
            });
        if current {
            return;
        }
        self.stop_sampling(id);
        let handle = tokio::spawn(stream_stats(
            self.docker.clone(),
            id.to_string(),
            self.samples_tx.clone(),
        ));
        self.streams
            .0
            .insert(id.to_string(), StatsStream { handle, started_at });
    }

    /// Re-samples a running container whose stream ended or whose cgroup went away.
    fn ensure_sampling(&mut self) {
        let unsampled: Vec<String> = self
            .containers
            .values()
            .filter(|c| c.is_running() && !self.is_sampled(c))
            .map(|c| c.id.clone())
            .collect();
        for id in unsampled {
            self.ensure_sampled(&id);
        }
    }

    fn is_sampled(&self, container: &Container) -> bool {
        let started_at = container.started_at;
        self.cgroups
            .get(&container.id)
            .is_some_and(|c| c.started_at == started_at)
            || self
                .streams
                .0
                .get(&container.id)
                .is_some_and(|s| !s.handle.is_finished() && s.started_at == started_at)
    }

    fn forget(&mut self, id: &str) {
        self.stop_sampling(id);
        self.containers.remove(id);
        self.shared = None;
    }

    fn stop_sampling(&mut self, id: &str) {
        if let Some(stream) = self.streams.0.remove(id) {
            stream.handle.abort();
        }
        self.cgroups.remove(id);
        self.usage.remove(id);
    }

    async fn publish(&mut self) {
        let containers = self
            .shared
            .get_or_insert_with(|| Arc::new(self.containers.values().cloned().collect()))
            .clone();
        let snapshot = FleetSnapshot {
            host: self.info.clone(),
            containers,
            usage: Arc::new(self.usage.clone()),
            sampling: Sampling {
                from_cgroups: self.cgroups.len(),
                engine_streams: self
                    .streams
                    .0
                    .values()
                    .filter(|s| !s.handle.is_finished())
                    .count(),
            },
        };
        // An error means the UI has gone; the loop notices and ends.
        let _ = self
            .out
            .send(BackendEvent::Snapshot(Box::new(snapshot)))
            .await;
    }
}

/// Follows one container's stats stream, sending a usage figure per sample after the first.
async fn stream_stats(docker: Docker, id: String, out: mpsc::Sender<(String, Usage)>) {
    let options = StatsOptionsBuilder::default().stream(true).build();
    let mut samples = docker.stats(&id, Some(options)).skip(1);
    while let Some(Ok(sample)) = samples.next().await {
        if let Some(usage) = usage_from_sample(&sample)
            && out.send((id.clone(), usage)).await.is_err()
        {
            return;
        }
    }
}
