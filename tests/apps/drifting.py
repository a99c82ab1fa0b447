"""Drifting: an application that answers 200 where it no longer works, for the divergence checks.

Every answer is what a broken deployment sends with a green status: an HTML error page where
the recording had JSON, an empty list where it had items, a redirect to the sign-in page
where it had a page. `/api/ok` still answers as recorded.

    python tests/apps/drifting.py --port 0    # prints "drifting app on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import contextlib

from werkzeug.wrappers import Request, Response

from replay.demo.app import NoDelayWSGIServer

ANSWERS = {
    "/api/ok": Response('{"ok": true}', content_type="application/json"),
    "/api/me": Response(
        "<html><title>Oops</title>Something went wrong</html>", content_type="text/html"
    ),
    "/api/items": Response("[]", content_type="application/json"),
    "/account": Response("", 302, headers={"Location": "/accounts/login/?next=/account"}),
}


@Request.application
def app(request: Request) -> Response:
    return ANSWERS.get(request.path) or Response("not found", 404)


def serve(host: str, port: int) -> None:
    server = NoDelayWSGIServer((host, port), app, log=None)
    server.start()
    print(f"drifting app on http://{host}:{server.address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the drifting test application.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)
