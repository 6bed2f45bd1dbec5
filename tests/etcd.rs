//! The etcd backend against a real etcd (Debian's `etcd-server`, which `.ci/test-all` installs):
//! the storage conformance checks the embedded store passes, then mini-apiservers on
//! `--etcd-servers` that outlive each other, share one etcd, serve kubectl, and answer 503 while
//! etcd is away.

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use mini_apiserver::storage::etcd::EtcdStore;
use mini_apiserver::storage::{conformance, Storage};
use serde_json::{json, Value};

/// An etcd of the test's own, on free ports, with a data directory that goes with it.
struct Etcd {
    child: Child,
    dir: PathBuf,
    client_port: u16,
    peer_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn etcd_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("etcd"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "etcd not found on PATH: install Debian's etcd-server package \
             (apt-get install etcd-server), as .ci/test-all does"
        )
    })
}

impl Etcd {
    fn start(name: &str) -> Etcd {
        // Waiting for etcd opens may sockets, which fixes may's configuration: set it first.
        mini_apiserver::run::init_runtime();
        let dir =
            std::env::temp_dir().join(format!("mini-apiserver-etcd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (client_port, peer_port) = (free_port(), free_port());
        let child = spawn(&dir, client_port, peer_port);
        let etcd = Etcd {
            child,
            dir,
            client_port,
            peer_port,
        };
        etcd.wait_ready();
        etcd
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if EtcdStore::new(&[self.url()], "/registry").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        panic!("etcd never answered on {}:\n{log}", self.url());
    }

    /// Kills etcd, keeping its data.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts it again, on the same ports and data.
    fn restart(&mut self) {
        self.child = spawn(&self.dir, self.client_port, self.peer_port);
        self.wait_ready();
    }
}

fn spawn(dir: &Path, client_port: u16, peer_port: u16) -> Child {
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join("etcd.log"))
        .unwrap();
    let mut command = Command::new(etcd_binary());
    // SAFETY: prctl is async-signal-safe, and only asks the kernel to kill etcd when the thread
    // that started it ends: a test process that aborts must not leave etcds behind.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .arg("--name=test")
        .arg(format!("--data-dir={}", dir.join("data").display()))
        .arg(format!("--listen-client-urls={client}"))
        .arg(format!("--advertise-client-urls={client}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=test={peer}"))
        // So that a quiet watch hears etcd's progress notifications within the test.
        .arg("--experimental-watch-progress-notify-interval=1s")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("etcd starts")
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}})
}

fn on_etcd(name: &str, etcd: &Etcd) -> TestServer {
    TestServer::start(name, &[&format!("--etcd-servers={}", etcd.url())])
}

#[test]
fn the_etcd_store_passes_the_storage_conformance_checks() {
    let etcd = Etcd::start("conformance");
    let store = EtcdStore::new(&[etcd.url()], "/registry").unwrap();
    conformance::check_all(&store, "/conformance/");
    assert_eq!(store.check_health(), Ok(()));
}

#[test]
fn objects_survive_a_restart_of_the_apiserver() {
    let etcd = Etcd::start("restart");
    let first = on_etcd("etcd-restart-1", &etcd);
    let created = first.send_json("POST", CONFIGMAPS, &cm("kept", "1"));
    assert_eq!(created.status, 201, "{}", created.text());
    let rv = created.json()["metadata"]["resourceVersion"].clone();
    first.stop();

    // A second lifetime over the same etcd, reached through a list whose first server is down.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let second = TestServer::start(
        "etcd-restart-2",
        &[&format!("--etcd-servers={dead},{}", etcd.url())],
    );
    let got = second.get(&format!("{CONFIGMAPS}/kept"));
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["data"]["k"], "1");
    assert_eq!(got.json()["metadata"]["resourceVersion"], rv);
    // The second lifetime's bootstrap found what the first one made, and went on.
    assert!(second
        .names("/api/v1/namespaces")
        .contains(&"kube-system".to_string()));
    second.stop();
}

#[test]
fn two_apiservers_on_one_etcd_see_each_others_writes_and_watches() {
    let etcd = Etcd::start("shared");
    let a = on_etcd("etcd-shared-a", &etcd);
    let b = on_etcd("etcd-shared-b", &etcd);
    let rv = b.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    // A watch on B, from before A's write; it ends after its timeout with what it saw.
    let watch_path = format!("{CONFIGMAPS}?watch=true&resourceVersion={rv}&timeoutSeconds=3");
    let watching = std::thread::scope(|scope| {
        let watch = scope.spawn(|| b.get(&watch_path));
        std::thread::sleep(Duration::from_millis(300));
        let created = a.send_json("POST", CONFIGMAPS, &cm("shared", "from-a"));
        assert_eq!(created.status, 201, "{}", created.text());
        watch.join().unwrap()
    });
    let events: Vec<Value> = watching
        .body
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "ADDED" && e["object"]["metadata"]["name"] == "shared"),
        "{events:?}"
    );

    // B reads A's write, updates it, and A sees B's update; a stale write from A conflicts.
    let seen = b.get(&format!("{CONFIGMAPS}/shared")).json();
    assert_eq!(seen["data"]["k"], "from-a");
    let mut changed = seen.clone();
    changed["data"]["k"] = "from-b".into();
    let updated = b.send_json("PUT", &format!("{CONFIGMAPS}/shared"), &changed);
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(
        a.get(&format!("{CONFIGMAPS}/shared")).json()["data"]["k"],
        "from-b"
    );
    let stale = a.send_json("PUT", &format!("{CONFIGMAPS}/shared"), &seen);
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert!(b.names(CONFIGMAPS).contains(&"shared".to_string()));
}

