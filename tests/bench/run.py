"""``make bench``: the figures of issue 6 on this machine, printed and written to
``var/bench/results.json``. ``--quick`` runs tiny sizes (a smoke test, not figures)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.bench import (
    fleet,
    footprint,
    httpbench,
    inproc,
    retentionbench,
    speechbench,
    syncbench,
)
from tests.bench.figures import Figure, latency, markdown, table, value
from tests.bench.layout import PROBE_SAMPLE_S, PROBES, example_with_probes, service_core
from tests.broker import Broker
from tests.helpers import ROOT

FULL = {
    "p2r": 300,
    "c1": 1000,
    "c20": 4000,
    "sync": 10_000,
    "resyncs": 3,
    "starts": 5,
    "idle": 60,
    "phrases": 24,
    "swept": 100_000,
    "sweep_pickups": 300,
    "fleet": 1000,
}
QUICK = {
    "p2r": 24,  # two rounds on the six wired doors a half
    "c1": 40,
    "c20": 100,
    "sync": 200,
    "resyncs": 1,
    "starts": 1,
    "idle": 2,
    "phrases": 2,
    "swept": 2_000,
    "sweep_pickups": 12,
    "fleet": 20,
}
FLEET_BURST = 20  # events each locker publishes at once (an outbox draining)
TARGETS = {  # issue 6, with decision 23 for HTTP and start-up
    "pickup_to_relay_ms": 5.0,
    "http_pickup_ms_c1": 2.0,
    "http_pickup_ms_c20": 30.0,
    "http_pickups_per_s_c20": 1000.0,
    "ingest_msgs_per_s": 2000.0,
    "drain_events_per_s": 2000.0,
    "resync_10k_s": 2.0,
    "startup_s": 0.9,
    "idle_added_rss_mb": 10.0,
    "idle_rss_mb": 70.0,
}


def _copy_seed(seed: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for item in seed.iterdir():
        if item.is_file():
            shutil.copy(item, into / item.name)
    return into


def _inproc(
    work: Path, count: int, pin: bool, probes: int = 0, speech: bool = False
) -> list[float]:
    """pickup -> relay in a process of its own (pinned to one core when ``pin``), with
    ``probes`` chilled zones sampled meanwhile, or each pickup's phrase synthesised."""
    work.mkdir(parents=True, exist_ok=True)
    prefix = service_core(pin)
    command = ["-m", "tests.bench.run", "--inproc", str(count), str(work), str(probes)]
    command.append("1" if speech else "0")
    out = subprocess.run(
        [*prefix, sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    samples: list[float] = json.loads(out.stdout.splitlines()[-1])
    return samples


def variant(work: Path, sizes: dict[str, int], suffix: str, seeds: dict[str, Path]) -> list[Figure]:
    """Every figure but the idle ones, on two cores (``suffix`` "") or pinned to one."""
    pin = bool(suffix)

    def target(name: str) -> float | None:
        return None if pin else TARGETS.get(name)  # the targets are for this 2-core machine

    def name(base: str) -> str:
        return base + suffix

    # NOTE: without and with probes, and with speech, back to back, twice, in
    # alternation: the same machine state for the three figures (issues 14 and 15).
    plain: list[float] = []
    probed: list[float] = []
    spoken: list[float] = []
    half_n = sizes["p2r"] // 2
    for half in (0, 1):
        plain += _inproc(work / f"inproc{suffix}-{half}", half_n, pin)
        probed += _inproc(work / f"inproc{suffix}-p{half}", half_n, pin, PROBES)
        spoken += _inproc(work / f"inproc{suffix}-s{half}", half_n, pin, speech=True)
    figs = [
        latency(name("pickup_to_relay_ms"), "ms", plain, target("pickup_to_relay_ms")),
        latency(
            name("pickup_to_relay_ms_4probes"),
            "ms",
            probed,
            target("pickup_to_relay_ms"),
            note=f"{PROBES} chilled zones read every {PROBE_SAMPLE_S} s meanwhile",
        ),
        latency(
            name("pickup_to_relay_ms_speech"),
            "ms",
            spoken,
            target("pickup_to_relay_ms"),
            note="each pickup's phrase synthesised anew (espeak-ng) while the next go on",
        ),
    ]
    if not pin:
        first, cached = speechbench.first_and_cached(work / "speech", sizes["phrases"])
        figs += [
            latency(
                "speech_first_phrase_ms", "ms", first, None, note="GET /kiosk/speech.wav, made"
            ),
            latency("speech_cached_ms", "ms", cached, None, note="the same phrase again, cached"),
        ]
    http_dir = _copy_seed(seeds["http"], work / f"http{suffix}")
    res = httpbench.run(http_dir, seeds["http_layout"], {1: sizes["c1"], 20: sizes["c20"]}, pin)
    for clients in (1, 20):
        got = res[f"c{clients}"]
        assert isinstance(got, dict)
        figs.append(
            latency(
                name(f"http_pickup_ms_c{clients}"),
                "ms",
                got["latencies_ms"],
                target(f"http_pickup_ms_c{clients}"),
            )
        )
    c20 = res["c20"]
    assert isinstance(c20, dict)
    figs.append(
        value(
            name("http_pickups_per_s_c20"),
            "pickups/s",
            sizes["c20"],
            sizes["c20"] / c20["elapsed_s"],
            target("http_pickups_per_s_c20"),
            higher_is_better=True,
        )
    )
    per_pickup = res["bytes_per_pickup"]
    assert isinstance(per_pickup, float)
    figs.append(
        value(
            name("disk_bytes_per_1k_ops"),
            "bytes",
            sizes["c1"] + sizes["c20"],
            per_pickup * 1000,
            note="written to the block device per 1,000 HTTP pickups (WAL, checkpoints)",
        )
    )
    rate = syncbench.ingest(work / f"ingest{suffix}", sizes["sync"], pin)
    figs.append(
        value(
            name("ingest_msgs_per_s"),
            "msg/s",
            sizes["sync"],
            rate,
            target("ingest_msgs_per_s"),
            higher_is_better=True,
        )
    )
    drained, resyncs, size = syncbench.drain_and_resync(
        seeds["sync"],
        work / f"drain{suffix}",
        seeds["sync_layout"],
        sizes["sync"],
        pin,
        sizes["resyncs"],
    )
    figs.append(
        value(
            name("drain_events_per_s"),
            "events/s",
            sizes["sync"],
            drained,
            target("drain_events_per_s"),
            higher_is_better=True,
        )
    )
    figs.append(
        value(
            name("resync_10k_s"),
            "s",
            len(resyncs),
            statistics.median(resyncs),
            target("resync_10k_s"),
            note=f"snapshot of {sizes['sync']} live reservations: {size:,} bytes",
        )
    )
    figs.append(value(name("resync_10k_bytes"), "bytes", 1, size))
    starts = footprint.startups(work / f"startup{suffix}", sizes["starts"], pin)
    figs.append(
        value(
            name("startup_s"),
            "s",
            len(starts),
            statistics.median(starts),
            target("startup_s"),
            note="process start to 200 on /healthz, demo layout; median",
        )
    )
    return figs


def retention_figures(work: Path, count: int, pickups: int) -> list[Figure]:
    """The retention sweep of ``count`` final reservations past their days (issue 19),
    and pickup -> relay on that database left alone, then while it is swept."""
    seeded = work / "retention-seed"
    seeded.mkdir()
    retentionbench.seed(seeded, count)
    idle = retentionbench.run(seeded, work / "retention-idle", pickups, sweeping=False)
    swept = retentionbench.run(seeded, work / "retention-sweep", pickups, sweeping=True)
    assert swept.erased == count, swept.erased
    what = f"{count:,} final reservations ended 31 days to 3 years ago, 5 events each"
    return [
        value("retention_sweep_s", "s", count, swept.sweep_s, note=f"{what}; runs back to back"),
        value(
            "retention_erasures_per_s",
            "erasures/s",
            count,
            count / swept.sweep_s,
            higher_is_better=True,
            note=f"with {swept.events_deleted:,} events over a year old deleted",
        ),
        latency("pickup_to_relay_ms_retained", "ms", idle.latencies_ms, None, note=what),
        latency(
            "pickup_to_relay_ms_sweeping",
            "ms",
            swept.latencies_ms,
            None,
            note="the same database while the sweep runs",
        ),
    ]


def fleet_figures(work: Path, count: int) -> list[Figure]:
    """``count`` lockers on one Mosquitto (issue 20, docs/fleet.md)."""
    r = fleet.run(work / "fleet", count, FLEET_BURST)
    assert r.lost == 0 and r.lost_after == 0, fleet.summary(r)
    who = f"{count:,} lockers, TLS, own users, the shipped ACL; 2 server instances, shared"
    return [
        value(
            "fleet_events_per_s",
            "events/s",
            r.events,
            r.events / r.burst_s,
            higher_is_better=True,
            note=f"{who}: {FLEET_BURST} events each at once, QoS 1, all received",
        ),
        latency("fleet_burst_delay_ms", "ms", r.delays_ms, None, note="publish -> a consumer"),
        latency(
            "fleet_paced_delay_ms",
            "ms",
            r.paced_ms,
            None,
            note=f"{r.paced_rate:,.0f} events/s offered evenly (one a locker a second)",
        ),
        value("fleet_connect_s", "s", count, r.connect_s, note="every locker connected"),
        value(
            "fleet_back_after_restart_s",
            "s",
            count,
            max(r.back_s),
            note=f"broker restarted: all back; at most {r.busiest_second} in one second",
        ),
    ]


def idle_figures(work: Path, seconds: int) -> list[Figure]:
    stack = footprint.stack_rss_mb()
    broker = Broker(work / "idle-broker", save_each=False).start()
    try:
        probes = example_with_probes(work / "idle_4probes")
        found = footprint.idle(
            {"": work / "idle", "_1core": work / "idle_1core", "_4probes": probes.parent},
            seconds,
            broker.port,
            {"_4probes": probes},
        )
    finally:
        broker.stop()
    figs = [value("stack_rss_mb", "MB", 1, stack, note="the mandated stack imported, nothing else")]
    for suffix, (rss, cpu) in found.items():
        if suffix == "_4probes":
            note = f"demo layout with {PROBES} chilled zones read every {PROBE_SAMPLE_S} s"
            figs += [
                value("idle_rss_mb" + suffix, "MB", 1, rss, note=note),
                value("idle_cpu_pct" + suffix, "% of a core", seconds, cpu, note=note),
            ]
            continue
        pin = bool(suffix)
        figs += [
            value(
                "idle_rss_mb" + suffix,
                "MB",
                1,
                rss,
                None if pin else TARGETS["idle_rss_mb"],
                note="demo layout, broker connected",
            ),
            value(
                "idle_added_rss_mb" + suffix,
                "MB",
                1,
                rss - stack,
                None if pin else TARGETS["idle_added_rss_mb"],
                note="idle RSS over the stack alone (decision 22)",
            ),
            value("idle_cpu_pct" + suffix, "% of a core", seconds, cpu),
        ]
    return figs


def machine() -> str:
    model = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{platform.node()}: {model}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--markdown", type=Path, metavar="RESULTS", help="print the README table of a run"
    )
    # COUNT WORKDIR PROBES SPEECH (0 or 1)
    parser.add_argument("--inproc", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    if args.inproc:
        count, workdir, probes, speech = args.inproc
        found = inproc.pickup_to_relay(Path(workdir), int(count), int(probes), speech == "1")
        print(json.dumps(found))
        return 0
    sizes = QUICK if args.quick else FULL
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    seeds: dict[str, Path] = {"http": work / "http-seed", "sync": work / "sync-seed"}
    seeds["http"].mkdir()
    seeds["http_layout"] = httpbench.seed(seeds["http"], sizes["c1"] + sizes["c20"])
    seeds["sync_layout"] = syncbench.seed_outbox(seeds["sync"], sizes["sync"])
    figures: list[Figure] = []
    for suffix in ("", "_1core"):
        figures += variant(work, sizes, suffix, seeds)
    figures += retention_figures(work, sizes["swept"], sizes["sweep_pickups"])
    figures += fleet_figures(work, sizes["fleet"])
    figures += idle_figures(work, sizes["idle"])
    results = {
        "machine": machine(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "figures": [f.as_json() for f in figures],
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(figures))
    print(f"\n{results['machine']}, Python {results['python']}, {results['cores']} cores")
    print(f"written to {args.out / 'results.json'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
