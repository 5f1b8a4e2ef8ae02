"""How evenly shards split accounts, how many move on a resize, and what an assignment costs.

A sharded controller is only as fast as its busiest replica, so the spread of accounts across
shards matters; a resize costs a cold start (a full listing) for every account that moves, so the
share that moves matters too. Compared with a plain ``hash % N``, which moves almost every account.

    python bench/sharding.py [--accounts 100000] [--shards 2,4,8,16,32]
"""

from __future__ import annotations

import argparse
import statistics
import time

from reconciler.controller.sharding import account_hash, partition, shard_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--shards", default="2,4,8,16,32")
    options = parser.parse_args()
    keys = [f"user{n:07d}@example.com" for n in range(options.accounts)]

    started = time.perf_counter()
    for key in keys:
        shard_of(key, 16)
    elapsed = time.perf_counter() - started
    print(f"{len(keys)} assignments to 16 shards: {elapsed:.3f}s ({len(keys) / elapsed:,.0f}/s)")

    print(
        f"{'shards':>6} {'min':>7} {'max':>7} {'stdev%':>7} {'max/mean':>8} "
        f"{'moved N->N+1':>13} {'ideal':>6} {'mod moved':>10}"
    )
    for count in (int(n) for n in options.shards.split(",")):
        sizes = [len(part) for part in partition(keys, count).values()]
        mean = len(keys) / count
        before = [shard_of(k, count) for k in keys]
        after = [shard_of(k, count + 1) for k in keys]
        moved = sum(b != a for b, a in zip(before, after, strict=True)) / len(keys)
        hashes = [account_hash(k) for k in keys]
        modulo = sum(h % count != h % (count + 1) for h in hashes) / len(keys)
        print(
            f"{count:>6} {min(sizes):>7} {max(sizes):>7} "
            f"{100 * statistics.pstdev(sizes) / mean:>6.2f}% {max(sizes) / mean:>8.3f} "
            f"{100 * moved:>12.1f}% {100 / (count + 1):>5.1f}% {100 * modulo:>9.1f}%"
        )


if __name__ == "__main__":
    main()
