//! The Docker fleet as dokk shows it: containers, the Compose services they form, their
//! limits, usage and Traefik routes. (ECS has its own types in `backend::ecs`; capacity
//! reads both.)

mod fleet;
mod service;
mod traefik;

pub use fleet::{Allocation, ConnectionState, FleetSnapshot, HostInfo, Sampling};
pub use service::{Health, Service, ServiceKey, ServiceState, find_service, group_services};
pub use traefik::{TraefikRouter, traefik_routers};

use std::collections::BTreeMap;

/// Resource limits of one container, as the engine applies them (not as a file asks for them).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Limits {
    /// CPU limit in cores (NanoCpus, or CpuQuota / CpuPeriod). `None`: no limit.
    pub cpu_cores: Option<f64>,
    /// Memory limit in bytes. `None`: no limit.
    pub memory_bytes: Option<u64>,
    /// Soft memory limit (reservation) in bytes.
    pub memory_reservation_bytes: Option<u64>,
    /// Maximum number of processes.
    pub pids: Option<i64>,
}

/// One measured sample of a running container, computed as `docker stats` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Usage {
    /// 100 = one full core.
    pub cpu_percent: f64,
    /// Usage minus inactive file cache.
    pub memory_bytes: u64,
}

/// A container's health check as configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCheck {
    pub test: Vec<String>,
    pub interval_s: Option<f64>,
    pub timeout_s: Option<f64>,
    pub retries: Option<i64>,
    pub start_period_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortMapping {
    pub container: String,
    pub host: Option<String>,
}

/// Everything dokk shows about one container. Built by a backend from inspect data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// Compose project, from `com.docker.compose.project`; `None` for standalone containers.
    pub project: Option<String>,
    /// Compose service, from `com.docker.compose.service`.
    pub service: Option<String>,
    pub replica_number: Option<u32>,
    pub oneoff: bool,
    /// "running", "exited", "restarting", "paused", "created", "dead".
    pub state: String,
    pub health: Health,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub restart_count: i64,
    pub image: String,
    pub limits: Limits,
    pub restart_policy: String,
    pub healthcheck: Option<HealthCheck>,
    /// The newest health check result: its exit code and (trimmed) output.
    pub last_health_check: Option<(i64, String)>,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub env: Vec<(String, String)>,
    pub command: Vec<String>,
    pub user: String,
    /// The host PID of the container's first process, while it runs.
    pub pid: Option<u32>,
}

impl Container {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// Does an environment variable's name suggest that its value is a secret?
pub fn looks_secret(name: &str) -> bool {
    const HINTS: [&str; 11] = [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "KEY",
        "PRIVATE",
        "CREDENTIAL",
        "AUTH",
        "DSN",
        "COOKIE",
        "SALT",
    ];
    let upper = name.to_ascii_uppercase();
    HINTS.iter().any(|hint| upper.contains(hint))
        || upper.ends_with("_URL") && upper.contains("DATABASE")
}

/// The environment a service belongs to, recognised from its name (`gradestatsweb-prod`, `-staging`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Prod,
    Staging,
    Dev,
}

impl Env {
    pub fn label(self) -> &'static str {
        match self {
            Env::Prod => "PROD",
            Env::Staging => "STG",
            Env::Dev => "DEV",
        }
    }

    /// Splits `gradestatsweb-prod` into (`gradestatsweb`, Some(Prod)).
    pub fn split(name: &str) -> (&str, Option<Env>) {
        const SUFFIXES: [(&str, Env); 8] = [
            ("production", Env::Prod),
            ("prod", Env::Prod),
            ("prd", Env::Prod),
            ("staging", Env::Staging),
            ("stage", Env::Staging),
            ("stg", Env::Staging),
            ("development", Env::Dev),
            ("dev", Env::Dev),
        ];
        for (suffix, env) in SUFFIXES {
            for sep in ['-', '_', '.'] {
                if let Some(app) = name.strip_suffix(suffix).and_then(|s| s.strip_suffix(sep))
                    && !app.is_empty()
                {
                    return (app, Some(env));
                }
            }
        }
        (name, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_recognised_from_the_suffix_only() {
        assert_eq!(
            Env::split("gradestatsweb-prod"),
            ("gradestatsweb", Some(Env::Prod))
        );
        assert_eq!(
            Env::split("gradestatsweb-staging"),
            ("gradestatsweb", Some(Env::Staging))
        );
        assert_eq!(Env::split("monoweb_stg"), ("monoweb", Some(Env::Staging)));
        assert_eq!(Env::split("product"), ("product", None));
        assert_eq!(Env::split("prod"), ("prod", None));
        assert_eq!(Env::split("traefik"), ("traefik", None));
    }

    #[test]
    fn secret_names_are_recognised() {
        assert!(looks_secret("DATABASE_PASSWORD"));
        assert!(looks_secret("stripe_api_key"));
        assert!(looks_secret("AUTH0_CLIENT_SECRET"));
        assert!(!looks_secret("PORT"));
        assert!(!looks_secret("NODE_ENV"));
    }
}
