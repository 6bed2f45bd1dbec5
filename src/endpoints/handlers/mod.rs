//! One handler per verb: `k8s.io/apiserver/pkg/endpoints/handlers`. Each reads the options and
//! body, calls the REST storage, and writes the result in the media type the client asked for.
//! `PATCH`, with server-side apply, is in `patch.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

mod patch;

pub use patch::{CUSTOM_RESOURCE_PATCH_TYPES, PATCH_TYPES};

use crate::endpoints::fieldmanager::{self, KindSchema};
use crate::endpoints::table::{
    partial_object_metadata, partial_object_metadata_list, to_table, IncludeObject,
};
use crate::http::{Request, Response};
use crate::registry::store::Deleted;
use crate::registry::watch::{EventEncoder, WatchStream};
use crate::registry::Rest;
use crate::scheme::codec::{decode, negotiate, respond, Output};
use crate::scheme::meta::{Status, StatusError};
use crate::scheme::parameter_codec::{DeleteOptions, ListOptions, WriteOptions};
use crate::scheme::{invalid, meta_str, ResourceDef, Subresource};
use crate::server::generic::NotFound;
use crate::server::lifecycle_signals::LifecycleSignals;
use crate::storage::Revision;
use crate::util::time::rfc3339;
use patch::{apply_patch, precondition};

/// Everything a handler needs about the resource it serves.
pub struct ResourceHandler {
    pub def: Arc<ResourceDef>,
    pub rest: Arc<dyn Rest>,
    pub lifecycle: Arc<LifecycleSignals>,
    /// `--min-request-timeout`: a watch without `timeoutSeconds` ends between this and twice it.
    pub min_request_timeout: Duration,
    /// The `Content-Type`s a PATCH may have (`RequestScope`'s supported types).
    pub patch_types: &'static [&'static str],
}

