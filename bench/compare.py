"""Compare two benchmark runs: `python -m bench.compare bench/results/A.json bench/results/B.json`.

Prints, for each measured request, requests/s (commits/s for the checkout), p99 and the ratio
to its bare counterpart in both runs, with the change. Ratios travel better than raw figures
between machines and between quiet and busy moments of the same machine."""
import json
import sys

from bench.report import COMPARED, LABELS, ORDER


def figures(run):
    out, t = {}, run.get("targets", {})
    for key in ORDER:
        if key == "checkout" and run.get("checkout"):
            c = run["checkout"]
            out[key] = (c["portal"]["value"], c["portal"]["p99_ms"],
                        c["portal"]["value"] / c["bare"]["value"] if c["bare"]["value"] else None)
        elif key in t:
            base = t.get(COMPARED.get(key, (None,))[0])
            out[key] = (t[key]["rps"], t[key]["p99_ms"], t[key]["rps"] / base["rps"] if base else None)
    return out


def main(a_path, b_path):
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    fa, fb = figures(a), figures(b)
    print(f"A: {a_path} ({a.get('started')}, {a.get('engine')}, git {a.get('git')})")
    print(f"B: {b_path} ({b.get('started')}, {b.get('engine')}, git {b.get('git')})")
    print(f"{'action':42} {'A req/s':>9} {'B req/s':>9} {'change':>7} {'A p99':>7} {'B p99':>7} "
          f"{'A ratio':>8} {'B ratio':>8}")
    for key in ORDER:
        if key not in fa and key not in fb:
            continue
        ra, pa, xa = fa.get(key, (None, None, None))
        rb, pb, xb = fb.get(key, (None, None, None))
        change = f"{(rb - ra) / ra:+.0%}" if ra and rb else "—"

        def f(x, fmt):
            return format(x, fmt) if x is not None else "—"
        print(f"{LABELS[key]:42} {f(ra, '9.1f')} {f(rb, '9.1f')} {change:>7} {f(pa, '7.0f')} {f(pb, '7.0f')} "
              f"{f(xa, '8.2f')} {f(xb, '8.2f')}")
    va = {v[0]: v[2] for v in a.get("verdicts", [])}
    for target, _measured, verdict in b.get("verdicts", []):
        if va.get(target) and va[target] != verdict:
            print(f"verdict changed: {target}: {va[target]} -> {verdict}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n")[0])
    main(sys.argv[1], sys.argv[2])
