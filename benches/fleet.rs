//! dokk's cost next to the tools people would use instead, on a real Docker engine: a program
//! that prints a report, not a timed test.
//!
//! `cargo bench --bench fleet [-- --sizes 50,200 --seconds 60 --rounds 3 --tools LIST]`
//!
//! For each fleet size it starts that many containers with Compose labels and limits (most
//! idle, 5 % busy, 10 % logging a line a second), then watches them with each tool in turn, in
//! a tmux pane of 200×50: dokk's console (fleet view, 1 s refresh), dokk made to ask the engine
//! for samples (`DOKK_STATS=engine`: what it does when the engine is on another host),
//! `docker stats`, and `oxker` when it is installed. An "idle" turn watches nothing, to
//! measure what the engine spends on its own. Tools take turns in a rotating order, round
//! after round, so drift on the machine falls on all of them alike. Each turn: 5 s to start
//! (not counted), then `--seconds` measured from /proc: the tool's own CPU time, the CPU time
//! of dockerd, containerd and the container shims, and the tool's peak RSS (VmHWM).
//! Then, for the largest size: the time to dokk's first full frame, and at the end the cost
//! of one frame of a 1,000-row fleet table (no engine needed).
//!
//! `--ssh`: the same fleet watched over SSH, as from a laptop (seed 000's way in), through a
//! private sshd on 127.0.0.1 (tests/common/ssh.rs): dokk with an `ssh://` context (and with
//! `DOKK_STATS=engine`), and `docker stats` with `DOCKER_HOST=ssh://…`. The watcher's figure
//! is then its whole process tree (its ssh processes included), and the host's figure is
//! everything else the machine spent (sshd, the engine, the shims, whatever dokk makes run on
//! the host), from /proc/stat, less the terminal (the tmux server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROJECT: &str = "dokkbench";
const IMAGE: &str = "dokk-demo:latest";
const TMUX_SOCKET: &str = "dokkbench";
const WARM_UP: Duration = Duration::from_secs(5);

#[path = "../tests/common/mod.rs"]
mod common;

use common::ssh;

/// How the tools reach the engine over SSH, when `--ssh` asks for it.
struct Remote {
    sshd: ssh::Sshd,
    /// dokk's config with the `ssh://` context.
    config: PathBuf,
    /// A folder with an `ssh` that uses the private sshd's client config, for the Docker CLI.
    path_dir: PathBuf,
}

impl Remote {
    fn start() -> Remote {
        let sshd = ssh::Sshd::start();
        let dir = sshd.dir.path();
        let config = dir.join("dokk.toml");
        std::fs::write(
            &config,
            format!(
                "[contexts.bench]\nkind = \"docker\"\nhost = \"{}\"\n",
                sshd.address()
            ),
        )
        .expect("dokk config");
        let path_dir = dir.join("bin");
        std::fs::create_dir_all(&path_dir).expect("bin");
        let wrapper = path_dir.join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                sshd.client_config().display()
            ),
        )
        .expect("ssh wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Remote {
            sshd,
            config,
            path_dir,
        }
    }
}

