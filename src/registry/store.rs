//! The generic REST store: `registry.Store` in `k8s.io/apiserver/pkg/registry/generic/registry`.
//!
//! The order of a write is kube-apiserver's: decode and default (done by the handler), mutating
//! admission, server-set metadata, `BeginCreate`/`BeginUpdate`, strategy
//! `PrepareForCreate`/`PrepareForUpdate`, validation, validating admission, then one
//! compare-and-swap write to storage.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::apis::validation::{finalizers, validate_object_meta, validate_object_meta_update};
use crate::config::admission::{AdmissionChain, Attributes, Operation};
use crate::config::authentication::UserInfo;
use crate::scheme::meta::{StatusDetails, StatusError};
use crate::scheme::parameter_codec::{DeleteOptions, ListOptions, WriteOptions};
use crate::scheme::{drop_empty_meta, invalid_error, meta_str, set_meta, ResourceDef};
use crate::storage::{KeyValue, Revision, Storage, StorageError};
use crate::util::{random, time::rfc3339};

/// What a delete answers: kinds with finalizers return the object that is now being deleted,
/// the others a `Status` of success.
pub enum Deleted {
    Object(Value),
    Status(StatusDetails),
}

/// `rest.UpdatedObjectInfo`: the object an update writes, computed from the stored one on each
/// attempt, so that a retry after a concurrent write patches (or applies to) the new state.
pub type UpdatedObject<'a> = dyn Fn(&Value) -> Result<Value, StatusError> + 'a;

// ANCHOR: begin_hooks
/// What a kind's REST storage may add to the generic store's writes: Go's `registry.Store` has
/// `BeginCreate` and `BeginUpdate` fields for it, which the Service storage sets to allocate
/// cluster IPs and node ports. Both run after mutating admission and before validation, so the
/// object validated and stored is the one with its addresses filled in.
pub trait BeginHooks: Send + Sync {
    /// `BeginCreate`: may change the object, or refuse it.
    fn begin_create(&self, store: &Store, obj: &mut Value) -> Result<(), StatusError>;
    /// `BeginUpdate`: may change the new object, or refuse it.
    fn begin_update(&self, store: &Store, new: &mut Value, old: &Value) -> Result<(), StatusError>;
}

/// The hooks and the lock that makes each hooked write atomic.
///
/// Go's hooks return a `FinishFunc` that commits or reverts what they allocated once the write
/// is stored or refused. Ours keep no record to revert (they read what is taken from storage), so
/// what they need instead is that no other write choose between their choice and the store: the
/// lock is held from the hook to the storage write. It is a `may` mutex, which parks a coroutine
/// rather than the one worker thread, as a storage write to etcd may yield.
struct Hooks {
    hooks: Box<dyn BeginHooks>,
    lock: may::sync::Mutex<()>,
}

type HooksHeld<'a> = may::sync::MutexGuard<'a, ()>;

impl Hooks {
    fn lock(&self) -> HooksHeld<'_> {
        // The lock guards no data, so a panic while it was held leaves nothing half-done.
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}
// ANCHOR_END: begin_hooks

pub struct Store {
    pub def: Arc<ResourceDef>,
    storage: Arc<dyn Storage>,
    /// `--etcd-prefix` plus the kind's own prefix: `/registry/configmaps/`.
    prefix: String,
    admission: Arc<AdmissionChain>,
    hooks: Option<Hooks>,
    /// Set by [`Store::destroy`]: the store's open watches end at their next message.
    destroyed: AtomicBool,
    /// The revision of this store's newest write: what a cache fed by a watch must have seen
    /// to be as fresh as a read.
    last_write: AtomicU64,
}

impl Store {
    pub fn new(
        def: Arc<ResourceDef>,
        storage: Arc<dyn Storage>,
        etcd_prefix: &str,
        admission: Arc<AdmissionChain>,
    ) -> Store {
        let resource_prefix = def.storage_prefix();
        Store::new_at(def, storage, etcd_prefix, &resource_prefix, admission)
    }

    /// A store whose objects live under `resource_prefix` (below `--etcd-prefix`) rather than
    /// where the kind's name puts them: custom resources, at `/<group>/<plural>/`.
    pub fn new_at(
        def: Arc<ResourceDef>,
        storage: Arc<dyn Storage>,
        etcd_prefix: &str,
        resource_prefix: &str,
        admission: Arc<AdmissionChain>,
    ) -> Store {
        let prefix = format!("{}{resource_prefix}", etcd_prefix.trim_end_matches('/'));
        Store {
            def,
            storage,
            prefix,
            admission,
            hooks: None,
            destroyed: AtomicBool::new(false),
            last_write: AtomicU64::new(0),
        }
    }