// ANCHOR: watch_timeout
/// How long a watch may run: its `timeoutSeconds`, or else a random time between
/// `--min-request-timeout` and twice that, so that watches opened together (every client after
/// a restart) do not all end, and come back, together.
fn watch_timeout(timeout_seconds: Option<u64>, min_request_timeout: Duration) -> Option<Duration> {
    match timeout_seconds {
        Some(s) if s > 0 => Some(Duration::from_secs(s)),
        _ if min_request_timeout.is_zero() => None,
        _ => {
            let mut b = [0u8; 8];
            crate::util::random::fill(&mut b);
            let fraction = (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
            Some(min_request_timeout.mul_f64(1.0 + fraction))
        }
    }
}
// ANCHOR_END: watch_timeout

impl ResourceHandler {
    // ANCHOR: serve_resource
    /// Routes a resource request (its `RequestInfo` already parsed) to the handler of its verb.
    pub fn serve(&self, req: &mut Request) -> Response {
        let info = req.context.request_info.clone();
        // A namespaced resource is reached inside a namespace (or across all of them, to list);
        // a cluster-scoped one never inside a namespace; below the name, only a subresource.
        let scoped_right = if self.def.namespaced {
            !info.namespace.is_empty() || matches!(info.verb.as_str(), "list" | "watch")
        } else {
            info.namespace.is_empty() || self.def.resource == "namespaces"
        };
        if !scoped_right || info.parts.len() > 3 {
            return NotFound::response();
        }
        // Before anything parses the body: every later step recurses once per level.
        let protobuf = req
            .header("content-type")
            .is_some_and(|t| t.contains("protobuf"));
        if !protobuf {
            if let Err(why) = crate::scheme::strict_json::check_depth(&req.body) {
                return StatusError::bad_request(why).to_response();
            }
        }
        if !info.subresource.is_empty() {
            return match self
                .def
                .subresources
                .iter()
                .find(|s| s.name() == info.subresource)
            {
                Some(sub) if !info.name.is_empty() => self
                    .serve_subresource(req, *sub, &info.namespace, &info.name, &info.verb)
                    .unwrap_or_else(|e| e.to_response()),
                _ => NotFound::response(),
            };
        }
        if !self.def.verbs.contains(&info.verb.as_str()) {
            return StatusError::method_not_supported(self.def.group_resource(), &info.verb)
                .to_response();
        }
        let result = match (req.method.as_str(), info.verb.as_str()) {
            ("GET" | "HEAD", "get") => self.get(req, &info.namespace, &info.name),
            ("GET" | "HEAD", "list") => self.list(req, &info.namespace),
            ("GET" | "HEAD", "watch") => self.watch(req, &info.namespace),
            ("POST", "create") if info.name.is_empty() => self.create(req, &info.namespace),
            ("PUT", "update") if !info.name.is_empty() => {
                self.update(req, &info.namespace, &info.name)
            }
            ("PATCH", "patch") if !info.name.is_empty() => {
                self.patch(req, &info.namespace, &info.name)
            }
            ("DELETE", "delete") => self.delete(req, &info.namespace, &info.name),
            ("DELETE", "deletecollection") => self.delete_collection(req, &info.namespace),
            _ => Err(StatusError::method_not_supported(
                self.def.group_resource(),
                &info.verb,
            )),
        };
        result.unwrap_or_else(|e| e.to_response())
    }
    // ANCHOR_END: serve_resource

    // ANCHOR: serve_subresource
    /// `/status` and `/scale`: get, update and patch of one view of an object.
    fn serve_subresource(
        &self,
        req: &Request,
        sub: Subresource,
        namespace: &str,
        name: &str,
        verb: &str,
    ) -> Result<Response, StatusError> {
        let user = &req.context.user;
        let written = match verb {
            "get" => {
                let view = self.read_view(sub, namespace, name)?;
                return self.view_response(req, sub, 200, &view);
            }
            "update" => {
                let opts = self.write_options(req)?;
                let view = match sub {
                    Subresource::Status => self.decode_body(req, &opts)?.0,
                    Subresource::Scale => serde_json::from_slice(&req.body).map_err(|e| {
                        StatusError::bad_request(format!("error decoding Scale: {e}"))
                    })?,
                };
                self.write_view(sub, namespace, name, &|_| Ok(view.clone()), &opts, user)?
            }
            "patch" => {
                let opts = self.write_options(req)?;
                let schema = match sub {
                    Subresource::Status => self.def.schema,
                    Subresource::Scale => &crate::apis::apps::SCALE,
                };
                let patched = |view| apply_patch(req, view, schema, self.patch_types);
                self.write_view(sub, namespace, name, &patched, &opts, user)?
            }
            _ => {
                return Err(StatusError::method_not_supported(
                    self.def.group_resource(),
                    verb,
                ))
            }
        };
        self.view_response(req, sub, 200, &written)
    }

    /// The object (for `status`) or its Scale.
    fn read_view(
        &self,
        sub: Subresource,
        namespace: &str,
        name: &str,
    ) -> Result<Value, StatusError> {
        let obj = self.rest.store().get(namespace, name)?;
        Ok(match sub {
            Subresource::Status => obj,
            Subresource::Scale => self.def.strategy.to_scale(&obj),
        })
    }

    /// Writes a view back: the status alone, or the replica count a Scale names. `view_of`
    /// turns the stored view into the one to write (the body, or the body patched onto it).
    fn write_view(
        &self,
        sub: Subresource,
        namespace: &str,
        name: &str,
        view_of: &dyn Fn(Value) -> Result<Value, StatusError>,
        opts: &WriteOptions,
        user: &crate::config::authentication::UserInfo,
    ) -> Result<Value, StatusError> {
        let store = self.rest.store();
        let manager = opts.field_manager.as_str();
        match sub {
            Subresource::Status => {
                let updated = |old: &Value| {
                    let view = view_of(old.clone())?;
                    let mut new = old.clone();
                    new["status"] = view["status"].clone();
                    precondition(&mut new, &view, old);
                    self.track(Some(old), &mut new, manager, sub.name());
                    Ok(new)
                };
                store.update_status(namespace, name, &updated, opts, user)
            }
            Subresource::Scale => {
                let updated = |old: &Value| {
                    let view = view_of(self.def.strategy.to_scale(old))?;
                    let replicas = &view["spec"]["replicas"];
                    if !replicas
                        .as_i64()
                        .is_some_and(|r| (0..=i64::from(i32::MAX)).contains(&r))
                    {
                        return Err(StatusError::invalid(
                            "autoscaling",
                            "Scale",
                            name,
                            vec![invalid(
                                "spec.replicas",
                                replicas,
                                "must be greater than or equal to 0",
                            )],
                        ));
                    }
                    let mut new = old.clone();
                    self.def.strategy.set_replicas(&mut new, replicas.clone());
                    precondition(&mut new, &view, old);
                    self.track(Some(old), &mut new, manager, sub.name());
                    Ok(new)
                };
                store
                    .update_with(namespace, name, &updated, opts, user)
                    .map(|o| self.def.strategy.to_scale(&o))
            }
        }
    }

    fn view_response(
        &self,
        req: &Request,
        sub: Subresource,
        status: u16,
        view: &Value,
    ) -> Result<Response, StatusError> {
        match sub {
            Subresource::Status => self.object_response(req, status, view),
            Subresource::Scale => {
                // A Scale has no Table or metadata-only form here, but an Accept that allows
                // no JSON at all is still a 406.
                negotiate(req.header("accept"))?;
                Ok(Response::json(status, view))
            }
        }
    }
    // ANCHOR_END: serve_subresource

    /// One object in the media type the client accepts.
    fn object_response(
        &self,
        req: &Request,
        status: u16,
        obj: &Value,
    ) -> Result<Response, StatusError> {
        let output = negotiate(req.header("accept"))?;
        let body = match output {
            Output::Json | Output::Yaml => obj.clone(),
            Output::PartialObjectMetadata => partial_object_metadata(obj),
            Output::Table => {
                let include = IncludeObject::parse(req.query_param("includeObject").as_deref());
                let rv = json!({"resourceVersion": meta_str(obj, "resourceVersion")});
                to_table(&self.def, std::slice::from_ref(obj), rv, include, true)
            }
        };
        Ok(respond(output, status, &body))
    }

    fn get(&self, req: &Request, namespace: &str, name: &str) -> Result<Response, StatusError> {
        let obj = self.rest.store().get(namespace, name)?;
        self.object_response(req, 200, &obj)
    }

    fn list(&self, req: &Request, namespace: &str) -> Result<Response, StatusError> {
        let opts = ListOptions::decode(&req.query_pairs())?;
        opts.field_selector
            .check_fields(self.def.selectable_fields)?;
        let list = self.rest.store().list(namespace, &opts)?;
        let output = negotiate(req.header("accept"))?;
        let body = match output {
            Output::Json | Output::Yaml => list,
            Output::PartialObjectMetadata => partial_object_metadata_list(&list),
            Output::Table => {
                let include = IncludeObject::parse(req.query_param("includeObject").as_deref());
                let items = list["items"].as_array().cloned().unwrap_or_default();
                to_table(&self.def, &items, list["metadata"].clone(), include, true)
            }
        };
        Ok(respond(output, 200, &body))
    }

    fn decode_body(
        &self,
        req: &Request,
        opts: &WriteOptions,
    ) -> Result<(Value, Vec<String>), StatusError> {
        let mut decoded = decode(
            req.header("content-type"),
            &req.body,
            &self.def,
            opts.field_validation,
        )?;
        self.def.strategy.set_defaults(&mut decoded.object);
        Ok((decoded.object, decoded.warnings))
    }

    fn with_warnings(resp: Response, warnings: Vec<String>) -> Response {
        warnings.into_iter().fold(resp, |r, w| {
            r.with_header("Warning", format!("299 - {w:?}"))
        })
    }

    /// The write options, with the field manager defaulted from the `User-Agent` as Go's
    /// `managerOrUserAgent` does (`kubectl/v1.37.1 (linux/amd64) ...` manages as `kubectl`).
    fn write_options(&self, req: &Request) -> Result<WriteOptions, StatusError> {
        let mut opts = WriteOptions::decode(&req.query_pairs())?;
        if opts.field_manager.is_empty() {
            let agent = req.header("user-agent").unwrap_or("");
            opts.field_manager = agent
                .split('/')
                .next()
                .unwrap_or("")
                .chars()
                .take(128)
                .collect();
        }
        Ok(opts)
    }

    // ANCHOR: track
    /// Records in `new`'s managedFields that `manager` wrote what changed since `old`.
    fn track(&self, old: Option<&Value>, new: &mut Value, manager: &str, subresource: &str) {
        let now = rfc3339(SystemTime::now());
        let schema = self.managed_schema(subresource);
        let version = self.def.api_version();
        fieldmanager::update(old, new, manager, subresource, &version, &now, &schema);
    }
    // ANCHOR_END: track

    /// The schema field management uses on an endpoint. The main resource of a kind with a
    /// status subresource resets `status` (`GetResetFields`), so no one owns it there.
    fn managed_schema(&self, subresource: &str) -> KindSchema {
        let has_status = self.def.subresources.contains(&Subresource::Status);
        KindSchema {
            schema: self.def.schema,
            reset: if subresource.is_empty() && has_status {
                &["status"]
            } else {
                &[]
            },
        }
    }

    fn create(&self, req: &Request, namespace: &str) -> Result<Response, StatusError> {
        let opts = self.write_options(req)?;
        let (mut obj, warnings) = self.decode_body(req, &opts)?;
        self.track(None, &mut obj, &opts.field_manager, "");
        let created = self.rest.create(namespace, obj, &opts, &req.context.user)?;
        Ok(Self::with_warnings(
            self.object_response(req, 201, &created)?,
            warnings,
        ))
    }

    fn update(&self, req: &Request, namespace: &str, name: &str) -> Result<Response, StatusError> {
        let opts = self.write_options(req)?;
        let (obj, warnings) = self.decode_body(req, &opts)?;
        let updated = |old: &Value| {
            let mut new = obj.clone();
            self.track(Some(old), &mut new, &opts.field_manager, "");
            Ok(new)
        };
        let updated = self
            .rest
            .update(namespace, name, &updated, &opts, &req.context.user)?;
        Ok(Self::with_warnings(
            self.object_response(req, 200, &updated)?,
            warnings,
        ))
    }

    fn delete(&self, req: &Request, namespace: &str, name: &str) -> Result<Response, StatusError> {
        let opts = DeleteOptions::decode(&req.query_pairs(), &req.body)?;
        match self
            .rest
            .delete(namespace, name, &opts, &req.context.user)?
        {
            Deleted::Object(obj) => self.object_response(req, 200, &obj),
            Deleted::Status(details) => Ok(Response::json(200, &Status::success(details))),
        }
    }

    fn delete_collection(&self, req: &Request, namespace: &str) -> Result<Response, StatusError> {
        let list_opts = ListOptions::decode(&req.query_pairs())?;
        let opts = DeleteOptions::decode(&req.query_pairs(), &req.body)?;
        let list = self.rest.store().list(namespace, &list_opts)?;
        let mut deleted = Vec::new();
        for item in list["items"].as_array().into_iter().flatten() {
            match self.rest.delete(
                meta_str(item, "namespace"),
                meta_str(item, "name"),
                &opts,
                &req.context.user,
            ) {
                Ok(_) => deleted.push(item.clone()),
                Err(e) if e.code() == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let out = json!({"kind": self.def.list_kind(), "apiVersion": self.def.api_version(), "metadata": list["metadata"], "items": deleted});
        Ok(Response::json(200, &out))
    }

    // ANCHOR: watch
    /// A watch: from `resourceVersion` if given, else from now after a synthetic ADDED for each
    /// object that exists (kube-apiserver's "get state and start at most recent").
    fn watch(&self, req: &Request, namespace: &str) -> Result<Response, StatusError> {
        let opts = ListOptions::decode(&req.query_pairs())?;
        opts.field_selector
            .check_fields(self.def.selectable_fields)?;
        let output = negotiate(req.header("accept"))?;
        if output == Output::Yaml {
            // YAML has no stream framing: kube's YAML serializer is not offered for watch.
            return Err(StatusError::not_acceptable());
        }
        let store = self.rest.store();
        let prefix = store.key_prefix(namespace);
        let mut initial = VecDeque::new();
        // Without `sendInitialEvents`, an unset or "0" resourceVersion means "send the current
        // state first" (the legacy behaviour); with it, the flag alone decides.
        let send_initial = opts
            .send_initial_events
            .unwrap_or(matches!(opts.resource_version.as_str(), "" | "0"));
        let start: Revision = match opts.resource_version.as_str() {
            _ if send_initial => {
                let list = store.list(
                    namespace,
                    &ListOptions {
                        label_selector: opts.label_selector.clone(),
                        field_selector: opts.field_selector.clone(),
                        ..Default::default()
                    },
                )?;
                for item in list["items"].as_array().into_iter().flatten() {
                    initial.push_back(("ADDED", item.clone()));
                }
                let revision = list["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                if opts.send_initial_events == Some(true) && opts.allow_watch_bookmarks {
                    let mut end = self.bookmark(revision);
                    end["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                    initial.push_back(("BOOKMARK", end));
                }
                revision
            }
            "" | "0" => store.storage().current_revision(),
            rv => rv.parse().map_err(|_| {
                StatusError::bad_request(format!("invalid resource version {rv:?}"))
            })?,
        };
        let watcher = match store.storage().watch(&prefix, start) {
            Ok(w) => w,
            Err(e) => {
                // 410 Gone travels inside the stream, as an ERROR event, which is where client-go
                // looks for it before it lists again.
                let status = store.storage_error("", e);
                initial.push_back((
                    "ERROR",
                    serde_json::to_value(&*status.0).expect("Status serializes"),
                ));
                store
                    .storage()
                    .watch(&prefix, store.storage().current_revision())
                    .map_err(|e| store.storage_error("", e))?
            }
        };
        let stream = WatchStream {
            rest: Arc::clone(&self.rest),
            watcher,
            bookmark: opts.allow_watch_bookmarks.then(|| self.bookmark(0)),
            last_bookmark: Instant::now(),
            deadline: watch_timeout(opts.timeout_seconds, self.min_request_timeout)
                .map(|t| Instant::now() + t),
            opts,
            initial,
            encode: self.event_encoder(req, output),
            lifecycle: Arc::clone(&self.lifecycle),
            finished: false,
        };
        Ok(Response::stream(200, "application/json", Box::new(stream))
            .with_header("Cache-Control", "no-cache, private"))
    }
    // ANCHOR_END: watch

    /// The object of a BOOKMARK event: only the kind and a resourceVersion, as kube-apiserver
    /// sends it.
    fn bookmark(&self, revision: Revision) -> Value {
        json!({"kind": self.def.kind, "apiVersion": self.def.api_version(),
               "metadata": {"resourceVersion": revision.to_string()}})
    }

    /// How each event is written: the object as JSON, or a one-row Table whose first event alone
    /// carries the column definitions.
    fn event_encoder(&self, req: &Request, output: Output) -> EventEncoder {
        let def = Arc::clone(&self.def);
        let include = IncludeObject::parse(req.query_param("includeObject").as_deref());
        let mut first = true;
        Box::new(move |kind: &str, obj: &Value| {
            let object = match output {
                _ if kind == "ERROR" || kind == "BOOKMARK" => obj.clone(),
                Output::Json | Output::Yaml => obj.clone(),
                Output::PartialObjectMetadata => partial_object_metadata(obj),
                Output::Table => {
                    let rv = json!({"resourceVersion": meta_str(obj, "resourceVersion")});
                    let table = to_table(&def, std::slice::from_ref(obj), rv, include, first);
                    first = false;
                    table
                }
            };
            let mut line = serde_json::to_vec(&json!({"type": kind, "object": object}))
                .expect("events serialize");
            line.push(b'\n');
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_without_timeout_seconds_gets_one_between_min_and_twice_min() {
        let min = Duration::from_secs(1800);
        let picks: Vec<Duration> = (0..50).map(|_| watch_timeout(None, min).unwrap()).collect();
        assert!(picks.iter().all(|t| *t >= min && *t < 2 * min), "{picks:?}");
        assert!(
            picks.windows(2).any(|w| w[0] != w[1]),
            "not random: {picks:?}"
        );
        assert_eq!(watch_timeout(Some(0), min).map(|t| t >= min), Some(true));
        assert_eq!(watch_timeout(Some(5), min), Some(Duration::from_secs(5)));
        assert_eq!(watch_timeout(None, Duration::ZERO), None);
    }
}
