//! Interruptions: Ctrl-C, SIGTERM, and a closed terminal (SIGHUP) all mean "stop". The
//! first one asks the work to stop and clean up; a second one leaves at once, naming
//! `rehearse gc` for what is left.

use tokio_util::sync::CancellationToken;

use crate::exit_code;

/// First signal: cancel the run(s) (each cleans up and reports). Second: leave now.
pub(super) fn watch_signals(cancel: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        errln!("\ninterrupted: stopping and cleaning up (press Ctrl-C again to leave at once)");
        cancel.cancel();
        leave_on_signal().await;
    });
}

/// Wait for the next signal, then leave without cleanup.
pub(super) async fn leave_on_signal() -> ! {
    wait_for_signal().await;
    errln!("leaving without cleanup; run `rehearse gc` to remove what is left");
    std::process::exit(exit_code::INTERRUPTED);
}

/// The next SIGINT, SIGTERM or SIGHUP.
pub(super) async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    // A closed terminal or ssh session (SIGHUP) is an interruption too.
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let hung_up = async {
        match hangup.as_mut() {
            Some(hangup) => hangup.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hung_up => {}
    }
}
