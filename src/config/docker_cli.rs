//! The Docker CLI's own contexts (`docker context create`), so dokk reaches every engine the
//! user already reaches with `docker --context NAME`, with no dokk config at all.
//!
//! They live in `$DOCKER_CONFIG` (default `~/.docker`): `contexts/meta/<digest>/meta.json`
//! holds a context's name and its `docker` endpoint's host; `config.json`'s
//! `currentContext`, or `DOCKER_CONTEXT`, names the one in use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: BTreeMap<String, Endpoint>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    #[serde(rename = "Host")]
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CliConfig {
    #[serde(rename = "currentContext")]
    current_context: Option<String>,
}

/// The Docker CLI's contexts by name (their engine address), and the one it uses now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DockerContexts {
    pub hosts: BTreeMap<String, String>,
    pub current: Option<String>,
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => directories::BaseDirs::new().map(|d| d.home_dir().join(".docker")),
    }
}

impl DockerContexts {
    /// The contexts in `dir`; none when it has none. A context file that cannot be read is
    /// skipped (it is the Docker CLI's to complain about), and logged.
    pub fn read(dir: &Path) -> DockerContexts {
        let mut contexts = DockerContexts::default();
        if let Ok(entries) = std::fs::read_dir(dir.join("contexts/meta")) {
            for entry in entries.flatten() {
                let file = entry.path().join("meta.json");
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                match serde_json::from_str::<Meta>(&text) {
                    Ok(meta) => {
                        if let Some(host) =
                            meta.endpoints.get("docker").and_then(|e| e.host.clone())
                        {
                            contexts.hosts.insert(meta.name, host);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(file = %file.display(), %error, "unreadable Docker context")
                    }
                }
            }
        }
        let from_file = std::fs::read_to_string(dir.join("config.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<CliConfig>(&text).ok())
            .and_then(|c| c.current_context);
        contexts.current = std::env::var("DOCKER_CONTEXT")
            .ok()
            .filter(|v| !v.is_empty())
            .or(from_file)
            .filter(|name| name != "default");
        contexts
    }

    pub fn load() -> DockerContexts {
        config_dir()
            .map(|dir| DockerContexts::read(&dir))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_contexts_made_by_docker_context_create() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = dir
            .path()
            .join("contexts/meta/5d0c2fbb0cfd3a4d1b4e35d2a53f1d8d4a5a9c2b26c1f1e3bd7f7c9e4b9f2a11");
        std::fs::create_dir_all(&meta).expect("dir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"evergreen","Metadata":{"Description":"prod host"},"Endpoints":{"docker":{"Host":"ssh://ec2-user@evergreen","SkipTLSVerify":false}}}"#,
        )
        .expect("meta");
        let broken = dir.path().join("contexts/meta/broken");
        std::fs::create_dir_all(&broken).expect("dir");
        std::fs::write(broken.join("meta.json"), "{").expect("meta");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{},"currentContext":"evergreen"}"#,
        )
        .expect("config");
        let contexts = DockerContexts::read(dir.path());
        assert_eq!(
            contexts.hosts.get("evergreen").map(String::as_str),
            Some("ssh://ec2-user@evergreen")
        );
        assert_eq!(contexts.hosts.len(), 1);
        if std::env::var_os("DOCKER_CONTEXT").is_none() {
            assert_eq!(contexts.current.as_deref(), Some("evergreen"));
        }
        assert_eq!(
            DockerContexts::read(&dir.path().join("none")),
            DockerContexts::default()
        );
    }
}
