//! Chapter 2: the command. Parses a few command lines the way `mini-apiserver` does and prints
//! what Complete filled in, or every error Validate found.
//!
//! Run: `cargo run --example ch02_command`

use mini_apiserver::cmd::{new_api_server_command, Command};

fn main() {
    let lines: [&[&str]; 3] = [
        &[
            "--secure-port=7443",
            "--bind-address",
            "0.0.0.0",
            "--advertise-address=10.0.0.5",
            "-v=2",
        ],
        &[
            "--authorization-mode=AlwaysDeny,AlwaysAllow",
            "--anonymous-auth=false",
        ],
        &[
            "--storage-backend=etcd3",
            "--tls-cert-file=/tmp/x.crt",
            "--authorization-mode=Node",
            "--default-watch-cache-size=0",
        ],
    ];
    for args in lines {
        println!("$ mini-apiserver {}", args.join(" "));
        match new_api_server_command(args.iter().map(Into::into)) {
            Ok(Command::Run(o)) => {
                println!(
                    "  secure serving : {}:{}",
                    o.secure_serving.bind_address, o.secure_serving.secure_port
                );
                println!(
                    "  advertise      : {:?} (external hostname {:?})",
                    o.generic.advertise_address, o.generic.external_hostname
                );
                println!(
                    "  authorization  : {:?}, anonymous auth {}",
                    o.authorization.modes, o.authentication.anonymous_auth
                );
                println!("  log verbosity  : {}", o.logs.verbosity);
            }
            Ok(_) => println!("  (help or version)"),
            Err(e) => {
                for line in e.0 {
                    println!("  error: {line}");
                }
            }
        }
    }
    if let Ok(Command::Help(text)) = new_api_server_command(["--help".into()]) {
        println!("\n$ mini-apiserver --help | grep 'flags:'");
        for line in text.lines().filter(|l| l.ends_with("flags:")) {
            println!("{line}");
        }
    }
}
