//! `rehearse shell HOST`: a shell (or one command) in a host of the running drill.

use std::io::IsTerminal;

use super::ShellArgs;
use crate::engine::{AttachedIo, Terminal};
use crate::exit_code;

pub async fn shell(args: &ShellArgs, engine_choice: &super::EngineChoice) -> i32 {
    let state_path = match args.state.path() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let state = match super::drill::load_state(&state_path, engine_choice) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let Some(host) = state.host(&args.host) else {
        let names: Vec<&str> = state.hosts.iter().map(|h| h.name.as_str()).collect();
        let hint = crate::yaml::closest(&args.host, names.iter().copied())
            .map(|near| format!("; did you mean `{near}`?"))
            .unwrap_or_default();
        errln!(
            "error: drill `{}` has no host `{}`: its hosts are {}{hint}",
            state.scenario,
            args.host,
            crate::yaml::one_of(names.iter().copied())
        );
        return exit_code::INVALID_INPUT;
    };
    let engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let argv = if args.command.is_empty() {
        // A login shell, so the host's profile (PATH, prompt) applies as on the real server.
        vec!["/bin/bash".to_string(), "-l".to_string()]
    } else {
        args.command.clone()
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let terminal = match interactive.then(crossterm::terminal::size) {
        Some(Ok((columns, rows))) => Terminal::Tty { columns, rows },
        _ => Terminal::Pipes,
    };
    let raw =
        matches!(terminal, Terminal::Tty { .. }) && crossterm::terminal::enable_raw_mode().is_ok();
    if args.command.is_empty() && raw {
        err!(
            "entering `{}` of drill `{}` (leave with `exit`)\r\n",
            host.name,
            state.scenario
        );
    }
    let io = AttachedIo {
        input: Box::new(tokio::io::stdin()),
        output: Box::new(tokio::io::stdout()),
        error: Box::new(tokio::io::stderr()),
        resizes: matches!(terminal, Terminal::Tty { .. }).then(terminal_sizes),
    };
    let result = engine
        .exec_attached(&host.container_id, &argv, terminal, io)
        .await;
    if raw {
        let _ = crossterm::terminal::disable_raw_mode();
    }
    match result {
        Ok(code) => i32::try_from(code).unwrap_or(1),
        Err(e) => {
            errln!(
                "error: cannot run `{}` in `{}`: {e}",
                argv.join(" "),
                host.name
            );
            exit_code::ENVIRONMENT
        }
    }
}

/// This terminal's size each time it changes (`SIGWINCH`), for the container's TTY to follow.
fn terminal_sizes() -> tokio::sync::mpsc::UnboundedReceiver<(u16, u16)> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let kind = tokio::signal::unix::SignalKind::window_change();
        let Ok(mut changes) = tokio::signal::unix::signal(kind) else {
            return;
        };
        while changes.recv().await.is_some() {
            if let Ok(size) = crossterm::terminal::size()
                && sender.send(size).is_err()
            {
                return;
            }
        }
    });
    receiver
}