#[test]
fn kubectl_creates_and_lists_through_etcd() {
    let etcd = Etcd::start("kubectl");
    let s = on_etcd("etcd-kubectl", &etcd);
    let kubectl = |args: &[&str]| {
        let out = Command::new(common::tool("KUBECTL", "kubectl"))
            .arg(format!("--kubeconfig={}", s.kubeconfig.display()))
            .arg(format!(
                "--cache-dir={}",
                s.dir.join("kube-cache").display()
            ))
            .args(args)
            .output()
            .expect("kubectl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed:\n{text}");
        text
    };
    let created = kubectl(&["create", "configmap", "via-kubectl", "--from-literal=a=b"]);
    assert!(
        created.contains("configmap/via-kubectl created"),
        "{created}"
    );
    let listed = kubectl(&["get", "configmaps", "-o", "name"]);
    assert!(listed.contains("configmap/via-kubectl"), "{listed}");
    // It is in etcd, not in this process: another server lists it too.
    let other = on_etcd("etcd-kubectl-2", &etcd);
    assert!(other.names(CONFIGMAPS).contains(&"via-kubectl".to_string()));
}

#[test]
fn while_etcd_is_away_requests_get_503_and_the_etcd_checks_fail() {
    let mut etcd = Etcd::start("away");
    let s = on_etcd("etcd-away", &etcd);
    assert_eq!(s.get("/readyz/etcd").status, 200);
    // An open watch holds a connection to etcd: it ends when etcd goes, long before its timeout.
    let watch_ended = std::thread::scope(|scope| {
        let watch = scope.spawn(|| {
            let began = Instant::now();
            s.get(&format!("{CONFIGMAPS}?watch=true&timeoutSeconds=60"));
            began.elapsed()
        });
        std::thread::sleep(Duration::from_millis(300));
        etcd.kill();
        watch.join().unwrap()
    });
    assert!(watch_ended < Duration::from_secs(10), "{watch_ended:?}");

    let got = s.get(CONFIGMAPS);
    assert_eq!(got.status, 503, "{}", got.text());
    assert_eq!(got.json()["kind"], "Status");
    // Admission reads the namespace first; kube's NamespaceLifecycle makes its failure a 500.
    let created = s.send_json("POST", CONFIGMAPS, &cm("lost", "x"));
    assert_eq!(created.status, 500, "{}", created.text());
    assert_eq!(created.json()["reason"], "InternalError");
    for check in ["/readyz/etcd", "/livez/etcd"] {
        let failed = s.get(check);
        assert_eq!(failed.status, 500, "{check}");
        assert!(
            failed
                .text()
                .contains("error getting data from etcd: dial tcp"),
            "{}",
            failed.text()
        );
    }
    let readyz = s.get("/readyz?verbose");
    assert_eq!(readyz.status, 500);
    assert!(
        readyz.text().contains("[-]etcd failed"),
        "{}",
        readyz.text()
    );

    // etcd comes back with its data; so does the server, without a restart.
    etcd.restart();
    assert_eq!(s.get("/readyz/etcd").status, 200);
    assert_eq!(s.get(CONFIGMAPS).status, 200);
    assert!(!s.names(CONFIGMAPS).contains(&"lost".to_string()));
}

#[test]
fn the_compactor_compacts_to_the_revision_of_the_turn_before() {
    let etcd = Etcd::start("compactor");
    let store = std::sync::Arc::new(EtcdStore::new(&[etcd.url()], "/registry").unwrap());
    let written = store.create("/registry/x/a", vec![]).unwrap().mod_revision;
    store.start_compactor(Duration::from_millis(300));
    // The first turn records a revision after `written`; the second compacts to it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.compacted_revision() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(store.compacted_revision() > written);
    assert!(matches!(
        store.list_at("/registry/x/", written),
        Err(mini_apiserver::storage::StorageError::Compacted { .. })
    ));
    assert_eq!(store.list("/registry/x/").unwrap().0.len(), 1);
}

#[test]
fn a_server_whose_etcd_never_answers_does_not_start() {
    use mini_apiserver::cmd::{new_api_server_command, Command};
    let dir = std::env::temp_dir().join(format!("mini-apiserver-etcd-{}-none", std::process::id()));
    let args = [
        "--secure-port=0".to_string(),
        format!("--cert-dir={}", dir.display()),
        format!("--etcd-servers=http://127.0.0.1:{}", free_port()),
    ];
    let Ok(Command::Run(opts)) = new_api_server_command(args.into_iter().map(Into::into)) else {
        panic!("the flags are valid");
    };
    let scheme = std::sync::Arc::new(mini_apiserver::apis::new_scheme());
    let limits = mini_apiserver::http::conn::ConnLimits::default();
    let err = mini_apiserver::run::start(&opts, scheme, limits)
        .err()
        .unwrap();
    assert!(
        err.contains("error getting data from etcd: dial tcp"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
