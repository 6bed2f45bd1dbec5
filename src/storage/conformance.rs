//! What every [`Storage`] backend must do, written once against the trait: the embedded store's
//! unit tests run these checks, and `tests/etcd.rs` runs the same ones against a real etcd.
//!
//! Each check writes under its own `prefix` and counts revisions from the store's current one, so
//! the store need not be new; it must only have no other writer while a check runs. A failed
//! check panics, as a test assertion does.

use super::{EventType, KeyValue, Revision, Storage, StorageError, WatchMessage, Watcher};

/// Every check, one after the other, each under `prefix` and a name of its own.
pub fn check_all(s: &dyn Storage, prefix: &str) {
    revisions_and_compare_and_swap(s, &format!("{prefix}cas/"));
    list_is_by_prefix_in_key_order(s, &format!("{prefix}list/"));
    a_list_at_an_old_revision_undoes_what_came_after(s, &format!("{prefix}list-at/"));
    watch_replays_history_then_goes_live(s, &format!("{prefix}watch/"));
    a_watch_from_a_compacted_revision_is_gone(s, &format!("{prefix}compacted/"));
}

fn event(m: Option<WatchMessage>) -> (EventType, String, Revision) {
    match m {
        Some(WatchMessage::Event(e)) => (e.kind, e.kv.key, e.kv.mod_revision),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// The next event, passing over progress messages (etcd may send its own at any time).
fn next_event(w: &Watcher) -> (EventType, String, Revision) {
    loop {
        match w.next() {
            Some(WatchMessage::Progress(_)) => continue,
            other => return event(other),
        }
    }
}

pub fn revisions_and_compare_and_swap(s: &dyn Storage, p: &str) {
    let base = s.current_revision();
    let key = format!("{p}a");
    let a = s.create(&key, b"1".to_vec()).unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (base + 1, base + 1));
    assert_eq!(s.current_revision(), base + 1);
    assert_eq!(
        s.create(&key, b"x".to_vec()),
        Err(StorageError::AlreadyExists)
    );
    let a2 = s.update(&key, b"2".to_vec(), a.mod_revision).unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision), (base + 1, base + 2));
    match s.update(&key, b"3".to_vec(), a.mod_revision) {
        Err(StorageError::Conflict { current }) => assert_eq!(current, a2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        s.delete(&key, Some(a.mod_revision)),
        Err(StorageError::Conflict { .. })
    ));
    assert_eq!(s.get(&key).unwrap().unwrap().value.as_slice(), b"2");
    let deleted = s.delete(&key, Some(a2.mod_revision)).unwrap();
    assert_eq!(
        (deleted.mod_revision, deleted.value.as_slice()),
        (base + 3, &b"2"[..])
    );
    assert_eq!(s.get(&key).unwrap(), None);
    assert_eq!(s.current_revision(), base + 3);
    // Nothing there: nothing to update or delete, and nothing changes.
    let missing = format!("{p}missing");
    assert_eq!(
        s.update(&missing, vec![], base),
        Err(StorageError::NotFound)
    );
    assert_eq!(s.delete(&missing, None), Err(StorageError::NotFound));
    assert_eq!(s.delete(&missing, Some(base)), Err(StorageError::NotFound));
    assert_eq!(s.current_revision(), base + 3);
    // An unconditional delete.
    s.create(&key, vec![]).unwrap();
    assert_eq!(s.delete(&key, None).unwrap().mod_revision, base + 5);
}

pub fn list_is_by_prefix_in_key_order(s: &dyn Storage, p: &str) {
    for k in ["b/x", "a/y", "ab", "a/x"] {
        s.create(&format!("{p}{k}"), vec![]).unwrap();
    }
    let (items, rev) = s.list(&format!("{p}a/")).unwrap();
    let keys: Vec<_> = items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, [format!("{p}a/x"), format!("{p}a/y")]);
    assert_eq!(rev, s.current_revision());
    assert_eq!(s.list(&format!("{p}none/")).unwrap().0, []);
}

