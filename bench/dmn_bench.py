"""Decision-table benchmark: what one business rule task costs in the engine, for Camunda's dish
table in FEEL (translated at deploy) and for the bureau's score band in Python cells, run the way
instances run them (the parsed spec, the engine's sandboxed script engine, no database). Also the
deploy-time translation of the dish table. Prints medians in ms.

    .venv/bin/python bench/dmn_bench.py [--rounds 300]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def spec_for(dmn: str, ref: str):  # type: ignore[no-untyped-def]
    from lxml import etree

    from engine.definitions.parser import EngineParser
    from tests.definitions.test_decision_tables import BPMN
    parser = EngineParser()
    parser.add_dmn_xml(etree.fromstring(dmn.encode()), filename=f"{ref}.dmn")
    parser.add_bpmn_xml(etree.ElementTree(etree.fromstring(BPMN.format(key="p", ref=ref).encode())), filename="p.bpmn")
    return parser.get_spec("p")


def time_runs(spec, data: dict, rounds: int) -> float:  # type: ignore[no-untyped-def]
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    from engine.scripting.script_engine import make_script_engine
    engine = make_script_engine()
    samples = []
    for _ in range(rounds):
        workflow = BpmnWorkflow(spec, script_engine=engine)
        workflow.get_tasks()[0].data.update(data)
        start = time.perf_counter()
        workflow.do_engine_steps()
        samples.append((time.perf_counter() - start) * 1000)
        assert workflow.completed
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    from tests.definitions.test_decision_tables import DISH
    band = (ROOT / "processes" / "establishment_score_band.dmn").read_text(encoding="utf-8")
    samples = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        spec_for(DISH, "dish")
        samples.append((time.perf_counter() - start) * 1000)
    print(f"parse + translate the dish table with its process: {statistics.median(samples):.2f} ms")
    dish = time_runs(spec_for(DISH, "dish"), {"season": "Summer", "guestCount": 9}, args.rounds)
    print(f"run the dish table (FEEL, UNIQUE, 6 rules x 2 inputs, last rule matches): {dish:.2f} ms")
    python = time_runs(spec_for(band, "establishment_score_band"), {"aggregate_score": 10}, args.rounds)
    print(f"run the score band (Python cells, FIRST, 4 rules, last matches): {python:.2f} ms")


if __name__ == "__main__":
    main()
