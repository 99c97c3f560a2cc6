"""The one place KINSAVE_REDIS_URL becomes a client: `redis://host:port/db` is one Redis,
`redis+cluster://host:port` (any node) a Redis Cluster, reached with redis-py's `RedisCluster`.

Whoever keeps several keys of one thing together (the gates, the rate limits) puts them under
one hash tag (`{...}` in the key), so that a script or a transaction over them runs on one node.
"""

from typing import Any

import redis
from redis.cluster import RedisCluster

CLUSTER_SCHEME = "redis+cluster://"
# What a failing Redis raises: redis-py's cluster errors are not RedisErrors.
REDIS_ERRORS: tuple[type[Exception], ...] = (
    redis.RedisError,
    redis.exceptions.RedisClusterException,
)


def is_cluster(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def redis_client(url: str, *, timeout: float, connect_timeout: float) -> Any:
    """A client for `url` with these socket timeouts (seconds): short, so that a dead Redis
    costs a request milliseconds, not seconds."""
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": connect_timeout}
    if is_cluster(url):
        return RedisCluster.from_url("redis://" + url.removeprefix(CLUSTER_SCHEME), **options)
    return redis.Redis.from_url(url, **options)
