"""The benchmark's verdicts and its table (Markdown, so README's Performance section can take it)."""

# portal action -> (its bare twin in bench/twins.py, lowest ratio of requests/s to it, p99 limit
# in ms or None). Pages and fragments must reach 0.6x their twin, lists 0.7x; the signed-in ping
# has no twin but /hello itself, its fixed cost.
COMPARED = {
    "ping": ("hello", 0.5, None),
    "summary": ("bare_summary", 0.6, None),
    "summary_small": ("bare_summary_small", 0.6, None),
    "list_big_1": ("db_big_1", 0.7, 50),
    "list_big_deep": ("db_big_deep", 0.7, 50),
    "list_small_1": ("db_small_1", 0.7, 50),
    "document": ("bare_document", 0.6, None),
    "pdf_first": ("bare_pdf", None, None),           # judged on the median render time instead
    "pdf_cached": ("bare_pdf_cached", None, None),   # judged against /hello (CEILING)
    "catalog": ("bare_catalog", 0.6, None),
    "search": ("bare_search", 0.6, None),
    "cart_add": ("bare_cart_add", 0.6, None),
    "comment": ("bare_comment", 0.6, None),
}
# Every action is also shown against /hello (the ceiling); these have a target there too.
CEILING = {"pdf_cached": 0.5}
# Measured with an action because one of its targets needs them (BENCH_ONLY takes them along).
WITH = {"summary": ("summary_small",), "list_big_1": ("list_small_1",), "list_big_deep": ("list_small_1",)}
# A big contact's page within this factor of the small contact's (requests/s).
FLAT = [("list_big_1", "list_small_1", 1.3), ("list_big_deep", "list_small_1", 1.3), ("summary", "summary_small", 1.2)]
MAX_QUERIES = 8
ORDER = ["ping", "summary", "summary_small", "list_big_1", "list_big_deep", "list_small_1", "document", "pdf_first",
         "pdf_cached", "catalog", "search", "cart_add", "comment", "checkout"]
LABELS = {"ping": "signed-in ping (empty cart fragment)", "summary": "summary /, 10,000-doc contact",
          "summary_small": "summary /, 10-doc contact", "list_big_1": "invoices p.1, 10,000-doc contact",
          "list_big_deep": "invoices, deep page, 10,000-doc contact", "list_small_1": "invoices p.1, 10-doc contact",
          "document": "document page", "pdf_first": "PDF, first render", "pdf_cached": "PDF, cached re-download",
          "catalog": "catalog category page", "search": "catalog search (HTMX fragment)",
          "cart_add": "add to cart (HTMX POST)", "comment": "post a comment (HTMX POST)",
          "checkout": "checkout (add + place), 4 workers"}
KB = 1024


def _label(r, key):
    """The action's name, with the big contact's real document count (smaller with BENCH_QUICK)."""
    return LABELS[key].replace("10,000", f"{r.get('scale', {}).get('big_docs', 10000):,}")


def _verdict(ok, rejected=None, certain=None):
    """held / missed; for a rejected run, still "missed" or "held" when every pairing of its
    repeats agrees (`certain`), else "rejected"."""
    if rejected:
        if certain is not None:
            return f"{'held' if certain else 'missed'} (every repeat; run unsteady: {rejected})"
        return f"rejected ({rejected})"
    return "held" if ok else "missed"


def _bounds(t, key, base):
    """Lowest and highest ratio of requests/s over every pairing of the two targets' repeats."""
    ratios = [a["rps"] / b["rps"] for a in t[key]["runs"] for b in t[base]["runs"] if b["rps"]]
    return min(ratios), max(ratios)


