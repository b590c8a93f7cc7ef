"""Chat channels: each turns a platform's events into Incoming and Outgoing into platform calls."""
