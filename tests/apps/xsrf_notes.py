"""Notes on Tornado with `xsrf_cookies` on: Tornado's own compound XSRF token
(`2|mask|masked token|timestamp`) in a cookie, in a hidden input, and in an `X-XSRFToken`
header that the page's script copies from the cookie.

    python tests/apps/xsrf_notes.py --port 0    # prints "notes app on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio

import tornado.web

NOTES: list[str] = []

PAGE = """<!doctype html><html><head><title>Notes</title></head><body>
<form method="post" action="/notes">{xsrf}<input name="text" id="text">
<button type="submit">Add</button></form>
<button id="clear" type="button">Clear</button>
<p id="count">{count} notes</p>
<script>
document.getElementById("clear").addEventListener("click", async () => {{
  const token = document.cookie.match(/_xsrf=([^;]+)/)[1];
  const response = await fetch("/api/clear", {{method: "POST", headers: {{"X-XSRFToken": token}}}});
  document.getElementById("count").textContent = (await response.json()).left + " notes";
}});
</script></body></html>"""


class Page(tornado.web.RequestHandler):
    def get(self):
        self.write(PAGE.format(xsrf=self.xsrf_form_html(), count=len(NOTES)))


class Notes(tornado.web.RequestHandler):
    def post(self):
        NOTES.append(self.get_body_argument("text"))
        self.redirect("/")


class Clear(tornado.web.RequestHandler):
    def post(self):
        self.write({"left": 0})


async def serve(host: str, port: int) -> None:
    app = tornado.web.Application(
        [(r"/", Page), (r"/notes", Notes), (r"/api/clear", Clear)], xsrf_cookies=True
    )
    server = app.listen(port, host)
    bound = next(iter(server._sockets.values())).getsockname()[1]
    print(f"notes app on http://{host}:{bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the Tornado XSRF test application.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.host, arguments.port))
