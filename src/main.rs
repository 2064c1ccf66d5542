//! `rehearse`: parse the command line, run it, exit with its code.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = rehearse::cli::Cli::parse();
    std::process::exit(rehearse::cli::main(cli));
}
