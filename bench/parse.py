"""Parser timing: how long ``kiosk.payloads.parse`` takes on real, mutated and random payloads.

Run: ``.venv/bin/python bench/parse.py [--n 20000] [--seed 1]``. Prints a small table and ends with one JSON
line. The property tests check that every input gives a Credential or a PayloadError; this measures speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
from datetime import UTC, datetime

from kiosk.demo import DemoSigner, demo_cases
from kiosk.errors import PayloadError
from kiosk.payloads import parse


def corpus(n: int, rng: random.Random, seeds: list[bytes]) -> dict[str, list[bytes]]:
    mutated = []
    for _ in range(n):
        seed = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            pos = rng.randrange(len(seed) + 1)
            if op < 0.4 and seed:
                seed[min(pos, len(seed) - 1)] = rng.randrange(256)
            elif op < 0.7:
                seed[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            else:
                del seed[pos : pos + rng.randint(1, 20)]
        mutated.append(bytes(seed))
    random_bytes = [rng.randbytes(rng.randint(0, 4096)) for _ in range(n)]
    return {"real": seeds, "mutated": mutated, "random": random_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    signer = DemoSigner.create(now)
    trust = signer.trust_list()
    seeds = [case.payload for case in demo_cases(signer, now)]
    for payload in seeds:  # warm-up: the DCC stack is imported on first use
        with contextlib.suppress(PayloadError):
            parse(payload, now=now, trust=trust)
    figures: dict[str, dict[str, float]] = {}
    for name, payloads in corpus(args.n, rng, seeds).items():
        times = []
        for payload in payloads * (200 if name == "real" else 1):
            start = time.perf_counter()
            with contextlib.suppress(PayloadError):
                parse(payload, now=now, trust=trust)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        figures[name] = {
            "n": len(times),
            "median_ms": round(statistics.median(times), 4),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 4),
            "max_ms": round(times[-1], 4),
        }
        print(
            f"{name:<8} n={len(times):>6}  median {figures[name]['median_ms']:.4f} ms  "
            f"p99 {figures[name]['p99_ms']:.4f} ms  max {figures[name]['max_ms']:.4f} ms"
        )
    print(json.dumps({"bench": "parse", "seed": args.seed, **figures}))


if __name__ == "__main__":
    main()
