//! A manager's Engine API spoken as JSON, not through bollard's types: a service spec must go
//! back exactly as it came (bollard's `ServiceSpec` spells the health check `HealthCheck`, the
//! engine `Healthcheck`, so a round trip through it deletes the check, and fields bollard does
//! not know would go too), and service logs need `details`, which bollard's options lack.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, BodyStream, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use crate::backend::docker::{DockerError, REQUEST_TIMEOUT, ssh};

/// The oldest API a swarm dokk reads speaks (Docker 20.10); newer engines are asked in
/// their own version, since the newest refuse old ones.
const MIN_API: &str = "1.41";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Unreachable(#[from] DockerError),
    #[error("the engine at {host} answered {status} to {what}: {message}")]
    Api {
        host: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error("the engine at {host} sent {what} that dokk cannot read: {message}")]
    Malformed {
        host: String,
        what: String,
        message: String,
    },
}

impl EngineError {
    pub fn status(&self) -> Option<u16> {
        match self {
            EngineError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            EngineError::Api { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
enum Address {
    Unix(PathBuf),
    Tcp(String),
}

/// One engine, by the address its context names; `ssh://` goes through the host's tunnel.
#[derive(Debug, Clone)]
pub struct Engine {
    pub host: String,
    address: Address,
    api: String,
    /// Requests sent, for the benchmark of a refresh's cost.
    calls: Arc<AtomicUsize>,
}

impl Engine {
    pub async fn connect(host: &str) -> Result<Engine, EngineError> {
        let local = if host.starts_with("ssh://") {
            ssh::tunnel(host).await?.local_address()
        } else {
            host.to_string()
        };
        let address = if let Some(path) = local.strip_prefix("unix://") {
            Address::Unix(PathBuf::from(path))
        } else if let Some(rest) = local
            .strip_prefix("tcp://")
            .or_else(|| local.strip_prefix("http://"))
        {
            Address::Tcp(rest.trim_end_matches('/').to_string())
        } else {
            return Err(DockerError::Unreachable {
                host: host.to_string(),
                message: "the address must start with unix://, tcp:// or ssh://".into(),
            }
            .into());
        };
        let mut engine = Engine {
            host: host.to_string(),
            address,
            api: MIN_API.to_string(),
            calls: Arc::default(),
        };
        #[derive(serde::Deserialize)]
        struct Version {
            #[serde(rename = "ApiVersion", default)]
            api_version: String,
        }
        let version: Version = engine.get_unversioned("/version").await?;
        if newer(&version.api_version, MIN_API) {
            engine.api = version.api_version;
        }
        Ok(engine)
    }

    /// How many requests this engine (and its clones) has been sent.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, EngineError> {
        let body = self.call(Method::GET, &self.versioned(path), None).await?;
        self.decode(Method::GET, path, &body)
    }

    async fn get_unversioned<T: DeserializeOwned>(&self, path: &str) -> Result<T, EngineError> {
        let body = self.call(Method::GET, path, None).await?;
        self.decode(Method::GET, path, &body)
    }

    /// POSTs a JSON body; the answer's JSON (`null` when it has none).
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, EngineError> {
        let answer = self
            .call(
                Method::POST,
                &self.versioned(path),
                Some(body.to_string().into()),
            )
            .await?;
        if answer.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        self.decode(Method::POST, path, &answer)
    }

    fn versioned(&self, path: &str) -> String {
        format!("/v{}{path}", self.api)
    }

    fn decode<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
    ) -> Result<T, EngineError> {
        serde_json::from_slice(body).map_err(|e| EngineError::Malformed {
            host: self.host.clone(),
            what: format!("{method} {}", path.split('?').next().unwrap_or(path)),
            message: e.to_string(),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, EngineError> {
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let request = async {
            let response = self.send(method, path, body).await?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| self.unreachable(e.to_string()))?
                .to_bytes();
            Ok::<_, EngineError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, request)
            .await
            .map_err(|_| DockerError::Timeout {
                host: self.host.clone(),
                seconds: REQUEST_TIMEOUT.as_secs(),
            })??;
        if status >= 400 {
            return Err(self.refused(what, status, &bytes));
        }
        Ok(bytes)
    }

    /// A streamed GET (logs): the body as it arrives, until the engine ends it.
    pub async fn stream(
        &self,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, EngineError>> + use<>, EngineError> {
        let path = self.versioned(path);
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.send(Method::GET, &path, None))
            .await
            .map_err(|_| DockerError::Timeout {
                host: self.host.clone(),
                seconds: REQUEST_TIMEOUT.as_secs(),
            })??;
        let status = response.status().as_u16();
        if status >= 400 {
            let bytes = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(self.refused(format!("GET {path}"), status, &bytes));
        }
        let host = self.host.clone();
        Ok(
            BodyStream::new(response.into_body()).filter_map(move |frame| {
                let host = host.clone();
                async move {
                    match frame {
                        Ok(frame) => frame.into_data().ok().map(Ok),
                        Err(e) => Some(Err(EngineError::Unreachable(DockerError::Unreachable {
                            host,
                            message: e.to_string(),
                        }))),
                    }
                }
            }),
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, EngineError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let connect_error = |e: std::io::Error| self.unreachable(e.to_string());
        let mut sender = match &self.address {
            Address::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect_error)?;
                handshake(stream).await
            }
            Address::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(connect_error)?;
                handshake(stream).await
            }
        }
        .map_err(|e| self.unreachable(e.to_string()))?;
        let has_body = body.is_some();
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "docker");
        if has_body {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| self.unreachable(e.to_string()))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| self.unreachable(e.to_string()))
    }

    fn unreachable(&self, message: String) -> EngineError {
        EngineError::Unreachable(DockerError::Unreachable {
            host: self.host.clone(),
            message,
        })
    }

    fn refused(&self, what: String, status: u16, body: &[u8]) -> EngineError {
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let message = serde_json::from_slice::<Message>(body)
            .map(|m| m.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string());
        EngineError::Api {
            host: self.host.clone(),
            what,
            status,
            message,
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One HTTP/1 connection over `stream`, driven by its own task.
async fn handshake<S>(stream: S) -> Result<Sender, hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Is API version `a` newer than `b` ("1.43" > "1.41")?
fn newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    };
    matches!((parse(a), parse(b)), (Some(a), Some(b)) if a > b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(super::newer("1.43", "1.41"));
        assert!(super::newer("1.100", "1.41"));
        assert!(!super::newer("1.41", "1.41"));
        assert!(!super::newer("1.40", "1.41"));
        assert!(!super::newer("", "1.41"));
    }
}
