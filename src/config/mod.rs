//! `config.toml`: contexts, refresh interval, theme and thresholds.

mod docker_cli;
mod error;
mod keys;
mod theme;

pub use docker_cli::DockerContexts;
pub use error::ConfigError;
pub use keys::{Action, Chord, Keymap, Keys};
pub use theme::{Theme, ThemeColor, user_theme_dir};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The context dokk uses when none is named and the config has no `default_context`.
pub const IMPLICIT_CONTEXT: &str = "default";

/// The shells `s` tries, in order, when the config names none.
pub const DEFAULT_SHELLS: [&str; 3] = ["bash", "sh", "ash"];

/// The engine address dokk uses when none is configured: `DOCKER_HOST`, else the local socket.
pub fn default_docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Theme name: built in (dark, light, high-contrast) or a file in `<config dir>/themes/`.
    pub theme: Option<String>,
    /// How often numbers refresh, in milliseconds.
    pub refresh_ms: Option<u64>,
    pub default_context: Option<String>,
    /// Shells to try, in order, when opening one in a container.
    pub shells: Option<Vec<String>>,
    /// Lines a log view keeps (the oldest go first).
    pub log_lines: Option<usize>,
    /// Lines per container a log view starts from.
    pub log_tail: Option<usize>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextConfig>,
    /// Keys that do something else than dokk's defaults (`[keys] deploy = "D"`).
    #[serde(default)]
    pub keys: BTreeMap<Action, Keys>,
    /// The Docker CLI's contexts, read by `load`: dokk's own win on a name clash.
    #[serde(skip)]
    pub docker_contexts: DockerContexts,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Percent of a limit from which a gauge turns to the warning colour.
    pub warn: f64,
    /// Percent of a limit from which a gauge turns to the critical colour.
    pub crit: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn: 70.0,
            crit: 90.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    Docker,
    Ecs,
    Swarm,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub kind: ContextKind,
    /// `unix://`, `tcp://` or `ssh://`; `DOCKER_HOST` or the local socket when absent.
    pub host: Option<String>,
    #[serde(default)]
    pub readonly: bool,
    pub theme: Option<String>,
    pub refresh_ms: Option<u64>,
    /// ECS: the AWS profile (default: the standard credential chain).
    pub profile: Option<String>,
    /// ECS: the region (default: the profile's or `AWS_REGION`).
    pub region: Option<String>,
    /// ECS: the cluster (default: the only one there is).
    pub cluster: Option<String>,
    /// ECS: another endpoint, such as a local moto server (`AWS_ENDPOINT_URL` works too).
    pub endpoint_url: Option<String>,
    /// Docker: the EC2 instance type of the engine's host (e.g. `t4g.medium`), for the advice
    /// on which type would hold a fleet that does not fit.
    pub instance_type: Option<String>,
    /// Swarm: each node's own engine by its hostname (usage and shells go there).
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    /// Swarm: the engine of a node not in `nodes`, `{hostname}` replaced by its hostname
    /// (`ssh://ec2-user@{hostname}`).
    pub node_host: Option<String>,
}

/// Where an ECS context points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EcsTarget {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub cluster: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Where a Docker context points: one engine.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerTarget {
    /// `unix://`, `tcp://` or `ssh://`.
    pub host: String,
    /// The engine host's EC2 instance type, when the context names it.
    pub instance_type: Option<String>,
}

/// Where a Swarm context points: a manager's engine, and how to reach each node's own engine.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmTarget {
    /// A manager's engine: `unix://`, `tcp://` or `ssh://`.
    pub host: String,
    pub nodes: BTreeMap<String, String>,
    pub node_host: Option<String>,
}

impl SwarmTarget {
    /// The engine of the node called `hostname`, when the context says how to reach it.
    pub fn node_engine(&self, hostname: &str) -> Option<String> {
        self.nodes.get(hostname).cloned().or_else(|| {
            self.node_host
                .as_ref()
                .map(|template| template.replace("{hostname}", hostname))
        })
    }
}

/// What a context connects to: one of the platforms dokk speaks, with only what that
/// platform needs. A new platform is a new variant, and every `match` on it must say what
/// to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Docker(DockerTarget),
    Ecs(EcsTarget),
    Swarm(SwarmTarget),
}

impl ContextKind {
    /// As config.toml spells it.
    pub fn label(self) -> &'static str {
        match self {
            ContextKind::Docker => "docker",
            ContextKind::Ecs => "ecs",
            ContextKind::Swarm => "swarm",
        }
    }
}