pub fn a_list_at_an_old_revision_undoes_what_came_after(s: &dyn Storage, p: &str) {
    let text = |kvs: Vec<KeyValue>| -> Vec<(String, String, Revision)> {
        let value = |kv: &KeyValue| String::from_utf8(kv.value.to_vec()).unwrap();
        kvs.iter()
            .map(|kv| (kv.key.clone(), value(kv), kv.mod_revision))
            .collect()
    };
    let (ka, kb, kc) = (format!("{p}cm/a"), format!("{p}cm/b"), format!("{p}cm/c"));
    let a = s.create(&ka, b"a1".to_vec()).unwrap().mod_revision;
    let b = s.create(&kb, b"b1".to_vec()).unwrap().mod_revision;
    let a2 = s.update(&ka, b"a2".to_vec(), a).unwrap().mod_revision;
    let deleted = s.delete(&kb, None).unwrap().mod_revision;
    s.create(&kc, b"c1".to_vec()).unwrap();
    let last = s
        .create(&format!("{p}other/x"), b"x".to_vec())
        .unwrap()
        .mod_revision;
    let cm = format!("{p}cm/");
    let at = |rev| text(s.list_at(&cm, rev).unwrap());
    let kv = |k: &str, v: &str, r| (k.to_string(), v.to_string(), r);
    assert_eq!(at(b), [kv(&ka, "a1", a), kv(&kb, "b1", b)]);
    assert_eq!(at(a2), [kv(&ka, "a2", a2), kv(&kb, "b1", b)]);
    assert_eq!(at(deleted), [kv(&ka, "a2", a2)]);
    assert_eq!(at(last), text(s.list(&cm).unwrap().0));
    assert_eq!(
        s.list_at(&cm, last + 1),
        Err(StorageError::FutureRevision {
            requested: last + 1,
            current: last
        })
    );
    s.compact(a2);
    assert!(s.compacted_revision() >= a2);
    match s.list_at(&cm, b) {
        Err(StorageError::Compacted { requested, oldest }) => {
            assert_eq!((requested, oldest), (b, a2));
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert_eq!(at(a2), [kv(&ka, "a2", a2), kv(&kb, "b1", b)]);
}

pub fn watch_replays_history_then_goes_live(s: &dyn Storage, p: &str) {
    let (cm, ka) = (format!("{p}cm/"), format!("{p}cm/a"));
    let created = s.create(&ka, vec![]).unwrap().mod_revision;
    s.create(&format!("{p}ns/x"), vec![]).unwrap();
    let updated = s.update(&ka, vec![1], created).unwrap().mod_revision;
    let w = s.watch(&cm, created).unwrap();
    assert_eq!(next_event(&w), (EventType::Modified, ka.clone(), updated));
    let deleted = s.delete(&ka, None).unwrap().mod_revision;
    assert_eq!(next_event(&w), (EventType::Deleted, ka.clone(), deleted));
    let again = s.create(&ka, vec![2]).unwrap().mod_revision;
    assert_eq!(next_event(&w), (EventType::Added, ka.clone(), again));
    // Nothing else has changed, so the watcher has been brought up to the newest revision.
    s.notify_progress();
    assert_eq!(w.next(), Some(WatchMessage::Progress(again)));
    // A watch from the present sees only what comes after.
    let live = s.watch(&cm, s.current_revision()).unwrap();
    let kb = format!("{p}cm/b");
    let b = s.create(&kb, vec![]).unwrap().mod_revision;
    assert_eq!(next_event(&live), (EventType::Added, kb, b));
}

pub fn a_watch_from_a_compacted_revision_is_gone(s: &dyn Storage, p: &str) {
    let revs: Vec<Revision> = (0..4)
        .map(|i| s.create(&format!("{p}k{i}"), vec![]).unwrap().mod_revision)
        .collect();
    s.compact(revs[2]);
    assert!(matches!(
        s.watch(p, revs[1]),
        Err(StorageError::Compacted { requested, .. }) if requested == revs[1]
    ));
    let w = s.watch(p, revs[2]).unwrap();
    assert_eq!(
        next_event(&w),
        (EventType::Added, format!("{p}k3"), revs[3])
    );
}
