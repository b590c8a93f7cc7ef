"""Play Zalo contacts by hand against the fake Zalo Bot API (no Zalo account, no internet).

    python -m tests.zalo_console --port 8090

It prints the two settings to give `reportbot run` (ZALO_BOT_TOKEN, ZALO_BOT_API_BASE_URL), then
reads one message per line as a Zalo contact and prints what the bot sends back. A line
`@<user id> text` speaks as another person (e.g. a coordinator named `zalo:<user id>` in
REPORTBOT_ADMINS); `@<user id>` alone switches to them. Ctrl-D ends it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from tests.fakezalobot import FakeZaloBot


def show_replies(fake: FakeZaloBot, stop: threading.Event) -> None:
    """Print every message the bot sends, as it arrives."""
    shown = 0
    while not stop.is_set():
        sent = fake.sent_messages()
        for message in sent[shown:]:
            print(f"\n[bot → {message.chat_id}]\n{message.text}\n", flush=True)
        shown = len(sent)
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    """Run the fake until standard input ends."""
    parser = argparse.ArgumentParser(prog="python -m tests.zalo_console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--as", dest="user", default="a1b2c3d4e5f6a7b8c9d0",
                        help="the Zalo user id you type as (default: a1b2c3d4e5f6a7b8c9d0)")
    args = parser.parse_args(argv)
    fake = FakeZaloBot(max_poll_wait=25).start(args.port)
    print(f"ZALO_BOT_TOKEN={fake.token}\nZALO_BOT_API_BASE_URL={fake.base_url}\n"
          f"Typing as Zalo user {args.user}; '@<id> text' speaks as another user.", flush=True)
    stop = threading.Event()
    threading.Thread(target=show_replies, args=(fake, stop), daemon=True).start()
    user = args.user
    try:
        for line in sys.stdin:
            text = line.strip()
            if text.startswith("@"):
                head, _, text = text.partition(" ")
                user = head[1:] or user
            if text:
                fake.send_text(user, text, display_name=f"Người thử {user[:4]}")
    except KeyboardInterrupt:
        pass
    time.sleep(1)  # the last replies
    stop.set()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
