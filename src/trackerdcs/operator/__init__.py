"""The operator client: send a command and await its reply, take a snapshot, follow live.

The CLI uses it, and so will the web console; it holds no state between calls.
"""
