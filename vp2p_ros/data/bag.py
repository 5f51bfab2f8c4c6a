"""Read rosbag2 folders (.mcap or .db3) without ROS, through ``rosbags``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vp2p_ros.errors import DatasetError

__all__ = ["BagMessage", "bag_topics", "read_bag", "topic_counts"]


class BagMessage(tuple):
    """(topic, msgtype, stamp_ns, raw CDR bytes)."""

    __slots__ = ()

    topic = property(lambda self: self[0])
    msgtype = property(lambda self: self[1])
    stamp_ns = property(lambda self: self[2])
    raw = property(lambda self: self[3])


def read_bag(path: str | Path, topics: list[str] | None = None) -> Iterator[BagMessage]:
    """Messages of a bag in recording order (raw CDR, no deserialisation).

    Raises:
        DatasetError: missing, unreadable or corrupt bag, or a requested topic it lacks.
    """
    from rosbags.rosbag2 import Reader

    path = Path(path)
    if not path.exists():
        raise DatasetError(f"bag {path} does not exist")
    try:
        with Reader(path) as reader:
            conns = [c for c in reader.connections if topics is None or c.topic in topics]
            missing = sorted(set(topics or []) - {c.topic for c in conns})
            if missing:
                have = sorted({c.topic for c in reader.connections})
                raise DatasetError(f"bag {path} has no topic(s) {missing}; it has {have}")
            for conn, stamp, raw in reader.messages(connections=conns):
                yield BagMessage((conn.topic, conn.msgtype, int(stamp), bytes(raw)))
    except DatasetError:
        raise
    except Exception as e:  # rosbags raises its own errors for corrupt metadata / storage
        raise DatasetError(f"cannot read bag {path}: {type(e).__name__}: {e}") from e


def _connections(path: str | Path) -> list:
    """The bag's connections (topic, msgtype, msgcount) from its metadata.

    Raises:
        DatasetError: missing or unreadable bag.
    """
    from rosbags.rosbag2 import Reader

    path = Path(path)
    if not path.exists():
        raise DatasetError(f"bag {path} does not exist")
    try:
        with Reader(path) as reader:
            return list(reader.connections)
    except Exception as e:
        raise DatasetError(f"cannot read bag {path}: {type(e).__name__}: {e}") from e


def bag_topics(path: str | Path) -> dict[str, str]:
    """topic -> msgtype of a bag (DatasetError: missing or unreadable bag)."""
    return {c.topic: c.msgtype for c in _connections(path)}


def topic_counts(path: str | Path) -> dict[str, int]:
    """topic -> number of messages, from the metadata (DatasetError: missing or unreadable)."""
    counts: dict[str, int] = {}
    for c in _connections(path):
        counts[c.topic] = counts.get(c.topic, 0) + c.msgcount
    return counts
