"""A stand-in for `jobdeck serve` that takes event batches and only counts them (for benchmarks).

    python bench/event_sink.py --port 5555

POST /api/v1/events answers 202 after counting the batch's events by kind; GET /api/health answers
200; GET /api/v1/stats says how many `enqueued` (as "pending") and `succeeded` events came, the
figures bench/celery_throughput.py waits for; GET /api/v1/runs answers an empty list. What an SDK
costs its process can so be measured without a server recording on the same cores.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS: Counter[str] = Counter()
LOCK = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        events = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        events = events if isinstance(events, list) else [events]
        with LOCK:
            KINDS.update(str(event.get("event")) for event in events)
        self._answer(202, {"accepted": len(events)})

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/stats"):
            with LOCK:
                self._answer(200, {"pending": KINDS["enqueued"], "succeeded": KINDS["succeeded"]})
        elif self.path.startswith("/api/v1/runs"):
            self._answer(200, {"runs": []})
        else:
            self._answer(200, {"status": "ok"})

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Sink).serve_forever()


if __name__ == "__main__":
    main()
