//! How the watcher samples each running container's usage, as cheaply for the engine as it can:
//!
//! - on the engine's own host, from the container's cgroup files (see `cgroup`): the engine
//!   does no work at all;
//! - over SSH, from the same files read on the host through the SSH connection (see
//!   `ssh::HostFiles`): every container's three files in one round trip a refresh;
//! - otherwise with one-shot stats requests: containers on screen every refresh, the others
//!   every `OFF_SCREEN_EVERY` refreshes (everything every refresh while the table is sorted by
//!   usage, or when no one says what is on screen). The engine collects a sample per request,
//!   so this costs it a fraction of what one stats stream per container costs.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use bollard::Docker;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::{StreamExt, stream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::REQUEST_TIMEOUT;
use super::cgroup::{CgroupFiles, CgroupPaths, Reading, usage_between};
use super::ssh::HostFiles;
use super::stats::{RawSample, raw_sample, usage_between_samples};
use crate::model::{Container, Sampling, Usage};

/// Off-screen containers are asked for a sample once in this many refreshes.
pub const OFF_SCREEN_EVERY: u64 = 10;
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The engine answers every stats request at its next once-a-second collection, however many
/// wait: asked one after the other, 200 containers would take 200 s.
const PARALLEL_POLLS: usize = 64;

/// The container ids on screen, sent by the console after each frame; `None` when every
/// container counts (the table is sorted by usage, or a view shows totals).
pub type OnScreen = watch::Receiver<Option<Arc<HashSet<String>>>>;

/// What a watcher is told about sampling.
pub struct SamplingOptions {
    /// Read cgroup files when they can be reached: on this host through a local socket, on the
    /// engine's host through an `ssh://` connection.
    pub cgroups: bool,
    pub on_screen: OnScreen,
}

/// Why the engine is asked for samples instead of cgroup files being read.
pub const FORCED_BY_ENV: &str = "DOKK_STATS=engine";
pub const CGROUPS_UNREADABLE: &str = "cgroup files unreadable over SSH";
pub const NOT_ON_HOST: &str = "engine on another host";

/// Where the cgroup files are read.
#[derive(Debug, Clone)]
pub enum CgroupReach {
    /// On this host, kept open.
    Local,
    /// On the engine's host, through its SSH connection.
    Host(HostFiles),
    /// Nowhere: every container is polled, for this reason.
    Nowhere(&'static str),
}

impl SamplingOptions {
    /// For an engine at `host`: cgroups unless `DOKK_STATS=engine` asks for the engine's
    /// stats; everything counts as on screen.
    pub fn for_host(host: &str) -> SamplingOptions {
        let (_, on_screen) = watch::channel(None);
        SamplingOptions {
            cgroups: (host.starts_with("unix://") || host.starts_with("ssh://"))
                && std::env::var("DOKK_STATS").as_deref() != Ok("engine"),
            on_screen,
        }
    }

    /// Where this engine's cgroup files can be read: `host_files` is its SSH connection's.
    pub fn reach(&self, host: &str, host_files: Option<(HostFiles, bool)>) -> CgroupReach {
        if !self.cgroups {
            return CgroupReach::Nowhere(
                if std::env::var("DOKK_STATS").as_deref() == Ok("engine") {
                    FORCED_BY_ENV
                } else {
                    NOT_ON_HOST
                },
            );
        }
        match host_files {
            Some((files, true)) => CgroupReach::Host(files),
            Some((_, false)) => CgroupReach::Nowhere(CGROUPS_UNREADABLE),
            None if host.starts_with("unix://") => CgroupReach::Local,
            None => CgroupReach::Nowhere(NOT_ON_HOST),
        }
    }

