//! SIGINT, SIGTERM and SIGHUP during a rollout: the rollout stops at once, what it had under
//! way is finished or put back by the same repair the next command would run (bounded, with
//! progress), and dokk exits 130, 143 or 129 saying where the service is. A second signal
//! says what stopping now would leave and asks again; a third stops.

use std::io::Write;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long the repair after an interrupt may take: a new replica's health wait, and one put
/// back with its own.
pub const REPAIR_BOUND: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caught {
    Interrupt,
    Terminate,
    Hangup,
}

impl Caught {
    pub fn name(self) -> &'static str {
        match self {
            Caught::Interrupt => "SIGINT",
            Caught::Terminate => "SIGTERM",
            Caught::Hangup => "SIGHUP",
        }
    }

    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Caught::Interrupt => 130,
            Caught::Terminate => 143,
            Caught::Hangup => 129,
        }
    }
}

/// The three signals, caught from the moment this is made (before, they end dokk as usual:
/// a Ctrl-C at the confirm prompt leaves nothing to repair).
pub struct Interrupts {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Interrupts {
    pub fn listen() -> std::io::Result<Interrupts> {
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    pub async fn next(&mut self) -> Caught {
        tokio::select! {
            _ = self.interrupt.recv() => Caught::Interrupt,
            _ = self.terminate.recv() => Caught::Terminate,
            _ = self.hangup.recv() => Caught::Hangup,
        }
    }
}

/// A line on stderr that cannot fail: after SIGHUP the terminal may be gone.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
