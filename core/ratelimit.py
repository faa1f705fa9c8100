"""Rate limits shared by every process: token buckets in Redis, taken atomically by a Lua script.

Celery's own `rate_limit` is per worker; limits owed to Vendista or Telegram must hold across all
workers, so they live here. Several buckets can be taken at once (for example "this chat, 1/s"
and "this bot, 30/s"): either a token is taken from every bucket or from none, and the caller
learns how long to wait.

    limiter = RateLimiter()
    limiter.acquire([Bucket("vendista:token:42", rate=1.0), Bucket("vendista:all", rate=5.0)])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from core.redis import get_redis

# KEYS: bucket keys. ARGV: per bucket (rate per second, burst), then the cost, then 1 to take
# it or 0 only to look. Each bucket is a hash {tokens, ts}; time comes from the Redis server, so
# every process agrees. Answers the seconds until every bucket yields `cost` ('0': taken, or
# could be now).
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local cost = tonumber(ARGV[#ARGV - 1])
local take = ARGV[#ARGV] == '1'
local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil then tokens = burst; ts = now end
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if tokens < cost then
    wait = math.max(wait, (cost - tokens) / rate)
  end
end
if wait > 0 or not take then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', levels[i] - cost, 'ts', now)
  redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
end
return '0'
"""


class RateLimitTimeout(Exception):
    """The buckets did not free a token within the caller's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited; next token in {wait:.2f} s")
        self.wait = wait


@dataclass(frozen=True)
class Bucket:
    """`rate` tokens per second, at most `burst` saved up (default: one, so no bursts)."""

    key: str
    rate: float
    burst: float = 1.0


class RateLimiter:
    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        prefix: str = "vk:rl:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._sleep = sleep
        self._script: redis.commands.core.Script | None = None

    @property
    def client(self) -> redis.Redis:
        return self._client if self._client is not None else get_redis()

    def try_acquire(self, buckets: Sequence[Bucket], cost: float = 1.0) -> float:
        """Take `cost` from every bucket or from none; 0 on success, else the seconds to wait."""
        return self._call(buckets, cost, take=True)

    def wait_for(self, buckets: Sequence[Bucket], cost: float = 1.0) -> float:
        """The seconds until `cost` could be taken from every bucket (0: now); takes nothing."""
        return self._call(buckets, cost, take=False)

    def _call(self, buckets: Sequence[Bucket], cost: float, *, take: bool) -> float:
        if self._script is None:
            self._script = self.client.register_script(_TAKE)
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.rate, max(bucket.burst, cost)]
        keys = [self._prefix + b.key for b in buckets]
        result = self._script(keys=keys, args=[*args, cost, 1 if take else 0])
        return float(result.decode() if isinstance(result, bytes) else result)

    def acquire(
        self, buckets: Sequence[Bucket], cost: float = 1.0, *, timeout: float | None = None
    ) -> float:
        """Wait until every bucket yields a token; returns the seconds spent waiting.

        Raises `RateLimitTimeout` when the wait would exceed `timeout`.
        """
        waited = 0.0
        while True:
            wait = self.try_acquire(buckets, cost)
            if wait <= 0:
                return waited
            if timeout is not None and waited + wait > timeout:
                raise RateLimitTimeout(wait)
            self._sleep(wait)
            waited += wait

    def reset(self, buckets: Sequence[Bucket]) -> None:
        self.client.delete(*[self._prefix + b.key for b in buckets])
