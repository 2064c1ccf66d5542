//! The ssh connector: each connection is an `ssh` process whose standard input and
//! output carry the HTTP exchange (the far end runs `docker system dial-stdio`, see
//! [`super::ssh`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use hyper_util::rt::TokioIo;
use tokio::process::{Child, ChildStdin, ChildStdout};

#[derive(Debug, Clone)]
pub(super) struct SshDial {
    argv: Arc<Vec<String>>,
}

impl SshDial {
    pub(super) fn new(argv: Vec<String>) -> Self {
        SshDial {
            argv: Arc::new(argv),
        }
    }
}

#[derive(Debug)]
pub(super) struct SshStream {
    stdout: TokioIo<ChildStdout>,
    /// `None` once the request side is shut down.
    stdin: Option<TokioIo<ChildStdin>>,
    /// Killed when the connection is dropped.
    _child: Child,
}

impl tower_service::Service<hyper::Uri> for SshDial {
    type Response = SshStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SshStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let argv = Arc::clone(&self.argv);
        Box::pin(async move {
            let mut child = tokio::process::Command::new(&argv[0])
                .args(argv[1..].iter())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(io::Error::other("ssh started without pipes"));
            };
            Ok(SshStream {
                stdout: TokioIo::new(stdout),
                stdin: Some(TokioIo::new(stdin)),
                _child: child,
            })
        })
    }
}

impl SshStream {
    fn stdin(self: Pin<&mut Self>) -> io::Result<Pin<&mut TokioIo<ChildStdin>>> {
        self.get_mut()
            .stdin
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::BrokenPipe.into())
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        hyper::rt::Read::poll_read(Pin::new(&mut self.get_mut().stdout), cx, buf)
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write(self.stdin()?, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_flush(self.stdin()?, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(hyper::rt::Write::poll_shutdown(self.as_mut().stdin()?, cx))?;
        // Closing ssh's input ends the request side, as a TCP half-close would.
        drop(self.get_mut().stdin.take());
        Poll::Ready(Ok(()))
    }
}

impl hyper_util::client::legacy::connect::Connection for SshStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}