struct Options {
    sizes: Vec<usize>,
    seconds: u64,
    rounds: usize,
    tools: Vec<Tool>,
    render_only: bool,
    ssh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Idle,
    Dokk,
    DokkEngine,
    DockerStats,
    Oxker,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Idle => "nothing (engine alone)",
            Tool::Dokk => "dokk",
            Tool::DokkEngine => "dokk, asking the engine",
            Tool::DockerStats => "docker stats",
            Tool::Oxker => "oxker",
        }
    }

    fn parse(name: &str) -> Option<Tool> {
        Some(match name {
            "idle" => Tool::Idle,
            "dokk" => Tool::Dokk,
            "dokk-engine" => Tool::DokkEngine,
            "docker-stats" => Tool::DockerStats,
            "oxker" => Tool::Oxker,
            _ => return None,
        })
    }

    /// The command tmux runs; `exec` keeps the pane's process the tool itself.
    fn command(
        self,
        dokk: &Path,
        state: &Path,
        oxker: Option<&Path>,
        remote: Option<&Remote>,
    ) -> Option<String> {
        let mut dokk_env = format!(
            "exec env XDG_STATE_HOME={} XDG_CONFIG_HOME={}",
            state.display(),
            state.display()
        );
        let mut dokk_args = String::new();
        let mut docker_env = String::new();
        if let Some(remote) = remote {
            dokk_env.push_str(&format!(
                " DOKK_SSH_COMMAND='{}'",
                remote.sshd.ssh_command()
            ));
            dokk_args = format!(" --config {} --context bench", remote.config.display());
            docker_env = format!(
                "env PATH={}:$PATH DOCKER_HOST={} ",
                remote.path_dir.display(),
                remote.sshd.address()
            );
        }
        Some(match self {
            Tool::Idle => "exec sleep 100000".to_string(),
            Tool::Dokk => format!("{dokk_env} {}{dokk_args}", dokk.display()),
            Tool::DokkEngine => {
                format!("{dokk_env} DOKK_STATS=engine {}{dokk_args}", dokk.display())
            }
            Tool::DockerStats => format!("exec {docker_env}docker stats"),
            Tool::Oxker if remote.is_some() => return None,
            Tool::Oxker => format!("exec {}", oxker?.display()),
        })
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        sizes: vec![50, 200],
        seconds: 60,
        rounds: 3,
        tools: vec![
            Tool::Idle,
            Tool::Dokk,
            Tool::DokkEngine,
            Tool::DockerStats,
            Tool::Oxker,
        ],
        render_only: false,
        ssh: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().unwrap_or_default();
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value().split(',').filter_map(|n| n.parse().ok()).collect()
            }
            "--seconds" => options.seconds = value().parse().unwrap_or(60),
            "--rounds" => options.rounds = value().parse().unwrap_or(3),
            "--tools" => {
                options.tools = value().split(',').filter_map(Tool::parse).collect();
                if !options.tools.contains(&Tool::Idle) {
                    options.tools.insert(0, Tool::Idle);
                }
            }
            "--render-only" => options.render_only = true,
            "--ssh" => options.ssh = true,
            // cargo bench passes --bench.
            _ => {}
        }
    }
    options
}

fn main() {
    let options = parse_options();
    println!("# dokk fleet benchmark\n");
    println!("{}\n", machine());
    if !options.render_only {
        engine_report(&options);
    }
    render_report();
}

fn engine_report(options: &Options) {
    let dokk = PathBuf::from(env!("CARGO_BIN_EXE_dokk"));
    let oxker = find_on_path("oxker");
    let state = tempfile::tempdir().expect("a temporary directory");
    let mut tools = options.tools.clone();
    let remote = options.ssh.then(Remote::start);
    if let Some(remote) = &remote {
        println!(
            "Over SSH: a private sshd on 127.0.0.1:{} at its defaults; the tools reach the engine through it. oxker cannot use an ssh:// host: left out.\n",
            remote.sshd.port
        );
        tools.retain(|t| *t != Tool::Oxker);
    } else if oxker.is_none() {
        tools.retain(|t| *t != Tool::Oxker);
        println!("oxker is not installed (`cargo install oxker`): left out.\n");
    } else if let Some(version) = version_of("oxker") {
        println!(
            "Peers: {version}, {}.\n",
            version_of("docker").unwrap_or_default()
        );
    }
    ensure_image();
    let others = running_containers().saturating_sub(project_containers());
    if others > 0 {
        println!("Note: {others} other containers run on this engine; every tool sees them too.\n");
    }
    remove_fleet();
    let largest = options.sizes.iter().copied().max().unwrap_or(0);
    for &size in &options.sizes {
        let fleet = start_fleet(size);
        println!(
            "## {size} containers ({} busy, {} logging, {} idle)\n",
            fleet.busy, fleet.logging, fleet.idle
        );
        std::thread::sleep(Duration::from_secs(5));
        let mut results: BTreeMap<Tool, Vec<Turn>> = BTreeMap::new();
        for round in 0..options.rounds {
            let mut order = tools.clone();
            let turns = order.len();
            order.rotate_left(round % turns);
            for tool in order {
                let command = tool
                    .command(&dokk, state.path(), oxker.as_deref(), remote.as_ref())
                    .expect("a command for every tool kept");
                let turn = measure(&command, Duration::from_secs(options.seconds), options.ssh);
                eprintln!(
                    "size {size} round {} {:<22} own {:6.2} CPU-s  engine {:6.2} CPU-s  peak RSS {:5.1} MB",
                    round + 1,
                    tool.name(),
                    turn.own_cpu,
                    turn.engine_cpu,
                    turn.peak_rss_kb as f64 / 1024.0
                );
                results.entry(tool).or_default().push(turn);
            }
        }
        print_size_table(&results, options);
        if size == largest && remote.is_none() {
            first_frame_report(&dokk, size);
        }
        remove_fleet();
    }
}

struct Fleet {
    busy: usize,
    logging: usize,
    idle: usize,
}

