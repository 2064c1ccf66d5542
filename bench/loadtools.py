"""What wrk and oha measured, read the same way by every benchmark that runs them.

Each reader takes the tool's output file and the CPU file bench/lib.sh's `measured` wrote
beside it, and returns a dict: ok_per_s, failed, total, p50_ms, p99_ms, p999_ms (None when
the tool did not say), cores (CPU seconds per second of run) and cpu_us_per_ok.
"""
import json


def _cpu(path):
    return json.load(open(path))


def read_wrk(out, cpu):
    """wrk run with bench/lib.sh's wrk_report_lua script: its last line is the summary."""
    w = json.loads(open(out).read().strip().splitlines()[-1])
    c = _cpu(cpu)
    ok = w["requests"] - w["errors"]
    ms = lambda k: None if k not in w else w[k] / 1000
    return {
        "ok_per_s": ok / (w["duration_us"] / 1e6),
        "failed": w["errors"],
        "total": w["requests"],
        "p50_ms": ms("p50_us"),
        "p99_ms": ms("p99_us"),
        "p999_ms": ms("p999_us"),
        "cores": c["cpu_s"] / c["wall_s"],
        "cpu_us_per_ok": c["cpu_s"] / max(ok, 1) * 1e6,
    }


def read_oha(out, cpu):
    """oha run with `--output-format json`; None when it wrote nothing readable."""
    c = _cpu(cpu)
    try:
        o = json.load(open(out))
    except (OSError, ValueError):
        return None
    pct = o.get("latencyPercentiles", {})
    codes, errors = o.get("statusCodeDistribution", {}), o.get("errorDistribution", {})
    total = sum(codes.values()) + sum(errors.values())
    ok = codes.get("200", 0)
    ms = lambda k: None if pct.get(k) is None else pct[k] * 1000
    return {
        "ok_per_s": ok / c["wall_s"],
        "failed": total - ok,
        "total": total,
        "p50_ms": ms("p50"),
        "p99_ms": ms("p99"),
        "p999_ms": ms("p99.9"),
        "cores": c["cpu_s"] / c["wall_s"],
        "cpu_us_per_ok": c["cpu_s"] / max(ok, 1) * 1e6,
        "errors": errors,
        "exit": c["exit"],
    }
