"""Named, ordered schema migrations. Never edit a shipped one: append a new one.

`PRAGMA user_version` holds how many have been applied.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE units (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            grp TEXT
        );
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            spec_hash TEXT NOT NULL,
            deadline TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            created_at TEXT NOT NULL
        );
        CREATE TABLE campaign_units (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            unit_code TEXT NOT NULL REFERENCES units(code),
            position INTEGER NOT NULL,
            invite_hash TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'not_started' CHECK (status IN
                ('not_started', 'in_progress', 'submitted', 'edited', 'returned')),
            submitted_at TEXT,
            updated_at TEXT,
            PRIMARY KEY (campaign_id, unit_code)
        );
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            user_id TEXT,
            name TEXT,
            unit_code TEXT REFERENCES units(code),
            reachable INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            UNIQUE (channel, chat_id)
        );
        CREATE INDEX contacts_unit ON contacts(unit_code);
        CREATE TABLE answers (
            campaign_id INTEGER NOT NULL,
            unit_code TEXT NOT NULL,
            question_id TEXT NOT NULL,
            value_json TEXT NOT NULL,
            raw TEXT,
            contact_id INTEGER REFERENCES contacts(id),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (campaign_id, unit_code, question_id),
            FOREIGN KEY (campaign_id, unit_code) REFERENCES campaign_units(campaign_id, unit_code)
        ) WITHOUT ROWID;
        CREATE TABLE answer_history (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL,
            unit_code TEXT NOT NULL,
            question_id TEXT NOT NULL,
            value_json TEXT,
            raw TEXT,
            contact_id INTEGER REFERENCES contacts(id),
            at TEXT NOT NULL,
            FOREIGN KEY (campaign_id, unit_code) REFERENCES campaign_units(campaign_id, unit_code)
        );
        -- Every answer write is kept in the history, whoever writes it.
        CREATE TRIGGER answers_inserted AFTER INSERT ON answers BEGIN
            INSERT INTO answer_history (campaign_id, unit_code, question_id, value_json, raw,
                contact_id, at) VALUES (NEW.campaign_id, NEW.unit_code, NEW.question_id,
                NEW.value_json, NEW.raw, NEW.contact_id, NEW.updated_at);
        END;
        CREATE TRIGGER answers_updated AFTER UPDATE ON answers BEGIN
            INSERT INTO answer_history (campaign_id, unit_code, question_id, value_json, raw,
                contact_id, at) VALUES (NEW.campaign_id, NEW.unit_code, NEW.question_id,
                NEW.value_json, NEW.raw, NEW.contact_id, NEW.updated_at);
        END;
        CREATE TABLE unit_events (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL,
            unit_code TEXT NOT NULL,
            status TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts(id),
            at TEXT NOT NULL,
            FOREIGN KEY (campaign_id, unit_code) REFERENCES campaign_units(campaign_id, unit_code)
        );
        CREATE TABLE sessions (
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            mode TEXT NOT NULL,
            cursor TEXT,
            return_mode TEXT,
            return_to TEXT,
            draft_json TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (contact_id, campaign_id)
        ) WITHOUT ROWID;
        CREATE TABLE processed_updates (
            channel TEXT NOT NULL,
            update_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (channel, update_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0002_reminders",
        """
        -- One row per reminder, written right before it leaves (after pacing): the key makes
        -- each (campaign, unit, contact, slot) go out at most once, whatever restarts.
        CREATE TABLE reminder_log (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            unit_code TEXT NOT NULL,
            contact_id INTEGER NOT NULL,
            slot TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (campaign_id, unit_code, contact_id, slot)
        ) WITHOUT ROWID;
        CREATE TABLE digest_log (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            chat_id TEXT NOT NULL,
            slot TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (campaign_id, chat_id, slot)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0003_outbox",
        """
        -- Every message the bot owes a person, written in the same transaction as the change
        -- that causes it; (cause, seq) makes the same cause unable to write it twice. The
        -- sender drains each chat in id order and marks rows sent (or failed).
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            cause TEXT NOT NULL,
            seq INTEGER NOT NULL,
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            body_json TEXT NOT NULL,
            secret INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (cause, seq)
        );
        CREATE INDEX outbox_pending ON outbox(channel, chat_id, id) WHERE status = 'pending';
        """,
    ),
    (
        "0004_inbox_links_usage",
        """
        -- What a channel received, stored before it is acted on (a webhook answers only after
        -- the row is committed; a poll that removes updates cannot lose one). Keyed by the
        -- platform's own id; processed_at is set once the hub handled it.
        CREATE TABLE inbox (
            channel TEXT NOT NULL,
            key TEXT NOT NULL,
            body_json TEXT NOT NULL,
            received_at TEXT NOT NULL,
            processed_at TEXT,
            PRIMARY KEY (channel, key)
        ) WITHOUT ROWID;
        CREATE INDEX inbox_pending ON inbox(channel, received_at) WHERE processed_at IS NULL;
        -- Download links /files/<token>: the token is kept only as its sha256.
        CREATE TABLE download_links (
            token_hash TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            filename TEXT NOT NULL,
            mime TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        ) WITHOUT ROWID;
        -- Messages a channel sent per calendar month ("2026-12", in REPORTBOT_TZ), for quotas.
        CREATE TABLE channel_usage (
            channel TEXT NOT NULL,
            month TEXT NOT NULL,
            messages INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (channel, month)
        ) WITHOUT ROWID;
        -- Small per-channel state: rotating tokens, a quota pause, the chain a token came from.
        CREATE TABLE channel_state (
            channel TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, key)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0005_reply_window",
        """
        -- When each person last wrote, per channel (the Zalo OA's reply window: 48 h free,
        -- 7 days charged, refused after). Written with the inbox row of their event.
        CREATE TABLE last_inbound (
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (channel, chat_id)
        ) WITHOUT ROWID;
        -- Why a contact cannot be reached: 'blocked' (for good, until they bind again) or
        -- 'window' (the OA may not write first; cleared when they write).
        ALTER TABLE contacts ADD COLUMN unreachable_reason TEXT;
        UPDATE contacts SET unreachable_reason = 'blocked' WHERE NOT reachable;
        """,
    ),
    (
        "0006_web_sessions",
        """
        -- The coordinators' web page (bot/web/auth.py). A sign-in link sent by /web: only the
        -- sha256 of its token is kept; it is spent once (used_at) and dies at expires_at.
        CREATE TABLE web_logins (
            token_hash TEXT PRIMARY KEY,
            owner TEXT NOT NULL,  -- the coordinator, as in REPORTBOT_ADMINS: telegram:<id>
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        ) WITHOUT ROWID;
        -- A signed-in browser: the sha256 of its cookie, whose coordinator, until when.
        CREATE TABLE web_sessions (
            token_hash TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT
        ) WITHOUT ROWID;
        CREATE INDEX web_sessions_owner ON web_sessions (owner);
        """,
    ),
    (
        "0007_notices",
        """
        -- What the coordinators are owed about submits and edits (bot/notices.py), batched:
        -- one row per submit or edit, written once (cause: the task row that recorded it); when
        -- the first pending one is due, every pending row is owed in one message and marked
        -- (sent_at) in the transaction that writes that message to the outbox.
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            cause TEXT NOT NULL UNIQUE,
            campaign_id INTEGER NOT NULL,
            unit_code TEXT NOT NULL,
            at TEXT NOT NULL,  -- when the unit submitted or edited
            changed TEXT NOT NULL DEFAULT '',  -- an edit's question ids, comma-separated
            due_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX notices_pending ON notices (due_at) WHERE sent_at IS NULL;
        """,
    ),
]