/// Starts `size` labelled containers, four `docker run`s at a time.
fn start_fleet(size: usize) -> Fleet {
    let started = Instant::now();
    let kinds: Vec<(usize, &str)> = (0..size)
        .map(|i| {
            let kind = if i % 20 == 7 {
                "busy"
            } else if i % 10 == 3 {
                "logging"
            } else {
                "idle"
            };
            (i, kind)
        })
        .collect();
    std::thread::scope(|scope| {
        for chunk in kinds.chunks(size.div_ceil(4).max(1)) {
            scope.spawn(move || {
                for &(i, kind) in chunk {
                    run_container(i, kind);
                }
            });
        }
    });
    let count = |k: &str| kinds.iter().filter(|(_, kind)| *kind == k).count();
    eprintln!(
        "started {size} containers in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Fleet {
        busy: count("busy"),
        logging: count("logging"),
        idle: count("idle"),
    }
}

fn run_container(i: usize, kind: &str) {
    let service = format!("svc-{i:03}");
    let name = format!("{PROJECT}-{service}-1");
    let (cpus, script) = match kind {
        "busy" => ("0.03", "while :; do :; done"),
        "logging" => (
            "0.10",
            "i=0; while :; do i=$((i+1)); echo \"GET /api/items/$i 200 12ms\"; sleep 1; done",
        ),
        _ => ("0.10", "exec sleep 2147483647"),
    };
    let labels = [
        format!("com.docker.compose.project={PROJECT}"),
        format!("com.docker.compose.service={service}"),
        "com.docker.compose.container-number=1".to_string(),
        "com.docker.compose.oneoff=False".to_string(),
    ];
    let mut command = Command::new("docker");
    command.args([
        "run", "-d", "--name", &name, "--cpus", cpus, "--memory", "32m",
    ]);
    for label in &labels {
        command.args(["--label", label]);
    }
    let output = command
        .args([IMAGE, "sh", "-c", script])
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker run {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn remove_fleet() {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={PROJECT}"),
    ]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    for chunk in ids.chunks(50) {
        let mut args = vec!["rm", "-f"];
        args.extend(chunk);
        docker(&args);
    }
}

fn running_containers() -> usize {
    docker(&["ps", "-q"]).split_whitespace().count()
}

fn project_containers() -> usize {
    docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={PROJECT}"),
    ])
    .split_whitespace()
    .count()
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// One tool's turn.
struct Turn {
    own_cpu: f64,
    engine_cpu: f64,
    peak_rss_kb: u64,
}

/// Starts `command` in a tmux pane, lets it settle, then measures it for `window`. Over SSH,
/// the tool's figure is its process tree's and the engine's is the rest of the machine's.
fn measure(command: &str, window: Duration, over_ssh: bool) -> Turn {
    let session = "turn";
    tmux(&["kill-server"]);
    let ok = tmux(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "50",
        command,
    ]);
    assert!(ok, "tmux could not start {command}");
    let pid: u32 = tmux_output(&["display-message", "-p", "-t", session, "#{pane_pid}"])
        .trim()
        .parse()
        .expect("the pane's pid");
    let terminal: u32 = tmux_output(&["display-message", "-p", "#{pid}"])
        .trim()
        .parse()
        .unwrap_or(0);
    std::thread::sleep(WARM_UP);
    cpu_seconds(pid).unwrap_or_else(|| panic!("{command} exited"));
    let tree_before = tree_cpu(pid);
    let machine_before = machine_cpu_seconds();
    let terminal_before = cpu_seconds(terminal).unwrap_or(0.0);
    let engine_before = engine_cpu_seconds();
    std::thread::sleep(window);
    cpu_seconds(pid).unwrap_or_else(|| panic!("{command} exited"));
    let tree_after = tree_cpu(pid);
    let machine = machine_cpu_seconds() - machine_before;
    let terminal_cpu = cpu_seconds(terminal).unwrap_or(0.0) - terminal_before;
    let engine_after = engine_cpu_seconds();
    let tree: f64 = tree_after
        .iter()
        .map(|(p, cpu)| cpu - tree_before.get(p).copied().unwrap_or(0.0))
        .sum();
    let own_cpu = if over_ssh {
        tree
    } else {
        tree_after.get(&pid).copied().unwrap_or(0.0) - tree_before.get(&pid).copied().unwrap_or(0.0)
    };
    let peak_rss_kb = peak_rss_kb(pid).unwrap_or(0);
    tmux(&["kill-server"]);
    // Over SSH the engine goes on serving `docker stats`' streams for a while after it has
    // gone (seen: the next turn's host-side CPU doubled after 2 s): let it wind down.
    std::thread::sleep(Duration::from_secs(if over_ssh { 15 } else { 2 }));
    Turn {
        own_cpu,
        engine_cpu: if over_ssh {
            (machine - tree - terminal_cpu).max(0.0)
        } else {
            engine_after - engine_before
        },
        peak_rss_kb,
    }
}

