//! # mini-apiserver
//!
//! A small, single-threaded re-implementation of kube-apiserver, written to be read beside the
//! book in `book/`. The modules follow the startup stages of the seed documents, in order:
//!
//! | stage | module | chapter | kube-apiserver |
//! |---|---|---|---|
//! | 1 resource registration | [`scheme`], [`apis`] | ch01 | `legacyscheme`, `AddToScheme` |
//! | 2 command parsing | [`cmd`] | ch02 | `NewAPIServerCommand`, `ServerRunOptions` |
//! | 3 generic config | [`config`], [`storage`], [`audit`] | ch03 | `buildGenericConfig` |
//! | 4 three chained servers | [`server`], [`endpoints`], [`registry`] | ch04 | `CreateServerChain` |
//! | 5 PrepareRun | [`prepare`] | ch05 | `PrepareRun` |
//! | 6 Run | [`run`], [`http`] | ch06 | `preparedGenericAPIServer.Run` |
//!
//! Under all of them: one may worker thread runs every connection as a coroutine (see
//! [`run::init_runtime`]), [`http`] is the HTTP/1.1 layer over rustls, and [`util`] holds what
//! apimachinery's `util` packages do here (quantities, times, JSONPath).

pub mod apis;
pub mod audit;
pub mod cmd;
pub mod config;
pub mod endpoints;
pub mod http;
pub mod prepare;
pub mod registry;
pub mod run;
pub mod scheme;
pub mod server;
pub mod storage;
pub mod util;
