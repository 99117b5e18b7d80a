"""The side-by-side data set: the same users, watch relations and denied pairs for every arm.

Deterministic for a size and seed, so every arm and every run sees the same relations. Written
as one JSON document that the harness, the arms (to provision accounts, rosters and ACLs) and
the load generators read; its format is described in README.md.
"""

import argparse
import json
import random
import sys

SIZES = {"S": 2_000, "M": 10_000, "L": 50_000}
TEAM_SIZE = 20
HOT_SHARE = 0.01        # 1 % of users are hot presentities (reception, queue agents)
HOT_WATCHERS = 500      # each watched by 500 supervisors
HOTTEST_WATCHERS = 5_000  # one presentity watched by 5,000 (at most half the users): phase "hot"
CONSOLES = 2            # operator consoles watching everybody
DENIED_SHARE = 0.05     # 5 % of team and hot pairs are denied by the presentity's rules
STATES = ["available", "busy", "on-the-phone", "dnd", "away"]


def user_name(index, width):
    return f"u{index:0{width}d}"


def build(size, seed=1):
    """Returns the data set as a dict (see README.md for the fields)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    count = SIZES[size]
    rng = random.Random(seed)
    width = len(str(count - 1))
    users = [user_name(i, width) for i in range(count)]

    watches = {name: [] for name in users}
    for start in range(0, count, TEAM_SIZE):
        team = users[start:start + TEAM_SIZE]
        for watcher in team:
            # A team watches each other; nobody subscribes to themselves.
            watches[watcher].extend(member for member in team if member != watcher)

    hot = users[TEAM_SIZE // 2::int(1 / HOT_SHARE)]
    for presentity in hot:
        candidates = rng.sample(users, min(HOT_WATCHERS + TEAM_SIZE, count))
        added = 0
        for watcher in candidates:
            if added == HOT_WATCHERS:
                break
            if watcher == presentity or presentity in watches[watcher]:
                continue
            watches[watcher].append(presentity)
            added += 1

    # The hottest presentity is the first hot one; it gets more watchers on top of its 500.
    hottest = hot[0]
    extra = HOTTEST_WATCHERS - HOT_WATCHERS
    for watcher in rng.sample(users, min(count, 2 * HOTTEST_WATCHERS)):
        if extra == 0:
            break
        if watcher == hottest or hottest in watches[watcher]:
            continue
        watches[watcher].append(hottest)
        extra -= 1

    denied = []
    for watcher in users:
        for presentity in watches[watcher]:
            if rng.random() < DENIED_SHARE:
                denied.append([watcher, presentity])

    consoles = [f"console{i}" for i in range(CONSOLES)]
    for console in consoles:
        watches[console] = list(users)

    pairs = sum(len(v) for v in watches.values())
    return {
        "size": size,
        "seed": seed,
        "password": f"compare-{seed}",
        "team_size": TEAM_SIZE,
        "states": STATES,
        "users": users,
        "consoles": consoles,
        "hot": hot,
        "hottest": hottest,
        "watches": watches,
        "denied": denied,
        "pairs": pairs,
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="file to write the JSON data set to")
    args = parser.parse_args(argv)
    data = build(args.size, args.seed)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
    print(f"{args.size}: {len(data['users'])} users, {len(data['consoles'])} consoles, "
          f"{len(data['hot'])} hot, {data['pairs']} watch pairs, {len(data['denied'])} denied",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
