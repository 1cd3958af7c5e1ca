//! The live watcher: one task per engine that follows engine events and samples each running
//! container's usage, and sends owned snapshots to the UI. It never touches the UI, and it
//! never gives up: a lost engine is reported and retried every second.
//!
//! How usage is sampled is the `sampler`'s business.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::sampler::{Answer, Sampler, SamplingOptions};
use super::{DockerError, host_info, inspect, inspect_all, list_ids};
use crate::backend::BackendEvent;
use crate::model::{ConnectionState, Container, FleetSnapshot, HostInfo};

const RETRY_EVERY: Duration = Duration::from_secs(1);
const QUICK_RETRY: Duration = Duration::from_millis(250);
const PING_EVERY: Duration = Duration::from_secs(3);
/// A full re-listing, in case an event was missed.
const RESYNC_EVERY: Duration = Duration::from_secs(30);

/// Starts watching the engine at `host`; drop or abort the handle to stop.
pub fn spawn_watcher(
    host: String,
    refresh: Duration,
    events: mpsc::Sender<BackendEvent>,
    sampling: SamplingOptions,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lost_since = None;
        let mut attempts: u32 = 0;
        loop {
            let options = SamplingOptions {
                cgroups: sampling.cgroups,
                on_screen: sampling.on_screen.clone(),
            };
            let error = match Session::open(&host, refresh, events.clone(), options).await {
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

struct Session {
    docker: Docker,
    host: String,
    refresh: Duration,
    out: mpsc::Sender<BackendEvent>,
    info: HostInfo,
    containers: BTreeMap<String, Container>,
    /// The containers as last sent; rebuilt only when one of them changed.
    shared: Option<Arc<Vec<Container>>>,
    sampler: Sampler,
    samples: mpsc::Receiver<Answer>,
}

impl Session {
    async fn open(
        host: &str,
        refresh: Duration,
        out: mpsc::Sender<BackendEvent>,
        sampling: SamplingOptions,
    ) -> Result<Session, DockerError> {
        let docker = super::connect(host).await?;
        let info = host_info(&docker, host).await?;
        let host_files = super::ssh::current(host)
            .await
            .map(|t| (t.files.clone(), t.hello.cgroups));
        let reach = sampling.reach(host, host_files);
        let (sampler, samples) = Sampler::new(docker.clone(), reach, sampling.on_screen);
        Ok(Session {
            docker,
            host: host.to_string(),
            refresh,
            out,
            info,
            containers: BTreeMap::new(),
            shared: None,
            sampler,
            samples,
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
                Some(answer) = self.samples.recv() => {
                    usage_changed |= self.sampler.receive(answer);
                }
                _ = tick.tick() => {
                    usage_changed |= self.sampler.refresh();
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
        self.sampler.track(&container);
        self.containers.insert(container.id.clone(), container);
        self.shared = None;
    }

    fn forget(&mut self, id: &str) {
        self.sampler.forget(id);
        self.containers.remove(id);
        self.shared = None;
    }

    async fn publish(&mut self) {
        let containers = self
            .shared
            .get_or_insert_with(|| Arc::new(self.containers.values().cloned().collect()))
            .clone();
        let snapshot = FleetSnapshot {
            host: self.info.clone(),
            containers,
            usage: Arc::new(self.sampler.usage().clone()),
            sampling: self.sampler.summary(),
        };
        // An error means the UI has gone; the loop notices and ends.
        let _ = self
            .out
            .send(BackendEvent::Snapshot(Box::new(snapshot)))
            .await;
    }
}
