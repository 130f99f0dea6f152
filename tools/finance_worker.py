#!/usr/bin/env python3
"""Plays the bureau's finance system against the REST API, as an external-task worker
(Camunda 7's fetch-and-lock): sign in for a token, fetch and lock the `finance-payment` tasks
(the first tranche of a contracted project waits on one), "pay" each, and complete it with a
payment reference. A payment it cannot make is reported as a failure, retried later by the
engine; when the lock runs out before it answers (the worker died), another worker gets the
task. Only the standard library, so it runs anywhere:

    python3 tools/finance_worker.py --url http://127.0.0.1:5000 --user finance.system \\
        --password demo1234 [--once] [--refuse-over 500]

`--refuse-over N` refuses payments above N (ten thousand CNY) with the BPMN error
PAYMENT_REFUSED, for processes that model it with an error boundary event."""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from typing import Any

TOPIC = "finance-payment"
LOCK_MS = 60_000


class Api:
    def __init__(self, url: str) -> None:
        self.url, self.token = url.rstrip("/") + "/api/v1", ""

    def call(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def sign_in(self, user: str, password: str) -> None:
        self.token = self.call("/auth/token", {"username": user, "password": password})["token"]


def pay(task: dict[str, Any], refuse_over: float | None) -> tuple[str, dict[str, Any]]:
    """What the finance system answers for one payment: complete, or a BPMN error."""
    amount = task["data"].get("first_release") or task["data"].get("released") or 0
    if refuse_over is not None and amount > refuse_over:
        return "bpmn-error", {"error_code": "PAYMENT_REFUSED", "data": {"refusal": f"{amount} over the limit"}}
    reference = f"FIN-{date.today():%Y%m%d}-{task['process_instance_id']:06d}"
    return "complete", {"data": {"payment_reference": reference, "paid_on": date.today().isoformat()}}


def work_once(api: Api, worker_id: str, refuse_over: float | None) -> int:
    locked = api.call("/external-tasks/fetch-and-lock", {
        "worker_id": worker_id, "max_tasks": 10, "topics": [{"name": TOPIC, "lock_duration": LOCK_MS}]})
    for task in locked:
        try:
            action, body = pay(task, refuse_over)
            api.call(f"/external-tasks/{task['id']}/{action}", {"worker_id": worker_id, **body})
            print(f"{action}: instance {task['process_instance_id']} ({task.get('business_key') or '-'})")
        except urllib.error.HTTPError as error:
            if error.code == 409:  # the lock ran out and another worker has it: not ours now
                print(f"skipped {task['id']}: {error.read().decode()}", file=sys.stderr)
                continue
            api.call(f"/external-tasks/{task['id']}/failure", {
                "worker_id": worker_id, "error_message": f"HTTP {error.code}", "retries": 3, "retry_timeout": 60_000})
    return len(locked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--user", default="finance.system")
    parser.add_argument("--password", default="demo1234")
    parser.add_argument("--worker-id", default="finance-worker-1")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument("--once", action="store_true", help="one fetch, then exit")
    parser.add_argument("--refuse-over", type=float, default=None)
    args = parser.parse_args()
    api = Api(args.url)
    api.sign_in(args.user, args.password)
    while True:
        try:
            done = work_once(api, args.worker_id, args.refuse_over)
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise
            api.sign_in(args.user, args.password)  # the token expired
            continue
        if args.once:
            print(f"{done} payment(s) handled")
            return 0
        if not done:
            time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
