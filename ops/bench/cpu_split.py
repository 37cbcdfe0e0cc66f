#!/usr/bin/env python3
"""CPU split of a `fieldwork-worker bench burn` drain between the worker and Postgres.

Runs the bench command given after `--`, samples the CPU time of the bench process and of the
PostgreSQL cluster (the postmaster, its live children, and the reaped children it accounts as
cutime/cstime) every 100 ms, and reports for the drain phase — from the bench's `insert` line
to its `drain` line — the CPU seconds each side used and the jobs per CPU-second of each.
The postmaster must run on this machine and be readable in /proc.

  python3 ops/bench/cpu_split.py --postmaster-pid $(head -1 $PGDATA/postmaster.pid) -- \
      $CARGO_TARGET_DIR/release/fieldwork-worker bench burn --jobs 300000
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    """(ppid, utime+stime, cutime+cstime) in ticks, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def postgres_ticks(postmaster):
    own = stat(postmaster)
    if own is None:
        sys.exit(f"no process {postmaster}")
    total = own[1] + own[2]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = stat(int(entry))
            if s and s[0] == postmaster:
                total += s[1]
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postmaster-pid", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    bench = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    samples = []  # (time, bench ticks, postgres ticks)
    done = threading.Event()

    def sample():
        while not done.is_set():
            s = stat(bench.pid)
            if s:
                samples.append((time.monotonic(), s[1], postgres_ticks(args.postmaster_pid)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    marks = {}
    jobs = None
    for line in bench.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("insert "):
            marks["start"] = time.monotonic()
        elif line.startswith("drain "):
            marks["end"] = time.monotonic()
            jobs = int(re.match(r"drain (\d+)", line).group(1))
            rate = float(re.search(r"= (\d+) jobs/s", line).group(1))
    bench.wait()
    done.set()
    sampler.join()
    if "start" not in marks or "end" not in marks:
        sys.exit("the bench printed no insert/drain lines")

    def at(t):
        before = [s for s in samples if s[0] <= t]
        return before[-1] if before else samples[0]

    a, b = at(marks["start"]), at(marks["end"])
    worker_s = (b[1] - a[1]) / TICK
    pg_s = (b[2] - a[2]) / TICK
    print(
        f"drain of {jobs} jobs at {rate:.0f} jobs/s: worker {worker_s:.2f} CPU-s, "
        f"postgres {pg_s:.2f} CPU-s -> {jobs / max(worker_s, 1e-9):.0f} jobs per worker CPU-second, "
        f"{jobs / max(pg_s, 1e-9):.0f} jobs per Postgres CPU-second"
    )


if __name__ == "__main__":
    main()
