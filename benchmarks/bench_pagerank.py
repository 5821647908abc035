"""PageRank at scale (issue 8): `crm.ranking.pagerank` from edge arrays, beside networkx and scipy.

1. 100,000 nodes / 1,000,000 edges (goal: <= 0.5 s and >= 20x faster than networkx.pagerank). Our
   time is from the edge arrays to the converged vector (building the sparse matrix included), median
   of 3. networkx.pagerank runs on the same graph as a DiGraph with the parallel edges' weights summed
   (building that DiGraph is timed apart and not counted); its `tol` is 1e-6 / n because networkx
   stops when the L1 change is below n * tol and we stop below tol = 1e-6: both stop at L1 < 1e-6.
   Printed: both times, the speed-up, the max abs difference per node and the iterations.
2. 1,000,000 nodes / 10,000,000 edges (goal: <= 10 s, peak RSS <= 1.5 GiB), in a child process so that
   the parent's memory does not count: the child draws the edge arrays, runs pagerank 3 times and
   reports the median time and its peak resident set (VmHWM, which is what ru_maxrss would say had
   the child not inherited the parent's high-water mark through fork; edge arrays and interpreter
   included), with the peak before the first call for comparison. No networkx at that size (it would take minutes
   and several GiB); the same-run reference is scipy itself: the same number of bare CSR mat-vecs on a
   matrix built once, i.e. the floor for any power iteration in scipy.

Edges are heavy-tailed and seeded: targets drawn in proportion to a Pareto(1.2) fitness (a few nodes
get most links), sources in proportion to a lognormal activity, weights lognormal; so there are
dangling nodes, isolated nodes, self-loops and parallel edges, as in a real community.

    python benchmarks/bench_pagerank.py [--quick] [--nodes 100000] [--edges 1000000] [--big-nodes 1000000]
                                        [--big-edges 10000000] [--no-big] [--no-networkx]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine_line, print_table  # first: puts the repo root on sys.path
from scipy import sparse

from crm.ranking.pagerank import pagerank

GOAL_SMALL_S, GOAL_SPEEDUP = 0.5, 20.0
GOAL_BIG_S, GOAL_BIG_GIB = 10.0, 1.5


def edge_arrays(n: int, m: int, seed: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m heavy-tailed, weighted, directed edges among n nodes (int32 indices, float64 weights), drawn in
    chunks so that drawing does not itself set the memory peak."""
    rng = np.random.default_rng(seed)
    fitness = np.cumsum(rng.pareto(1.2, n) + 0.01)
    fitness /= fitness[-1]
    activity = np.cumsum(rng.lognormal(0.0, 1.0, n))
    activity /= activity[-1]
    sources, targets = np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int32)
    weights = np.empty(m, dtype=np.float64)
    step = 1_000_000
    for start in range(0, m, step):
        size = min(step, m - start)
        sources[start : start + size] = np.minimum(np.searchsorted(activity, rng.random(size)), n - 1)
        targets[start : start + size] = np.minimum(np.searchsorted(fitness, rng.random(size)), n - 1)
        weights[start : start + size] = rng.lognormal(0.0, 0.7, size)
    return sources, targets, weights


def describe(n: int, sources: np.ndarray, targets: np.ndarray) -> str:
    out = np.bincount(sources, minlength=n)
    indegree = np.bincount(targets, minlength=n)
    keys = sources.astype(np.int64) * n + targets
    parallel = len(keys) - len(np.unique(keys))
    return (f"{n:,} nodes, {len(sources):,} edges: {int((out == 0).sum()):,} dangling "
            f"({int(((out == 0) & (indegree == 0)).sum()):,} isolated), {int((sources == targets).sum()):,} self-loops, "
            f"{parallel:,} parallel; in-degree max {int(indegree.max()):,}, median {int(np.median(indegree))}")


def matvec_reference(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, steps: int) -> float:
    """Seconds for `steps` bare CSR mat-vecs (the matrix built beforehand, not timed)."""
    matrix = sparse.csr_array((weights, (targets, sources)), shape=(n, n))
    x = np.full(n, 1.0 / n)
    start = time.perf_counter()
    for _ in range(steps):
        x = matrix @ x
    return time.perf_counter() - start


