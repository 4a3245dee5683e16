"""Deterministic random streams built only on `random.Random.random()`.

Each part of the generator draws from its own stream, keyed by the seed and a label (for example
the developer's login), so adding a knob or a developer does not reshuffle everything else, and the
draws do not depend on numpy's or CPython's distribution algorithms changing between versions.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Sequence, TypeVar

T = TypeVar("T")


class Stream:
    def __init__(self, seed: int, *labels: object):
        key = "\x1f".join([str(seed), *map(str, labels)]).encode()
        self._random = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return low + (high - low) * self._random.random()

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability

    def integer(self, low: int, high: int) -> int:
        """Uniform integer in [low, high]."""
        return low + min(int(self._random.random() * (high - low + 1)), high - low)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        target = self._random.random() * sum(weights)
        for item, weight in zip(items, weights):
            target -= weight
            if target < 0:
                return item
        return items[-1]

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        pool = list(items)
        picked = []
        for _ in range(min(k, len(pool))):
            picked.append(pool.pop(self.integer(0, len(pool) - 1)))
        return picked

    def normal(self, mean: float = 0.0, sigma: float = 1.0) -> float:
        # Box-Muller on two fresh uniforms; 1 - u keeps log away from zero.
        u1, u2 = 1.0 - self._random.random(), self._random.random()
        return mean + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.normal(0.0, sigma))

    def poisson(self, rate: float) -> int:
        # Knuth's method: fine for the small rates used here.
        limit, count, product = math.exp(-rate), 0, self._random.random()
        while product > limit:
            count += 1
            product *= self._random.random()
        return count


def stable_sha(*parts: object) -> str:
    """A deterministic 40-hex id (looks like a git sha) for anything the sandbox names."""
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()