def evaluate(r):
    """[(target text, measured text, verdict)] for every target of the issue."""
    t, out = r.get("targets", {}), []
    missing = set(r.get("missing", []))
    q = r.get("queries", {})

    def rej(*keys):
        reasons = [f"{k}: {t[k]['rejected']}" for k in keys if k in t and t[k]["rejected"]]
        return "; ".join(reasons) or None

    def ratio(key, base):
        return t[key]["rps"] / t[base]["rps"] if key in t and base in t and t[base]["rps"] else None

    for key, (base, low, p99) in COMPARED.items():
        if key in missing:
            out.append((_label(r, key), "not built yet", "not built yet"))
            continue
        for other, limit in ((base, low), ("hello", CEILING.get(key))):
            if limit is None or key not in t or other not in t:
                continue
            x = ratio(key, other)
            lo, hi = _bounds(t, key, other)
            certain = True if lo >= limit else False if hi < limit else None
            out.append((f"{_label(r, key)} ≥{limit}× {t[other]['label']}", f"{x:.2f}× ({lo:.2f}–{hi:.2f})",
                        _verdict(x >= limit, rej(key, other), certain)))
        if p99 is not None and key in t:
            p99s = [r["p99_ms"] for r in t[key]["runs"]]
            certain = True if max(p99s) < p99 else False if min(p99s) >= p99 else None
            out.append((f"{_label(r, key)} p99 < {p99} ms", f"{t[key]['p99_ms']:.0f} ms",
                        _verdict(t[key]["p99_ms"] < p99, rej(key), certain)))
    for key, small, limit in FLAT:
        if key in t and small in t:
            x = t[small]["rps"] / t[key]["rps"]
            lo, hi = (1 / r for r in reversed(_bounds(t, key, small)))
            certain = True if hi <= limit else False if lo > limit else None
            out.append((f"{_label(r, key)} within {limit}× of {_label(r, small)} (req/s)",
                        f"{x:.2f}× ({lo:.2f}–{hi:.2f})", _verdict(x <= limit, rej(key, small), certain)))
    counted = {k: v["queries"] for k, v in q.items() if k != "checkout"}
    if counted:
        over = ", ".join(f"{k} {n}" for k, n in sorted(counted.items(), key=lambda kv: -kv[1]) if n > MAX_QUERIES)
        top = max(counted, key=counted.get)
        out.append((f"no page or fragment above {MAX_QUERIES} queries per request (checkout's POST apart)",
                    f"above: {over}" if over else f"at most {counted[top]} ({top})",
                    _verdict(not over)))
    pairs = [("list_big_1", "list_small_1"), ("list_big_deep", "list_small_1"), ("summary", "summary_small")]
    for a, b in pairs:
        if a in q and b in q:
            out.append((f"queries per request do not grow with data ({a} vs {b})",
                        f"{q[a]['queries']} vs {q[b]['queries']}", _verdict(q[a]["queries"] <= q[b]["queries"])))
    pdf = r.get("pdf")
    if pdf:
        x = pdf["portal_first"] / pdf["bare"]
        out.append(("one-page PDF ≤1.3× bare WeasyPrint (median render time)",
                    f"{pdf['portal_first']:.0f} vs {pdf['bare']:.0f} ms = {x:.2f}×", _verdict(x <= 1.3)))
    w = r.get("wire")
    if w:
        out.append(("first load ≤25 KB compressed (HTML+CSS+JS, gzip -6)", f"{w['first_load_gzip'] / KB:.1f} KB",
                    _verdict(w["first_load_gzip"] <= 25 * KB)))
        out.append(("later navigation ≤5 KB compressed", f"{w['later_navigation']['gzip'] / KB:.1f} KB",
                    _verdict(w["later_navigation"]["gzip"] <= 5 * KB)))
    c = r.get("checkout")
    if "checkout" in missing:
        out.append(("checkout", "not built yet", "not built yet"))
    elif c:
        out.append((f"checkout: no 'database is locked' at {c['workers']} workers × 16 connections",
                    str(c["locked"]["portal"]), _verdict(c["locked"]["portal"] == 0)))
        x = c["portal"]["value"] / c["bare"]["value"] if c["bare"]["value"] else 0
        reasons = "; ".join(f"{k}: {c[k]['rejected']}" for k in ("portal", "bare") if c[k]["rejected"]) or None
        pairs = [a["commits_per_s"] / b["commits_per_s"] for a in c["portal"]["runs"] for b in c["bare"]["runs"]
                 if b["commits_per_s"]] or [x]
        certain = True if min(pairs) >= 0.5 else False if max(pairs) < 0.5 else None
        out.append(("checkout ≥0.5× bare checkout commits/s", f"{x:.2f}×", _verdict(x >= 0.5, reasons, certain)))
        out.append(("checkout: stock consistent", "yes" if c["stock"]["consistent"] else "no",
                    _verdict(c["stock"]["consistent"])))
    return out


def _fmt(x, digits=0):
    return "—" if x is None else f"{x:,.{digits}f}"