def small(n: int, m: int, with_networkx: bool, repeat: int) -> list[list[object]]:
    sources, targets, weights = edge_arrays(n, m)
    print(describe(n, sources, targets))
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = pagerank(n, sources, targets, weights)
        times.append(time.perf_counter() - start)
    assert result is not None and result.converged
    ours = statistics.median(times)
    print(f"ours: {', '.join(f'{t * 1000:.0f}' for t in times)} ms -> median {ours * 1000:.0f} ms, "
          f"{result.iterations} iterations, last L1 change {result.error:.2e}")
    floor = matvec_reference(n, sources, targets, weights, result.iterations)
    print(f"scipy alone, {result.iterations} bare CSR mat-vecs: {floor * 1000:.0f} ms")
    rows: list[list[object]] = [[f"ours, {n:,} / {m:,}", ours * 1000, result.iterations, f"<= {GOAL_SMALL_S * 1000:.0f} ms",
                                 "met" if ours <= GOAL_SMALL_S else "NOT met"],
                                [f"scipy: {result.iterations} bare mat-vecs", floor * 1000, result.iterations, "", ""]]
    if not with_networkx:
        return rows
    import networkx as nx

    start = time.perf_counter()
    keys = sources.astype(np.int64) * n + targets
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=weights)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(zip((unique // n).tolist(), (unique % n).tolist(), summed.tolist(), strict=True))
    built = time.perf_counter() - start
    start = time.perf_counter()
    ranks = nx.pagerank(graph, alpha=0.85, tol=1e-6 / n, max_iter=1000, weight="weight")
    theirs = time.perf_counter() - start
    expected = np.array([ranks[v] for v in range(n)])
    difference = float(np.abs(result.vector - expected).max())
    speedup = theirs / ours
    print(f"networkx.pagerank (tol=1e-6/n, so it too stops at L1 < 1e-6): {theirs * 1000:,.0f} ms "
          f"(building its DiGraph, not counted: {built:.1f} s); speed-up {speedup:.1f}x; "
          f"max abs difference per node {difference:.2e}")
    rows.append(["networkx.pagerank, same graph", theirs * 1000, "", f"ours >= {GOAL_SPEEDUP:.0f}x faster",
                 f"{speedup:.1f}x: " + ("met" if speedup >= GOAL_SPEEDUP else "NOT met")])
    return rows


def peak_rss_kib() -> int:
    """This process's peak resident set in KiB: VmHWM of its own address space on Linux. (ru_maxrss keeps
    the high-water mark across fork + exec, so a child started by a big parent would report the parent's.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(n: int, m: int, repeat: int) -> None:
    """Runs in its own process: prints one JSON line."""
    sources, targets, weights = edge_arrays(n, m)
    before = peak_rss_kib()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = pagerank(n, sources, targets, weights)
        times.append(time.perf_counter() - start)
    assert result is not None
    peak = peak_rss_kib()
    floor = matvec_reference(n, sources, targets, weights, result.iterations)
    print(json.dumps({"times": times, "iterations": result.iterations, "converged": result.converged,
                      "error": result.error, "rss_before_kib": before, "rss_peak_kib": peak, "matvec_s": floor,
                      "graph": describe(n, sources, targets)}))


def big(n: int, m: int, repeat: int) -> list[list[object]]:
    output = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(n), str(m), str(repeat)],
                            check=True, capture_output=True, text=True).stdout
    data = json.loads(output.strip().splitlines()[-1])
    print(data["graph"])
    median = statistics.median(data["times"])
    peak_gib = data["rss_peak_kib"] / 1024**2
    print(f"ours (child process): {', '.join(f'{t:.2f}' for t in data['times'])} s -> median {median:.2f} s, "
          f"{data['iterations']} iterations, converged {data['converged']} (L1 {data['error']:.2e}); "
          f"peak RSS {peak_gib:.2f} GiB ({data['rss_before_kib'] / 1024:,.0f} MiB before the first call: interpreter, "
          f"numpy/scipy and the edge arrays)")
    print(f"scipy alone, {data['iterations']} bare CSR mat-vecs: {data['matvec_s']:.2f} s")
    return [[f"ours, {n:,} / {m:,}", median * 1000, data["iterations"], f"<= {GOAL_BIG_S:.0f} s",
             "met" if median <= GOAL_BIG_S else "NOT met"],
            ["  peak RSS of that process", f"{peak_gib:.2f} GiB", "", f"<= {GOAL_BIG_GIB} GiB",
             "met" if peak_gib <= GOAL_BIG_GIB else "NOT met"],
            [f"scipy: {data['iterations']} bare mat-vecs", data["matvec_s"] * 1000, data["iterations"], "", ""]]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run each, the large graph at a tenth of its size")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--big-nodes", type=int, default=1_000_000)
    parser.add_argument("--big-edges", type=int, default=10_000_000)
    parser.add_argument("--no-big", action="store_true", help="skip the large graph")
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx reference")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    print(machine_line())
    rows = small(args.nodes, args.edges, not args.no_networkx, repeat)
    if not args.no_big:
        scale = 10 if args.quick else 1
        rows += big(args.big_nodes // scale, args.big_edges // scale, repeat)
    print_table(("case", "ms", "iterations", "goal", "met?"), rows, title="Summary")


if __name__ == "__main__":
    main()
