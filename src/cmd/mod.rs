//! Stage 2: command parsing (book chapter 2, `ch02-command.md`). Mirrors kube-apiserver's
//! `NewAPIServerCommand` (seeds 001 and 004): build `ServerRunOptions` with their defaults,
//! gather their flags into named sets, parse the command line, then `Complete` and `Validate`
//! before anything runs. `--help` prints the sets as sections, like the cobra usage function the
//! seed shows.
//!
//! - [`options`]: the option structs, `complete`, `validate`.
//! - [`flags`]: `FlagSet`, `NamedFlagSets`, Go-style parsing and help.

pub mod flags;
pub mod options;

use std::ffi::OsString;

use options::{CompletedOptions, ServerRunOptions};

pub enum Command {
    /// Boxed: the options are large, and the other variants small.
    Run(Box<CompletedOptions>),
    Help(String),
    Version,
}

/// Every problem with the command line, one per line.
#[derive(Debug)]
pub struct CommandError(pub Vec<String>);

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for CommandError {}

const LONG: &str = "The Kubernetes API server validates and configures data for the api objects which include namespaces, configmaps, and others. This one is mini-apiserver: a small, single-threaded re-implementation written to be read.";

// ANCHOR: new_api_server_command
/// `NewAPIServerCommand` and its `RunE`, up to (not including) `Run`.
pub fn new_api_server_command<I: IntoIterator<Item = OsString>>(
    args: I,
) -> Result<Command, CommandError> {
    let mut s = ServerRunOptions::new();
    let named_flag_sets = s.flags();
    let parsed = named_flag_sets
        .parse(args.into_iter().collect(), &mut s)
        .map_err(CommandError)?;
    if parsed.help {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100);
        return Ok(Command::Help(format!(
            "{LONG}\n\nUsage:\n  mini-apiserver [flags]\n{}",
            named_flag_sets.usage(width)
        )));
    }
    if parsed.version {
        return Ok(Command::Version);
    }
    // Set default options, then validate them.
    let completed = s.complete();
    let errs = completed.validate();
    if !errs.is_empty() {
        return Err(CommandError(errs));
    }
    Ok(Command::Run(Box::new(completed)))
}
// ANCHOR_END: new_api_server_command

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, CommandError> {
        new_api_server_command(args.iter().map(OsString::from))
    }

    fn opts(args: &[&str]) -> CompletedOptions {
        match run(args) {
            Ok(Command::Run(o)) => *o,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_form_of_a_flag() {
        let o = opts(&[
            "--secure-port=7443",
            "--bind-address",
            "0.0.0.0",
            "-v=4",
            "--anonymous-auth=false",
        ]);
        assert_eq!(o.secure_serving.secure_port, 7443);
        assert!(o.secure_serving.bind_address.is_unspecified());
        assert_eq!(o.logs.verbosity, 4);
        assert!(!o.authentication.anonymous_auth);
        assert_eq!(opts(&["-v", "2"]).logs.verbosity, 2);
    }

    #[test]
    fn a_bool_does_not_eat_the_next_argument() {
        let err = run(&["--anonymous-auth", "extra"]).err().unwrap();
        assert_eq!(err.0, ["unknown command \"extra\" for \"mini-apiserver\""]);
    }

    #[test]
    fn lists_split_and_repeat() {
        let o = opts(&[
            "--authorization-mode=AlwaysDeny,AlwaysAllow",
            "--etcd-servers=http://a:1",
            "--etcd-servers",
            "http://b:2,http://c:3",
        ]);
        assert_eq!(o.authorization.modes, ["AlwaysDeny", "AlwaysAllow"]);
        assert_eq!(o.etcd.etcd_servers.len(), 3);
    }

    #[test]
    fn etcd_servers_choose_the_etcd_backend() {
        assert_eq!(opts(&[]).etcd.storage_backend, "embedded");
        let o = opts(&["--etcd-servers=http://127.0.0.1:2379"]);
        assert_eq!(o.etcd.storage_backend, "etcd3");
        let err = run(&[
            "--storage-backend=embedded",
            "--etcd-servers=http://a:1,https://b:2",
        ])
        .err()
        .unwrap();
        assert_eq!(
            err.0,
            [
                "--etcd-servers cannot be used with --storage-backend=embedded",
                "--etcd-servers: \"https://b:2\": https is not supported by this build; give etcd an http:// client URL",
            ]
        );
    }

    #[test]
    fn bad_input_names_the_flag() {
        let err = run(&["--secure-port=abc", "--nope"]).err().unwrap();
        assert!(
            err.0[0].starts_with("invalid argument \"abc\" for \"--secure-port\" flag"),
            "{:?}",
            err.0
        );
        assert_eq!(err.0[1], "unknown flag: --nope");
        assert!(run(&["--secure-port=70000"]).is_err());
    }

    #[test]
    fn validate_reports_everything_at_once() {
        let err = run(&[
            "--storage-backend=etcd3",
            "--tls-cert-file=/x",
            "--authorization-mode=Foo",
            "--enable-admission-plugins=Nope",
            "--default-watch-cache-size=0",
        ])
        .err()
        .unwrap();
        let flags: Vec<&str> = err.0.iter().map(|e| e.split(' ').next().unwrap()).collect();
        assert_eq!(
            flags,
            [
                "--etcd-servers",
                "--default-watch-cache-size",
                "--tls-cert-file",
                "--authorization-mode",
                "enable-admission-plugins"
            ]
        );
    }

    #[test]
    fn help_has_its_sections_in_order() {
        let Ok(Command::Help(text)) = run(&["--help"]) else {
            panic!("no help")
        };
        let order = [
            "Generic flags:",
            "Etcd flags:",
            "Secure serving flags:",
            "Authentication flags:",
            "Authorization flags:",
            "Admission flags:",
            "Logs flags:",
            "Global flags:",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|s| text.find(s).unwrap_or_else(|| panic!("{s} missing")))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        assert!(text.contains("--secure-port int") && text.contains("(default 6443)"));
        assert!(text.contains("(default 1m0s)"));
    }

    #[test]
    fn durations_go_style() {
        use flags::{format_duration, parse_duration};
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_duration("5").is_err());
        assert_eq!(format_duration(std::time::Duration::from_secs(60)), "1m0s");
        assert_eq!(format_duration(std::time::Duration::ZERO), "0s");
    }
}
