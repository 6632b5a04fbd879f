"""Every interval and deadline of dltrack, in seconds, in one place.

Both ends of the wire reason about the same clocks: a viewer calls a training `lost` after
missing several heartbeats, a training's row turns `interrupted` long after that, and the
reconnect back-off must bring a training back before a viewer gives up on it. Keeping these
numbers side by side lets tests/test_timing.py check how they relate; a change that breaks a
relation fails there, not as a flaky viewer in the field.
"""

from __future__ import annotations

# -- the training's broker thread (training/broker_link.py) -------------------------------------

# At most ~10 progress messages a second per training.
PROGRESS_INTERVAL_S = 0.1
# Progress is paced by the batches' own end times: a message may go out an interval after the
# end of the batch last reported (pacing by send times let the sends drift behind the batches,
# median 55 ms instead of ~10 ms on loopback). A batch ending up to this slack early wakes the
# broker thread, which sends it when due instead of with the next batch.
PROGRESS_SLACK_S = 0.01
# While someone watches: a heartbeat this often (light; every tenth, and the one a viewer's
# hello asks for, carries the whole current state).
HEARTBEAT_INTERVAL_S = 1.0
# Nobody watching: under the 1 message / 30 s a free broker plan affords between epochs.
QUIET_HEARTBEAT_S = 40.0
# A command sent this long before the training started is a replay of an old one.
COMMAND_MAX_AGE_S = 30.0
# How often the broker thread checks that fit() is still on the training thread's stack.
LIVENESS_CHECK_S = 1.0
# At train_end, how long the broker thread may take to get train_end out.
BROKER_LINGER_S = 1.0

# -- presence (training/presence.py, viewing/presence.py) ---------------------------------------

# A viewer renews its hello this often…
HELLO_EVERY_S = 30.0
# …and a training counts as watched this long after the last one (one lost hello is no gap).
PRESENCE_TTL_S = 75.0
# However many hellos arrive, at most one full snapshot answers them per this many seconds.
SNAPSHOT_MIN_GAP_S = 0.5

# -- the training's store thread (training/store_writer.py) -------------------------------------

# How often the training's row records that it is alive, at most (each epoch's end records it
# too): Firestore bills every write, and liveness between comes from the broker's heartbeats.
LAST_SEEN_INTERVAL_S = 60.0
# A row still `running` but silent this long belonged to a process that died: the next
# training or viewer records it `interrupted`.
INTERRUPTED_AFTER_S = 300.0

# -- reconnecting (backends/reconnect.py) ---------------------------------------------------------

# After a final error (credentials refused, no such vhost or host) retrying at the usual pace
# only floods the server's log with refusals: the URL cannot change under a running process,
# but the server side can (a user or vhost created late), so such errors are retried this
# slowly instead of never.
FINAL_RETRY_S = 60.0
# ... once this many final errors came in a row (a server going down or up can look final once).
FINAL_AFTER_FAILURES = 2
# The broker links (training and viewers) retry at least this often: live updates are worth
# something only while live, so once the broker is back a training reappears within seconds,
# before viewers call it lost. The store keeps the default cap: its records wait in the spool.
LIVE_RECONNECT_CAP_S = 5.0
STORE_RECONNECT_CAP_S = 15.0
FIRST_RETRY_S = 0.5

# -- viewers (viewing/state.py, viewing/watcher.py) ---------------------------------------------

# No live message for this long while `running`: the viewer says it lost contact.
LOST_AFTER_S = 6.0
# A store row whose last_seen is younger than this counts as alive for a viewer without live
# updates (the broker is away, or only the store is shared).
STORE_FRESH_S = 150.0
# How often a viewer re-reads the store.
REFRESH_S = 5.0
# How long a viewer's live thread waits for an update before it looks at its outbox.
VIEWER_POLL_S = 0.05
# How long a Watcher waits for its first connection before it reports the error.
FIRST_CONNECT_TIMEOUT_S = 20.0
# Closing a Watcher waits this long for each of its threads (one may be inside a slow call).
WATCHER_CLOSE_JOIN_S = 5.0
# Listener calls a second, on average: a little above one training's output (~10 progress
# messages a second plus its epoch events), so updates never queue behind the limit.
LISTENER_RATE = 12.0

# -- the embedded broker (backends/local_broker.py) ---------------------------------------------

# Messages older than this are deleted from the SQLite file, checked this often.
LOCAL_RETENTION_S = 300.0
LOCAL_PRUNE_EVERY_S = 30.0
# A command listener (a running training) counts as present while it renewed its row this
# recently; it renews every LOCAL_LISTENER_REFRESH_S.
LOCAL_LISTENER_FRESH_S = 5.0
LOCAL_LISTENER_REFRESH_S = 1.0
# How often a reader looks for new rows when nothing woke it.
LOCAL_POLL_INTERVAL_S = 0.02
# A training reads its commands less often (it has a batch loop to leave the CPU to); a
# command sent from the same process wakes it at once.
LOCAL_COMMAND_POLL_INTERVAL_S = 0.1
# A SQLite file (the embedded store and broker, the spool) locked by another process is waited
# for this long before the call fails: trainings and viewers on one machine share the files.
SQLITE_BUSY_TIMEOUT_S = 15.0

# -- Firestore (backends/firestore_store.py) ----------------------------------------------------

# One call's timeout, and the deadline of its retries: a store that is down costs a training's
# store thread at most this long per try, never the training thread.
FIRESTORE_CALL_TIMEOUT_S = 5.0
FIRESTORE_RETRY_DEADLINE_S = 6.0
