"""The one error a stand file can raise: its message names the file, the key and the problem."""


class StandError(Exception):
    """A stand file that cannot be used; the message says where and why."""