    fn wrote(&self, kv: &KeyValue) {
        self.last_write.fetch_max(kv.mod_revision, Ordering::SeqCst);
    }

    /// The revision of the newest write through this store.
    pub fn last_write(&self) -> Revision {
        self.last_write.load(Ordering::SeqCst)
    }

    /// `DestroyFunc`: the store is no longer served, so its watches end (the heartbeat's
    /// progress messages wake each within 100 ms) and their clients watch again, at whatever
    /// now serves the resource, or get a 404.
    pub fn destroy(&self) {
        self.destroyed.store(true, Ordering::SeqCst);
    }

    pub fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::SeqCst)
    }

    /// The store with `BeginCreate`/`BeginUpdate` hooks set.
    pub fn with_begin_hooks(self, hooks: impl BeginHooks + 'static) -> Store {
        Store {
            hooks: Some(Hooks {
                hooks: Box::new(hooks),
                lock: may::sync::Mutex::new(()),
            }),
            ..self
        }
    }

    /// Runs `BeginCreate`, if the kind has one, and hands back the lock to hold until the write.
    fn begin_create(&self, obj: &mut Value) -> Result<Option<HooksHeld<'_>>, StatusError> {
        let Some(h) = &self.hooks else {
            return Ok(None);
        };
        let held = h.lock();
        h.hooks.begin_create(self, obj)?;
        Ok(Some(held))
    }

    /// Runs `BeginUpdate`, if the kind has one, and hands back the lock to hold until the write.
    fn begin_update(
        &self,
        new: &mut Value,
        old: &Value,
    ) -> Result<Option<HooksHeld<'_>>, StatusError> {
        let Some(h) = &self.hooks else {
            return Ok(None);
        };
        let held = h.lock();
        h.hooks.begin_update(self, new, old)?;
        Ok(Some(held))
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The key prefix of one namespace (or of everything, for `namespace == ""`).
    pub fn key_prefix(&self, namespace: &str) -> String {
        if self.def.namespaced && !namespace.is_empty() {
            format!("{}{namespace}/", self.prefix)
        } else {
            self.prefix.clone()
        }
    }

    fn key(&self, namespace: &str, name: &str) -> String {
        format!("{}{name}", self.key_prefix(namespace))
    }

    /// A stored value as the object a client sees: its `resourceVersion` is the revision that
    /// last modified it (the stored bytes never hold one, as in kube-apiserver).
    pub fn decode(&self, kv: &KeyValue) -> Result<Value, StatusError> {
        let mut obj: Value = decode_stored(&kv.value).map_err(|e| {
            StatusError::internal(format!("stored object {} is corrupt: {e}", kv.key))
        })?;
        set_meta(
            &mut obj,
            "resourceVersion",
            Value::String(kv.mod_revision.to_string()),
        );
        self.def.strategy.convert_from_storage(&mut obj);
        Ok(obj)
    }

    fn encode(&self, obj: &Value) -> Vec<u8> {
        let mut stored = obj.clone();
        if let Some(meta) = stored["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        self.def.strategy.convert_to_storage(&mut stored);
        serde_json::to_vec(&stored).expect("objects serialize")
    }

    fn not_found(&self, name: &str) -> StatusError {
        StatusError::not_found(self.def.group_resource(), name)
    }

    pub fn storage_error(&self, name: &str, e: StorageError) -> StatusError {
        match e {
            StorageError::NotFound => self.not_found(name),
            StorageError::AlreadyExists => StatusError::already_exists(self.def.group_resource(), name),
            StorageError::Conflict { .. } => StatusError::conflict(
                self.def.group_resource(),
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ),
            StorageError::Compacted { .. } => StatusError::expired(e.to_string()),
            StorageError::FutureRevision { .. } => StatusError::new(504, format!("Timeout: {e}")),
            StorageError::Unavailable(why) => StatusError::new(503, format!("storage is unavailable: {why}")),
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Result<Value, StatusError> {
        self.decode(&self.current(&self.key(namespace, name), name)?)
    }

    /// The stored value at `key`, or the NotFound of `name`.
    fn current(&self, key: &str, name: &str) -> Result<KeyValue, StatusError> {
        match self.storage.get(key) {
            Ok(Some(kv)) => Ok(kv),
            Ok(None) => Err(self.not_found(name)),
            Err(e) => Err(self.storage_error(name, e)),
        }
    }

    // ANCHOR: store_list
    /// A list object (`ConfigMapList`) of what matches the selectors, `limit` at a time. The
    /// snapshot is the present, or the revision a `continue` token carries (so the pages of
    /// one list are consistent), or the one `resourceVersionMatch=Exact` names.
    pub fn list(&self, namespace: &str, opts: &ListOptions) -> Result<Value, StatusError> {
        let prefix = self.key_prefix(namespace);
        let continued = continue_key(&opts.continue_token, &prefix, &*self.storage)?;
        let exact = match opts.resource_version_match.as_str() {
            "Exact" => Some(opts.resource_version.parse().map_err(|_| {
                StatusError::bad_request(format!(
                    "invalid resource version {:?}",
                    opts.resource_version
                ))
            })?),
            _ => None,
        };
        let at = continued.as_ref().map(|(_, rev)| *rev).or(exact);
        let (kvs, revision) = match at {
            Some(rev) => (self.storage.list_at(&prefix, rev), rev),
            None => match self.storage.list(&prefix) {
                Ok((kvs, rev)) => (Ok(kvs), rev),
                Err(e) => (Err(e), 0),
            },
        };
        let kvs = kvs.map_err(|e| match e {
            StorageError::Compacted { .. } => {
                StatusError::expired("The resourceVersion for the provided list is too old.")
            }
            e => self.storage_error("", e),
        })?;
        let start = continued.map(|(key, _)| key);
        let mut items = Vec::new();
        let mut next_key = None;
        let mut remaining = 0u64;
        for kv in kvs
            .iter()
            .filter(|kv| start.as_deref().is_none_or(|s| kv.key.as_str() >= s))
        {
            let obj = self.decode(kv)?;
            if !self.matches(&obj, opts) {
                continue;
            }
            if opts.limit.is_some_and(|l| items.len() >= l) {
                next_key.get_or_insert_with(|| kv.key.clone());
                remaining += 1;
                continue;
            }
            items.push(obj);
        }
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if let Some(key) = next_key {
            metadata["continue"] = Value::String(encode_continue(revision, &key[prefix.len()..]));
            metadata["remainingItemCount"] = json!(remaining);
        }
        Ok(json!({
            "kind": self.def.list_kind(),
            "apiVersion": self.def.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }
    // ANCHOR_END: store_list

    /// Whether an object passes the list's label and field selectors.
    pub fn matches(&self, obj: &Value, opts: &ListOptions) -> bool {
        opts.label_selector
            .matches(obj["metadata"]["labels"].as_object())
            && opts.field_selector.matches(obj)
    }

    fn attributes<'a>(
        &'a self,
        op: Operation,
        namespace: &'a str,
        name: &'a str,
        user: &'a UserInfo,
    ) -> Attributes<'a> {
        Attributes {
            operation: op,
            def: &self.def,
            namespace,
            name,
            subresource: "",
            old_object: None,
            dry_run: false,
            user,
        }
    }

    /// The namespace an object belongs in: the one in the URL, which the body may repeat but not
    /// contradict.
    fn check_namespace(&self, obj: &mut Value, namespace: &str) -> Result<(), StatusError> {
        if !self.def.namespaced {
            if let Some(meta) = obj["metadata"].as_object_mut() {
                meta.remove("namespace");
            }
            return Ok(());
        }
        match meta_str(obj, "namespace") {
            "" => set_meta(obj, "namespace", Value::String(namespace.into())),
            ns if ns == namespace => {}
            _ => {
                return Err(StatusError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
        }
        Ok(())
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Result<(), StatusError> {
        let mut causes = validate_object_meta(obj, self.def.strategy.name_rule());
        match old {
            None => causes.extend(self.def.strategy.validate(obj)),
            Some(old) => {
                causes.extend(validate_object_meta_update(obj, old));
                causes.extend(self.def.strategy.validate_update(obj, old));
            }
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(invalid_error(&self.def, meta_str(obj, "name"), causes))
        }
    }

    // ANCHOR: store_create
    pub fn create(
        &self,
        namespace: &str,
        mut obj: Value,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.check_namespace(&mut obj, namespace)?;
        // Go's order: the handler decodes (and defaults) the body and runs mutating admission;
        // then the store fills the server's metadata, runs `BeginCreate` and `BeforeCreate`
        // (`PrepareForCreate`, `Validate`), and last the validating admission it was handed.
        drop_empty_meta(&mut obj);
        self.def.strategy.set_defaults(&mut obj);
        let requested_name = meta_str(&obj, "name").to_string();
        let mut attrs = self.attributes(Operation::Create, namespace, &requested_name, user);
        attrs.dry_run = opts.dry_run;
        self.admission.admit(&attrs, &mut obj)?;
        if meta_str(&obj, "name").is_empty() && !meta_str(&obj, "generateName").is_empty() {
            let name = format!(
                "{}{}",
                meta_str(&obj, "generateName"),
                random::name_suffix()
            );
            set_meta(&mut obj, "name", Value::String(name));
        }
        // Fields only the server sets.
        if let Some(meta) = obj["metadata"].as_object_mut() {
            for field in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                meta.remove(field);
            }
            meta.insert("uid".into(), Value::String(random::uuid()));
            meta.insert(
                "creationTimestamp".into(),
                Value::String(rfc3339(SystemTime::now())),
            );
        }
        drop_empty_meta(&mut obj);
        let name = meta_str(&obj, "name").to_string();
        let _held = self.begin_create(&mut obj)?;
        self.def.strategy.prepare_for_create(&mut obj);
        self.validate(&obj, None)?;
        let mut attrs = self.attributes(Operation::Create, namespace, &name, user);
        attrs.dry_run = opts.dry_run;
        self.admission.validate(&attrs, &obj)?;
        if opts.dry_run {
            return Ok(obj);
        }
        let kv = self
            .storage
            .create(&self.key(namespace, &name), self.encode(&obj))
            .inspect(|kv| self.wrote(kv))
            .map_err(|e| self.storage_error(&name, e))?;
        self.decode(&kv)
    }
    // ANCHOR_END: store_create

    // ANCHOR: store_update
    /// `PUT`: replaces the object. A `resourceVersion` in the body must be the stored one
    /// (optimistic concurrency); without one the update is unconditional, as kube-apiserver
    /// allows for every kind we serve.
    pub fn update(
        &self,
        namespace: &str,
        name: &str,
        obj: Value,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.update_with(namespace, name, &|_| Ok(obj.clone()), opts, user)
    }

    /// An update whose object is computed from the stored one (a patch, an apply, a write
    /// that records managedFields), as Go's `Update` takes a `rest.UpdatedObjectInfo`.
    pub fn update_with(
        &self,
        namespace: &str,
        name: &str,
        updated: &UpdatedObject,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.write_update(namespace, name, updated, opts, user, false)
    }

    /// `PUT .../status`: the stored object with the new `status` (and the managedFields that
    /// record who wrote it) and nothing else changed, the other half of the split the main
    /// resource's `prepare_for_update` makes.
    pub fn update_status(
        &self,
        namespace: &str,
        name: &str,
        updated: &UpdatedObject,
        opts: &WriteOptions,
        user: &UserInfo,
    ) -> Result<Value, StatusError> {
        self.write_update(namespace, name, updated, opts, user, true)
    }

    fn write_update(
        &self,
        namespace: &str,
        name: &str,
        updated: &UpdatedObject,
        opts: &WriteOptions,
        user: &UserInfo,
        status_only: bool,
    ) -> Result<Value, StatusError> {
        let key = self.key(namespace, name);
        // `GuaranteedUpdate`: read, compute, compare-and-swap; a lost race computes again from
        // the new state, where a `resourceVersion` the client named no longer matches.
        loop {
            let current = self.current(&key, name)?;
            let old = self.decode(&current)?;
            let mut obj = updated(&old)?;
            self.check_namespace(&mut obj, namespace)?;
            match meta_str(&obj, "name") {
                "" => set_meta(&mut obj, "name", Value::String(name.into())),
                n if n == name => {}
                n => {
                    return Err(StatusError::bad_request(format!(
                        "the name of the object ({n}) does not match the name on the URL ({name})"
                    )))
                }
            }
            match meta_str(&obj, "resourceVersion") {
                "" => {}
                rv => {
                    let wanted: Revision = rv.parse().map_err(|_| {
                        StatusError::bad_request(format!(
                            "metadata.resourceVersion: Invalid value: {rv:?}: must be a decimal revision"
                        ))
                    })?;
                    if wanted != current.mod_revision {
                        return Err(self.storage_error(name, StorageError::Conflict { current }));
                    }
                }
            }
            let mut new = if status_only {
                let mut new = old.clone();
                new["status"] = obj["status"].clone();
                if let Some(managed) = obj["metadata"].get("managedFields") {
                    set_meta(&mut new, "managedFields", managed.clone());
                }
                new
            } else {
                obj
            };
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old["metadata"].get(field) {
                    Some(v) => set_meta(&mut new, field, v.clone()),
                    None => {
                        if let Some(m) = new["metadata"].as_object_mut() {
                            m.remove(field);
                        }
                    }
                }
            }
            drop_empty_meta(&mut new);
            self.def.strategy.set_defaults(&mut new);
            // Go's order: mutating admission runs as the updated object is computed, then
            // `BeginUpdate`, then `BeforeUpdate` (`PrepareForUpdate`, `ValidateUpdate`), then the
            // validating admission.
            let mut attrs = self.attributes(Operation::Update, namespace, name, user);
            attrs.subresource = if status_only { "status" } else { "" };
            attrs.old_object = Some(&old);
            attrs.dry_run = opts.dry_run;
            self.admission.admit(&attrs, &mut new)?;
            // A status write changes no address, so it needs no hook (nor its lock).
            let _held = if status_only {
                None
            } else {
                self.begin_update(&mut new, &old)?
            };
            if !status_only {
                self.def.strategy.prepare_for_update(&mut new, &old);
            }
            self.validate(&new, Some(&old))?;
            self.admission.validate(&attrs, &new)?;
            // The last finalizer removed from an object being deleted: this update finishes
            // the delete (`shouldDeleteDuringUpdate` in the generic store).
            if !old["metadata"]["deletionTimestamp"].is_null() && finalizers(&new).is_empty() {
                if !opts.dry_run {
                    match self.storage.delete(&key, Some(current.mod_revision)) {
                        Ok(kv) => self.wrote(&kv),
                        Err(StorageError::Conflict { .. }) => continue,
                        Err(e) => return Err(self.storage_error(name, e)),
                    }
                }
                return Ok(new);
            }
            let bytes = self.encode(&new);
            // An update that changes nothing is not written: the revision stays, and watchers
            // hear nothing, as with kube-apiserver.
            if opts.dry_run || bytes == *current.value {
                set_meta(
                    &mut new,
                    "resourceVersion",
                    Value::String(current.mod_revision.to_string()),
                );
                return Ok(new);
            }
            match self.storage.update(&key, bytes, current.mod_revision) {
                Ok(kv) => {
                    self.wrote(&kv);
                    return self.decode(&kv);
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(self.storage_error(name, e)),
            }
        }
    }
    // ANCHOR_END: store_update

    /// Checks `DeleteOptions.preconditions` against the stored object.
    pub fn check_preconditions(
        &self,
        obj: &Value,
        opts: &DeleteOptions,
    ) -> Result<(), StatusError> {
        let name = meta_str(obj, "name");
        if let Some(uid) = &opts.precondition_uid {
            if uid != meta_str(obj, "uid") {
                return Err(StatusError::conflict(
                    self.def.group_resource(),
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(obj, "uid")
                    ),
                ));
            }
        }
        if let Some(rv) = &opts.precondition_resource_version {
            if rv != meta_str(obj, "resourceVersion") {
                return Err(StatusError::conflict(self.def.group_resource(), name, &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta_str(obj, "resourceVersion")
                )));
            }
        }
        Ok(())
    }

    /// Validating admission for a delete (NamespaceLifecycle refuses to delete `default`).
    pub fn admit_delete(
        &self,
        namespace: &str,
        name: &str,
        obj: &Value,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<(), StatusError> {
        let mut attrs = self.attributes(Operation::Delete, namespace, name, user);
        attrs.dry_run = opts.dry_run;
        self.admission.validate(&attrs, obj)
    }

    // ANCHOR: store_delete
    pub fn delete(
        &self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        user: &UserInfo,
    ) -> Result<Deleted, StatusError> {
        let key = self.key(namespace, name);
        let current = self.current(&key, name)?;
        let mut obj = self.decode(&current)?;
        self.check_preconditions(&obj, opts)?;
        self.admit_delete(namespace, name, &obj, opts, user)?;
        if !finalizers(&obj).is_empty() {
            // Graceful deletion: mark it, and whoever owns a finalizer finishes the job.
            if obj["metadata"]["deletionTimestamp"].is_null() && !opts.dry_run {
                set_meta(
                    &mut obj,
                    "deletionTimestamp",
                    Value::String(rfc3339(SystemTime::now())),
                );
                set_meta(&mut obj, "deletionGracePeriodSeconds", json!(0));
                let kv = self
                    .storage
                    .update(&key, self.encode(&obj), current.mod_revision)
                    .inspect(|kv| self.wrote(kv))
                    .map_err(|e| self.storage_error(name, e))?;
                obj = self.decode(&kv)?;
            }
            return Ok(Deleted::Object(obj));
        }
        if !opts.dry_run {
            self.storage
                .delete(&key, Some(current.mod_revision))
                .inspect(|kv| self.wrote(kv))
                .map_err(|e| self.storage_error(name, e))?;
        }
        // The object as it was last stored, as Go's store decodes it from etcd's `prev_kv`.
        if self.def.strategy.return_deleted_object() {
            return Ok(Deleted::Object(obj));
        }
        Ok(Deleted::Status(StatusDetails {
            name: name.into(),
            group: self.def.group.to_string(),
            kind: self.def.resource.to_string(),
            uid: meta_str(&obj, "uid").into(),
            ..Default::default()
        }))
    }
    // ANCHOR_END: store_delete

    /// Writes `obj` back over the stored version `expected` (used by finalization).
    pub fn write_back(
        &self,
        namespace: &str,
        name: &str,
        obj: &Value,
        expected: Revision,
    ) -> Result<Value, StatusError> {
        let kv = self
            .storage
            .update(&self.key(namespace, name), self.encode(obj), expected)
            .inspect(|kv| self.wrote(kv))
            .map_err(|e| self.storage_error(name, e))?;
        self.decode(&kv)
    }

    /// Removes the object outright, whatever its finalizers (the end of finalization).
    pub fn remove(&self, namespace: &str, name: &str) -> Result<(), StatusError> {
        match self.storage.delete(&self.key(namespace, name), None) {
            Ok(kv) => {
                self.wrote(&kv);
                Ok(())
            }
            Err(StorageError::NotFound) => Ok(()),
            Err(e) => Err(self.storage_error(name, e)),
        }
    }
}

/// The 410 for a continue token older than the compacted revision, in kube-apiserver's words.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// A continue token: where the next page starts, and at which revision the first page was read.
/// Opaque to clients, as kube-apiserver's base64 JSON token is.
fn encode_continue(revision: Revision, start: &str) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

/// The first key of the next page, or `None` without a token.
fn continue_key(
    token: &str,
    prefix: &str,
    storage: &dyn Storage,
) -> Result<Option<(String, Revision)>, StatusError> {
    use base64::Engine;
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || StatusError::bad_request("continue key is not valid: the token is malformed");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let (Some(rv), Some(start)) = (v["rv"].as_u64(), v["start"].as_str()) else {
        return Err(bad());
    };
    if rv > storage.current_revision() || start.contains("..") {
        return Err(bad());
    }
    // The first page's revision has been compacted: like kube-apiserver's etcd3 store, refuse to
    // go on with a list that can no longer be consistent, and offer a fresh token for the rest.
    if rv < storage.compacted_revision() {
        let mut err = StatusError::expired(CONTINUE_EXPIRED);
        let fresh = encode_continue(storage.current_revision(), start);
        err.0
            .metadata
            .insert("continue".into(), Value::String(fresh));
        return Err(err);
    }
    Ok(Some((format!("{prefix}{start}"), rv)))
}
/// Parses what this server stored, without serde_json's limit of 128 levels. A body is
/// decoded with the limit, but what is stored adds `managedFields`, whose `fieldsV1` mirrors the
/// object a few levels further down: an object accepted at the limit must still be readable, or
/// an acknowledged write would be lost. The depth is bounded by what was accepted, and the
/// connection's stack (`run::COROUTINE_STACK_WORDS`) holds it.
pub fn decode_stored(bytes: &[u8]) -> serde_json::Result<Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}
