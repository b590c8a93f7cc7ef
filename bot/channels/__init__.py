"""Chat channels: each turns a platform's events into Incoming and Outgoing into platform calls.

`base` (the seam), `console` (the terminal), `telegram` (+ `webhook`), `zalo_bot` (Zalo Bot
Platform; its client in `zalo_bot_client`, its sending in `zalo_bot_transport`, its updates
and webhook in `zalo_bot_updates`).
"""