/// CPU seconds of `root` and every process below it, by pid.
fn tree_cpu(root: u32) -> BTreeMap<u32, f64> {
    std::iter::once(root)
        .chain(ssh::descendants(root))
        .filter_map(|pid| Some((pid, cpu_seconds(pid)?)))
        .collect()
}

/// CPU seconds the whole machine spent so far (every CPU, not idle, not waiting), /proc/stat.
fn machine_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    busy / clock_ticks()
}

fn tmux(args: &[&str]) -> bool {
    Command::new("tmux")
        .args(["-L", TMUX_SOCKET])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tmux_output(args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(["-L", TMUX_SOCKET])
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let output = Command::new("getconf").arg("CLK_TCK").output();
        output
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds of one process, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it start past the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU seconds of the engine: dockerd, containerd and every containerd shim.
fn engine_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| {
                let comm = comm.trim();
                comm == "dockerd" || comm == "containerd" || comm.starts_with("containerd-shim")
            })
        })
        .filter_map(cpu_seconds)
        .sum()
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// `median (min–max)` of some figure of the turns.
fn spread(turns: &[Turn], figure: impl Fn(&Turn) -> f64) -> (f64, String) {
    let mut values: Vec<f64> = turns.iter().map(figure).collect();
    let m = median(&mut values);
    let text = format!(
        "{m:.2} ({:.2}–{:.2})",
        values.first().copied().unwrap_or(f64::NAN),
        values.last().copied().unwrap_or(f64::NAN)
    );
    (m, text)
}

fn print_size_table(results: &BTreeMap<Tool, Vec<Turn>>, options: &Options) {
    let (own, engine) = if options.ssh {
        ("own CPU-s (with its ssh)", "host-side")
    } else {
        ("own CPU-s", "engine")
    };
    println!(
        "{} s windows, {} rounds in rotating order; medians (min–max). \"Induced\" is the \
         {engine} CPU minus its median with nothing watching.\n",
        options.seconds, options.rounds
    );
    println!("| watching with | {own} | {engine} CPU-s | induced {engine} CPU-s | peak RSS MB |");
    println!("|---|---|---|---|---|");
    let idle_engine = results
        .get(&Tool::Idle)
        .map_or(0.0, |turns| spread(turns, |t| t.engine_cpu).0);
    let mut medians: BTreeMap<Tool, (f64, f64, f64)> = BTreeMap::new();
    for (tool, turns) in results {
        let (own, own_text) = spread(turns, |t| t.own_cpu);
        let (engine, engine_text) = spread(turns, |t| t.engine_cpu);
        let (rss, rss_text) = spread(turns, |t| t.peak_rss_kb as f64 / 1024.0);
        let induced = engine - idle_engine;
        medians.insert(*tool, (own, induced, rss));
        if *tool == Tool::Idle {
            println!("| {} | – | {engine_text} | – | – |", tool.name());
        } else {
            println!(
                "| {} | {own_text} | {engine_text} | {induced:.2} | {rss_text} |",
                tool.name()
            );
        }
    }
    println!();
    let Some(&(own, induced, rss)) = medians.get(&Tool::Dokk) else {
        return;
    };
    for peer in [Tool::DockerStats, Tool::Oxker, Tool::DokkEngine] {
        if let Some(&(peer_own, peer_induced, peer_rss)) = medians.get(&peer) {
            println!(
                "- dokk ÷ {}: own CPU {}, induced {engine} CPU {}, peak RSS {}",
                peer.name(),
                ratio(own, peer_own),
                ratio(induced.max(0.0), peer_induced),
                ratio(rss, peer_rss)
            );
        }
    }
    println!();
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs <= 0.0 {
        "n/a (the peer's figure is not above zero)".to_string()
    } else {
        format!("{:.2}×", ours / theirs)
    }
}