    pub fn with_on_screen(mut self, on_screen: OnScreen) -> SamplingOptions {
        self.on_screen = on_screen;
        self
    }
}

type Started = Option<chrono::DateTime<chrono::Utc>>;

struct CgroupSampled {
    files: CgroupFiles,
    started_at: Started,
    last: Reading,
}

struct Polled {
    started_at: Started,
    last: Option<RawSample>,
    /// The refresh at which it is next asked for, when off screen.
    due: u64,
    /// Off-screen containers are spread over the refreshes by this, not asked all at once.
    phase: u64,
    /// A request for it is on its way: it is not asked again meanwhile.
    asking: bool,
}

/// A container whose cgroup files are read on the engine's host.
struct HostSampled {
    pid: u32,
    started_at: Started,
    /// Found at the first refresh after it started.
    paths: Option<CgroupPaths>,
    last: Option<Reading>,
}

/// What a refresh's round trip to the engine's host found.
#[derive(Debug, Default)]
pub struct HostAnswer {
    /// Containers located this time; `None`: their files cannot be read, poll them instead.
    located: Vec<(String, Option<CgroupPaths>)>,
    readings: Vec<(String, Reading)>,
}

/// One polled container's sample (`None` when the request failed), or a host round trip's.
pub enum Answer {
    Polled(String, Option<RawSample>),
    Host(HostAnswer),
}

pub struct Sampler {
    docker: Docker,
    reach: CgroupReach,
    on_screen: OnScreen,
    cgroups: HashMap<String, CgroupSampled>,
    on_host: HashMap<String, HostSampled>,
    /// A round trip to the host is on its way: the next refresh does not start another.
    host_busy: bool,
    polled: HashMap<String, Polled>,
    usage: HashMap<String, Usage>,
    refreshes: u64,
    batches: Vec<JoinHandle<()>>,
    samples_tx: mpsc::Sender<Answer>,
}

impl Drop for Sampler {
    fn drop(&mut self) {
        for batch in &self.batches {
            batch.abort();
        }
    }
}

impl Sampler {
    /// A sampler and the receiver its one-shot samples arrive on (pass them to `receive`).
    pub fn new(
        docker: Docker,
        reach: CgroupReach,
        on_screen: OnScreen,
    ) -> (Sampler, mpsc::Receiver<Answer>) {
        let (samples_tx, samples_rx) = mpsc::channel(1024);
        let sampler = Sampler {
            docker,
            reach,
            on_screen,
            cgroups: HashMap::new(),
            on_host: HashMap::new(),
            host_busy: false,
            polled: HashMap::new(),
            usage: HashMap::new(),
            refreshes: 0,
            batches: Vec::new(),
            samples_tx,
        };
        (sampler, samples_rx)
    }

    /// Starts sampling a running container (its cgroup when it can be read, else by polling),
    /// or stops sampling one that no longer runs.
    pub fn track(&mut self, container: &Container) {
        let id = container.id.as_str();
        if !container.is_running() {
            self.forget(id);
            return;
        }
        let started_at = container.started_at;
        let current = self
            .cgroups
            .get(id)
            .map(|c| c.started_at)
            .or_else(|| self.on_host.get(id).map(|c| c.started_at))
            .or_else(|| self.polled.get(id).map(|p| p.started_at));
        if current == Some(started_at) {
            return;
        }
        self.forget(id);
        match (&self.reach, container.pid) {
            (CgroupReach::Local, Some(pid)) => {
                let files =
                    CgroupFiles::locate(Path::new("/proc"), Path::new(CGROUP_ROOT), pid, id);
                if let Some((last, files)) =
                    files.and_then(|files| Some((files.read().ok()?, files)))
                {
                    let sampled = CgroupSampled {
                        files,
                        started_at,
                        last,
                    };
                    self.cgroups.insert(id.to_string(), sampled);
                    return;
                }
            }
            (CgroupReach::Host(_), Some(pid)) => {
                let sampled = HostSampled {
                    pid,
                    started_at,
                    paths: None,
                    last: None,
                };
                self.on_host.insert(id.to_string(), sampled);
                return;
            }
            _ => {}
        }
        self.poll(id, started_at);
    }

    fn poll(&mut self, id: &str, started_at: Started) {
        let polled = Polled {
            started_at,
            last: None,
            due: self.refreshes,
            phase: self.polled.len() as u64 % OFF_SCREEN_EVERY,
            asking: false,
        };
        self.polled.insert(id.to_string(), polled);
    }

    pub fn forget(&mut self, id: &str) {
        self.cgroups.remove(id);
        self.on_host.remove(id);
        self.polled.remove(id);
        self.usage.remove(id);
    }

    /// Once a refresh: reads every cgroup, and asks the engine for the polled containers that
    /// are due. True when usage changed (polled samples arrive later, through `receive`).
    pub fn refresh(&mut self) -> bool {
        self.refreshes += 1;
        let changed = self.read_cgroups();
        self.read_on_host();
        self.poll_due();
        changed
    }

    /// An answer has arrived; true when it gave a usage figure.
    pub fn receive(&mut self, answer: Answer) -> bool {
        match answer {
            Answer::Polled(id, sample) => self.receive_polled(id, sample),
            Answer::Host(answer) => self.receive_from_host(answer),
        }
    }

