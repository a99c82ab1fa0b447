"""For flows on apps whose user is a script in the page (a single-page app's own calls):
one `fetch` from the page, so Chromium sends it, and the recorders see it, as the app would."""

FETCH = """async ([method, path, body, headers]) => {
    const init = {method, headers: {...headers}};
    if (body !== null) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    return {
        status: response.status,
        etag: response.headers.get("ETag"),
        json: text && text.trimStart()[0].match(/[[{]/) ? JSON.parse(text) : null,
    };
}"""


def fetch(page, method, path, body=None, headers=None, expect=200):
    """Send one request from the page; the response's status, ETag and JSON body."""
    response = page.evaluate(FETCH, [method, path, body, headers or {}])
    if response["status"] != expect:
        raise AssertionError(f"{method} {path}: status {response['status']}, expected {expect}")
    return response