/// Starts dokk five times on the running fleet and reads the time to its first full frame
/// (the first frame drawn with the engine's snapshot) from its log.
fn first_frame_report(dokk: &Path, size: usize) {
    let mut times = Vec::new();
    let mut shown = 0;
    for _ in 0..5 {
        let state = tempfile::tempdir().expect("a temporary directory");
        let command = Tool::Dokk
            .command(dokk, state.path(), None, None)
            .expect("dokk's command");
        tmux(&["kill-server"]);
        assert!(tmux(&[
            "new-session",
            "-d",
            "-s",
            "frame",
            "-x",
            "200",
            "-y",
            "50",
            &command
        ]));
        let log = state.path().join("dokk/dokk.log");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("first full frame")) {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|f| f.strip_prefix(name))
                        .and_then(|v| v.parse::<f64>().ok())
                };
                times.push(field("ms=").unwrap_or(f64::NAN));
                shown = field("containers=").unwrap_or(0.0) as usize;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tmux(&["kill-server"]);
        std::thread::sleep(Duration::from_secs(1));
    }
    let all: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
    let median_ms = median(&mut times);
    println!(
        "First full frame with {size} containers running ({shown} listed), from process start: \
         median {median_ms:.0} ms over {} starts ({} ms).\n",
        all.len(),
        all.join(", ")
    );
}

/// The cost of the fleet view with 1,000 containers (1,000 services): taking in a snapshot
/// (grouping, sorting) and drawing one frame at 200×50, as the console does once a second.
fn render_report() {
    use dokk::app::{Msg, State, update};
    use dokk::backend::BackendEvent;
    use dokk::config::{Context, Theme, Thresholds};
    use dokk::model::{Container, FleetSnapshot, HostInfo, Limits, Usage};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::collections::HashMap;
    use std::sync::Arc;

    let ids: Vec<String> = (0..1000).map(|i| format!("{i:064x}")).collect();
    let services: Vec<String> = (0..1000).map(|i| format!("svc-{i:04}")).collect();
    let containers: Vec<Container> = (0..1000)
        .map(|i| {
            let project = if i % 2 == 0 { "prod" } else { "staging" };
            Container {
                id: ids[i].clone(),
                name: format!("{project}-{}-1", services[i]),
                project: Some(project.to_string()),
                service: Some(services[i].clone()),
                replica_number: Some(1),
                state: "running".to_string(),
                started_at: Some(chrono::Utc::now()),
                image: "dokk-demo:latest".to_string(),
                limits: Limits {
                    cpu_cores: Some(0.5),
                    memory_bytes: Some(512 << 20),
                    ..Default::default()
                },
                restart_policy: "unless-stopped".to_string(),
                ..Default::default()
            }
        })
        .collect();
    let host = HostInfo {
        name: "bench".into(),
        cpus: 64,
        memory_bytes: 256 << 30,
        ..Default::default()
    };
    let snapshot = |tick: usize| {
        let usage: HashMap<String, Usage> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let usage = Usage {
                    cpu_percent: ((i * 7 + tick) % 100) as f64 / 2.0,
                    memory_bytes: ((i + tick) as u64 % 400) << 20,
                };
                (id.clone(), usage)
            })
            .collect();
        FleetSnapshot {
            host: host.clone(),
            containers: Arc::new(containers.clone()),
            usage: Arc::new(usage),
            ..Default::default()
        }
    };
    let context = Context::local_docker("bench");
    let mut state = State::new(
        context,
        vec![],
        Theme::default_theme(),
        Thresholds::default(),
    );
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("a test terminal");
    let (mut updates, mut frames) = (Vec::new(), Vec::new());
    for tick in 1..=300 {
        let next = snapshot(tick);
        let started = Instant::now();
        update(
            &mut state,
            Msg::Backend(BackendEvent::Snapshot(Box::new(next)), chrono::Utc::now()),
        );
        updates.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        terminal
            .draw(|frame| dokk::ui::draw(frame, &state))
            .expect("a frame");
        frames.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let p99 = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() * 99 / 100]
    };
    println!("## A 1,000-row fleet table (no engine), 300 refreshes at 200×50\n");
    println!("| step | median ms | p99 ms |");
    println!("|---|---|---|");
    println!(
        "| take in a snapshot (group, sort) | {:.2} | {:.2} |",
        median(&mut updates),
        p99(&mut updates)
    );
    println!(
        "| draw one frame | {:.2} | {:.2} |",
        median(&mut frames),
        p99(&mut frames)
    );
    println!();
}

fn ensure_image() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/lib.sh");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && ensure_image >&2", script.display()))
        .status()
        .expect("bash runs");
    assert!(status.success(), "building {IMAGE} failed");
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn version_of(program: &str) -> Option<String> {
    let path = find_on_path(program)?;
    let output = Command::new(path).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let engine = docker(&["version", "--format", "{{.Server.Version}}"]);
    let cgroup = docker(&["info", "--format", "{{.CgroupVersion}} ({{.CgroupDriver}})"]);
    format!(
        "Machine: {cpus} CPUs; Docker engine {}, cgroup v{}.",
        engine.trim(),
        cgroup.trim()
    )
}