impl Target {
    pub fn kind(&self) -> ContextKind {
        match self {
            Target::Docker(_) => ContextKind::Docker,
            Target::Ecs(_) => ContextKind::Ecs,
            Target::Swarm(_) => ContextKind::Swarm,
        }
    }
}

/// A context with everything decided: what dokk connects to and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub name: String,
    pub target: Target,
    pub readonly: bool,
    pub refresh: Duration,
    pub theme: Option<String>,
}

impl Context {
    /// The engine dokk would use with no configuration (`DOCKER_HOST` or the local socket),
    /// refreshed every second: what the benchmarks watch.
    pub fn local_docker(name: &str) -> Context {
        Context {
            name: name.to_string(),
            target: Target::Docker(DockerTarget {
                host: default_docker_host(),
                instance_type: None,
            }),
            readonly: false,
            refresh: Duration::from_secs(1),
            theme: None,
        }
    }

    /// Where the context points, in one line: the engine address, or the ECS cluster and region.
    pub fn address(&self) -> String {
        match &self.target {
            Target::Docker(docker) => docker.host.clone(),
            Target::Swarm(swarm) => swarm.host.clone(),
            Target::Ecs(ecs) => format!(
                "ecs {} · {}",
                ecs.cluster.as_deref().unwrap_or("(only cluster)"),
                ecs.region.as_deref().unwrap_or("default region")
            ),
        }
    }
}

impl Config {
    pub fn shells(&self) -> Vec<String> {
        self.shells
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELLS.iter().map(|s| s.to_string()).collect())
    }
}

/// Refresh intervals dokk accepts: faster than the engine's own sampling is pointless, and
/// slower than a minute is not live.
/// How often an ECS context refreshes unless it says otherwise, and at least.
pub const ECS_REFRESH_MS: u64 = 10_000;
pub const MIN_ECS_REFRESH_MS: u64 = 2_000;

pub fn clamp_refresh(ms: u64) -> u64 {
    ms.clamp(100, 60_000)
}

/// Where dokk keeps its files (`directories`).
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "dokk")
}

pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// Reads `path`, or the default location when `None`. A missing default file is an empty
    /// config; a missing file that was asked for by name is an error.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let (path, required) = match path {
            Some(path) => (path.to_path_buf(), true),
            None => match default_config_path() {
                Some(path) => (path, false),
                None => {
                    let config = Config {
                        docker_contexts: DockerContexts::load(),
                        ..Config::default()
                    };
                    return Ok((config, None));
                }
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                let config = Config {
                    docker_contexts: DockerContexts::load(),
                    ..Config::default()
                };
                return Ok((config, None));
            }
            Err(source) => return Err(ConfigError::Io { path, source }),
        };
        let mut config = Config::parse(&text, &path)?;
        config.docker_contexts = DockerContexts::load();
        Ok((config, Some(path)))
    }

    /// The keymap: dokk's defaults with `[keys]` applied (checked by `parse`).
    pub fn keymap(&self) -> Keymap {
        Keymap::with(&self.keys).unwrap_or_default()
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = error::parse_toml(text, path)?;
        if let Err(message) = Keymap::with(&config.keys) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            });
        }
        for (name, context) in &config.contexts {
            let ecs_only = [
                &context.profile,
                &context.region,
                &context.cluster,
                &context.endpoint_url,
            ];
            let swarm_only = !context.nodes.is_empty() || context.node_host.is_some();
            let misplaced = match context.kind {
                _ if swarm_only && context.kind != ContextKind::Swarm => {
                    Some("nodes and node_host belong to kind = \"swarm\"")
                }
                ContextKind::Docker | ContextKind::Swarm if ecs_only.iter().any(|v| v.is_some()) => {
                    Some("profile, region, cluster and endpoint_url belong to kind = \"ecs\"")
                }
                ContextKind::Docker => None,
                ContextKind::Swarm => context.instance_type.is_some().then_some(
                    "instance_type belongs to kind = \"docker\" (a swarm reports each node's resources)",
                ),
                ContextKind::Ecs if context.host.is_some() => {
                    Some("host belongs to kind = \"docker\"")
                }
                ContextKind::Ecs => context.instance_type.is_some().then_some(
                    "instance_type belongs to kind = \"docker\" (ECS reads each node's type)",
                ),
            };
            if let Some(why) = misplaced {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("context `{name}`: {why}"),
                });
            }
            let node_hosts = context.nodes.values().chain(&context.node_host);
            if let Some(host) = context.host.iter().chain(node_hosts).find(|host| {
                !["unix://", "tcp://", "http://", "ssh://"]
                    .iter()
                    .any(|scheme| host.starts_with(scheme))
            }) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "context `{name}`: host `{host}` must start with unix://, tcp:// or ssh://"
                    ),
                });
            }
        }
        Ok(config)
    }

    /// Names of every context: the implicit one, dokk's own, then the Docker CLI's.
    pub fn context_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.contexts.keys().cloned().collect();
        if !self.contexts.contains_key(IMPLICIT_CONTEXT) {
            names.insert(0, IMPLICIT_CONTEXT.to_string());
        }
        for name in self.docker_contexts.hosts.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Where the contexts come from, when the Docker CLI adds some: which are its, and which
    /// of its names a context of dokk's hides.
    pub fn context_sources(&self) -> Option<String> {
        let (hidden, added): (Vec<&String>, Vec<&String>) = self
            .docker_contexts
            .hosts
            .keys()
            .filter(|name| name.as_str() != IMPLICIT_CONTEXT)
            .partition(|name| self.contexts.contains_key(name.as_str()));
        let join = |names: Vec<&String>| {
            names
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (hidden.is_empty(), added.is_empty()) {
            (true, true) => None,
            (true, false) => Some(format!("from the Docker CLI: {}", join(added))),
            (false, true) => Some(format!(
                "dokk's own {} wins over the Docker CLI context of that name",
                join(hidden)
            )),
            (false, false) => Some(format!(
                "from the Docker CLI: {}; dokk's own {} wins over the Docker CLI's",
                join(added),
                join(hidden)
            )),
        }
    }

    /// The context called `name`, or the default one: `default_context`, else the Docker
    /// CLI's current context (`DOCKER_CONTEXT`, `currentContext`) unless `DOCKER_HOST` is set,
    /// as the Docker CLI chooses.
    pub fn context(&self, name: Option<&str>) -> Result<Context, ConfigError> {
        let docker_current = self
            .docker_contexts
            .current
            .as_deref()
            .filter(|_| std::env::var_os("DOCKER_HOST").is_none_or(|h| h.is_empty()));
        let name = name
            .or(self.default_context.as_deref())
            .or(docker_current)
            .unwrap_or(IMPLICIT_CONTEXT);
        let refresh_ms = |own: Option<u64>| clamp_refresh(own.or(self.refresh_ms).unwrap_or(1000));
        match self.contexts.get(name) {
            Some(context) => Ok(Context {
                name: name.to_string(),
                target: match context.kind {
                    ContextKind::Docker => Target::Docker(DockerTarget {
                        host: context.host.clone().unwrap_or_else(default_docker_host),
                        instance_type: context.instance_type.clone(),
                    }),
                    ContextKind::Swarm => Target::Swarm(SwarmTarget {
                        host: context.host.clone().unwrap_or_else(default_docker_host),
                        nodes: context.nodes.clone(),
                        node_host: context.node_host.clone(),
                    }),
                    ContextKind::Ecs => Target::Ecs(EcsTarget {
                        profile: context.profile.clone(),
                        region: context.region.clone(),
                        cluster: context.cluster.clone(),
                        endpoint_url: context.endpoint_url.clone(),
                    }),
                },
                readonly: context.readonly,
                // An ECS refresh costs API calls (and CloudWatch data is minutes old): the
                // global interval, meant for a Docker engine, does not apply to it.
                refresh: Duration::from_millis(match context.kind {
                    ContextKind::Docker => refresh_ms(context.refresh_ms),
                    ContextKind::Swarm => refresh_ms(context.refresh_ms.or(Some(2000))),
                    ContextKind::Ecs => clamp_refresh(context.refresh_ms.unwrap_or(ECS_REFRESH_MS))
                        .max(MIN_ECS_REFRESH_MS),
                }),
                theme: context.theme.clone().or_else(|| self.theme.clone()),
            }),
            None if self.docker_contexts.hosts.contains_key(name) || name == IMPLICIT_CONTEXT => {
                Ok(Context {
                    name: name.to_string(),
                    target: Target::Docker(DockerTarget {
                        host: self
                            .docker_contexts
                            .hosts
                            .get(name)
                            .cloned()
                            .unwrap_or_else(default_docker_host),
                        instance_type: None,
                    }),
                    readonly: false,
                    refresh: Duration::from_millis(refresh_ms(None)),
                    theme: self.theme.clone(),
                })
            }
            None => Err(ConfigError::UnknownContext {
                name: name.to_string(),
                known: self.context_names(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
theme = "light"
refresh_ms = 2000
default_context = "evergreen"

[contexts.evergreen]
kind = "docker"
host = "ssh://ec2-user@evergreen.example"
readonly = true

[contexts.local]
kind = "docker"
host = "unix:///var/run/docker.sock"
refresh_ms = 500
"#;

    #[test]
    fn contexts_resolve_with_their_settings() {
        let config = Config::parse(SAMPLE, Path::new("config.toml")).expect("valid config");
        let evergreen = config.context(None).expect("default context");
        assert_eq!(evergreen.name, "evergreen");
        assert!(evergreen.readonly);
        assert_eq!(evergreen.refresh, Duration::from_secs(2));
        assert_eq!(evergreen.theme.as_deref(), Some("light"));
        let local = config.context(Some("local")).expect("local");
        assert_eq!(local.refresh, Duration::from_millis(500));
        assert!(!local.readonly);
    }

    #[test]
    fn unknown_context_lists_the_known_ones() {
        let config = Config::parse(SAMPLE, Path::new("config.toml")).expect("valid config");
        let error = config.context(Some("prod")).expect_err("unknown");
        let text = error.to_string();
        assert!(text.contains("`prod`"), "{text}");
        assert!(text.contains("default, evergreen, local"), "{text}");
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn malformed_config_names_line_and_column() {
        let text = "theme = \"dark\"\n[contexts.x]\nkind = \"docker\"\nhots = \"unix:///x\"\n";
        let error = Config::parse(text, Path::new("/etc/dokk.toml")).expect_err("typo");
        let message = error.to_string();
        assert!(message.starts_with("/etc/dokk.toml:4:1:"), "{message}");
        assert!(message.contains("hots"), "{message}");
    }

    #[test]
    fn ecs_contexts_carry_their_target() {
        let text = "[contexts.prod]\nkind = \"ecs\"\nregion = \"eu-north-1\"\ncluster = \"dotkom\"\nendpoint_url = \"http://127.0.0.1:5055\"\n";
        let config = Config::parse(text, Path::new("c.toml")).expect("valid");
        let context = config.context(Some("prod")).expect("prod");
        let Target::Ecs(ecs) = context.target else {
            panic!("an ECS target, got {:?}", context.target);
        };
        assert_eq!(ecs.cluster.as_deref(), Some("dotkom"));
        assert_eq!(ecs.endpoint_url.as_deref(), Some("http://127.0.0.1:5055"));
        let mixed = "[contexts.x]\nkind = \"docker\"\ncluster = \"dotkom\"\n";
        let error = Config::parse(mixed, Path::new("c.toml")).expect_err("mixed");
        assert!(
            error.to_string().contains("belong to kind = \"ecs\""),
            "{error}"
        );
    }

    #[test]
    fn a_bad_key_is_located_and_a_good_one_applies() {
        let text = "[keys]\ndeploy = \"D\"\nrollback = \"ctrl-enter\"\n";
        let error = Config::parse(text, Path::new("c.toml")).expect_err("bad key");
        let message = error.to_string();
        assert!(message.starts_with("c.toml:3:"), "{message}");
        assert!(message.contains("ctrl- goes with a character"), "{message}");
        let error = Config::parse("[keys]\nredeploy = \"D\"\n", Path::new("c.toml"))
            .expect_err("unknown action");
        assert!(error.to_string().starts_with("c.toml:2:"), "{error}");
        let config = Config::parse(
            "[keys]\ndeploy = [\"D\", \"ctrl-e\"]\n",
            Path::new("c.toml"),
        )
        .expect("valid");
        assert_eq!(config.keymap().label(Action::Deploy), "D Ctrl-e");
    }

    #[test]
    fn a_bad_host_scheme_is_refused() {
        let text = "[contexts.x]\nkind = \"docker\"\nhost = \"/var/run/docker.sock\"\n";
        let error = Config::parse(text, Path::new("c.toml")).expect_err("scheme");
        assert!(error.to_string().contains("unix://"));
    }
}
