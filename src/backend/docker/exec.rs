//! Interactive shells through the Docker API (exec with a TTY), not through a `docker` CLI:
//! find a shell that exists in the image, then pass the user's terminal through to it.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptions;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{describe, inspect};

pub use crate::config::DEFAULT_SHELLS;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("{name} is not running ({state}); start it before opening a shell")]
    NotRunning { name: String, state: String },
    #[error("{name} has no shell: tried {tried} (set `shells` in config.toml for others)")]
    NoShell { name: String, tried: String },
    #[error("container {0} no longer exists")]
    Gone(String),
    #[error("exec in {name} failed: {message}")]
    Failed { name: String, message: String },
}

/// The first of `candidates` that runs in the container, as the container's own user.
pub async fn pick_shell(
    docker: &Docker,
    container: &str,
    name: &str,
    candidates: &[String],
) -> Result<String, ShellError> {
    let failed = |e: bollard::errors::Error| ShellError::Failed {
        name: name.to_string(),
        message: describe(&e),
    };
    for shell in candidates {
        let config = ExecConfig {
            cmd: Some(vec![shell.clone(), "-c".into(), "exit 0".into()]),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = docker
            .create_exec(container, config)
            .await
            .map_err(failed)?;
        if let Ok(StartExecResults::Attached { mut output, .. }) =
            docker.start_exec(&exec.id, None).await
        {
            while output.next().await.is_some() {}
        }
        let inspected = docker.inspect_exec(&exec.id).await.map_err(failed)?;
        if inspected.exit_code == Some(0) {
            return Ok(shell.clone());
        }
    }
    Err(ShellError::NoShell {
        name: name.to_string(),
        tried: candidates.join(", "),
    })
}

/// Runs an interactive shell in `container` on this terminal until it exits. The caller has
/// put the terminal in raw mode on the main screen; this passes bytes both ways and the
/// window size along, and returns the shell's exit code.
pub async fn run_shell(
    docker: &Docker,
    host: &str,
    container: &str,
    name: &str,
    candidates: &[String],
) -> Result<Option<i64>, ShellError> {
    let failed = |e: bollard::errors::Error| ShellError::Failed {
        name: name.to_string(),
        message: describe(&e),
    };
    match inspect(docker, host, container).await {
        Ok(Some(c)) if c.is_running() => {}
        Ok(Some(c)) => {
            let state = match c.exit_code {
                Some(code) if c.state == "exited" => format!("exited with {code}"),
                _ => c.state,
            };
            return Err(ShellError::NotRunning {
                name: name.to_string(),
                state,
            });
        }
        Ok(None) => return Err(ShellError::Gone(name.to_string())),
        Err(e) => {
            return Err(ShellError::Failed {
                name: name.to_string(),
                message: e.to_string(),
            });
        }
    }
    let shell = pick_shell(docker, container, name, candidates).await?;
    let config = ExecConfig {
        cmd: Some(vec![shell.clone()]),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        env: Some(vec!["TERM=xterm-256color".into()]),
        ..Default::default()
    };
    let exec = docker
        .create_exec(container, config)
        .await
        .map_err(failed)?;
    let options = StartExecOptions {
        detach: false,
        tty: true,
        output_capacity: None,
    };
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker
        .start_exec(&exec.id, Some(options))
        .await
        .map_err(failed)?
    else {
        return Err(ShellError::Failed {
            name: name.to_string(),
            message: "the engine did not attach".into(),
        });
    };
    let resize = |docker: Docker, id: String| async move {
        if let Ok((w, h)) = crossterm::terminal::size() {
            let _ = docker
                .resize_exec(
                    &id,
                    ResizeExecOptions {
                        w: i32::from(w),
                        h: i32::from(h),
                    },
                )
                .await;
        }
    };
    resize(docker.clone(), exec.id.clone()).await;

    let (keys_tx, mut keys) = mpsc::channel::<Vec<u8>>(64);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let stop = stop.clone();
        move || read_stdin(keys_tx, stop)
    });
    let mut window = signal(SignalKind::window_change()).map_err(|e| ShellError::Failed {
        name: name.to_string(),
        message: e.to_string(),
    })?;
    let mut stdout = std::io::stdout();
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(chunk)) => {
                    let _ = stdout.write_all(chunk.as_ref());
                    let _ = stdout.flush();
                }
                _ => break,
            },
            Some(bytes) = keys.recv() => {
                if input.write_all(&bytes).await.is_err() {
                    break;
                }
                let _ = input.flush().await;
            }
            _ = window.recv() => resize(docker.clone(), exec.id.clone()).await,
        }
    }
    stop.store(true, Ordering::SeqCst);
    let _ = reader.join();
    Ok(docker
        .inspect_exec(&exec.id)
        .await
        .ok()
        .and_then(|e| e.exit_code))
}

/// Reads the terminal's bytes until told to stop. It polls with a timeout, so it stops
/// promptly and never holds on to a keystroke meant for dokk after the shell has ended.
fn read_stdin(out: mpsc::Sender<Vec<u8>>, stop: Arc<AtomicBool>) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdin = std::io::stdin();
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: Duration::from_millis(50).as_nanos() as i64,
    };
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => continue,
            Ok(_) => match rustix::io::read(&stdin, &mut buffer) {
                Ok(0) => return,
                Ok(n) => {
                    if out.blocking_send(buffer[..n].to_vec()).is_err() {
                        return;
                    }
                }
                Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
                Err(_) => return,
            },
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        }
    }
}