def table(r):
    t, q = r.get("targets", {}), r.get("queries", {})
    missing = set(r.get("missing", []))
    lines = [f"{r['engine']}, {r['scale']['documents']:,} documents, {r['cores']} cores, "
             f"{r['connections']} connections, {r['runs']} × {r['seconds']} s runs after a {r['warm_seconds']} s "
             f"warm-up; load average before {r['load_before'][0]:.1f}, after {r['load_after'][0]:.1f}",
             "",
             "| action | req/s | p50 ms | p99 ms | queries | bare twin | twin req/s | × twin | × /hello | run |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    hello = t.get("hello")
    for key in ORDER:
        if key in missing:
            lines.append(f"| {_label(r, key)} | not built yet | | | | | | | | |")
            continue
        if key == "checkout":
            c = r.get("checkout")
            if c:
                ratio = c["portal"]["value"] / c["bare"]["value"] if c["bare"]["value"] else 0
                lines.append(f"| {_label(r, key)} | {c['portal']['value']:.1f} commits/s | "
                             f"{c['portal']['p50_ms']:.0f} | "
                             f"{c['portal']['p99_ms']:.0f} | {q.get('checkout', {}).get('queries', '—')} | "
                             f"bare checkout | {c['bare']['value']:.1f} commits/s | {ratio:.2f}× | — | "
                             f"{_run_status(c['portal'], c['bare'])} |")
            continue
        if key not in t:
            continue
        s = t[key]
        base = COMPARED.get(key, (None,))[0]
        b = t.get(base)
        ratio = s["rps"] / b["rps"] if b and b["rps"] else None
        ceiling = s["rps"] / hello["rps"] if hello and hello["rps"] else None
        lines.append(f"| {_label(r, key)} | {s['rps']:,.1f} | {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | "
                     f"{q.get(key, {}).get('queries', '—')} | {b['label'] if b else '—'} | "
                     f"{_fmt(b['rps'] if b else None, 1)} | {_fmt(ratio, 2)}× | {_fmt(ceiling, 2)}× | "
                     f"{_run_status(s, b, hello)} |")
    lines += ["", "Bare baseline alone:", "", "| bare | req/s | p50 ms | p99 ms | run |", "|---|---:|---:|---:|---|"]
    for s in t.values():
        if s["side"] == "bare":
            lines.append(f"| {s['label']} | {s['rps']:,.1f} | {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | "
                         f"{_run_status(s)} |")
    pdf, w = r.get("pdf"), r.get("wire")
    lines.append("")
    if pdf:
        lines.append(f"PDF median, one request at a time ({pdf['samples']} each): portal first render "
                     f"{pdf['portal_first']:.0f} ms, bare WeasyPrint {pdf['bare']:.0f} ms, portal cached "
                     f"{pdf['portal_cached']:.1f} ms.")
    rss = r.get("rss_mb", {})
    if rss:
        lines.append("Worker RSS after the runs (MB): " + "; ".join(
            f"{name} {', '.join(f'{x:.0f}' for x in v)}" for name, v in rss.items()))
    if w:
        first = ", ".join(f"{name} {v['raw'] / KB:.1f}→{v['gzip'] / KB:.1f}" for name, v in w["first_load"].items())
        compression = ("compresses (" + w["content_encoding"] + ")" if w["server_compresses"]
                       else "does not compress (a reverse proxy does: nginx gzip, Caddy encode)")
        lines.append(f"Bytes on the wire: the server {compression}; "
                     f"first load of the summary {w['first_load_raw'] / KB:.1f} KB raw, "
                     f"{w['first_load_gzip'] / KB:.1f} KB gzipped ({first} KB); a later navigation "
                     f"({w['later_navigation']['url']}) {w['later_navigation']['raw'] / KB:.1f} KB raw, "
                     f"{w['later_navigation']['gzip'] / KB:.1f} KB gzipped.")
    c = r.get("checkout")
    if c:
        s = c["stock"]
        lines.append(f"Checkout at {c['workers']} workers × {r['connections']} connections: 'database is locked' "
                     f"portal {c['locked']['portal']}, bare {c['locked']['bare']}; stock {s['before']:,} → "
                     f"{s['after']:,}, taken by order lines {s['taken_by_lines']:,}, orders portal "
                     f"{s['portal_orders']:,} (303s seen {s['portal_303s']:,}), bare {s['bare_orders']:,} "
                     f"(200s seen {s['bare_200s']:,}): {'consistent' if s['consistent'] else 'NOT consistent'}.")
    if r.get("locked"):
        lines.append(f"'database is locked' in the main runs: {r['locked']}; unhandled exceptions: "
                     f"{r.get('server_errors')}.")
    if r.get("missing"):
        lines.append("Not built yet: " + ", ".join(_label(r, k) for k in r["missing"]) + ".")
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in r.get("verdicts", [])]
    return "\n".join(lines)


def _run_status(*summaries):
    reasons = [s["rejected"] for s in summaries if s and s.get("rejected")]
    return "rejected: " + "; ".join(reasons) if reasons else "ok"


if __name__ == "__main__":
    import json
    import sys
    if len(sys.argv) != 2:
        sys.exit("python -m bench.report bench/results/latest.json: the table of a finished run, judged again")
    with open(sys.argv[1]) as f:
        run = json.load(f)
    run["verdicts"] = evaluate(run)
    print(table(run))
