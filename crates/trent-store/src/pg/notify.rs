//! Change notifications between the instances that share one database.
//!
//! Every write transaction announces what it changed with `pg_notify` on [`CHANNEL`]; PostgreSQL
//! delivers the notification to every listening connection when (and only if) the transaction
//! commits. Each instance listens on a connection of its own, on a thread of its own, and hands
//! the changes other instances made to its subscribers (the caches, the service's directory of
//! identities), which forget what they hold of the data that changed.
//!
//! Notifications are not queued for a connection that is down: when the listening connection
//! breaks, and at every attempt while it stays broken (each [`RETRY`]), subscribers are told
//! [`Change::Everything`], so that nothing cached outlives the outage by more than that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, Transaction};
use serde::{Deserialize, Serialize};

use super::tls::Connector;
use crate::changes::{Change, ChangeListener};
use crate::{Result, StoreError};

/// The channel every instance listens on.
pub const CHANNEL: &str = "trent_changes";

/// How often the listening thread looks up from waiting (to notice that its store was dropped
/// or its connection closed), and how long it waits between attempts to reconnect.
const RETRY: Duration = Duration::from_millis(500);

/// PostgreSQL refuses payloads of 8000 bytes or more; a longer list of changes is sent as
/// [`Change::Everything`].
const MAX_PAYLOAD: usize = 7000;

#[derive(Serialize, Deserialize)]
struct Message {
    /// The instance that made the changes (it does not need to be told).
    origin: String,
    changes: Vec<Change>,
}

struct Subscribers {
    listeners: Mutex<Vec<ChangeListener>>,
    stopped: AtomicBool,
}

impl Subscribers {
    fn tell(&self, change: &Change) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        for listener in listeners {
            listener(change);
        }
    }
}

/// This instance's side of the notifications: its identity, its subscribers, and the thread
/// that listens (which ends soon after this is dropped).
pub(super) struct Notifications {
    origin: String,
    subscribers: Arc<Subscribers>,
}

/// The `application_name` of the listening connections (`pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "trent-listen";

fn listen(config: &Config, tls: &Connector) -> std::result::Result<Client, postgres::Error> {
    let mut config = config.clone();
    config.application_name(LISTENER_APPLICATION_NAME);
    let mut client = config.connect(tls.clone())?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

impl Notifications {
    /// Starts listening (the first connection is made before this returns, so that no change
    /// committed after it is missed).
    pub(super) fn start(config: Config, tls: Connector) -> Result<Notifications> {
        let origin = uuid::Uuid::new_v4().to_string();
        let subscribers = Arc::new(Subscribers {
            listeners: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        });
        let client = listen(&config, &tls)?;
        let weak = Arc::downgrade(&subscribers);
        let me = origin.clone();
        std::thread::Builder::new()
            .name("trent-pg-listen".into())
            .spawn(move || run(config, tls, Some(client), &me, weak))?;
        Ok(Notifications {
            origin,
            subscribers,
        })
    }

    pub(super) fn subscribe(&self, listener: ChangeListener) {
        self.subscribers
            .listeners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(listener);
    }

    /// Announces `changes` in `tx` (delivered to the other instances if `tx` commits).
    pub(super) fn announce(&self, tx: &mut Transaction<'_>, changes: &[Change]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut message = Message {
            origin: self.origin.clone(),
            changes: changes.to_vec(),
        };
        let mut payload = to_json(&message)?;
        if payload.len() > MAX_PAYLOAD {
            message.changes = vec![Change::Everything];
            payload = to_json(&message)?;
        }
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
        Ok(())
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.subscribers.stopped.store(true, Ordering::Relaxed);
    }
}

fn to_json(message: &Message) -> Result<String> {
    serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The listening thread: hands every change of another instance to the subscribers; tells them
/// [`Change::Everything`] while it is not connected. Ends when the store is dropped.
fn run(
    config: Config,
    tls: Connector,
    mut client: Option<Client>,
    me: &str,
    subscribers: Weak<Subscribers>,
) {
    loop {
        let Some(subs) = subscribers.upgrade() else {
            return;
        };
        if subs.stopped.load(Ordering::Relaxed) {
            return;
        }
        match client.as_mut() {
            Some(c) => {
                let next = c.notifications().timeout_iter(RETRY).next();
                match next {
                    Ok(Some(note)) => dispatch(&subs, me, note.payload()),
                    Ok(None) if c.is_closed() => {
                        tracing::warn!("the connection listening for changes was closed");
                        client = None;
                        subs.tell(&Change::Everything);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the connection listening for changes broke");
                        client = None;
                        subs.tell(&Change::Everything);
                    }
                }
            }
            None => {
                drop(subs);
                std::thread::sleep(RETRY);
                let Some(subs) = subscribers.upgrade() else {
                    return;
                };
                match listen(&config, &tls) {
                    Ok(c) => {
                        tracing::info!("listening for changes again");
                        client = Some(c);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for changes yet");
                    }
                }
                // Whatever happened while not listening is unknown.
                subs.tell(&Change::Everything);
            }
        }
    }
}

fn dispatch(subscribers: &Subscribers, me: &str, payload: &str) {
    match serde_json::from_str::<Message>(payload) {
        Ok(message) if message.origin == me => {}
        Ok(message) => {
            for change in &message.changes {
                subscribers.tell(change);
            }
        }
        Err(e) => {
            // Another version of Trent, or another program on the channel: forget everything
            // rather than miss a change.
            tracing::warn!(error = %e, "a change notification could not be read");
            subscribers.tell(&Change::Everything);
        }
    }
}
