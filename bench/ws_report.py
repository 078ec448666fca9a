"""Reading workstation benchmark: statistics, Performance-mark and Resource-Timing parsing, text report."""

from __future__ import annotations

import re
import statistics

from bench.common import MB

# --- statistics ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """Percentile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def stats(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1),
        "p95": round(pct(values, 95), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


# --- marks and resources -----------------------------------------------------------------------


def case_times(marks: list[dict], exam_id: int | None) -> dict:
    """case-open → first-paint and → lossless of the first opening of exam_id in this page."""

    def first(name: str, after: float = -1.0) -> float | None:
        return next(
            (
                m["t"]
                for m in marks
                if m["name"] == name and m["t"] >= after and (m["detail"] or {}).get("exam_id") == exam_id
            ),
            None,
        )

    opened = first("l2:case-open")
    if opened is None:
        return {"first_paint_ms": None, "lossless_ms": None}
    fp, ll = first("l2:first-paint", opened), first("l2:lossless", opened)
    return {
        "first_paint_ms": round(fp - opened, 1) if fp is not None else None,
        "lossless_ms": round(ll - opened, 1) if ll is not None else None,
    }


def transition_times(marks: list[dict], to: int, key_t: float) -> dict:
    def first(name: str) -> dict | None:
        return next(
            (
                m
                for m in marks
                if m["name"] == name and m["t"] > key_t and (m["detail"] or {}).get("exam_id") == to
            ),
            None,
        )

    painted, fp, ll, opened = (
        first("l2:painted"),
        first("l2:first-paint"),
        first("l2:lossless"),
        first("l2:case-open"),
    )
    stage = next((m for m in marks if m["name"] == "l2:stage" and opened and m["t"] > opened["t"]), None)
    return {
        "stage_hung_ms": round(stage["t"] - key_t, 1) if stage else None,
        "p1_ms": round(painted["t"] - key_t, 1) if painted else None,
        "case_open_ms": round(opened["t"] - key_t, 1) if opened else None,
        "first_paint_ms": round(fp["t"] - key_t, 1) if fp else None,
        "first_paint_lossless": (fp["detail"] or {}).get("lossless") if fp else None,
        "lossless_ms": round(ll["t"] - key_t, 1) if ll else None,
    }


def case_json_times(resources: list[dict], to: int, key_t: float) -> dict:
    """The case JSON request the verdict key triggered (Resource Timing), relative to the keydown."""
    pattern = re.compile(rf"/lecture/api/cas/{to}/$")
    r = next((r for r in resources if pattern.search(r["name"]) and r["start"] > key_t), None)
    if r is None:
        return {"case_json_start_ms": None, "case_json_end_ms": None}
    return {
        "case_json_start_ms": round(r["start"] - key_t, 1),
        "case_json_end_ms": round(r["end"] - key_t, 1),
    }


def bandwidth(resources: list[dict], cases: int) -> dict:
    dicom = [r for r in resources if "/lecture/dicom/" in r["name"] or "/lecture/wado/" in r["name"]]
    previews = [r for r in resources if "/affichage" in r["name"] or "/apercu" in r["name"]]
    n = max(cases, 1)
    return {
        "cases_opened": cases,
        "dicom_requests": len(dicom),
        "dicom_mb_per_case": round(sum(r["encoded"] or 0 for r in dicom) / MB / n, 1),
        "preview_requests": len(previews),
        "preview_kb_mean": round(statistics.mean([r["encoded"] or 0 for r in previews]) / 1000, 1)
        if previews
        else None,
    }


def _fmt(s: dict, key: str = "median") -> str:
    v = s.get(f"{key}_ms", s.get(key))
    return "n/a" if v is None else f"{v:.0f}"


def print_report(r: dict) -> None:
    c, m, t = r["config"], r["machine"], r["targets"]
    print()
    print("=" * 100)
    print(f"WORKSTATION  {m['date']}  {m['host_cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM")
    print(
        f"Chromium {r['versions']['chromium']} headless (SwiftShader WebGL), viewport {c['viewport']}, app {r['versions']['app_commit']}"
    )
    print(
        f"{c['cases']} cases x {c['reps']} repetition(s), {c['cold_per_rep']} extra cold opens per repetition; {c['images']}"
    )
    print(f"server: {c['server']}")
    print("-" * 100)
    print(f"{'target':<34}{'median':>9}{'p95':>9}{'n':>5}{'limit':>9}  {'peer median':>12}{'ratio':>8}  met")
    for key, label in (
        ("p1_prefetched_next_case", "P1 prefetched next case painted"),
        ("p2_cold_first_paint", "P2 cold first paint"),
        ("p3_cold_lossless", "P3 cold lossless, 4 views"),
    ):
        e = t[key]
        peer = e.get("peer", {})
        print(
            f"{label:<34}{_fmt(e):>9}{_fmt(e, 'p95'):>9}{e['n']:>5}{e['target_ms']:>9.0f}  "
            f"{_fmt(peer):>12}{(str(e.get('ratio_median')) + 'x') if e.get('ratio_median') else 'n/a':>8}  "
            + ("MET" if e["met"] else "MISSED")
        )
    mem = t["tab_memory_three_cases"]
    print(
        f"tab (renderer) RSS with >= 3 cases cached: max {mem['max_mb']} MB over {mem['samples_with_3_cases']} samples "
        f"(limit {mem['target_mb']:.0f}) -> {'MET' if mem['met'] else 'MISSED'}; renderer + GPU process "
        f"{mem['renderer_plus_gpu_process_max_mb']} MB"
    )
    mm = r["memory"]
    print(
        f"memory over the session: JS heap {mm['js_heap_used_mb']['median']} MB (median), cornerstone cache "
        f"{mm['cornerstone_cache_mb']['max']} MB (max), cases cached {mm['cases_cached']}"
    )
    for bw in r["bandwidth_per_case"]:
        if bw:
            print(
                f"bandwidth: {bw['dicom_mb_per_case']} MB of lossless frames / DICOM per case opened, previews {bw['preview_kb_mean']} kB each"
            )
    d = r["session_detail"]
    print(
        "P1 decomposed (median ms after the keydown): case JSON request "
        f"{d['keydown_to_case_json_start']['median']} → {d['keydown_to_case_json_end']['median']}, l2:case-open "
        f"{d['keydown_to_case_open']['median']}, stage hung {d['keydown_to_stage_hung']['median']}, first paint "
        f"{d['keydown_to_first_paint']['median']}, lossless {d['keydown_to_lossless']['median']}"
    )
    if r["prefetched_but_evicted_transitions"]:
        print(
            f"note: {r['prefetched_but_evicted_transitions']} transition(s) had l2:prefetch-done for the next case but "
            "opened it on previews (its images were no longer in cornerstone's cache)"
        )
    if r["unprefetched_transitions"]:
        print(
            f"note: {r['unprefetched_transitions']} transition(s) without l2:prefetch-done of the next case (not in P1)"
        )
    for error in r["errors"]:
        print(f"error: {error}")
    print(f"wall time {r['wall_seconds']:.0f} s")
    print("=" * 100)