    fn receive_polled(&mut self, id: String, sample: Option<RawSample>) -> bool {
        let Some(polled) = self.polled.get_mut(&id) else {
            return false;
        };
        polled.asking = false;
        let Some(sample) = sample else {
            return false;
        };
        let before = polled.last.replace(sample);
        if before.is_none() {
            // The first sample gives no CPU figure: ask again at the next refresh.
            polled.due = self.refreshes + 1;
        }
        match before.and_then(|before| usage_between_samples(&before, &sample)) {
            Some(usage) => {
                self.usage.insert(id, usage);
                true
            }
            None => false,
        }
    }

    pub fn usage(&self) -> &HashMap<String, Usage> {
        &self.usage
    }

    pub fn summary(&self) -> Sampling {
        Sampling {
            from_cgroups: self.cgroups.len() + self.on_host.len(),
            polled: self.polled.len(),
            off_screen_every: (!self.polled.is_empty() && self.on_screen.borrow().is_some())
                .then_some(OFF_SCREEN_EVERY as u32),
            over_ssh: matches!(self.reach, CgroupReach::Host(_)),
            why_polled: match self.reach {
                CgroupReach::Nowhere(why) => Some(why),
                _ => None,
            },
        }
    }

    /// Starts this refresh's round trip to the engine's host, unless the last one is still on
    /// its way (a slow link is not asked faster than it answers).
    fn read_on_host(&mut self) {
        let CgroupReach::Host(files) = &self.reach else {
            return;
        };
        if self.host_busy || self.on_host.is_empty() {
            return;
        }
        self.host_busy = true;
        let unlocated: Vec<(String, u32)> = self
            .on_host
            .iter()
            .filter(|(_, c)| c.paths.is_none())
            .map(|(id, c)| (id.clone(), c.pid))
            .collect();
        let located: Vec<(String, CgroupPaths)> = self
            .on_host
            .iter()
            .filter_map(|(id, c)| Some((id.clone(), c.paths.clone()?)))
            .collect();
        let files = files.clone();
        let out = self.samples_tx.clone();
        self.batches
            .push(tokio::spawn(read_host(files, unlocated, located, out)));
    }

    fn receive_from_host(&mut self, answer: HostAnswer) -> bool {
        self.host_busy = false;
        for (id, paths) in answer.located {
            match paths {
                Some(paths) => {
                    if let Some(sampled) = self.on_host.get_mut(&id) {
                        sampled.paths = Some(paths);
                    }
                }
                None => {
                    if let Some(sampled) = self.on_host.remove(&id) {
                        self.poll(&id, sampled.started_at);
                    }
                }
            }
        }
        let mut changed = false;
        for (id, reading) in answer.readings {
            let Some(sampled) = self.on_host.get_mut(&id) else {
                continue;
            };
            if let Some(usage) = sampled
                .last
                .replace(reading)
                .and_then(|before| usage_between(&before, &reading))
            {
                self.usage.insert(id, usage);
                changed = true;
            }
        }
        changed
    }

    /// A cgroup that cannot be read has gone: its container is tracked afresh when the
    /// engine reports it (or at the next resync).
    fn read_cgroups(&mut self) -> bool {
        let mut gone = Vec::new();
        let mut changed = false;
        for (id, sampled) in &mut self.cgroups {
            match sampled.files.read() {
                Ok(reading) => {
                    if let Some(usage) = usage_between(&sampled.last, &reading) {
                        self.usage.insert(id.clone(), usage);
                        changed = true;
                    }
                    sampled.last = reading;
                }
                Err(_) => gone.push(id.clone()),
            }
        }
        for id in gone {
            self.forget(&id);
        }
        changed
    }

    /// Starts one batch of one-shot requests for the containers that are due and not already
    /// being asked (a slow engine is not asked faster than it answers).
    fn poll_due(&mut self) {
        self.batches.retain(|batch| !batch.is_finished());
        let on_screen = self.on_screen.borrow().clone();
        let now = self.refreshes;
        let mut due = Vec::new();
        for (id, polled) in &mut self.polled {
            let shown = on_screen.as_ref().is_none_or(|ids| ids.contains(id));
            if !polled.asking && (shown || polled.due <= now) {
                polled.asking = true;
                polled.due = next_due(now, polled.phase);
                due.push((!shown, id.clone()));
            }
        }
        // Rows on screen first: at the start every container is due, and the engine answers
        // only so many at once.
        due.sort_unstable();
        let due: Vec<String> = due.into_iter().map(|(_, id)| id).collect();
        if due.is_empty() {
            return;
        }
        let docker = self.docker.clone();
        let out = self.samples_tx.clone();
        self.batches.push(tokio::spawn(poll(docker, due, out)));
    }
}

/// The first refresh after `now` that falls on `phase`: off-screen containers are spread
/// evenly over the refreshes.
fn next_due(now: u64, phase: u64) -> u64 {
    let next = now + 1;
    next + (phase + OFF_SCREEN_EVERY - next % OFF_SCREEN_EVERY) % OFF_SCREEN_EVERY
}

/// One refresh on the engine's host: finds the files of containers new since the last one
/// (their `/proc/PID/cgroup`, then which candidate files exist), then reads every container's
/// three files in one request. A lost connection answers nothing: the engine's loss is the
/// watcher's to notice.
async fn read_host(
    files: HostFiles,
    unlocated: Vec<(String, u32)>,
    mut located: Vec<(String, CgroupPaths)>,
    out: mpsc::Sender<Answer>,
) {
    let mut answer = HostAnswer::default();
    if !unlocated.is_empty() {
        let proc_file = |pid: u32| format!("/proc/{pid}/cgroup");
        let memberships = files
            .read(unlocated.iter().map(|(_, pid)| proc_file(*pid)).collect())
            .await
            .unwrap_or_default();
        let root = Path::new(CGROUP_ROOT);
        let candidates: Vec<(String, String)> = unlocated
            .iter()
            .map(|(id, pid)| {
                let membership = memberships
                    .get(&proc_file(*pid))
                    .cloned()
                    .unwrap_or_default();
                (id.clone(), membership)
            })
            .collect();
        let wanted: Vec<String> = candidates
            .iter()
            .flat_map(|(id, membership)| CgroupPaths::candidates(membership, root, id))
            .map(|p| p.display().to_string())
            .collect();
        let present = files.read(wanted).await.unwrap_or_default();
        for (id, membership) in candidates {
            let exists = |p: &Path| present.contains_key(p.to_str().unwrap_or_default());
            let paths = CgroupPaths::locate(&membership, root, &id, exists);
            if let Some(paths) = &paths {
                located.push((id.clone(), paths.clone()));
            }
            answer.located.push((id, paths));
        }
    }
    let wanted: Vec<String> = located
        .iter()
        .flat_map(|(_, p)| [&p.cpu, &p.memory_usage, &p.memory_stat])
        .map(|p| p.display().to_string())
        .collect();
    let sent = std::time::Instant::now();
    let texts = files.read(wanted).await.unwrap_or_default();
    // The files were read on the host somewhere in the round trip: its middle is the best guess.
    let at = sent + sent.elapsed() / 2;
    for (id, paths) in located {
        let text = |p: &std::path::PathBuf| texts.get(p.to_str().unwrap_or_default());
        if let (Some(cpu), Some(usage), Some(stat)) = (
            text(&paths.cpu),
            text(&paths.memory_usage),
            text(&paths.memory_stat),
        ) && let Ok(reading) = paths.parse(cpu, usage, stat, at)
        {
            answer.readings.push((id, reading));
        }
    }
    let _ = out.send(Answer::Host(answer)).await;
}

/// Asks the engine for one sample of each container, a few at a time.
async fn poll(docker: Docker, ids: Vec<String>, out: mpsc::Sender<Answer>) {
    let docker = &docker;
    let mut samples = stream::iter(ids)
        .map(|id| async move {
            let options = StatsOptionsBuilder::default()
                .stream(false)
                .one_shot(true)
                .build();
            let mut request = docker.stats(&id, Some(options));
            let sample = match tokio::time::timeout(REQUEST_TIMEOUT, request.next()).await {
                Ok(Some(Ok(sample))) => raw_sample(&sample),
                _ => None,
            };
            Answer::Polled(id, sample)
        })
        .buffer_unordered(PARALLEL_POLLS);
    while let Some(answer) = samples.next().await {
        if out.send(answer).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 off-screen containers, each asked once in ten refreshes, and 20 of them each time.
    #[test]
    fn off_screen_containers_are_spread_over_the_refreshes() {
        let mut due: Vec<u64> = vec![0; 200];
        let mut asked = vec![0; 200];
        for now in 1..=100 {
            let mut this_refresh = 0;
            for (index, due) in due.iter_mut().enumerate() {
                if *due <= now {
                    *due = next_due(now, index as u64 % OFF_SCREEN_EVERY);
                    asked[index] += 1;
                    this_refresh += 1;
                }
            }
            if now > OFF_SCREEN_EVERY {
                assert_eq!(this_refresh, 20, "refresh {now}");
            }
        }
        // Once at the start, then once every ten refreshes.
        assert!(asked.iter().all(|&n| (10..=11).contains(&n)), "{asked:?}");
    }
}
